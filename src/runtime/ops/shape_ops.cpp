// The shape arithmetic exporters emit around Reshape: Shape, Gather, Slice,
// Cast, Constant. They usually act on small int64 tensors and are folded to
// constants when the graph is prepared.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "op.hpp"

namespace winq::ops {

namespace {

// ---- Constant ---------------------------------------------------------------
Tensor constant_value(const Node& n, const std::string& where) {
  const auto& a = n.attrs;
  if (const Tensor* t = a.get_tensor("value")) return *t;
  if (a.has("value_float")) return Tensor::scalar<float>(a.get_float("value_float", 0));
  if (a.has("value_int")) return Tensor::scalar<int64_t>(a.get_int("value_int", 0));
  if (a.has("value_floats")) {
    auto v = a.get_floats("value_floats");
    return Tensor::from<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (a.has("value_ints")) {
    auto v = a.get_ints("value_ints");
    return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  throw Unsupported(where + ": only tensor, float(s) and int(s) constants are supported");
}
void constant_infer(InferContext& c) {
  Tensor t = constant_value(c.node, c.where());
  c.set_output(0, t.dtype(), t.shape());
}
void constant_run(RunContext& c) { c.out[0] = constant_value(c.node, c.where()); }

// ---- Shape ------------------------------------------------------------------
Tensor shape_value(const Shape& x, const Node& n) {
  const int64_t r = static_cast<int64_t>(x.size());
  int64_t start = n.attrs.get_int("start", 0), end = n.attrs.get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> v(x.begin() + start, x.begin() + std::max(start, end));
  return Tensor::from<int64_t>({static_cast<int64_t>(v.size())}, v);
}
void shape_infer(InferContext& c) {
  Tensor t = shape_value(c.in_shape(0), c.node);
  c.set_output(0, DataType::s64, t.shape());
}
void shape_run(RunContext& c) { c.out[0] = shape_value(c.input(0).shape(), c.node); }

// ---- Gather -----------------------------------------------------------------
Shape gather_shape(const Shape& data, const Shape& idx, int axis) {
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), idx.begin(), idx.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  return out;
}
void gather_infer(InferContext& c) {
  const Shape& data = c.in_shape(0);
  const int axis = normalize_axis(c.node.attrs.get_int("axis", 0), static_cast<int>(data.size()), c.where());
  const DataType it = c.in(1).dtype;
  if (it != DataType::s64 && it != DataType::s32) throw Error(c.where() + ": indices must be int32 or int64");
  c.set_output(0, c.in(0).dtype, gather_shape(data, c.in_shape(1), axis));
}
void gather_run(RunContext& c) {
  const Tensor& data = c.input(0);
  const Tensor& indices = c.input(1);
  const int axis = normalize_axis(c.node.attrs.get_int("axis", 0), data.rank(), c.where());
  auto idx = indices.to_int64s();
  Tensor y(data.dtype(), gather_shape(data.shape(), indices.shape(), axis));
  const size_t es = dtype_size(data.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= data.dim(d);
  for (int d = axis + 1; d < data.rank(); ++d) inner *= data.dim(d);
  const int64_t len = data.dim(axis);
  for (auto& i : idx) {
    if (i < -len || i >= len) throw Error(fmt::format("{}: index {} out of range [{}, {})", c.where(), i, -len, len));
    if (i < 0) i += len;
  }
  const int64_t n_idx = static_cast<int64_t>(idx.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n_idx; ++j)
      std::memcpy(y.raw() + (o * n_idx + j) * inner * es, data.raw() + (o * len + idx[j]) * inner * es, inner * es);
  c.out[0] = std::move(y);
}

// ---- Slice ------------------------------------------------------------------
struct SliceSpec {
  Shape out;
  std::vector<int64_t> start, step;  // per input dimension
};
SliceSpec slice_spec(const Shape& x, std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes,
                     std::vector<int64_t> steps, const std::string& where) {
  const int r = static_cast<int>(x.size());
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    throw Error(where + ": starts, ends, axes and steps differ in length");
  SliceSpec s;
  s.out = x;
  s.start.assign(r, 0);
  s.step.assign(r, 1);
  std::vector<char> seen(r, 0);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int ax = normalize_axis(axes[i], r, where);
    if (seen[ax]) throw Error(where + ": an axis is sliced twice");
    seen[ax] = 1;
    const int64_t dim = x[ax], step = steps[i];
    if (step == 0) throw Error(where + ": step 0");
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (step > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      s.out[ax] = e > b ? (e - b + step - 1) / step : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      s.out[ax] = b > e ? (b - e - step - 1) / (-step) : 0;
    }
    s.start[ax] = b;
    s.step[ax] = step;
  }
  return s;
}
SliceSpec slice_spec_from_inputs(const Node& n, int64_t opset, const Shape& x, const Tensor* starts, const Tensor* ends,
                                 const Tensor* axes, const Tensor* steps, const std::string& where) {
  if (opset < 10)
    return slice_spec(x, n.attrs.get_ints("starts"), n.attrs.get_ints("ends"), n.attrs.get_ints("axes"), {}, where);
  if (!starts || !ends) throw Unsupported(where + ": starts and ends must be constant");
  return slice_spec(x, starts->to_int64s(), ends->to_int64s(), axes ? axes->to_int64s() : std::vector<int64_t>{},
                    steps ? steps->to_int64s() : std::vector<int64_t>{}, where);
}
void slice_infer(InferContext& c) {
  for (size_t i = 3; i < 5; ++i)
    if (c.has_input(i) && !c.const_input(i)) throw Unsupported(c.where() + ": axes and steps must be constant");
  auto s = slice_spec_from_inputs(c.node, c.g.opset, c.in_shape(0), c.const_input(1), c.const_input(2),
                                  c.const_input(3), c.const_input(4), c.where());
  c.set_output(0, c.in(0).dtype, s.out);
}
void slice_run(RunContext& c) {
  const Tensor& x = c.input(0);
  auto opt = [&](size_t i) { return c.has_input(i) ? &c.input(i) : nullptr; };
  auto s = slice_spec_from_inputs(c.node, c.opset, x.shape(), opt(1), opt(2), opt(3), opt(4), c.where());
  Tensor y(x.dtype(), s.out);
  const int r = x.rank();
  const size_t es = dtype_size(x.dtype());
  std::vector<int64_t> stride(r, 1), idx(r, 0);
  for (int i = r - 1; i > 0; --i) stride[i - 1] = stride[i] * x.dim(i);
  for (int64_t o = 0; o < y.numel(); ++o) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += (s.start[i] + idx[i] * s.step[i]) * stride[i];
    std::memcpy(y.raw() + o * es, x.raw() + off * es, es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < s.out[i]) break;
      idx[i] = 0;
    }
  }
  c.out[0] = std::move(y);
}

// ---- Cast -------------------------------------------------------------------
DataType cast_target(const Node& n, const std::string& where) {
  switch (n.attrs.get_int("to", 0)) {
    case 1: return DataType::f32;
    case 2: return DataType::u8;
    case 3: return DataType::s8;
    case 6: return DataType::s32;
    case 7: return DataType::s64;
    default: throw Unsupported(fmt::format("{}: cast to ONNX type {} is not supported", where, n.attrs.get_int("to", 0)));
  }
}
void cast_infer(InferContext& c) { c.set_output(0, cast_target(c.node, c.where()), c.in_shape(0)); }

template <class Out>
Out saturate_from_double(double v) {
  if constexpr (std::is_floating_point_v<Out>) {
    return static_cast<Out>(v);
  } else {
    // Float to integer truncates toward zero; out-of-range values saturate
    // (ONNX leaves them undefined; C++ would be UB).
    if (std::isnan(v)) return 0;
    v = std::trunc(v);
    if (v <= static_cast<double>(std::numeric_limits<Out>::lowest())) return std::numeric_limits<Out>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<Out>::max())) return std::numeric_limits<Out>::max();
    return static_cast<Out>(v);
  }
}
template <class Out>
void cast_to(const Tensor& x, Tensor& y) {
  Out* yd = y.data<Out>();
  if (x.dtype() == DataType::s64) {  // int64 is converted without a double round trip
    const int64_t* xd = x.data<int64_t>();
    for (int64_t i = 0; i < x.numel(); ++i) yd[i] = static_cast<Out>(xd[i]);
    return;
  }
  auto v = x.to_doubles();
  for (int64_t i = 0; i < x.numel(); ++i) yd[i] = saturate_from_double<Out>(v[i]);
}
void cast_run(RunContext& c) {
  const Tensor& x = c.input(0);
  Tensor y(cast_target(c.node, c.where()), x.shape());
  switch (y.dtype()) {
    case DataType::f32: cast_to<float>(x, y); break;
    case DataType::s8: cast_to<int8_t>(x, y); break;
    case DataType::u8: cast_to<uint8_t>(x, y); break;
    case DataType::s32: cast_to<int32_t>(x, y); break;
    case DataType::s64: cast_to<int64_t>(x, y); break;
  }
  c.out[0] = std::move(y);
}

}  // namespace

Tensor shape_op_value(const Shape& x, const Node& n) { return shape_value(x, n); }

void register_shape_ops(OpTable& t) {
  t.push_back({"Constant", {constant_infer, constant_run}});
  t.push_back({"Shape", {shape_infer, shape_run}});
  t.push_back({"Gather", {gather_infer, gather_run}});
  t.push_back({"Slice", {slice_infer, slice_run}});
  t.push_back({"Cast", {cast_infer, cast_run}});
}

}  // namespace winq::ops
