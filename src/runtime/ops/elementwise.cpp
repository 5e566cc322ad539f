// Add, Sub, Mul, Div with ONNX (numpy) multidirectional broadcasting, for float
// and the integer types (integer Div truncates toward zero, as C++ does).
#include <vector>

#include "op.hpp"

namespace winq::ops {

namespace {

// Element strides of `s` seen through the broadcast shape `out` (0 where broadcast).
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (size_t i = s.size(); i-- > 0;) {
    const size_t o = i + out.size() - s.size();
    st[o] = s[i] == 1 ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

template <class T, class F>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& y, F f) {
  const Shape& out = y.shape();
  const T* ad = a.data<T>();
  const T* bd = b.data<T>();
  T* yd = y.data<T>();
  if (a.shape() == b.shape()) {
    for (int64_t i = 0; i < y.numel(); ++i) yd[i] = f(ad[i], bd[i]);
    return;
  }
  if (out.empty()) {
    yd[0] = f(ad[0], bd[0]);
    return;
  }
  auto sa = broadcast_strides(a.shape(), out), sb = broadcast_strides(b.shape(), out);
  const size_t r = out.size();
  const int64_t inner = out[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t base = 0; base < y.numel(); base += inner) {
    for (int64_t i = 0; i < inner; ++i) yd[base + i] = f(ad[oa + i * ia], bd[ob + i * ib]);
    // Odometer over the outer dimensions.
    for (size_t d = r - 1; d-- > 0;) {
      oa += sa[d];
      ob += sb[d];
      if (++idx[d] < out[d]) break;
      oa -= sa[d] * out[d];
      ob -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

template <class T>
void binary_typed(RunContext& c, Tensor& y) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const std::string& op = c.node.op;
  if (op == "Add") broadcast_binary<T>(a, b, y, [](T p, T q) { return static_cast<T>(p + q); });
  else if (op == "Sub") broadcast_binary<T>(a, b, y, [](T p, T q) { return static_cast<T>(p - q); });
  else if (op == "Mul") broadcast_binary<T>(a, b, y, [](T p, T q) { return static_cast<T>(p * q); });
  else {
    if constexpr (std::is_integral_v<T>) {
      const T* bd = b.data<T>();
      for (int64_t i = 0; i < b.numel(); ++i)
        if (bd[i] == 0) throw Error(c.where() + ": integer division by zero");
    }
    broadcast_binary<T>(a, b, y, [](T p, T q) { return static_cast<T>(p / q); });
  }
}

void binary_infer(InferContext& c) {
  // Opset < 7 "broadcast" with an explicit axis aligns B at that axis, not at the end.
  if (c.node.attrs.has("axis")) throw Unsupported(c.where() + ": legacy broadcast with an axis (opset < 7)");
  const Value& a = c.in(0);
  const Value& b = c.in(1);
  if (a.dtype != b.dtype)
    throw Error(fmt::format("{}: operand types differ ({} and {})", c.where(), dtype_name(a.dtype), dtype_name(b.dtype)));
  c.set_output(0, a.dtype, broadcast_shapes(c.in_shape(0), c.in_shape(1), c.where()));
}

void binary_run(RunContext& c) {
  const Tensor& a = c.input(0);
  Tensor y(a.dtype(), broadcast_shapes(a.shape(), c.input(1).shape(), c.where()));
  switch (a.dtype()) {
    case DataType::f32: binary_typed<float>(c, y); break;
    case DataType::s8: binary_typed<int8_t>(c, y); break;
    case DataType::u8: binary_typed<uint8_t>(c, y); break;
    case DataType::s32: binary_typed<int32_t>(c, y); break;
    case DataType::s64: binary_typed<int64_t>(c, y); break;
  }
  if (y.dtype() == DataType::f32) apply_fused_activation(c.node.attrs, y.data<float>(), y.numel());
  c.out[0] = std::move(y);
}

}  // namespace

void register_elementwise_ops(OpTable& t) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) t.push_back({op, {binary_infer, binary_run}});
}

}  // namespace winq::ops
