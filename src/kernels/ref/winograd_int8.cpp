// The definition of the int8 Winograd tile transforms (see winograd_int8.hpp).
#include "../winograd_int8.hpp"
#include "../winograd_int8_default.hpp"

#include <algorithm>
#include <cmath>

namespace winq::kernels {

namespace {

void input_rows_1d(WINQ_WINO_INPUT_ARGS) {
  const int n = p.m + 2;
  for (int64_t lt = 0; lt < tiles * tile_rows; ++lt)
    for (int ch = 0; ch < 4; ++ch) {
      const int64_t tr = lt / tiles, tile = lt % tiles;
      for (int s = 0; s < n; ++s) {
        int64_t v = 0;
        for (int j = 0; j < n; ++j) {
          const uint8_t b = xp[(tr * ws + tile * p.m + j) * 4 + ch];
          v += static_cast<int64_t>(p.bt[s * n + j]) * ((p.x_signed ? int64_t{static_cast<int8_t>(b)} : int64_t{b}) - p.x_zp);
        }
        const float q = std::nearbyint(static_cast<float>(v) * p.v_scale[4 * s + ch]);
        const float c = std::min(std::max(q, p.v_lo[s]), p.v_hi[s]);
        dst[s * comp_stride + lt * 4 + ch] = static_cast<uint8_t>(static_cast<int32_t>(c) + p.v_off[s]);
      }
    }
}

void output_rows_1d(WINQ_WINO_OUTPUT_ARGS) {
  const int m = p.m, n = m + 2;
  for (int64_t lt = 0; lt < tiles * tile_rows; ++lt) {
    const int64_t tr = lt / tiles, tile = lt % tiles;
    if (tr >= rows) break;
    float z[8];
    for (int j = 0; j < n; ++j) {
      const auto diff = static_cast<uint32_t>(P[j * comp_stride + lt]) - static_cast<uint32_t>(corr[j * coef_stride]);
      z[j] = static_cast<float>(static_cast<int32_t>(diff)) * z_scale[j * coef_stride];
    }
    for (int s = 0; s < m && tile * m + s < OW; ++s) {
      float acc = bias;
      for (int j = 0; j < n; ++j)
        if (p.at[s * n + j] != 0.0f) acc = acc + p.at[s * n + j] * z[j];
      const auto v = static_cast<int32_t>(std::clamp(std::nearbyint(acc) + static_cast<float>(p.y_zp),
                                                     static_cast<float>(p.qmin), static_cast<float>(p.qmax)));
      y[tr * OW + tile * m + s] = static_cast<uint8_t>(p.y_unsigned ? v : static_cast<int32_t>(static_cast<int8_t>(v)));
    }
  }
}

}  // namespace

void wino_input_rows__ref(WINQ_WINO_INPUT_ARGS) {
  if (p.one_d) return input_rows_1d(p, xp, ws, tiles, tile_rows, dst, comp_stride);
  const int n = p.m + 2;
  int64_t d[64], t[64];
  for (int64_t lt = 0; lt < tiles * tile_rows; ++lt)
    for (int ch = 0; ch < 4; ++ch) {
      const int64_t tr = lt / tiles, tile = lt % tiles;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          const uint8_t b = xp[(((tr * p.m + i) * ws) + tile * p.m + j) * 4 + ch];
          d[i * n + j] = (p.x_signed ? int64_t{static_cast<int8_t>(b)} : int64_t{b}) - p.x_zp;
        }
      for (int i = 0; i < n; ++i)  // t = d B'
        for (int s = 0; s < n; ++s) {
          int64_t acc = 0;
          for (int j = 0; j < n; ++j) acc += static_cast<int64_t>(p.bt[s * n + j]) * d[i * n + j];
          t[i * n + s] = acc;
        }
      for (int r = 0; r < n; ++r)  // V = B'ᵀ t
        for (int s = 0; s < n; ++s) {
          int64_t v = 0;
          for (int i = 0; i < n; ++i) v += static_cast<int64_t>(p.bt[r * n + i]) * t[i * n + s];
          const int k = r * n + s;
          const float q = std::nearbyint(static_cast<float>(v) * p.v_scale[4 * k + ch]);
          const float c = std::min(std::max(q, p.v_lo[k]), p.v_hi[k]);
          dst[k * comp_stride + lt * 4 + ch] = static_cast<uint8_t>(static_cast<int32_t>(c) + p.v_off[k]);
        }
    }
}

