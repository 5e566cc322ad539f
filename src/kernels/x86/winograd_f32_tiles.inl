// Float Winograd tile transforms, blocked: 16 tiles at a time with the tile
// index innermost, so that every step is a vector multiply-add over tiles (the
// compiler vectorizes the t loops for the ISA of the including file). The
// matrices are compile-time sizes (n = 4, 6, 8); zero coefficients are skipped.
// Included by winograd_f32__avx2.cpp and winograd_f32__avx512.cpp with
// WINQ_WINO_F32_SUFFIX set.
#include <algorithm>

#include "../winograd_f32.hpp"

namespace winq::kernels {

namespace {

constexpr int kB = 16;  // tiles per block

template <int N>
void input_blocked(int m, const float* bt, const float* xp, int64_t ws, int64_t tiles, float* V, int64_t vstride) {
  for (int64_t t0 = 0; t0 < tiles; t0 += kB) {
    const int nb = static_cast<int>(std::min<int64_t>(kB, tiles - t0));
    alignas(64) float d[N][N][kB], tmp[N][N][kB];
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j)
        for (int t = 0; t < kB; ++t) d[i][j][t] = t < nb ? xp[i * ws + (t0 + t) * m + j] : 0.0f;
    for (int a = 0; a < N; ++a)
      for (int j = 0; j < N; ++j) {
        float acc[kB] = {};
        for (int i = 0; i < N; ++i) {
          const float c = bt[a * N + i];
          if (c == 0.0f) continue;
          for (int t = 0; t < kB; ++t) acc[t] += c * d[i][j][t];
        }
        for (int t = 0; t < kB; ++t) tmp[a][j][t] = acc[t];
      }
    for (int a = 0; a < N; ++a)
      for (int b = 0; b < N; ++b) {
        float acc[kB] = {};
        for (int j = 0; j < N; ++j) {
          const float c = bt[b * N + j];
          if (c == 0.0f) continue;
          for (int t = 0; t < kB; ++t) acc[t] += tmp[a][j][t] * c;
        }
        float* dst = V + (a * N + b) * vstride + t0;
        for (int t = 0; t < nb; ++t) dst[t] = acc[t];
      }
  }
}

template <int N>
void output_blocked(int m, const float* at, const float* P, int64_t pstride, int64_t tiles, float bias, float* y,
                    int64_t OW, int rows) {
  for (int64_t t0 = 0; t0 < tiles; t0 += kB) {
    const int nb = static_cast<int>(std::min<int64_t>(kB, tiles - t0));
    alignas(64) float p[N * N][kB], tmp[N - 2][N][kB], out[N - 2][N - 2][kB];
    for (int k = 0; k < N * N; ++k)
      for (int t = 0; t < kB; ++t) p[k][t] = t < nb ? P[k * pstride + t0 + t] : 0.0f;
    for (int r = 0; r < m; ++r)
      for (int j = 0; j < N; ++j) {
        float acc[kB] = {};
        for (int i = 0; i < N; ++i) {
          const float c = at[r * N + i];
          if (c == 0.0f) continue;
          for (int t = 0; t < kB; ++t) acc[t] += c * p[i * N + j][t];
        }
        for (int t = 0; t < kB; ++t) tmp[r][j][t] = acc[t];
      }
    for (int r = 0; r < rows; ++r)
      for (int s = 0; s < m; ++s) {
        float acc[kB];
        for (int t = 0; t < kB; ++t) acc[t] = bias;
        for (int j = 0; j < N; ++j) {
          const float c = at[s * N + j];
          if (c == 0.0f) continue;
          for (int t = 0; t < kB; ++t) acc[t] += tmp[r][j][t] * c;
        }
        for (int t = 0; t < kB; ++t) out[r][s][t] = acc[t];
      }
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < nb; ++t)
        for (int s = 0; s < m && (t0 + t) * m + s < OW; ++s) y[r * OW + (t0 + t) * m + s] = out[r][s][t];
  }
}

}  // namespace

#define WINQ_CAT2(a, b) a##b
#define WINQ_CAT(a, b) WINQ_CAT2(a, b)

void WINQ_CAT(wino_f32_input_row__, WINQ_WINO_F32_SUFFIX)(WINQ_WINO_F32_INPUT_ARGS) {
  switch (m) {
    case 2: return input_blocked<4>(m, bt, xp, ws, tiles, V, vstride);
    case 4: return input_blocked<6>(m, bt, xp, ws, tiles, V, vstride);
    default: return input_blocked<8>(m, bt, xp, ws, tiles, V, vstride);
  }
}

void WINQ_CAT(wino_f32_output_row__, WINQ_WINO_F32_SUFFIX)(WINQ_WINO_F32_OUTPUT_ARGS) {
  switch (m) {
    case 2: return output_blocked<4>(m, at, P, pstride, tiles, bias, y, OW, rows);
    case 4: return output_blocked<6>(m, at, P, pstride, tiles, bias, y, OW, rows);
    default: return output_blocked<8>(m, at, P, pstride, tiles, bias, y, OW, rows);
  }
}

}  // namespace winq::kernels
