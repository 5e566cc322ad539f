// Element-wise activations and Softmax in float.
#include <algorithm>
#include <cmath>
#include <limits>

#include "op.hpp"

namespace winq::ops {

namespace {

void same_shape_infer(InferContext& c) { c.set_output(0, c.in(0).dtype, c.in_shape(0)); }

template <class F>
void unary_f32(RunContext& c, F f) {
  const Tensor& x = c.input(0);
  Tensor y(DataType::f32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) yd[i] = f(xd[i]);
  c.out[0] = std::move(y);
}

void relu_run(RunContext& c) { unary_f32(c, [](float v) { return v > 0.0f ? v : 0.0f; }); }
void sigmoid_run(RunContext& c) { unary_f32(c, [](float v) { return 1.0f / (1.0f + std::exp(-v)); }); }
void leaky_relu_run(RunContext& c) {
  const float alpha = c.node.attrs.get_float("alpha", 0.01f);
  unary_f32(c, [alpha](float v) { return v >= 0.0f ? v : alpha * v; });
}
void hard_sigmoid_run(RunContext& c) {
  const float alpha = c.node.attrs.get_float("alpha", 0.2f), beta = c.node.attrs.get_float("beta", 0.5f);
  unary_f32(c, [=](float v) { return std::max(0.0f, std::min(1.0f, alpha * v + beta)); });
}
void hard_swish_run(RunContext& c) {
  unary_f32(c, [](float v) { return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f)); });
}

// Clip bounds: attributes before opset 11, optional inputs 1 and 2 after.
template <class T>
void clip_typed(RunContext& c) {
  T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  if (c.opset < 11) {
    lo = static_cast<T>(c.node.attrs.get_float("min", -std::numeric_limits<float>::max()));
    hi = static_cast<T>(c.node.attrs.get_float("max", std::numeric_limits<float>::max()));
  } else {
    if (c.has_input(1)) lo = c.input(1).data<T>()[0];
    if (c.has_input(2)) hi = c.input(2).data<T>()[0];
  }
  const Tensor& x = c.input(0);
  Tensor y(x.dtype(), x.shape());
  const T* xd = x.data<T>();
  T* yd = y.data<T>();
  // ONNX: min is applied first, so min > max gives max everywhere.
  for (int64_t i = 0; i < x.numel(); ++i) yd[i] = std::min(std::max(xd[i], lo), hi);
  c.out[0] = std::move(y);
}

void clip_run(RunContext& c) {
  switch (c.input(0).dtype()) {
    case DataType::f32: return clip_typed<float>(c);
    case DataType::s8: return clip_typed<int8_t>(c);
    case DataType::u8: return clip_typed<uint8_t>(c);
    case DataType::s32: return clip_typed<int32_t>(c);
    case DataType::s64: return clip_typed<int64_t>(c);
  }
}

void clip_infer(InferContext& c) {
  for (size_t i = 1; i < 3; ++i)
    if (c.has_input(i) && c.in(i).has_shape && shape_numel(c.in_shape(i)) != 1)
      throw Error(c.where() + ": min and max must be scalars");
  same_shape_infer(c);
}

// Softmax: opset >= 13 normalises along `axis` (default -1); earlier opsets
// flatten to 2-D at `axis` (default 1) and normalise each row.
void softmax_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const int r = x.rank();
  const bool v13 = c.opset >= 13;
  const int axis = normalize_axis(c.node.attrs.get_int("axis", v13 ? -1 : 1), r, c.where());
  int64_t outer = 1, len = 1, inner = 1;
  for (int i = 0; i < r; ++i) {
    if (i < axis) outer *= x.dim(i);
    else if (i == axis || !v13) len *= x.dim(i);
    else inner *= x.dim(i);
  }
  Tensor y(DataType::f32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float* xs = xd + o * len * inner + in;
      float* ys = yd + o * len * inner + in;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < len; ++i) mx = std::max(mx, xs[i * inner]);
      double sum = 0.0;
      for (int64_t i = 0; i < len; ++i) {
        ys[i * inner] = std::exp(xs[i * inner] - mx);
        sum += ys[i * inner];
      }
      for (int64_t i = 0; i < len; ++i) ys[i * inner] = static_cast<float>(ys[i * inner] / sum);
    }
  c.out[0] = std::move(y);
}

void float_unary_infer(InferContext& c) {
  if (c.in(0).dtype != DataType::f32) throw Unsupported(c.where() + ": only float input is supported");
  same_shape_infer(c);
}

}  // namespace

void register_activation_ops(OpTable& t) {
  t.push_back({"Relu", {float_unary_infer, relu_run}});
  t.push_back({"Sigmoid", {float_unary_infer, sigmoid_run}});
  t.push_back({"LeakyRelu", {float_unary_infer, leaky_relu_run}});
  t.push_back({"HardSigmoid", {float_unary_infer, hard_sigmoid_run}});
  t.push_back({"HardSwish", {float_unary_infer, hard_swish_run}});
  t.push_back({"Clip", {clip_infer, clip_run}});
  t.push_back({"Softmax", {float_unary_infer, softmax_run}});
}

}  // namespace winq::ops
