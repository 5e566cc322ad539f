// Packed int8 GEMM with AVX-512 VNNI (compiled with -mavx512f -mavx512bw
// -mavx512vnni): vpdpbusd multiplies 4 u8 activations by 4 s8 weights and adds
// the four products to an int32 lane, without saturation. A tile is one panel
// of 8 output channels × 16·T positions; the weights are broadcast per channel.
#include <immintrin.h>

#include <algorithm>

#include "../qgemm.hpp"

namespace winq::kernels {

namespace {

template <int T>
inline void tile(int64_t rows, int64_t n0, int64_t N, int64_t K4, const int8_t* wpanel, const uint8_t* a, int32_t* C,
                 int64_t ldc, __mmask16 last) {
  __m512i acc[kQPanel][T];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_si512();
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    const uint8_t* ak = a + (k4 * N + n0) * 4;
    __m512i x[T];
    for (int t = 0; t < T; ++t)
      x[t] = t == T - 1 ? _mm512_maskz_loadu_epi32(last, ak + 64 * t) : _mm512_loadu_si512(ak + 64 * t);
    const int8_t* wk = wpanel + k4 * kQPanel * 4;
    for (int r = 0; r < kQPanel; ++r) {
      int32_t w4;
      __builtin_memcpy(&w4, wk + 4 * r, 4);
      const __m512i w = _mm512_set1_epi32(w4);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], x[t], w);
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int t = 0; t < T; ++t) {
      int32_t* c = C + r * ldc + n0 + 16 * t;
      if (t == T - 1)
        _mm512_mask_storeu_epi32(c, last, acc[r][t]);
      else
        _mm512_storeu_si512(c, acc[r][t]);
    }
}

}  // namespace

void qgemm_u8s8_k4__avx512vnni(int64_t M, int64_t N, int64_t K4, const void* wp, const uint8_t* a, int32_t* C,
                               int64_t ldc) {
  const auto* w = static_cast<const int8_t*>(wp);
  for (int64_t p = 0; p < panels_of(M); ++p) {
    const int64_t rows = std::min<int64_t>(kQPanel, M - p * kQPanel);
    const int8_t* wpanel = w + p * K4 * kQPanel * 4;
    int32_t* cp = C + p * kQPanel * ldc;
    int64_t n0 = 0;
    for (; n0 + 32 <= N; n0 += 32) tile<2>(rows, n0, N, K4, wpanel, a, cp, ldc, 0xFFFF);
    for (; n0 < N; n0 += 16) {
      const int64_t left = std::min<int64_t>(16, N - n0);
      tile<1>(rows, n0, N, K4, wpanel, a, cp, ldc, static_cast<__mmask16>((1u << left) - 1));
    }
  }
}

}  // namespace winq::kernels
