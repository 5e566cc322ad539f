// The operator table: for each supported ONNX op, a shape rule (infer) and a
// float reference evaluation (run). Internal to the runtime.
#pragma once
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "winq/graph.hpp"

namespace winq::ops {

struct InferContext {
  Graph& g;
  Node& node;
  bool has_input(size_t i) const { return node.input(i) != kNoValue; }
  const Value& in(size_t i) const;
  // The constant value of input i, or nullptr when absent or not constant.
  const Tensor* const_input(size_t i) const;
  // Shape of input i; throws when unknown.
  const Shape& in_shape(size_t i) const;
  void set_output(size_t i, DataType t, Shape s);
  std::string where() const { return fmt::format("node '{}' ({})", node.name, node.op); }
};

struct RunContext {
  const Node& node;
  int64_t opset;
  int threads;
  std::vector<const Tensor*> in;  // nullptr for absent optional inputs
  std::vector<Tensor> out;
  bool has_input(size_t i) const { return i < in.size() && in[i] != nullptr; }
  const Tensor& input(size_t i) const;
  // "node 'name' (Op)": kernels pass it to helpers that only use it in error
  // messages, several times per run, so whoever runs the node formats it once
  // (the executor when it is built) and passes it here.
  const std::string& where() const { return *where_text; }
  const std::string* where_text = nullptr;
  // What OpDef::prepare computed for this node when the executor was built, or nullptr.
  const void* prepared = nullptr;
};

// The state an op computes once per node instead of on every run (attributes
// parsed, geometry, offsets), or nullptr when there is none. It may point into
// the node, which lives in the executor's graph as long as the state does.
using Prepared = std::shared_ptr<const void>;

struct OpDef {
  void (*infer)(InferContext&);
  void (*run)(RunContext&);
  // Optional: called once per node by the executor, on its prepared graph.
  Prepared (*prepare)(const Graph&, const Node&) = nullptr;
};

// nullptr when winq does not support the op.
const OpDef* find_op(const std::string& domain, const std::string& op);

// Registration, one function per family (called once by the table).
using OpTable = std::vector<std::pair<std::string, OpDef>>;
void register_conv_ops(OpTable& t);
void register_gemm_ops(OpTable& t);
void register_activation_ops(OpTable& t);
void register_batchnorm_ops(OpTable& t);
void register_elementwise_ops(OpTable& t);
void register_pool_ops(OpTable& t);
void register_layout_ops(OpTable& t);
void register_shape_ops(OpTable& t);
void register_resize_ops(OpTable& t);
void register_reduce_ops(OpTable& t);
void register_quantize_linear_ops(OpTable& t);
// The integer operators of the "winq" domain, registered as "winq.<op>".
void register_qconv_ops(OpTable& t);
void register_qelementwise_ops(OpTable& t);
void register_winograd_ops(OpTable& t);   // winq.WinogradConv (float)
// A Conv with learned Winograd transforms (winograd::has_learned_transforms) is
// that Winograd computation: Conv's infer/run hand it to these.
void learned_winograd_conv_infer(InferContext& c);
void learned_winograd_conv_run(RunContext& c);
void register_qwinograd_ops(OpTable& t);  // winq.QWinogradConv (int8)
void pack_winograd_weights(Graph& g);      // its U packed for the active int8 kernel

// The value of a Shape node for an input of shape `x` (used to fold Shape as
// soon as its input's shape is known, without any data).
Tensor shape_op_value(const Shape& x, const Node& shape_node);

// Shared helpers.
int normalize_axis(int64_t axis, int rank, const std::string& where);
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where);
// Reads an int list from a constant input (opset >= N form) or else an attribute.
std::vector<int64_t> ints_from_input_or_attr(const InferContext& c, size_t input, const char* attr, bool* found);

}  // namespace winq::ops

namespace winq::ops {

// Activations fused into Conv/Gemm by passes/fuse_activation are carried as
// attributes: kFusedActivation = "Relu" | "Clip", with kFusedMin/kFusedMax for
// Clip. apply_fused_activation clamps y in place accordingly.
inline constexpr const char* kFusedActivation = "winq_activation";
inline constexpr const char* kFusedMin = "winq_clip_min";
inline constexpr const char* kFusedMax = "winq_clip_max";
void apply_fused_activation(const Attributes& a, float* y, int64_t n);

}  // namespace winq::ops
