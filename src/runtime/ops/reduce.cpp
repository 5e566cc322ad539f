// ReduceMean, ReduceSum, ReduceMax, ReduceMin over a set of axes (float).
// Axes: attribute, or from opset 13 on an input for ReduceSum (an empty list
// reduces every axis unless noop_with_empty_axes).
#include <algorithm>
#include <limits>

#include "op.hpp"

namespace winq::ops {

namespace {

struct ReduceSpec {
  std::vector<char> reduce;  // per input axis
  Shape out;                 // with keepdims applied
  bool noop = false;
};

ReduceSpec reduce_spec(const Node& n, int64_t opset, const Shape& x, const Tensor* axes_input,
                       const std::string& where) {
  const int r = static_cast<int>(x.size());
  std::vector<int64_t> axes = (n.op == "ReduceSum" && opset >= 13)
                                  ? (axes_input ? axes_input->to_int64s() : std::vector<int64_t>{})
                                  : n.attrs.get_ints("axes");
  ReduceSpec s;
  s.reduce.assign(r, axes.empty() ? 1 : 0);
  if (axes.empty() && n.attrs.get_int("noop_with_empty_axes", 0)) {
    s.reduce.assign(r, 0);
    s.noop = true;
  }
  for (auto a : axes) s.reduce[normalize_axis(a, r, where)] = 1;
  const bool keep = n.attrs.get_int("keepdims", 1) != 0;
  for (int i = 0; i < r; ++i)
    if (!s.reduce[i]) s.out.push_back(x[i]);
    else if (keep) s.out.push_back(1);
  return s;
}

void reduce_infer(InferContext& c) {
  if (c.in(0).dtype != DataType::f32) throw Unsupported(c.where() + ": only float input is supported");
  if (c.has_input(1) && !c.const_input(1)) throw Unsupported(c.where() + ": axes must be constant");
  c.set_output(0, DataType::f32, reduce_spec(c.node, c.g.opset, c.in_shape(0), c.const_input(1), c.where()).out);
}

void reduce_run(RunContext& c) {
  const Tensor& x = c.input(0);
  auto s = reduce_spec(c.node, c.opset, x.shape(), c.has_input(1) ? &c.input(1) : nullptr, c.where());
  const int r = x.rank();
  // Output index of every input element: strides of the kept axes.
  Shape kept;
  for (int i = 0; i < r; ++i) kept.push_back(s.reduce[i] ? 1 : x.dim(i));
  std::vector<int64_t> ostride(r, 0);
  int64_t st = 1;
  for (int i = r - 1; i >= 0; --i) {
    ostride[i] = s.reduce[i] ? 0 : st;
    st *= kept[i];
  }
  const std::string& op = c.node.op;
  const bool is_max = op == "ReduceMax", is_min = op == "ReduceMin";
  std::vector<double> acc(static_cast<size_t>(st), is_max ? -std::numeric_limits<double>::infinity()
                                                   : is_min ? std::numeric_limits<double>::infinity() : 0.0);
  std::vector<int64_t> idx(r, 0);
  const float* xd = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t o = 0;
    for (int d = 0; d < r; ++d) o += idx[d] * ostride[d];
    if (is_max) acc[o] = std::max(acc[o], static_cast<double>(xd[i]));
    else if (is_min) acc[o] = std::min(acc[o], static_cast<double>(xd[i]));
    else acc[o] += xd[i];
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < x.dim(d)) break;
      idx[d] = 0;
    }
  }
  const double count = st ? static_cast<double>(x.numel()) / static_cast<double>(st) : 1.0;
  Tensor y(DataType::f32, s.out);
  for (int64_t i = 0; i < st; ++i)
    y.data<float>()[i] = static_cast<float>(op == "ReduceMean" ? acc[i] / count : acc[i]);
  c.out[0] = std::move(y);
}

}  // namespace

void register_reduce_ops(OpTable& t) {
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"}) t.push_back({op, {reduce_infer, reduce_run}});
}

}  // namespace winq::ops
