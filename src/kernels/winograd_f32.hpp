// Float Winograd F(m, 3) tile transforms (winq.WinogradConv), one row of tiles
// of one channel (input) or one output channel (output) at a time.
//
// Input: xp is a zero-padded plane at the tile row's top-left, ws floats per
// row; tile t covers columns [t·m, t·m + n). For every component k = a·n + b,
//   V[k·vstride + t] = Σ_j (Σ_i Bᵀ[a][i] · d[i][j]) · Bᵀ[b][j].
// Output: P[k·pstride + t] are one output channel's products; for r < rows and
// columns c = t·m + s < OW,
//   y[r·OW + c] = bias + Σ_j (Σ_i Aᵀ[r][i] · P[i·n + j]) · Aᵀ[s][j].
// The variants compute the same sums in other orders and with FMA, so they
// agree with the definition to float rounding (tests/kernels: 1e-5 relative),
// and with a float64 direct convolution to the tolerance of tests/winograd.
#pragma once
#include <cstdint>

namespace winq::kernels {

#define WINQ_WINO_F32_INPUT_ARGS \
  int m, const float *bt, const float *xp, int64_t ws, int64_t tiles, float *V, int64_t vstride
#define WINQ_WINO_F32_OUTPUT_ARGS                                                                              \
  int m, const float *at, const float *P, int64_t pstride, int64_t tiles, float bias, float *y, int64_t OW, \
      int rows
using WinoF32InputFn = void (*)(WINQ_WINO_F32_INPUT_ARGS);
using WinoF32OutputFn = void (*)(WINQ_WINO_F32_OUTPUT_ARGS);

// The definition: plain loops per tile.
void wino_f32_input_row__ref(WINQ_WINO_F32_INPUT_ARGS);
void wino_f32_output_row__ref(WINQ_WINO_F32_OUTPUT_ARGS);
// Blocks of 16 tiles with the tile index innermost (vectorized by the compiler),
// one source (winograd_f32_tiles.inl) compiled for AVX2+FMA and for AVX-512.
void wino_f32_input_row__avx2(WINQ_WINO_F32_INPUT_ARGS);
void wino_f32_output_row__avx2(WINQ_WINO_F32_OUTPUT_ARGS);
void wino_f32_input_row__avx512(WINQ_WINO_F32_INPUT_ARGS);
void wino_f32_output_row__avx512(WINQ_WINO_F32_OUTPUT_ARGS);

}  // namespace winq::kernels
