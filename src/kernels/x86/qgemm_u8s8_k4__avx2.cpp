// Packed int8 GEMM with AVX2 (compiled with -mavx2). vpmaddubsw would add two
// u8×s8 products in 16 bits and saturate (255·127·2 > 32767), so the
// activations are widened to int16 and multiplied with vpmaddwd, whose pair
// sums are 32-bit: exact. Weights come packed as int16 (pack_weights_k4_s16).
// A tile is 4 output channels × 8 positions; the loops over the tile are
// unrolled so that its accumulators stay in registers. The last positions of
// a row (fewer than 8) run the same tile with masked loads and stores: small
// images have many such rows (a 7×7 implicit-GEMM block spans 61 positions),
// and a masked load never touches the bytes past the row.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../qgemm.hpp"

namespace winq::kernels {

namespace {

// Lanes [0, count) set: the positions a tail tile covers.
inline __m256i first_positions(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(count)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The 4 weights of one channel for one k-group, as int16, in every 64-bit lane.
inline __m256i channel_weights(const int16_t* p) {
  int64_t w4;
  std::memcpy(&w4, p, 8);
  return _mm256_set1_epi64x(w4);
}

// Channels [r0, r0 + 4) of a panel, positions [n0, n0 + 8) (with kTail: [n0, n0 + count)).
// The eight accumulators are named, not an array: with an array GCC 12 kept
// copying them between registers and spilled one in the loop (36 instructions
// per k-group instead of 26; 8 of them are the vpmaddwd that bound it).
// Always inlined, with the stores unrolled: as a called function with a loop
// over the four rows, GCC spilled the accumulators to an aligned stack frame
// and reloaded them; at the 16 k-groups of a 64-channel Winograd component
// that epilogue cost 14% (ad-hoc microbenchmark, 32 × 96 × 64: 80 → 93 GOP/s).
template <bool kTail = false>
[[gnu::always_inline]] inline void tile8(int64_t r0, int64_t rows, int64_t n0, int64_t K4, const int16_t* wpanel,
                                         const uint8_t* a, const int64_t* row_off, int32_t* C, int64_t ldc,
                                         int64_t count = 8) {
  const __m256i mask = first_positions(count);
  const __m256i zero = _mm256_setzero_si256();
  __m256i a0l = zero, a0h = zero, a1l = zero, a1h = zero, a2l = zero, a2h = zero, a3l = zero, a3h = zero;
  const int16_t* wk = wpanel + r0 * 4;
#pragma GCC unroll 4
  for (int64_t k4 = 0; k4 < K4; ++k4, wk += kQPanel * 4) {
    const uint8_t* ak = a + row_off[k4] + n0 * 4;
    __m256i x;  // the 8 positions' words
    if constexpr (kTail)
      x = _mm256_maskload_epi32(reinterpret_cast<const int*>(ak), mask);
    else
      x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ak));
    // Widened to int16 within each 128-bit half: positions 0, 1 | 4, 5 and
    // 2, 3 | 6, 7, so that the pair sums below come out in position order.
    const __m256i x_lo = _mm256_unpacklo_epi8(x, zero), x_hi = _mm256_unpackhi_epi8(x, zero);
#define WINQ_CHANNEL(r)                                              \
  {                                                                  \
    const __m256i w = channel_weights(wk + 4 * (r));                 \
    a##r##l = _mm256_add_epi32(a##r##l, _mm256_madd_epi16(x_lo, w)); \
    a##r##h = _mm256_add_epi32(a##r##h, _mm256_madd_epi16(x_hi, w)); \
  }
    WINQ_CHANNEL(0) WINQ_CHANNEL(1) WINQ_CHANNEL(2) WINQ_CHANNEL(3)
#undef WINQ_CHANNEL
  }
  // Each position holds two partial sums; hadd adds the pairs: [p0 p1 p2 p3 | p4 p5 p6 p7].
  int32_t* c = C + r0 * ldc + n0;
  const int64_t valid = rows - r0;
#define WINQ_STORE(r)                                                                \
  if (valid > (r)) {                                                                 \
    const __m256i s = _mm256_hadd_epi32(a##r##l, a##r##h);                           \
    if constexpr (kTail)                                                             \
      _mm256_maskstore_epi32(c + (r) * ldc, mask, s);                                \
    else                                                                             \
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + (r) * ldc), s);             \
  }
  WINQ_STORE(0) WINQ_STORE(1) WINQ_STORE(2) WINQ_STORE(3)
#undef WINQ_STORE
}

}  // namespace

void qgemm_u8s8_k4__avx2(WINQ_QGEMM_K4_ARGS) {
  const auto* w = static_cast<const int16_t*>(wp);
  for (int64_t p = 0; p < panels_of(M); ++p) {
    const int64_t rows = std::min<int64_t>(kQPanel, M - p * kQPanel);
    const int16_t* wpanel = w + p * K4 * kQPanel * 4;
    int32_t* cp = C + p * kQPanel * ldc;
    int64_t n0 = 0;
    for (; n0 + 8 <= N; n0 += 8) {
      tile8(0, rows, n0, K4, wpanel, a, row_off, cp, ldc);
      if (rows > 4) tile8(4, rows, n0, K4, wpanel, a, row_off, cp, ldc);
    }
    if (n0 < N) {  // the last positions, fewer than 8
      tile8<true>(0, rows, n0, K4, wpanel, a, row_off, cp, ldc, N - n0);
      if (rows > 4) tile8<true>(4, rows, n0, K4, wpanel, a, row_off, cp, ldc, N - n0);
    }
  }
}

}  // namespace winq::kernels
