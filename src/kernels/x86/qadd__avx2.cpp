// winq.QAdd with AVX2 (compiled with -mavx2): 8 elements at a time, the tail
// through a short copy. As qadd__avx512: the 64-bit sums of even and odd lanes
// formed with vpmuldq and rounded half to even in 64 bits (avx2_lanes.hpp),
// exactly as qadd__ref.
#include <cstring>

#include "../qadd.hpp"
#include "avx2_lanes.hpp"

namespace winq::kernels {

namespace {

inline __m256i load8(const void* p, int64_t i, int64_t count, bool is_unsigned) {
  __m128i v;
  if (count >= 8) {
    v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(static_cast<const uint8_t*>(p) + i));
  } else {
    alignas(16) uint8_t tmp[16] = {};
    std::memcpy(tmp, static_cast<const uint8_t*>(p) + i, static_cast<size_t>(count));
    v = _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
  }
  return is_unsigned ? _mm256_cvtepu8_epi32(v) : _mm256_cvtepi8_epi32(v);
}

}  // namespace

void qadd__avx2(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  const __m256i za = _mm256_set1_epi32(p.za), zb = _mm256_set1_epi32(p.zb);
  const __m256i ma = _mm256_set1_epi64x(p.ma), mb = _mm256_set1_epi64x(p.mb);
  const __m128i shift = _mm_cvtsi32_si128(p.shift);
  const __m256i half_minus_one = _mm256_set1_epi64x((int64_t{1} << (p.shift - 1)) - 1), one = _mm256_set1_epi64x(1);
  const __m256i zy = _mm256_set1_epi64x(p.zy), lo = _mm256_set1_epi64x(p.qmin), hi = _mm256_set1_epi64x(p.qmax);
  auto* const out = static_cast<uint8_t*>(y);
  for (int64_t i = 0; i < n; i += 8) {
    const int64_t left = n - i;
    const __m256i da = _mm256_sub_epi32(load8(a, i, left, p.a_unsigned), za);
    const __m256i db = _mm256_sub_epi32(load8(b, i, left, p.b_unsigned), zb);
    // Even lanes: vpmuldq reads the low (signed) dword of each 64-bit lane.
    auto lanes = [&](__m256i xa, __m256i xb) {
      const __m256i sum = _mm256_add_epi64(_mm256_mul_epi32(xa, ma), _mm256_mul_epi32(xb, mb));
      const __m256i v = _mm256_add_epi64(avx2::round_shift_half_even(sum, shift, half_minus_one, one), zy);
      return avx2::min_epi64(avx2::max_epi64(v, lo), hi);
    };
    const __m256i even = lanes(da, db);
    const __m256i odd = lanes(_mm256_srli_epi64(da, 32), _mm256_srli_epi64(db, 32));
    // Within [qmin, qmax] ⊂ the output type: truncation stores it exactly.
    const __m128i r = avx2::low_bytes(avx2::join_even_odd(even, odd));
    if (left >= 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), r);
    } else {
      alignas(16) uint8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), r);
      std::memcpy(out + i, tmp, static_cast<size_t>(left));
    }
  }
}

}  // namespace winq::kernels
