// Gemm (Y = alpha·A'·B' + beta·C) and MatMul (numpy semantics) in float.
#include <vector>

#include "../dispatch.hpp"
#include "op.hpp"

namespace winq::ops {

namespace {

Tensor transposed_2d(const Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  Tensor o(DataType::f32, {c, r});
  const float* s = t.data<float>();
  float* d = o.data<float>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) d[j * r + i] = s[i * c + j];
  return o;
}

void gemm_infer(InferContext& c) {
  const Shape& a = c.in_shape(0);
  const Shape& b = c.in_shape(1);
  if (a.size() != 2 || b.size() != 2) throw Error(c.where() + ": A and B must be 2-D");
  const bool ta = c.node.attrs.get_int("transA", 0), tb = c.node.attrs.get_int("transB", 0);
  const int64_t M = ta ? a[1] : a[0], K = ta ? a[0] : a[1];
  const int64_t Kb = tb ? b[1] : b[0], N = tb ? b[0] : b[1];
  if (K != Kb)
    throw Error(fmt::format("{}: inner dimensions differ: A {} and B {}", c.where(), shape_str(a), shape_str(b)));
  if (c.has_input(2)) broadcast_shapes(c.in_shape(2), {M, N}, c.where());
  c.set_output(0, DataType::f32, {M, N});
}

void gemm_run(RunContext& c) {
  const bool ta = c.node.attrs.get_int("transA", 0), tb = c.node.attrs.get_int("transB", 0);
  const float alpha = c.node.attrs.get_float("alpha", 1.0f), beta = c.node.attrs.get_float("beta", 1.0f);
  Tensor a = ta ? transposed_2d(c.input(0)) : c.input(0);
  Tensor b = tb ? transposed_2d(c.input(1)) : c.input(1);
  const int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
  Tensor y(DataType::f32, {M, N});
  float* yd = y.data<float>();
  kernel_table().gemm_f32(M, N, K, a.data<float>(), K, b.data<float>(), N, yd, N, false);
  if (alpha != 1.0f)
    for (int64_t i = 0; i < M * N; ++i) yd[i] *= alpha;
  if (c.has_input(2)) {
    const Tensor& bias = c.input(2);
    const float* bd = bias.data<float>();
    // Broadcast C ([], [N], [1,N], [M,1], [M,N]) by its own strides.
    Shape bs = bias.shape();
    while (bs.size() < 2) bs.insert(bs.begin(), 1);
    const int64_t sr = bs[0] == 1 ? 0 : bs[1], sc = bs[1] == 1 ? 0 : 1;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) yd[i * N + j] += beta * bd[i * sr + j * sc];
  }
  apply_fused_activation(c.node.attrs, yd, M * N);
  c.out[0] = std::move(y);
}

// MatMul: 1-D operands are promoted (prepend/append 1) and then removed from the
// result; leading (batch) dimensions broadcast.
struct MatMulShapes {
  Shape out, batch, a_batch, b_batch;
  int64_t M, K, N;
};

MatMulShapes matmul_shapes(Shape a, Shape b, const std::string& where) {
  const bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a.empty() || b.empty()) throw Error(where + ": MatMul operands must have rank >= 1");
  if (a1) a.insert(a.begin(), 1);
  if (b1) b.push_back(1);
  MatMulShapes s;
  s.M = a[a.size() - 2];
  s.K = a.back();
  s.N = b.back();
  if (b[b.size() - 2] != s.K)
    throw Error(fmt::format("{}: inner dimensions differ: {} and {}", where, shape_str(a), shape_str(b)));
  s.a_batch = Shape(a.begin(), a.end() - 2);
  s.b_batch = Shape(b.begin(), b.end() - 2);
  s.batch = broadcast_shapes(s.a_batch, s.b_batch, where);
  s.out = s.batch;
  if (!a1) s.out.push_back(s.M);
  if (!b1) s.out.push_back(s.N);
  return s;
}

void matmul_infer(InferContext& c) {
  auto s = matmul_shapes(c.in_shape(0), c.in_shape(1), c.where());
  c.set_output(0, DataType::f32, s.out);
}

// Offset of broadcast batch index `i` in an operand with batch shape `own`.
int64_t batch_offset(int64_t i, const Shape& batch, const Shape& own) {
  int64_t off = 0, stride = 1;
  for (size_t d = batch.size(); d-- > 0;) {
    const int64_t idx = i % batch[d];
    i /= batch[d];
    const size_t od = d + own.size() - batch.size();
    if (d >= batch.size() - own.size()) {
      if (own[od] != 1) off += idx * stride;
      stride *= own[od];
    }
  }
  return off;
}

void matmul_run(RunContext& c) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  auto s = matmul_shapes(a.shape(), b.shape(), c.where());
  Tensor y(DataType::f32, s.out);
  const int64_t batches = s.batch.empty() ? 1 : shape_numel(s.batch);
  for (int64_t i = 0; i < batches; ++i) {
    const float* ap = a.data<float>() + batch_offset(i, s.batch, s.a_batch) * s.M * s.K;
    const float* bp = b.data<float>() + batch_offset(i, s.batch, s.b_batch) * s.K * s.N;
    kernel_table().gemm_f32(s.M, s.N, s.K, ap, s.K, bp, s.N, y.data<float>() + i * s.M * s.N, s.N, false);
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_gemm_ops(OpTable& t) {
  t.push_back({"Gemm", {gemm_infer, gemm_run}});
  t.push_back({"MatMul", {matmul_infer, matmul_run}});
}

}  // namespace winq::ops
