// Ops that only move data, for every element type: Identity, Dropout (inference),
// Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "op.hpp"

namespace winq::ops {

namespace {

void identity_infer(InferContext& c) {
  if (c.node.op == "Dropout") {
    if (c.node.outputs.size() > 1) throw Unsupported(c.where() + ": the mask output of Dropout is not supported");
    // Opset 12+: a third input switches training mode on (random dropping).
    const Tensor* training = c.const_input(2);
    if (c.has_input(2) && (!training || training->to_int64s().at(0) != 0))
      throw Unsupported(c.where() + ": training-mode Dropout is not supported");
  }
  c.set_output(0, c.in(0).dtype, c.in_shape(0));
}
void identity_run(RunContext& c) { c.out[0] = c.input(0); }

Shape flatten_shape(const Shape& x, int64_t axis_attr, const std::string& where) {
  const int r = static_cast<int>(x.size());
  const int axis = axis_attr < 0 ? static_cast<int>(axis_attr + r) : static_cast<int>(axis_attr);
  if (axis < 0 || axis > r) throw Error(fmt::format("{}: axis {} out of range for rank {}", where, axis_attr, r));
  int64_t a = 1, b = 1;
  for (int i = 0; i < r; ++i) (i < axis ? a : b) *= x[i];
  return {a, b};
}
void flatten_infer(InferContext& c) {
  c.set_output(0, c.in(0).dtype, flatten_shape(c.in_shape(0), c.node.attrs.get_int("axis", 1), c.where()));
}
void flatten_run(RunContext& c) {
  const Tensor& x = c.input(0);
  c.out[0] = x.reshaped(flatten_shape(x.shape(), c.node.attrs.get_int("axis", 1), c.where()));
}

// Reshape target: 0 copies the input dimension (unless allowzero), -1 is inferred.
Shape reshape_shape(const Shape& x, const std::vector<int64_t>& target, bool allowzero, const std::string& where) {
  Shape out(target.begin(), target.end());
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allowzero) {
      if (i >= x.size()) throw Error(where + ": target copies a dimension the input does not have");
      out[i] = x[i];
    }
    if (out[i] == -1) {
      if (infer_at >= 0) throw Error(where + ": more than one -1 in the target shape");
      infer_at = static_cast<int>(i);
    } else if (out[i] < 0) {
      throw Error(where + ": negative dimension in the target shape");
    } else {
      if (out[i] > 0 && known > kMaxTensorElements / out[i])  // no int64 overflow (fuzz/onnx_import)
        throw Error(fmt::format("{}: target shape {} has more than {} elements", where, shape_str(Shape(target)),
                                kMaxTensorElements));
      known *= out[i];
    }
  }
  const int64_t total = shape_numel(x);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      throw Error(fmt::format("{}: cannot reshape {} to {}", where, shape_str(x), shape_str(Shape(target))));
    out[infer_at] = total / known;
  }
  if (shape_numel(out) != total)
    throw Error(fmt::format("{}: cannot reshape {} ({} elements) to {}", where, shape_str(x), total, shape_str(out)));
  return out;
}
void reshape_infer(InferContext& c) {
  if (!c.has_input(1)) throw Unsupported(c.where() + ": Reshape with a shape attribute (opset < 5) is not supported");
  const Tensor* t = c.const_input(1);
  if (!t) throw Unsupported(c.where() + ": the target shape must be known when the model is prepared");
  c.set_output(0, c.in(0).dtype,
               reshape_shape(c.in_shape(0), t->to_int64s(), c.node.attrs.get_int("allowzero", 0), c.where()));
}
void reshape_run(RunContext& c) {
  const Tensor& x = c.input(0);
  c.out[0] = x.reshaped(reshape_shape(x.shape(), c.input(1).to_int64s(), c.node.attrs.get_int("allowzero", 0), c.where()));
}

std::vector<int64_t> axes_of(const Node& n, const Tensor* axes_input, int64_t opset) {
  if (opset >= 13) return axes_input ? axes_input->to_int64s() : std::vector<int64_t>{};
  return n.attrs.get_ints("axes");
}

Shape squeeze_shape(const Shape& x, std::vector<int64_t> axes, const std::string& where) {
  const int r = static_cast<int>(x.size());
  std::vector<char> drop(r, 0);
  if (axes.empty()) {
    for (int i = 0; i < r; ++i) drop[i] = x[i] == 1;
  } else {
    for (auto a : axes) {
      int ax = normalize_axis(a, r, where);
      if (x[ax] != 1) throw Error(fmt::format("{}: cannot squeeze axis {} of size {}", where, a, x[ax]));
      drop[ax] = 1;
    }
  }
  Shape out;
  for (int i = 0; i < r; ++i)
    if (!drop[i]) out.push_back(x[i]);
  return out;
}

Shape unsqueeze_shape(const Shape& x, std::vector<int64_t> axes, const std::string& where) {
  const int r = static_cast<int>(x.size() + axes.size());
  std::vector<char> ins(r, 0);
  for (auto a : axes) {
    int ax = normalize_axis(a, r, where);
    if (ins[ax]) throw Error(where + ": repeated axis");
    ins[ax] = 1;
  }
  Shape out;
  size_t j = 0;
  for (int i = 0; i < r; ++i) out.push_back(ins[i] ? 1 : x.at(j++));
  return out;
}

