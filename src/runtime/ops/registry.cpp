#include <algorithm>
#include <mutex>

#include "op.hpp"

namespace winq::ops {

const Value& InferContext::in(size_t i) const {
  ValueId v = node.input(i);
  if (v == kNoValue) throw Error(where() + ": missing required input " + std::to_string(i));
  return g.values[v];
}

const Tensor* InferContext::const_input(size_t i) const {
  ValueId v = node.input(i);
  if (v == kNoValue || !g.values[v].is_constant()) return nullptr;
  return &g.values[v].constant;
}

const Shape& InferContext::in_shape(size_t i) const {
  const Value& v = in(i);
  if (!v.shape_known())
    throw Error(fmt::format("{}: the shape of input '{}' is unknown", where(), v.name));
  return v.shape;
}

void InferContext::set_output(size_t i, DataType t, Shape s) {
  if (i >= node.outputs.size()) return;  // optional output not requested
  Value& v = g.values[node.outputs[i]];
  v.dtype = t;
  v.shape = std::move(s);
  v.has_shape = true;
}

const Tensor& RunContext::input(size_t i) const {
  if (!has_input(i)) throw Error(where() + ": missing required input " + std::to_string(i));
  return *in[i];
}

static const OpTable& op_table() {
  static const OpTable table = [] {
    OpTable t;
    register_conv_ops(t);
    register_gemm_ops(t);
    register_activation_ops(t);
    register_batchnorm_ops(t);
    register_elementwise_ops(t);
    register_pool_ops(t);
    register_layout_ops(t);
    register_shape_ops(t);
    register_resize_ops(t);
    register_reduce_ops(t);
    register_quantize_linear_ops(t);
    register_qconv_ops(t);
    register_qelementwise_ops(t);
    register_winograd_ops(t);
    register_qwinograd_ops(t);
    return t;
  }();
  return table;
}

const OpDef* find_op(const std::string& domain, const std::string& op) {
  std::string key;
  if (domain.empty() || domain == "ai.onnx")
    key = op;
  else if (domain == "winq")
    key = "winq." + op;
  else
    return nullptr;
  for (const auto& [name, def] : op_table())
    if (name == key) return &def;
  return nullptr;
}

int normalize_axis(int64_t axis, int rank, const std::string& where) {
  // Strict [-rank, rank): a scalar has no axis (callers index shapes with the
  // result; fuzz/onnx_import found Gather/Concat/Reduce on scalars reading past them).
  if (axis < -rank || axis >= rank)
    throw Error(fmt::format("{}: axis {} is out of range for rank {}", where, axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& where) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(fmt::format("{}: shapes {} and {} cannot be broadcast", where, shape_str(a), shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> ints_from_input_or_attr(const InferContext& c, size_t input, const char* attr, bool* found) {
  *found = true;
  if (c.has_input(input)) {
    const Tensor* t = c.const_input(input);
    if (!t) throw Unsupported(fmt::format("{}: input {} ('{}') must be constant", c.where(), input, c.in(input).name));
    return t->to_int64s();
  }
  if (c.node.attrs.has(attr)) return c.node.attrs.get_ints(attr);
  *found = false;
  return {};
}

}  // namespace winq::ops

namespace winq {
std::vector<std::string> supported_ops() {
  std::vector<std::string> r;
  for (const auto& [name, def] : ops::op_table()) r.push_back(name);
  return r;
}
}  // namespace winq
