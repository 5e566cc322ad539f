#include "pad_c4.hpp"

#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace winq::ops {

void pad_c4_plane(const uint8_t* x, int64_t C, int64_t c4, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t Hp,
                  int64_t Wp, uint8_t border, bool flip, uint32_t* plane) {
  const int64_t used = std::min<int64_t>(4, C - 4 * c4);  // real channels in this word
  const uint32_t keep = used == 4 ? 0xFFFFFFFFu : (1u << (8 * used)) - 1;
  const uint32_t pad_word = (border * 0x01010101u) & keep, flip_mask = flip ? 0x80808080u : 0u;
  const int64_t cols = std::clamp<int64_t>(Wp - pl, 0, W);  // image columns on the grid
  const uint8_t* src[4];
  for (int64_t iy = 0; iy < Hp; ++iy) {
    uint32_t* row = plane + iy * Wp;
    const int64_t y = iy - pt;
    if (y < 0 || y >= H || cols == 0) {
      std::fill(row, row + Wp, pad_word);
      continue;
    }
    std::fill(row, row + pl, pad_word);
    std::fill(row + pl + cols, row + Wp, pad_word);
    for (int64_t j = 0; j < 4; ++j) src[j] = x + ((4 * c4 + std::min<int64_t>(j, used - 1)) * H + y) * W;
    uint32_t* d = row + pl;
    int64_t ix = 0;
#if defined(__SSE2__)
    // Four byte rows into one word row, 16 pixels at a time (SSE2: every x86-64).
    const __m128i fm = _mm_set1_epi32(static_cast<int32_t>(flip_mask)), km = _mm_set1_epi32(static_cast<int32_t>(keep));
    for (; ix + 16 <= cols; ix += 16) {
      const auto load = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[j] + ix)); };
      const __m128i a = load(0), b = load(1), c = load(2), e = load(3);
      const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
      const __m128i ce_lo = _mm_unpacklo_epi8(c, e), ce_hi = _mm_unpackhi_epi8(c, e);
      const __m128i w[4] = {_mm_unpacklo_epi16(ab_lo, ce_lo), _mm_unpackhi_epi16(ab_lo, ce_lo),
                            _mm_unpacklo_epi16(ab_hi, ce_hi), _mm_unpackhi_epi16(ab_hi, ce_hi)};
      for (int q = 0; q < 4; ++q)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + ix + 4 * q), _mm_and_si128(_mm_xor_si128(w[q], fm), km));
    }
#endif
    for (; ix < cols; ++ix)
      d[ix] = ((src[0][ix] | (uint32_t{src[1][ix]} << 8) | (uint32_t{src[2][ix]} << 16) |
                (uint32_t{src[3][ix]} << 24)) ^ flip_mask) & keep;
  }
}

}  // namespace winq::ops
