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

FloatTile to_float_tile(const winograd::TileMatrices& t) {
  return FloatTile{t.m, t.n, {t.AT.begin(), t.AT.end()}, {t.BT.begin(), t.BT.end()}};
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

void winograd_2d_run(RunContext& c, const Tensor* U, const FloatTile& t);

void winograd_conv_run(RunContext& c) {
  const int m = static_cast<int>(c.node.attrs.get_int("tile", 0));
  if (m != 2 && m != 4 && m != 6) throw Error(c.where() + ": tile must be 2, 4 or 6");
  const Tensor* U = c.node.attrs.get_tensor("winq_u");
  if (!U) throw Error(c.where() + ": missing the transformed weights (run plan_float_winograd)");
  if (winograd::has_learned_transforms(c.node)) {
    const FloatTile t = to_float_tile(winograd::learned_transforms(c.node));
    if (t.m != m) throw Error(c.where() + ": the learned transforms are not those of the tile");
    winograd_2d_run(c, U, t);
    return;
  }
  const FloatTile& t = float_tile(m);
  if (c.node.attrs.get_int("one_d", 0)) {
    winograd_1d_run(c, *U, t);
    return;
  }
  winograd_2d_run(c, U, t);
}

// U: [n·n, M, C], G g Gᵀ of the weights.
void winograd_2d_run(RunContext& c, const Tensor* U, const FloatTile& t) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int m = t.m;
  const int n = t.n, nn = n * n;
  Window win = make_window(c.node.attrs, x.shape(), {3, 3}, false, c.where());
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), H = win.in[0], W = win.in[1];
  const int64_t OH = win.out[0], OW = win.out[1], TH = (OH + m - 1) / m, TW = (OW + m - 1) / m, T = TH * TW;
  if (U->dim(0) != nn || U->dim(1) != M || U->dim(2) != C) throw Error(c.where() + ": transformed weights do not fit");
  Tensor y(DataType::f32, window_output_shape(win, N, M));
  const float* bias = c.has_input(2) ? c.input(2).data<float>() : nullptr;
  const KernelTable& kt = kernel_table();
  // Per image: a zero-padded copy of the input (every tile inside it), the
  // input transform per channel and tile row, one GEMM per component, the
  // output transform per output channel and tile row. Batches split over
  // images; a single image splits each phase over the threads instead.
  const int64_t Hp = TH * m + 2, Wp = TW * m + 2;
  auto run_image = [&](int64_t img, int threads, std::vector<float>& xp, std::vector<float>& V, std::vector<float>& P) {
    const float* xi = x.data<float>() + img * C * H * W;
    parallel_for(C, threads, [&](int64_t c0, int64_t c1) {
      for (int64_t ch = c0; ch < c1; ++ch) {
        float* plane = xp.data() + ch * Hp * Wp;
        std::fill(plane, plane + Hp * Wp, 0.0f);
        for (int64_t iy = 0; iy < H; ++iy) {
          const int64_t py = iy + win.pad_begin[0];
          if (py >= Hp) break;
          const int64_t x0 = win.pad_begin[1], len = std::min<int64_t>(W, Wp - x0);
          std::copy_n(xi + (ch * H + iy) * W, len, plane + py * Wp + x0);
        }
        for (int64_t ty = 0; ty < TH; ++ty)
          kt.wino_f32_input(m, t.BT.data(), plane + ty * m * Wp, Wp, TW, V.data() + ch * T + ty * TW, C * T);
      }
    });
    parallel_for(nn, threads, [&](int64_t k0, int64_t k1) {  // P[ξν] (M×T) = U[ξν] (M×C) · V[ξν] (C×T)
      for (int64_t k = k0; k < k1; ++k)
        kt.gemm_f32(M, T, C, U->data<float>() + k * M * C, C, V.data() + k * C * T, T, P.data() + k * M * T, T, false);
    });
    float* yi = y.data<float>() + img * M * OH * OW;
    parallel_for(M, threads, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o)
        for (int64_t ty = 0; ty < TH; ++ty)
          kt.wino_f32_output(m, t.AT.data(), P.data() + o * T + ty * TW, M * T, TW, bias ? bias[o] : 0.0f,
                             yi + (o * OH + ty * m) * OW, OW, static_cast<int>(std::min<int64_t>(m, OH - ty * m)));
    });
    apply_fused_activation(c.node.attrs, yi, M * OH * OW);
  };
  const auto xp_size = static_cast<size_t>(C * Hp * Wp), v_size = static_cast<size_t>(nn * C * T),
             p_size = static_cast<size_t>(nn * M * T);
  if (N >= c.threads) {
    parallel_for(N, c.threads, [&](int64_t b0, int64_t e0) {
      std::vector<float> xp(xp_size), V(v_size), P(p_size);
      for (int64_t img = b0; img < e0; ++img) run_image(img, 1, xp, V, P);
    });
  } else {
    std::vector<float> xp(xp_size), V(v_size), P(p_size);
    for (int64_t img = 0; img < N; ++img) run_image(img, c.threads, xp, V, P);
  }
  c.out[0] = std::move(y);
}

}  // namespace

void learned_winograd_conv_infer(InferContext& c) {
  winograd::learned_transforms(c.node);  // well-formed
  if (c.node.attrs.get_int("group", 1) != 1) throw Error(c.where() + ": learned Winograd transforms need group 1");
  winograd_conv_infer(c);
}

void learned_winograd_conv_run(RunContext& c) {
  const winograd::TileMatrices t = winograd::learned_transforms(c.node);
  const Tensor U = winograd::transform_weights(c.input(1), t);
  winograd_2d_run(c, &U, to_float_tile(t));
}

void register_winograd_ops(OpTable& t) { t.push_back({"winq.WinogradConv", {winograd_conv_infer, winograd_conv_run}}); }

}  // namespace winq::ops
