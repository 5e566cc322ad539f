// The epilogue with AVX-512 (compiled with -mavx512f -mavx512bw): 16 outputs
// at a time, the tail masked; the 32×32→64-bit products of even and odd lanes are rounded half
// to even with 64-bit arithmetic shifts, exactly as the scalar definition.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "../requantize_row.hpp"

namespace winq::kernels {

namespace {

// (x + half − 1 + ((x >> n) & 1)) >> n on 64-bit lanes.
inline __m512i round_shift(__m512i x, __m128i n, __m512i half_minus_one, __m512i one) {
  const __m512i odd = _mm512_and_si512(_mm512_sra_epi64(x, n), one);
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(x, half_minus_one), odd), n);
}

}  // namespace

void requantize_row__avx512(WINQ_REQUANTIZE_ROWS_ARGS) {
  const int64_t lo64 = int64_t{p.qmin} - p.zp, hi64 = int64_t{p.qmax} - p.zp;
  // Zero multipliers, and output ranges that reach past the int32 clamp of the definition.
  if (p.rq.multiplier == 0 || lo64 < INT32_MIN / 2 || hi64 > INT32_MAX / 2 || lo64 > hi64) {
    requantize_row__ref(acc, rows, n, acc_stride, p, out, out_stride);
    return;
  }
  // With sum bounds, where every clamped sum times the multiplier is below
  // 2^53: the sum, clamped first, and the product sum · (multiplier · 2^−shift)
  // are exact in double precision, and the conversion rounds half to even —
  // the definition's result in 12 vector operations per 16 outputs instead
  // of 22 (the shipped model's multipliers, 10^−4 … 10^−2, all qualify).
  // Measured: +1–2% on the 32×32 … 56×56 convs (bench/RESULTS.md).
  if (p.has_sum_bounds) {
    const int64_t maxabs = std::max(std::abs(int64_t{p.sum_lo}), std::abs(int64_t{p.sum_hi}));
    if (maxabs * p.rq.multiplier <= (int64_t{1} << 53)) {
      const __m512i bias = _mm512_set1_epi32(p.bias), zp = _mm512_set1_epi32(p.zp);
      const __m512i slo = _mm512_set1_epi32(p.sum_lo), shi = _mm512_set1_epi32(p.sum_hi);
      // 2^−shift from its bits (shift in [1, 62]: a normal double), not
      // std::ldexp, a library call that cost 1% of the network: this runs
      // once per channel and block.
      double pow2;
      if (p.rq.shift >= 1 && p.rq.shift <= 62) {
        const uint64_t pow2_bits = static_cast<uint64_t>(1023 - p.rq.shift) << 52;
        std::memcpy(&pow2, &pow2_bits, sizeof pow2);
      } else {
        pow2 = std::ldexp(1.0, -p.rq.shift);
      }
      const __m512d c = _mm512_set1_pd(static_cast<double>(p.rq.multiplier) * pow2);
      int64_t out_offset = 0;
      for (int64_t row = 0; row < rows; ++row, acc += acc_stride, out_offset += out_stride)
        for (int64_t i = 0; i < n; i += 16) {
          const __mmask16 m = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1);
          __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc + i), bias);
          v = _mm512_min_epi32(_mm512_max_epi32(v, slo), shi);
          const __m512d d0 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(v)), c);
          const __m512d d1 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(v, 1)), c);
          const __m256i r0 = _mm512_cvt_roundpd_epi32(d0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          const __m256i r1 = _mm512_cvt_roundpd_epi32(d1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
          const __m512i r = _mm512_add_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(r0), r1, 1), zp);
          if (p.out_unsigned)
            _mm512_mask_cvtusepi32_storeu_epi8(static_cast<uint8_t*>(out) + out_offset + i, m, r);
          else
            _mm512_mask_cvtsepi32_storeu_epi8(static_cast<int8_t*>(out) + out_offset + i, m, r);
        }
      return;
    }
  }
  const __m512i bias = _mm512_set1_epi32(p.bias), mult = _mm512_set1_epi64(p.rq.multiplier);
  const __m128i shift = _mm_cvtsi32_si128(p.rq.shift);
  const __m512i half_minus_one = _mm512_set1_epi64((int64_t{1} << (p.rq.shift - 1)) - 1), one = _mm512_set1_epi64(1);
  // clamp(clamp(v, INT32_MIN/2, INT32_MAX/2) + zp, qmin, qmax) = clamp(v, qmin − zp, qmax − zp) + zp
  // when [qmin − zp, qmax − zp] lies inside the first clamp (checked above): one clamp, in 64 bits.
  const __m512i zp = _mm512_set1_epi32(p.zp);
  const __m512i lim_lo = _mm512_set1_epi64(lo64), lim_hi = _mm512_set1_epi64(hi64);
  int64_t out_offset = 0;
  for (int64_t row = 0; row < rows; ++row, acc += acc_stride, out_offset += out_stride)
  for (int64_t i = 0; i < n; i += 16) {  // the last group masked: short rows stay vectorized
    const __mmask16 m = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, acc + i), bias);
    // Even lanes: mul_epi32 reads the low (signed) dword of each 64-bit lane.
    __m512i even = round_shift(_mm512_mul_epi32(v, mult), shift, half_minus_one, one);
    __m512i odd = round_shift(_mm512_mul_epi32(_mm512_srli_epi64(v, 32), mult), shift, half_minus_one, one);
    even = _mm512_min_epi64(_mm512_max_epi64(even, lim_lo), lim_hi);
    odd = _mm512_min_epi64(_mm512_max_epi64(odd, lim_lo), lim_hi);
    __m512i r = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    r = _mm512_add_epi32(r, zp);
    if (p.out_unsigned)
      _mm512_mask_cvtusepi32_storeu_epi8(static_cast<uint8_t*>(out) + out_offset + i, m, r);
    else
      _mm512_mask_cvtsepi32_storeu_epi8(static_cast<int8_t*>(out) + out_offset + i, m, r);
  }
}

}  // namespace winq::kernels
