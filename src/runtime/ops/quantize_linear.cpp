// QuantizeLinear and DequantizeLinear with ONNX semantics (opset 10–17):
//   q = saturate(round_half_even(x / scale) + zero_point),  x = (q − zero_point) · scale,
// per tensor (scalar scale) or per axis (1-D scale along `axis`, opset 13+).
#include <algorithm>
#include <cmath>
#include <limits>

#include "op.hpp"

namespace winq::ops {

namespace {

// Index along the quantization axis for every element: (i / inner) % dim.
struct AxisMap {
  int64_t inner = 1, dim = 1;
  int64_t at(int64_t i) const { return dim == 1 ? 0 : (i / inner) % dim; }
};

AxisMap axis_map(const Node& n, const Shape& x, int64_t params, const std::string& where) {
  AxisMap m;
  if (params == 1) return m;
  const int axis = normalize_axis(n.attrs.get_int("axis", 1), static_cast<int>(x.size()), where);
  if (x[axis] != params)
    throw Error(fmt::format("{}: {} scales for axis {} of size {}", where, params, axis, x[axis]));
  for (size_t d = axis + 1; d < x.size(); ++d) m.inner *= x[d];
  m.dim = params;
  return m;
}

void check_params(const InferContext& c) {
  const Shape& s = c.in_shape(1);
  if (s.size() > 1) throw Error(c.where() + ": the scale must be a scalar or 1-D");
  if (c.in(1).dtype != DataType::f32) throw Unsupported(c.where() + ": only float scales are supported");
  if (c.has_input(2) && c.in_shape(2) != s) throw Error(c.where() + ": zero point and scale shapes differ");
}

void quantize_infer(InferContext& c) {
  check_params(c);
  if (c.in(0).dtype != DataType::f32) throw Unsupported(c.where() + ": only float input is supported");
  const DataType t = c.has_input(2) ? c.in(2).dtype : DataType::u8;
  if (t != DataType::u8 && t != DataType::s8) throw Unsupported(c.where() + ": output must be uint8 or int8");
  c.set_output(0, t, c.in_shape(0));
}

template <class Q>
void quantize_to(const RunContext& c, Tensor& y) {
  const Tensor& x = c.input(0);
  const Tensor& scale = c.input(1);
  const AxisMap m = axis_map(c.node, x.shape(), scale.numel(), c.where());
  const float* xd = x.data<float>();
  const float* sd = scale.data<float>();
  const Q* zd = c.has_input(2) ? c.input(2).data<Q>() : nullptr;
  Q* yd = y.data<Q>();
  constexpr float lo = std::numeric_limits<Q>::min(), hi = std::numeric_limits<Q>::max();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t a = m.at(i);
    const float zp = zd ? static_cast<float>(zd[a]) : 0.0f;
    // nearbyint rounds half to even in the default rounding mode; NaN maps to the zero point.
    float v = std::nearbyint(xd[i] / sd[a]) + zp;
    if (std::isnan(v)) v = zp;
    yd[i] = static_cast<Q>(std::clamp(v, lo, hi));
  }
}

void quantize_run(RunContext& c) {
  const DataType t = c.has_input(2) ? c.input(2).dtype() : DataType::u8;
  Tensor y(t, c.input(0).shape());
  for (int64_t i = 0; i < c.input(1).numel(); ++i)
    if (!(c.input(1).data<float>()[i] > 0)) throw Error(c.where() + ": scales must be positive");
  if (t == DataType::u8)
    quantize_to<uint8_t>(c, y);
  else
    quantize_to<int8_t>(c, y);
  c.out[0] = std::move(y);
}

void dequantize_infer(InferContext& c) {
  check_params(c);
  const DataType t = c.in(0).dtype;
  if (t != DataType::u8 && t != DataType::s8 && t != DataType::s32)
    throw Unsupported(c.where() + ": input must be uint8, int8 or int32");
  if (c.has_input(2) && c.in(2).dtype != t) throw Error(c.where() + ": zero point type differs from the input");
  c.set_output(0, DataType::f32, c.in_shape(0));
}

template <class Q>
void dequantize_from(const RunContext& c, Tensor& y) {
  const Tensor& x = c.input(0);
  const Tensor& scale = c.input(1);
  const AxisMap m = axis_map(c.node, x.shape(), scale.numel(), c.where());
  const Q* xd = x.data<Q>();
  const float* sd = scale.data<float>();
  const Q* zd = c.has_input(2) ? c.input(2).data<Q>() : nullptr;
  float* yd = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t a = m.at(i);
    const int64_t zp = zd ? zd[a] : 0;
    yd[i] = static_cast<float>(static_cast<int64_t>(xd[i]) - zp) * sd[a];
  }
}

void dequantize_run(RunContext& c) {
  Tensor y(DataType::f32, c.input(0).shape());
  switch (c.input(0).dtype()) {
    case DataType::u8: dequantize_from<uint8_t>(c, y); break;
    case DataType::s8: dequantize_from<int8_t>(c, y); break;
    default: dequantize_from<int32_t>(c, y); break;
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_quantize_linear_ops(OpTable& t) {
  t.push_back({"QuantizeLinear", {quantize_infer, quantize_run}});
  t.push_back({"DequantizeLinear", {dequantize_infer, dequantize_run}});
}

}  // namespace winq::ops
