// What the AVX2 integer kernels need and AVX2 lacks: 64-bit arithmetic shift,
// min and max (AVX-512 has vpsraq, vpminsq, vpmaxsq), and the narrowing of
// int32 lanes to bytes without saturation. Include only from files compiled
// with -mavx2.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace winq::kernels::avx2 {

// x >> n (arithmetic) on 64-bit lanes: for negative x, ~((~x) >> n) logical.
inline __m256i sra_epi64(__m256i x, __m128i n) {
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
  return _mm256_xor_si256(_mm256_srl_epi64(_mm256_xor_si256(x, sign), n), sign);
}

// round_half_even(x / 2^n) on 64-bit lanes, as shift_round_half_even():
// (x + half − 1 + bit n of x) >> n.
inline __m256i round_shift_half_even(__m256i x, __m128i n, __m256i half_minus_one, __m256i one) {
  const __m256i odd = _mm256_and_si256(_mm256_srl_epi64(x, n), one);
  return sra_epi64(_mm256_add_epi64(_mm256_add_epi64(x, half_minus_one), odd), n);
}

inline __m256i min_epi64(__m256i a, __m256i b) { return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(a, b)); }
inline __m256i max_epi64(__m256i a, __m256i b) { return _mm256_blendv_epi8(a, b, _mm256_cmpgt_epi64(b, a)); }

// The low dwords of the 64-bit results of even and odd lanes, back in lane order.
inline __m256i join_even_odd(__m256i even, __m256i odd) {
  return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// Byte 0 of each int32 lane, in lane order, in the low 8 bytes (values already
// within the output type: truncation is exact).
inline __m128i low_bytes(__m256i v) {
  const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i b = _mm256_shuffle_epi8(v, pick);
  return _mm_unpacklo_epi32(_mm256_castsi256_si128(b), _mm256_extracti128_si256(b, 1));
}

// Lanes [0, count) all ones (count ≤ 8), for vpmaskmovd.
inline __m256i first_lanes(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(count < 8 ? count : 8)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace winq::kernels::avx2