void squeeze_infer(InferContext& c) {
  if (c.g.opset >= 13 && c.has_input(1) && !c.const_input(1))
    throw Unsupported(c.where() + ": axes must be constant");
  auto axes = axes_of(c.node, c.const_input(1), c.g.opset);
  const Shape& x = c.in_shape(0);
  Shape out = c.node.op == "Squeeze" ? squeeze_shape(x, axes, c.where()) : unsqueeze_shape(x, axes, c.where());
  c.set_output(0, c.in(0).dtype, out);
}
void squeeze_run(RunContext& c) {
  const Tensor& x = c.input(0);
  auto axes = axes_of(c.node, c.has_input(1) ? &c.input(1) : nullptr, c.opset);
  Shape out = c.node.op == "Squeeze" ? squeeze_shape(x.shape(), axes, c.where())
                                     : unsqueeze_shape(x.shape(), axes, c.where());
  c.out[0] = x.reshaped(out);
}

std::vector<int64_t> transpose_perm(const Node& n, int r, const std::string& where) {
  std::vector<int64_t> perm(r);
  std::iota(perm.rbegin(), perm.rend(), 0);
  perm = n.attrs.get_ints("perm", perm);
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < r; ++i)
    if (static_cast<int>(sorted.size()) != r || sorted[i] != i) throw Error(where + ": perm is not a permutation of the axes");
  return perm;
}
void transpose_infer(InferContext& c) {
  const Shape& x = c.in_shape(0);
  auto perm = transpose_perm(c.node, static_cast<int>(x.size()), c.where());
  Shape out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[perm[i]];
  c.set_output(0, c.in(0).dtype, out);
}
void transpose_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const int r = x.rank();
  auto perm = transpose_perm(c.node, r, c.where());
  Shape out(r);
  for (int i = 0; i < r; ++i) out[i] = x.dim(static_cast<int>(perm[i]));
  Tensor y(x.dtype(), out);
  const size_t es = dtype_size(x.dtype());
  std::vector<int64_t> in_stride(r, 1);
  for (int i = r - 1; i > 0; --i) in_stride[i - 1] = in_stride[i] * x.dim(i);
  std::vector<int64_t> idx(r, 0);
  const std::byte* src = x.raw();
  std::byte* dst = y.raw();
  for (int64_t o = 0; o < y.numel(); ++o) {
    int64_t off = 0;
    for (int i = 0; i < r; ++i) off += idx[i] * in_stride[perm[i]];
    std::memcpy(dst + o * es, src + off * es, es);
    for (int i = r - 1; i >= 0; --i) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  c.out[0] = std::move(y);
}

void concat_infer(InferContext& c) {
  const Shape& first = c.in_shape(0);
  const int r = static_cast<int>(first.size());
  const int axis = normalize_axis(c.node.attrs.get_int("axis", r ? 1 : 0), r, c.where());
  Shape out = first;
  out[axis] = 0;
  for (size_t i = 0; i < c.node.inputs.size(); ++i) {
    const Shape& s = c.in_shape(i);
    if (static_cast<int>(s.size()) != r || c.in(i).dtype != c.in(0).dtype)
      throw Error(c.where() + ": inputs differ in rank or type");
    for (int d = 0; d < r; ++d)
      if (d != axis && s[d] != first[d])
        throw Error(fmt::format("{}: input shapes {} and {} differ outside axis {}", c.where(), shape_str(first),
                                shape_str(s), axis));
    out[axis] += s[axis];
  }
  c.set_output(0, c.in(0).dtype, out);
}
void concat_run(RunContext& c) {
  const Tensor& first = c.input(0);
  const int r = first.rank();
  const int axis = normalize_axis(c.node.attrs.get_int("axis", r ? 1 : 0), r, c.where());
  Shape out = first.shape();
  out[axis] = 0;
  for (size_t i = 0; i < c.in.size(); ++i) out[axis] += c.input(i).dim(axis);
  Tensor y(first.dtype(), out);
  const size_t es = dtype_size(first.dtype());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= out[d];
  for (int d = axis + 1; d < r; ++d) inner *= out[d];
  int64_t offset = 0;
  for (size_t i = 0; i < c.in.size(); ++i) {
    const Tensor& t = c.input(i);
    const int64_t block = t.dim(axis) * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y.raw() + (o * out[axis] * inner + offset) * es, t.raw() + o * block * es, block * es);
    offset += block;
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_layout_ops(OpTable& t) {
  t.push_back({"Identity", {identity_infer, identity_run}});
  t.push_back({"Dropout", {identity_infer, identity_run}});
  t.push_back({"Flatten", {flatten_infer, flatten_run}});
  t.push_back({"Reshape", {reshape_infer, reshape_run}});
  t.push_back({"Squeeze", {squeeze_infer, squeeze_run}});
  t.push_back({"Unsqueeze", {squeeze_infer, squeeze_run}});
  t.push_back({"Transpose", {transpose_infer, transpose_run}});
  t.push_back({"Concat", {concat_infer, concat_run}});
}

}  // namespace winq::ops
