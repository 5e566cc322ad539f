// winq.QConv and winq.QGemm: integer convolution and fully connected layers
// (see qlinear.hpp for the contract). This file holds the definition: conv
// lowers each (image, group) to one unpacked GEMM over an im2col buffer of
// zero-point-corrected activations. Packed weights run qconv_packed.cpp.
#include <algorithm>
#include <climits>
#include <vector>

#include "../../kernels/qgemm.hpp"
#include "../thread_pool.hpp"
#include "qconv_epilogue.hpp"
#include "qconv_packed.hpp"
#include "window.hpp"

namespace winq::ops {

namespace {


// Activations minus their zero point, as int16, for any input type.
void widen(const Tensor& x, int64_t zp, std::vector<int16_t>& out) {
  out.resize(static_cast<size_t>(x.numel()));
  if (x.dtype() == DataType::u8) {
    const uint8_t* d = x.data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<int16_t>(d[i] - zp);
  } else {
    const int8_t* d = x.data<int8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<int16_t>(d[i] - zp);
  }
}

void check_quantized_inputs(InferContext& c) {
  const DataType xt = c.in(0).dtype;
  if (xt != DataType::u8 && xt != DataType::s8) throw Error(c.where() + ": x must be uint8 or int8");
  if (c.in(1).dtype != DataType::s8) throw Error(c.where() + ": weights must be int8");
  if (c.has_input(2) && c.in(2).dtype != DataType::s32) throw Error(c.where() + ": bias must be int32");
}

void qconv_infer(InferContext& c) {
  check_quantized_inputs(c);
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  if (x.size() != 4 || w.size() != 4 || x[1] != w[1] * group || w[0] % group != 0)
    throw Error(fmt::format("{}: input {} does not fit weight {} with group {}", c.where(), shape_str(x),
                            shape_str(w), group));
  Window win = make_window(c.node.attrs, x, {w[2], w[3]}, false, c.where());
  c.set_output(0, y_type(c.node, c.where()), window_output_shape(win, x[0], w[0]));
}

// col[(ci·KH + ky)·KW + kx][oy·OW + ox]; padding contributes x − zp = 0.
void im2col_s16(const int16_t* x, int64_t channels, const Window& w, int16_t* col) {
  const int64_t OH = w.out[0], OW = w.out[1], H = w.in[0], W = w.in[1];
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t ky = 0; ky < w.k[0]; ++ky)
      for (int64_t kx = 0; kx < w.k[1]; ++kx) {
        int16_t* dst = col + ((ci * w.k[0] + ky) * w.k[1] + kx) * OH * OW;
        for (int64_t oy = 0; oy < OH; ++oy) {
          const int64_t iy = oy * w.s[0] - w.pad_begin[0] + ky * w.d[0];
          for (int64_t ox = 0; ox < OW; ++ox) {
            const int64_t ix = ox * w.s[1] - w.pad_begin[1] + kx * w.d[1];
            dst[oy * OW + ox] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(ci * H + iy) * W + ix] : int16_t{0};
          }
        }
      }
}

// ---- the packed path (pack_int8_weights prepared the node for the active kernel) ----

void qconv_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  // A prepared state exists only for a packed node (and the ISA never changes).
  if (c.prepared || packed_for_active_kernel(c.node)) return qconv_run_packed(c);
  const int64_t group = c.node.attrs.get_int("group", 1);
  Window win = make_window(c.node.attrs, x.shape(), {w.dim(2), w.dim(3)}, false, c.where());
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t K = Cg * win.k[0] * win.k[1], P = win.out[0] * win.out[1], HW = win.in[0] * win.in[1];
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, window_output_shape(win, N, M));
  std::vector<int16_t> xs;
  widen(x, c.node.attrs.get_int(qattr::kXZeroPoint, 0), xs);
  const int8_t* wd = w.data<int8_t>();
  const int32_t* bias = c.has_input(2) ? c.input(2).data<int32_t>() : nullptr;
  parallel_for(N * group, c.threads, [&](int64_t b, int64_t e) {
    std::vector<int16_t> col(static_cast<size_t>(K * P));
    std::vector<int32_t> acc(static_cast<size_t>(Mg * P));
    for (int64_t t = b; t < e; ++t) {
      const int64_t n = t / group, g = t % group;
      im2col_s16(xs.data() + (n * C + g * Cg) * HW, Cg, win, col.data());
      kernels::qgemm_s8s16__ref(Mg, P, K, wd + g * Mg * K, K, col.data(), P, acc.data(), P);
      for (int64_t m = 0; m < Mg; ++m) {
        int32_t* row = acc.data() + m * P;
        if (bias)
          for (int64_t p = 0; p < P; ++p) row[p] += bias[g * Mg + m];
        epi.apply(row, g * Mg + m, P, y, (n * M + g * Mg + m) * P, 1);
      }
    }
  });
  c.out[0] = std::move(y);
}

void qgemm_infer(InferContext& c) {
  check_quantized_inputs(c);
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  if (x.size() != 2 || w.size() != 2 || x[1] != w[1])
    throw Error(fmt::format("{}: input {} does not fit weight {}", c.where(), shape_str(x), shape_str(w)));
  c.set_output(0, y_type(c.node, c.where()), {x[0], w[0]});
}


void qgemm_run(RunContext& c) {
  if (packed_for_active_kernel(c.node)) return qgemm_run_packed(c);
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, {N, M});
  std::vector<int16_t> xs, xt(static_cast<size_t>(K * N));
  widen(x, c.node.attrs.get_int(qattr::kXZeroPoint, 0), xs);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) xt[k * N + n] = xs[n * K + k];
  std::vector<int32_t> acc(static_cast<size_t>(M * N));
  kernels::qgemm_s8s16__ref(M, N, K, w.data<int8_t>(), K, xt.data(), N, acc.data(), N);
  const int32_t* bias = c.has_input(2) ? c.input(2).data<int32_t>() : nullptr;
  for (int64_t m = 0; m < M; ++m) {
    int32_t* row = acc.data() + m * N;
    if (bias)
      for (int64_t n = 0; n < N; ++n) row[n] += bias[m];
    epi.apply(row, m, N, y, m, M);  // column m of y
  }
  if (epi.type == DataType::f32) apply_fused_activation(c.node.attrs, y.data<float>(), N * M);
  c.out[0] = std::move(y);
}

}  // namespace

void register_qconv_ops(OpTable& t) {
  t.push_back({"winq.QConv", {qconv_infer, qconv_run, qconv_prepare}});
  t.push_back({"winq.QGemm", {qgemm_infer, qgemm_run}});
}

}  // namespace winq::ops
