// Preparing a graph for an input size, and the float reference executor.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "winq/graph.hpp"

namespace winq {

namespace ops {
struct OpDef;
}

using InputShapes = std::map<std::string, Shape>;

struct PrepareOptions {
  bool fold_batchnorm = true;    // passes/fold_batchnorm
  bool fuse_activations = true;  // passes/fuse_activation
  bool remove_identity = true;   // passes/remove_identity
};

// Binds the dynamic dimensions of the graph inputs (`shapes` by input name; an
// input whose shape is fully known may be left out), infers every value's shape,
// folds everything that depends only on constants (the shape arithmetic that
// exporters emit around Reshape), then runs the standard passes. Throws
// Unsupported naming the op and node for an operator winq cannot run, and Error
// for shape mismatches.
Graph prepare(Graph g, const InputShapes& shapes = {}, const PrepareOptions& opt = {});

// The shape of the graph's first input with dynamic dims replaced by `fill`
// where given (e.g. batch), for callers that derive the rest from data.
Shape declared_input_shape(const Graph& g, size_t input = 0);

// Runs a prepared graph with plain float reference operators. It is the
// definition every quantized path is compared with.
class FloatExecutor {
 public:
  explicit FloatExecutor(Graph prepared, int threads = 1);
  // Moves keep the nodes where they are (the prepared states point into them); copies would not.
  FloatExecutor(FloatExecutor&&) = default;
  FloatExecutor& operator=(FloatExecutor&&) = default;
  FloatExecutor(const FloatExecutor&) = delete;
  FloatExecutor& operator=(const FloatExecutor&) = delete;
  // Inputs in graph input order; shapes must equal the prepared shapes.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Called with every value as soon as it is computed (graph inputs included).
  using Observer = std::function<void(ValueId, const Tensor&)>;
  void set_observer(Observer obs) { observer_ = std::move(obs); }
  const Graph& graph() const { return graph_; }

 private:
  Graph graph_;
  int threads_;
  Observer observer_;
  std::vector<int> last_use_;  // per value: index of the last node reading it
  std::vector<const ops::OpDef*> op_defs_;  // per node, looked up once (not by name on every run)
  std::vector<std::string> where_;          // per node: "node 'name' (Op)" for the kernels' error messages
  std::vector<char> in_place_;              // per value: a constant read in place from graph_ (not a graph input)
  std::vector<std::shared_ptr<const void>> prepared_;  // per node: its OpDef::prepare state, or null
};

// Median latency of `runs` runs on one input (after `warmup` runs), in total
// and per node (index into ex.graph().nodes, graph order). The total comes
// from runs without per-node timing, alternating with the timed ones.
struct RunProfile {
  double total_s = 0;
  std::vector<std::pair<int, double>> nodes;
};
RunProfile profile_runs(FloatExecutor& ex, const Tensor& x, int runs, int warmup = 3);

// A model run on batches of varying size: prepares (and caches) one executor
// per input shape. `prepare_fn` turns the model into the executable graph for a
// shape (default: prepare()); the quantized path lowers the graph there.
class BatchedExecutor {
 public:
  using PrepareFn = std::function<Graph(const Graph& model, const InputShapes& shapes)>;
  BatchedExecutor(Graph model, int threads, PrepareFn prepare_fn = {});
  // The executor for an input of this shape (first graph input).
  FloatExecutor& for_input(const Shape& shape);
  const Graph& model() const { return model_; }

 private:
  Graph model_;
  int threads_;
  PrepareFn prepare_fn_;
  std::vector<std::pair<Shape, std::unique_ptr<FloatExecutor>>> cache_;  // at most two shapes (full and last batch)
};

// Images [begin, begin + count) of a float batch tensor.
Tensor slice_batch(const Tensor& images, int64_t begin, int64_t count);

// Packs the weights of the integer layers (winq.QConv/QGemm) for the active
// int8 kernel and folds the activation offset into their bias, once; the ops
// then run the packed path (bit-identical to the reference).
void pack_int8_weights(Graph& g);
// How a node of a packed plan runs on the integer engine, for people (winq
// bench): "direct, implicit GEMM", "direct, channels in lanes", "Winograd
// F(4,3), channels in lanes", …; empty for other ops.
std::string kernel_description(const Node& n);

// The ONNX operators (default domain) the float executor runs.
std::vector<std::string> supported_ops();

// Number of worker threads winq uses when not told otherwise (hardware threads).
int default_threads();

}  // namespace winq
