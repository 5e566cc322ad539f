// Graph passes, one per file in src/passes/. Each returns whether it changed
// the graph, and expects a prepared graph (shapes known, constants folded).
#pragma once
#include "winq/graph.hpp"

namespace winq::passes {

// Conv (constant weights) followed by BatchNormalization becomes one Conv with
// scaled weights and a new bias.
bool fold_batchnorm(Graph& g);
// Relu or Clip (constant bounds) after Conv/Gemm/Add becomes an attribute of
// the Conv/Gemm/Add, applied to its output in the same pass.
bool fuse_activation(Graph& g);
// Identity and inference-mode Dropout nodes are removed.
bool remove_identity(Graph& g);

}  // namespace winq::passes
