#include "pad_c4.hpp"

#include <algorithm>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace winq::ops {

namespace {

#if defined(__SSE2__)
// 16 pixels of the four channel rows a, b, c, e → 16 words (4 per vector).
inline void interleave16(__m128i a, __m128i b, __m128i c, __m128i e, __m128i fm, __m128i km, __m128i w[4]) {
  const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
  const __m128i ce_lo = _mm_unpacklo_epi8(c, e), ce_hi = _mm_unpackhi_epi8(c, e);
  w[0] = _mm_and_si128(_mm_xor_si128(_mm_unpacklo_epi16(ab_lo, ce_lo), fm), km);
  w[1] = _mm_and_si128(_mm_xor_si128(_mm_unpackhi_epi16(ab_lo, ce_lo), fm), km);
  w[2] = _mm_and_si128(_mm_xor_si128(_mm_unpacklo_epi16(ab_hi, ce_hi), fm), km);
  w[3] = _mm_and_si128(_mm_xor_si128(_mm_unpackhi_epi16(ab_hi, ce_hi), fm), km);
}
#endif

}  // namespace

void pad_c4_plane(const uint8_t* x, int64_t C, int64_t c4, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t Hp,
                  int64_t Wp, uint8_t border, bool flip, uint32_t* plane) {
  const int64_t used = std::min<int64_t>(4, C - 4 * c4);  // real channels in this word
  const uint32_t keep = used == 4 ? 0xFFFFFFFFu : (1u << (8 * used)) - 1;
  const uint32_t pad_word = (border * 0x01010101u) & keep, flip_mask = flip ? 0x80808080u : 0u;
  const int64_t cols = std::clamp<int64_t>(Wp - pl, 0, W);  // image columns on the grid
  const uint8_t* src[4];
  for (int64_t j = 0; j < 4; ++j) src[j] = x + (4 * c4 + std::min<int64_t>(j, used - 1)) * H * W;
#if defined(__SSE2__)
  const __m128i fm = _mm_set1_epi32(static_cast<int32_t>(flip_mask)), km = _mm_set1_epi32(static_cast<int32_t>(keep));
  // Narrow maps (4×4, 8×8, 12×12) have no full 16-pixel row: their image rows
  // on the grid are one run of bytes per channel, taken 16 pixels at a time
  // across row ends; a width divisible by 4 puts each group of 4 words in one row.
  if (pl >= 0 && cols == W && W % 4 == 0 && W < 16) {
    const int64_t y0 = std::max<int64_t>(0, -pt), y1 = std::clamp<int64_t>(Hp - pt, y0, H);
    for (int64_t iy = 0; iy < Hp; ++iy) {
      uint32_t* row = plane + iy * Wp;
      const int64_t y = iy - pt;
      if (y < y0 || y >= y1) {
        std::fill(row, row + Wp, pad_word);
      } else {
        std::fill(row, row + pl, pad_word);
        std::fill(row + pl + W, row + Wp, pad_word);
      }
    }
    const int64_t n = (y1 - y0) * W, base = y0 * W;
    uint32_t* dst_row = plane + (y0 + pt) * Wp + pl;  // the next group of 4 goes to dst_row + ix
    int64_t ix = 0;
    auto store = [&](const __m128i w[4], int64_t groups) {
      for (int64_t q = 0; q < groups; ++q) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst_row + ix), w[q]);
        if ((ix += 4) == W) ix = 0, dst_row += Wp;
      }
    };
    int64_t p = 0;
    __m128i w[4];
    for (; p + 16 <= n; p += 16) {
      const auto load = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[j] + base + p)); };
      interleave16(load(0), load(1), load(2), load(3), fm, km, w);
      store(w, 4);
    }
    if (p < n) {  // the last 4, 8 or 12 pixels, through a zero-padded copy
      alignas(16) uint8_t tail[4][16] = {};
      for (int j = 0; j < 4; ++j) std::copy(src[j] + base + p, src[j] + base + n, tail[j]);
      const auto load = [&](int j) { return _mm_load_si128(reinterpret_cast<const __m128i*>(tail[j])); };
      interleave16(load(0), load(1), load(2), load(3), fm, km, w);
      store(w, (n - p) / 4);
    }
    return;
  }
#endif
  for (int64_t iy = 0; iy < Hp; ++iy) {
    uint32_t* row = plane + iy * Wp;
    const int64_t y = iy - pt;
    if (y < 0 || y >= H || cols == 0) {
      std::fill(row, row + Wp, pad_word);
      continue;
    }
    std::fill(row, row + pl, pad_word);
    const int64_t r = y * W;
    uint32_t* d = row + pl;
    int64_t ix = 0;
#if defined(__SSE2__)
    // Four byte rows into one word row, 16 pixels at a time (SSE2: every x86-64);
    // a row's last partial 16 as the last 16 pixels again (the overlap is
    // rewritten with the same words): a 56-wide row had 8 pixels byte by byte.
    const auto sixteen = [&](int64_t at) {
      const auto load = [&](int j) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[j] + r + at)); };
      __m128i w[4];
      interleave16(load(0), load(1), load(2), load(3), fm, km, w);
      for (int q = 0; q < 4; ++q) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + at + 4 * q), w[q]);
    };
    for (; ix + 16 <= cols; ix += 16) sixteen(ix);
    if (ix < cols && cols >= 16) {
      sixteen(cols - 16);
      ix = cols;
    } else if (ix < cols && pl >= 0 && pl + 16 <= Wp) {
      // A row of fewer than 16 pixels (7×7, 14×14 maps; they went byte by
      // byte): 16 pixels of each channel row — read in place where 16 bytes
      // of its plane remain, else from a copy — stored as 16 words; the
      // words past the row's pixels land in its right padding, filled below.
      const bool in_place = r + 16 <= H * W;
      alignas(16) uint8_t copy[4][16] = {};
      if (!in_place)
        for (int j = 0; j < 4; ++j) std::copy(src[j] + r, src[j] + r + cols, copy[j]);
      const auto load = [&](int j) {
        return in_place ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[j] + r))
                        : _mm_load_si128(reinterpret_cast<const __m128i*>(copy[j]));
      };
      __m128i w[4];
      interleave16(load(0), load(1), load(2), load(3), fm, km, w);
      for (int q = 0; q < 4; ++q) _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 4 * q), w[q]);
      ix = cols;
    }
#endif
    for (; ix < cols; ++ix)
      d[ix] = ((src[0][r + ix] | (uint32_t{src[1][r + ix]} << 8) | (uint32_t{src[2][r + ix]} << 16) |
                (uint32_t{src[3][r + ix]} << 24)) ^ flip_mask) & keep;
    std::fill(row + pl + cols, row + Wp, pad_word);
  }
}

}  // namespace winq::ops
