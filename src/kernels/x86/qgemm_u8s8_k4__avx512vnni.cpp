// Packed int8 GEMM with AVX-512 VNNI (compiled with -mavx512f -mavx512bw
// -mavx512vnni): vpdpbusd multiplies 4 u8 activations by 4 s8 weights and adds
// the four products to an int32 lane, without saturation. A tile is one panel
// of 8 output channels × 16·T positions: 8·T accumulators stay in registers
// (the loops are unrolled so the compiler cannot leave them in memory, which
// costs a load and a store per product), and each broadcast weight word
// serves T products.
#include <immintrin.h>

#include <algorithm>

#include "../qgemm.hpp"

namespace winq::kernels {

namespace {

template <int T>
inline void tile(int64_t rows, int64_t n0, int64_t K4, const int8_t* wpanel, const uint8_t* a, const int64_t* row_off,
                 int32_t* C, int64_t ldc, __mmask16 last) {
  __m512i acc[kQPanel][T];
#pragma GCC unroll 8
  for (int r = 0; r < kQPanel; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_si512();
  const uint8_t* an = a + n0 * 4;
  const int8_t* wk = wpanel;
  for (int64_t k4 = 0; k4 < K4; ++k4, wk += kQPanel * 4) {
    const uint8_t* ak = an + row_off[k4];
    __m512i x[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t)
      x[t] = t == T - 1 ? _mm512_maskz_loadu_epi32(last, ak + 64 * t) : _mm512_loadu_si512(ak + 64 * t);
#pragma GCC unroll 8
    for (int r = 0; r < kQPanel; ++r) {
      int32_t w4;
      __builtin_memcpy(&w4, wk + 4 * r, 4);
      const __m512i w = _mm512_set1_epi32(w4);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], x[t], w);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kQPanel; ++r) {
    if (r >= rows) break;
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      int32_t* c = C + r * ldc + n0 + 16 * t;
      if (t == T - 1)
        _mm512_mask_storeu_epi32(c, last, acc[r][t]);
      else
        _mm512_storeu_si512(c, acc[r][t]);
    }
  }
}

// At most one vector of positions (N ≤ 16: the per-component GEMMs of a map
// of 4×4 Winograd tiles, the direct conv of a 4×4 map): P panels at a time,
// 8·P accumulators, so that each activation load serves 8·P products instead
// of 8, and 8·P independent sums are in flight. `rows` counts the rows of
// all P panels (the last may be partial).
template <int P>
inline void one_vector(int64_t rows, int64_t K4, const int8_t* wpanels, const uint8_t* a, const int64_t* row_off,
                       int32_t* C, int64_t ldc, __mmask16 mask) {
  constexpr int R = P * kQPanel;
  const int64_t panel_bytes = K4 * kQPanel * 4;
  __m512i acc[R];
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_si512();
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const __m512i x = _mm512_maskz_loadu_epi32(mask, a + row_off[k4]);
#pragma GCC unroll 24
    for (int r = 0; r < R; ++r) {
      int32_t w4;
      __builtin_memcpy(&w4, wpanels + (r / kQPanel) * panel_bytes + k4 * kQPanel * 4 + 4 * (r % kQPanel), 4);
      acc[r] = _mm512_dpbusd_epi32(acc[r], x, _mm512_set1_epi32(w4));
    }
  }
#pragma GCC unroll 24
  for (int r = 0; r < R; ++r) {
    if (r >= rows) break;
    _mm512_mask_storeu_epi32(C + r * ldc, mask, acc[r]);
  }
}

}  // namespace

void qgemm_u8s8_k4__avx512vnni(WINQ_QGEMM_K4_ARGS) {
  const auto* w = static_cast<const int8_t*>(wp);
  constexpr __mmask16 kAll = 0xFFFF;
  if (N <= 16) {  // three panels at a time, then two or one
    const auto mask = static_cast<__mmask16>((1u << N) - 1);
    const int64_t panels = panels_of(M);
    int64_t p = 0;
    for (; p + 3 <= panels; p += 3)
      one_vector<3>(std::min<int64_t>(3 * kQPanel, M - p * kQPanel), K4, w + p * K4 * kQPanel * 4, a, row_off,
                    C + p * kQPanel * ldc, ldc, mask);
    if (panels - p == 2)
      one_vector<2>(M - p * kQPanel, K4, w + p * K4 * kQPanel * 4, a, row_off, C + p * kQPanel * ldc, ldc, mask);
    else if (panels - p == 1)
      one_vector<1>(M - p * kQPanel, K4, w + p * K4 * kQPanel * 4, a, row_off, C + p * kQPanel * ldc, ldc, mask);
    return;
  }
  for (int64_t p = 0; p < panels_of(M); ++p) {
    const int64_t rows = std::min<int64_t>(kQPanel, M - p * kQPanel);
    const int8_t* wpanel = w + p * K4 * kQPanel * 4;
    int32_t* cp = C + p * kQPanel * ldc;
    int64_t n0 = 0;
    for (; n0 + 48 <= N; n0 += 48) tile<3>(rows, n0, K4, wpanel, a, row_off, cp, ldc, kAll);
    const int64_t left = N - n0;  // 0..47 positions: one tile of 1, 2 or 3 vectors, the last masked
    if (left == 0) continue;
    const auto mask = static_cast<__mmask16>((1u << (left - 16 * ((left - 1) / 16))) - 1);
    if (left > 32)
      tile<3>(rows, n0, K4, wpanel, a, row_off, cp, ldc, mask);
    else if (left > 16)
      tile<2>(rows, n0, K4, wpanel, a, row_off, cp, ldc, mask);
    else
      tile<1>(rows, n0, K4, wpanel, a, row_off, cp, ldc, mask);
  }
}

}  // namespace winq::kernels
