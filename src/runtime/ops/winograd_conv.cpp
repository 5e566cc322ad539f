// winq.WinogradConv: a 3×3, stride-1 convolution computed as Winograd F(m, 3)
// in float (plan_float_winograd prepared U = G g Gᵀ, [n·n, M, C]). Per image:
// every n×n input tile is transformed (V = Bᵀ d B, zero outside the image),
// each of the n·n components is one GEMM over the channels (U[ξν] · V[ξν]),
// and every tile's n×n products go back through Y = Aᵀ M A, cropped at the
// border. Tolerance against float64 direct convolution: tests/winograd.
// With attribute one_d = 1 it is the 1-D variant F(m×1, 3×3) instead
// (Winograd along the rows, direct across them; winograd_1d_run).
#include <algorithm>
#include <vector>

#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "window.hpp"
#include "winq/winograd.hpp"

namespace winq::ops {

namespace {

void winograd_conv_infer(InferContext& c) {
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  if (x.size() != 4 || w.size() != 4 || w[1] != x[1] || w[2] != 3 || w[3] != 3)
    throw Error(fmt::format("{}: input {} does not fit the 3×3 weight {}", c.where(), shape_str(x), shape_str(w)));
  Window win = make_window(c.node.attrs, x, {3, 3}, false, c.where());
  if (win.s[0] != 1 || win.s[1] != 1 || win.d[0] != 1 || win.d[1] != 1)
    throw Error(c.where() + ": Winograd needs stride 1 and dilation 1");
  c.set_output(0, DataType::f32, window_output_shape(win, x[0], w[0]));
}

struct FloatTile {
  int m, n;
  std::vector<float> AT, BT;
};

const FloatTile& float_tile(int m) {
  static const FloatTile tiles[3] = {[] {
                                       auto t = winograd::tile_matrices(2);
                                       return FloatTile{2, t.n, {t.AT.begin(), t.AT.end()}, {t.BT.begin(), t.BT.end()}};
                                     }(),
                                     [] {
                                       auto t = winograd::tile_matrices(4);
                                       return FloatTile{4, t.n, {t.AT.begin(), t.AT.end()}, {t.BT.begin(), t.BT.end()}};
                                     }(),
                                     [] {
                                       auto t = winograd::tile_matrices(6);
                                       return FloatTile{6, t.n, {t.AT.begin(), t.AT.end()}, {t.BT.begin(), t.BT.end()}};
                                     }()};
  return tiles[m / 2 - 1];
}

// F(m×1, 3×3): tiles of one output row × m columns. For column component j,
// V[j][ky·C + c][tile] = Σ_i Bᵀ[j][i] · x[c][oy + ky][ox + i] (zero outside),
// P[j] (M×T) = U[j] (M×3C) · V[j] (3C×T), and y[oy][ox + s] = bias + Σ_j Aᵀ[s][j] P[j].
void winograd_1d_run(RunContext& c, const Tensor& U, const FloatTile& t) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int m = t.m, n = t.n;
  Window win = make_window(c.node.attrs, x.shape(), {3, 3}, false, c.where());
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), H = win.in[0], W = win.in[1];
  const int64_t OH = win.out[0], OW = win.out[1], TW = (OW + m - 1) / m, T = OH * TW, K = 3 * C;
  if (U.dim(0) != n || U.dim(1) != M || U.dim(2) != K) throw Error(c.where() + ": transformed weights do not fit");
  Tensor y(DataType::f32, window_output_shape(win, N, M));
  const float* bias = c.has_input(2) ? c.input(2).data<float>() : nullptr;
  const auto gemm = kernel_table().gemm_f32;
  parallel_for(N, c.threads, [&](int64_t b0, int64_t e0) {
    std::vector<float> V(static_cast<size_t>(n * K * T)), P(static_cast<size_t>(n * M * T)), d(static_cast<size_t>(n));
    for (int64_t img = b0; img < e0; ++img) {
      const float* xi = x.data<float>() + img * C * H * W;
      for (int64_t ch = 0; ch < C; ++ch)
        for (int ky = 0; ky < 3; ++ky)
          for (int64_t oy = 0; oy < OH; ++oy) {
            const int64_t iy = oy + ky - win.pad_begin[0];
            for (int64_t tx = 0; tx < TW; ++tx) {
              const int64_t x0 = tx * m - win.pad_begin[1];
              for (int i = 0; i < n; ++i) {
                const int64_t ix = x0 + i;
                d[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? xi[(ch * H + iy) * W + ix] : 0.0f;
              }
              const int64_t tile = oy * TW + tx;
              for (int j = 0; j < n; ++j) {
                float s = 0;
                for (int i = 0; i < n; ++i) s += t.BT[j * n + i] * d[i];
                V[(static_cast<int64_t>(j) * K + ky * C + ch) * T + tile] = s;
              }
            }
          }
      for (int j = 0; j < n; ++j)
        gemm(M, T, K, U.data<float>() + static_cast<int64_t>(j) * M * K, K, V.data() + j * K * T, T,
             P.data() + j * M * T, T, false);
      float* yi = y.data<float>() + img * M * OH * OW;
      for (int64_t o = 0; o < M; ++o)
        for (int64_t tile = 0; tile < T; ++tile) {
          const int64_t oy = tile / TW, ox0 = (tile % TW) * m;
          for (int s = 0; s < m && ox0 + s < OW; ++s) {
            float v = bias ? bias[o] : 0.0f;
            for (int j = 0; j < n; ++j) v += t.AT[s * n + j] * P[(j * M + o) * T + tile];
            yi[(o * OH + oy) * OW + ox0 + s] = v;
          }
        }
      apply_fused_activation(c.node.attrs, yi, M * OH * OW);
    }
  });
  c.out[0] = std::move(y);
}

void winograd_conv_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int m = static_cast<int>(c.node.attrs.get_int("tile", 0));
  if (m != 2 && m != 4 && m != 6) throw Error(c.where() + ": tile must be 2, 4 or 6");
  const Tensor* U = c.node.attrs.get_tensor("winq_u");
  if (!U) throw Error(c.where() + ": missing the transformed weights (run plan_float_winograd)");
  const FloatTile& t = float_tile(m);
  if (c.node.attrs.get_int("one_d", 0)) {
    winograd_1d_run(c, *U, t);
    return;
  }
  const int n = t.n, nn = n * n;
  Window win = make_window(c.node.attrs, x.shape(), {3, 3}, false, c.where());
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), H = win.in[0], W = win.in[1];
  const int64_t OH = win.out[0], OW = win.out[1], TH = (OH + m - 1) / m, TW = (OW + m - 1) / m, T = TH * TW;
  if (U->dim(0) != nn || U->dim(1) != M || U->dim(2) != C) throw Error(c.where() + ": transformed weights do not fit");
  Tensor y(DataType::f32, window_output_shape(win, N, M));
  const float* bias = c.has_input(2) ? c.input(2).data<float>() : nullptr;
  const auto gemm = kernel_table().gemm_f32;
  parallel_for(N, c.threads, [&](int64_t b0, int64_t e0) {
    std::vector<float> V(static_cast<size_t>(nn * C * T)), P(static_cast<size_t>(nn * M * T));
    std::vector<float> d(static_cast<size_t>(nn)), tmp(static_cast<size_t>(nn));
    for (int64_t img = b0; img < e0; ++img) {
      const float* xi = x.data<float>() + img * C * H * W;
      // Input transform: V[ξν][c][tile] = (Bᵀ d B)[ξ][ν].
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t ty = 0; ty < TH; ++ty)
          for (int64_t tx = 0; tx < TW; ++tx) {
            const int64_t y0 = ty * m - win.pad_begin[0], x0 = tx * m - win.pad_begin[1];
            for (int i = 0; i < n; ++i)
              for (int j = 0; j < n; ++j) {
                const int64_t iy = y0 + i, ix = x0 + j;
                d[i * n + j] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? xi[(ch * H + iy) * W + ix] : 0.0f;
              }
            for (int a = 0; a < n; ++a)
              for (int j = 0; j < n; ++j) {
                float s = 0;
                for (int i = 0; i < n; ++i) s += t.BT[a * n + i] * d[i * n + j];
                tmp[a * n + j] = s;
              }
            const int64_t tile = ty * TW + tx;
            for (int a = 0; a < n; ++a)
              for (int b = 0; b < n; ++b) {
                float s = 0;
                for (int j = 0; j < n; ++j) s += tmp[a * n + j] * t.BT[b * n + j];
                V[(static_cast<int64_t>(a * n + b) * C + ch) * T + tile] = s;
              }
          }
      // One GEMM per component: P[ξν] (M×T) = U[ξν] (M×C) · V[ξν] (C×T).
      for (int k = 0; k < nn; ++k)
        gemm(M, T, C, U->data<float>() + static_cast<int64_t>(k) * M * C, C, V.data() + k * C * T, T,
             P.data() + k * M * T, T, false);
      // Output transform, crop, bias.
      float* yi = y.data<float>() + img * M * OH * OW;
      for (int64_t o = 0; o < M; ++o)
        for (int64_t tile = 0; tile < T; ++tile) {
          for (int k = 0; k < nn; ++k) d[k] = P[(k * M + o) * T + tile];
          for (int a = 0; a < m; ++a)  // tmp = Aᵀ · P_tile (m × n)
            for (int j = 0; j < n; ++j) {
              float s = 0;
              for (int i = 0; i < n; ++i) s += t.AT[a * n + i] * d[i * n + j];
              tmp[a * n + j] = s;
            }
          const int64_t oy0 = (tile / TW) * m, ox0 = (tile % TW) * m;
          for (int a = 0; a < m && oy0 + a < OH; ++a)
            for (int b = 0; b < m && ox0 + b < OW; ++b) {
              float s = bias ? bias[o] : 0.0f;
              for (int j = 0; j < n; ++j) s += tmp[a * n + j] * t.AT[b * n + j];
              yi[(o * OH + oy0 + a) * OW + ox0 + b] = s;
            }
        }
      apply_fused_activation(c.node.attrs, yi, M * OH * OW);
    }
  });
  c.out[0] = std::move(y);
}

}  // namespace

void register_winograd_ops(OpTable& t) { t.push_back({"winq.WinogradConv", {winograd_conv_infer, winograd_conv_run}}); }

}  // namespace winq::ops