namespace {

// pass(x) of the default Aᵀ (winograd_int8.hpp): o[r] = Σ_i Aᵀ[r][i] x[i·stride]
// with the shared sums a_k, b_k of the pairs of points ±1, ±2, ±1/2.
void default_at_pass(int m, const float* x, int stride, float* o) {
  const int n = m + 2, pairs = m / 2;
  constexpr float kPoint[3] = {1.0f, 2.0f, 0.5f};
  float a[3], b[3];
  for (int k = 0; k < pairs; ++k) {
    a[k] = x[(2 * k + 1) * stride] + x[(2 * k + 2) * stride];
    b[k] = x[(2 * k + 1) * stride] - x[(2 * k + 2) * stride];
  }
  o[0] = x[0];
  for (int k = 0; k < pairs; ++k) o[0] = o[0] + a[k];
  for (int r = 1; r < m; ++r) {
    const float* c = r % 2 ? b : a;
    float acc = c[0];
    for (int k = 1; k < pairs; ++k) {
      float power = 1.0f;  // p^r: exact, a power of two
      for (int q = 0; q < r; ++q) power *= kPoint[k];
      acc = acc + power * c[k];
    }
    o[r] = acc;
  }
  o[m - 1] = o[m - 1] + x[(n - 1) * stride];
}

}  // namespace

void wino_output_rows__ref(WINQ_WINO_OUTPUT_ARGS) {
  if (p.one_d) return output_rows_1d(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, tile_rows, y, OW, rows);
  const int m = p.m, n = m + 2;
  const bool shared = wino_default::same(p.at, m == 2   ? wino_default::Default<2>::at
                                               : m == 4 ? wino_default::Default<4>::at
                                                        : wino_default::Default<6>::at,
                                         m * n);
  float z[64], t[48], Y[6];
  for (int64_t tr = 0; tr < tile_rows; ++tr)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t lt = tr * tiles + tile;
      for (int k = 0; k < n * n; ++k) {
        const auto diff = static_cast<uint32_t>(P[k * comp_stride + lt]) - static_cast<uint32_t>(corr[k * coef_stride]);
        const float d = static_cast<float>(static_cast<int32_t>(diff));
        z[k] = shared && k == n + 1 ? std::fma(d, z_scale[k * coef_stride], bias) : d * z_scale[k * coef_stride];
      }
      for (int j = 0; j < n; ++j)
        if (shared) {
          default_at_pass(m, z + j, n, Y);
          for (int r = 0; r < m; ++r) t[r * n + j] = Y[r];
        } else {
          for (int r = 0; r < m; ++r) {
            float acc = 0.0f;
            for (int i = 0; i < n; ++i) acc = acc + p.at[r * n + i] * z[i * n + j];
            t[r * n + j] = acc;
          }
        }
      for (int r = 0; r < m && tr * m + r < rows; ++r) {
        if (shared) default_at_pass(m, t + r * n, 1, Y);
        for (int s = 0; s < m; ++s) {
          const int64_t x = tile * m + s;
          if (x >= OW) break;
          float acc = bias;
          if (shared) acc = Y[s];
          else
            for (int j = 0; j < n; ++j) acc = acc + t[r * n + j] * p.at[s * n + j];
          const auto v = static_cast<int32_t>(std::clamp(std::nearbyint(acc) + static_cast<float>(p.y_zp),
                                                         static_cast<float>(p.qmin), static_cast<float>(p.qmax)));
          y[(tr * m + r) * OW + x] = static_cast<uint8_t>(p.y_unsigned ? v : static_cast<int32_t>(static_cast<int8_t>(v)));
        }
      }
    }
}

}  // namespace winq::kernels
