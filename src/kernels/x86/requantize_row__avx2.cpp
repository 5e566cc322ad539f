// The epilogue with AVX2 (compiled with -mavx2): 8 outputs at a time, the
// tail through vpmaskmovd and a short copy. As the AVX-512 variant: the
// 32×32→64-bit products of even and odd lanes rounded half to even in 64
// bits (the arithmetic shift, min and max built from AVX2 operations, see
// avx2_lanes.hpp), one clamp to [qmin − zp, qmax − zp].
#include <algorithm>
#include <cstring>

#include "../requantize_row.hpp"
#include "avx2_lanes.hpp"

namespace winq::kernels {

void requantize_row__avx2(WINQ_REQUANTIZE_ROWS_ARGS) {
  const int64_t lo64 = int64_t{p.qmin} - p.zp, hi64 = int64_t{p.qmax} - p.zp;
  // Zero multipliers, and output ranges that reach past the int32 clamp of the definition.
  if (p.rq.multiplier == 0 || lo64 < INT32_MIN / 2 || hi64 > INT32_MAX / 2 || lo64 > hi64) {
    requantize_row__ref(acc, rows, n, acc_stride, p, out, out_stride);
    return;
  }
  const __m256i bias = _mm256_set1_epi32(p.bias), mult = _mm256_set1_epi64x(p.rq.multiplier);
  const __m128i shift = _mm_cvtsi32_si128(p.rq.shift);
  const __m256i half_minus_one = _mm256_set1_epi64x((int64_t{1} << (p.rq.shift - 1)) - 1);
  const __m256i one = _mm256_set1_epi64x(1), zp = _mm256_set1_epi32(p.zp);
  const __m256i lim_lo = _mm256_set1_epi64x(lo64), lim_hi = _mm256_set1_epi64x(hi64);
  auto requant = [&](__m256i products) {
    const __m256i v = avx2::round_shift_half_even(products, shift, half_minus_one, one);
    return avx2::min_epi64(avx2::max_epi64(v, lim_lo), lim_hi);
  };
  auto* const bytes = static_cast<uint8_t*>(out);  // int8 and uint8 outputs: the same bytes
  for (int64_t row = 0; row < rows; ++row, acc += acc_stride)
    for (int64_t i = 0; i < n; i += 8) {
      const int64_t left = n - i;
      const __m256i a = left >= 8 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + i))
                                  : _mm256_maskload_epi32(acc + i, avx2::first_lanes(left));
      const __m256i v = _mm256_add_epi32(a, bias);
      // Even lanes: vpmuldq reads the low (signed) dword of each 64-bit lane.
      const __m256i even = requant(_mm256_mul_epi32(v, mult));
      const __m256i odd = requant(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), mult));
      const __m128i b = avx2::low_bytes(_mm256_add_epi32(avx2::join_even_odd(even, odd), zp));
      uint8_t* o = bytes + row * out_stride + i;
      if (left >= 8)
        _mm_storel_epi64(reinterpret_cast<__m128i*>(o), b);
      else {
        alignas(16) uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), b);
        std::memcpy(o, tmp, static_cast<size_t>(left));
      }
    }
}

}  // namespace winq::kernels
