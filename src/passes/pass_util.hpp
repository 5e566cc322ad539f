// Small helpers shared by the passes.
#pragma once
#include "winq/graph.hpp"

namespace winq::passes {

// The only node reading `v`, or -1 when v has no reader, several readers, or is
// a graph output (then it must stay visible and cannot be fused away).
int sole_consumer(const Graph& g, const std::vector<std::vector<int>>& consumers, ValueId v);

// Erase the nodes whose flag is set, keeping the order of the others.
void erase_nodes(Graph& g, const std::vector<char>& erase);

}  // namespace winq::passes
