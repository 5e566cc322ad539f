// winq.QAdd with AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vl): 16 elements at
// a time, the tail masked. The 64-bit sums of even and odd lanes are formed
// with vpmuldq (signed 32×32→64) and rounded half to even with 64-bit
// arithmetic shifts, exactly as qadd__ref.
#include <immintrin.h>

#include "../qadd.hpp"

namespace winq::kernels {

namespace {

inline __m512i load16(const void* p, int64_t i, bool is_unsigned, __mmask16 m) {
  const __m128i v = _mm_maskz_loadu_epi8(m, static_cast<const uint8_t*>(p) + i);
  return is_unsigned ? _mm512_cvtepu8_epi32(v) : _mm512_cvtepi8_epi32(v);
}

// round_half_even(x / 2^n) on 64-bit lanes: (x + half − 1 + ((x >> n) & 1)) >> n.
inline __m512i round_shift(__m512i x, __m128i n, __m512i half_minus_one, __m512i one) {
  const __m512i odd = _mm512_and_si512(_mm512_sra_epi64(x, n), one);
  return _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(x, half_minus_one), odd), n);
}

}  // namespace

void qadd__avx512(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  const __m512i za = _mm512_set1_epi32(p.za), zb = _mm512_set1_epi32(p.zb);
  const __m512i ma = _mm512_set1_epi64(p.ma), mb = _mm512_set1_epi64(p.mb);
  const __m128i shift = _mm_cvtsi32_si128(p.shift);
  const __m512i half_minus_one = _mm512_set1_epi64((int64_t{1} << (p.shift - 1)) - 1), one = _mm512_set1_epi64(1);
  const __m512i zy = _mm512_set1_epi64(p.zy), lo = _mm512_set1_epi64(p.qmin), hi = _mm512_set1_epi64(p.qmax);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i da = _mm512_sub_epi32(load16(a, i, p.a_unsigned, m), za);
    const __m512i db = _mm512_sub_epi32(load16(b, i, p.b_unsigned, m), zb);
    // Even lanes: vpmuldq reads the low (signed) dword of each 64-bit lane.
    auto lanes = [&](__m512i xa, __m512i xb) {
      const __m512i sum = _mm512_add_epi64(_mm512_mul_epi32(xa, ma), _mm512_mul_epi32(xb, mb));
      const __m512i v = _mm512_add_epi64(round_shift(sum, shift, half_minus_one, one), zy);
      return _mm512_min_epi64(_mm512_max_epi64(v, lo), hi);
    };
    const __m512i even = lanes(da, db);
    const __m512i odd = lanes(_mm512_srli_epi64(da, 32), _mm512_srli_epi64(db, 32));
    const __m512i r = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    // r is within [qmin, qmax] ⊂ the output type: truncation stores it exactly.
    _mm512_mask_cvtepi32_storeu_epi8(static_cast<uint8_t*>(y) + i, m, r);
  }
}

}  // namespace winq::kernels
