// int8 Winograd tile transforms with AVX2 (compiled with -mavx2 -mfma
// -ffp-contract=off). Same operations as ref/winograd_int8.cpp, 8 lanes at a
// time — the AVX-512 variant's scheme at half the width, without its masks:
//   input:  lane = (tile q of 2, channel c of the word); the two words of a
//           tile pair are joined in one 64-bit lane and widened byte → int32,
//           so the 8 result bytes of a component are 2 consecutive GEMM words;
//           its 4 channel factors, broadcast to both halves, meet their
//           channel's lanes.
//   output: lane = tile (8 tiles of the row); the m results of an output row
//           are interleaved into pixel order with byte/word unpacks, and a
//           partial row goes out through a small buffer (AVX2 has no byte
//           masks).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../winograd_int8.hpp"
#include "avx2_lanes.hpp"
#include "../winograd_int8_default.hpp"

namespace winq::kernels {

namespace {

struct S {  // the vector operations winograd_int8_tiles.inl uses, 8 lanes
  using F = __m256;
  using I = __m256i;
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm256_fmsub_ps(a, b, c); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F cvt(I v) { return _mm256_cvtepi32_ps(v); }
  static I round(F v) { return _mm256_cvtps_epi32(v); }  // to nearest even (MXCSR default), as nearbyint
  static I bits(F v) { return _mm256_castps_si256(v); }
  static I set1_i(int32_t v) { return _mm256_set1_epi32(v); }
  static I add_i(I a, I b) { return _mm256_add_epi32(a, b); }
  static I sub_i(I a, I b) { return _mm256_sub_epi32(a, b); }
};

}  // namespace

}  // namespace winq::kernels

#include "winograd_int8_tiles.inl"

namespace winq::kernels {

namespace {

using avx2::low_bytes;

// Input, 2 tiles × 4 channels per vector. F(m×1, 3×3) (one_d): the row
// pass alone, one input row per tile row, t[s] requantized to component s.
template <int m, bool kDefault>
struct Input {
  template <bool x_signed, bool x_zp>
  static void run(WINQ_WINO_INPUT_ARGS) {
    if (p.one_d) body<x_signed, x_zp, true>(p, xp, ws, tiles, tile_rows, dst, comp_stride);
    else body<x_signed, x_zp, false>(p, xp, ws, tiles, tile_rows, dst, comp_stride);
  }

  template <bool x_signed, bool x_zp, bool kOneD>
  static void body(WINQ_WINO_INPUT_ARGS) {
    constexpr int n = m + 2, components = kOneD ? n : n * n;
    const __m256 zp = _mm256_set1_ps(static_cast<float>(p.x_zp));
    const float* bt = kDefault ? wino_default::Default<m>::bt : p.bt;
    // Locals, not p's members: the byte stores below may alias p.
    const float *const v_scale = p.v_scale, *const v_lo = p.v_lo, *const v_hi = p.v_hi;
    float round[components];  // 2^23 + v_off[k] (requantize_component)
    for (int k = 0; k < components; ++k) round[k] = 8388608.0f + static_cast<float>(p.v_off[k]);
    for (int64_t lt = 0; lt < tiles * tile_rows; lt += 2) {
      const int64_t tr = lt / tiles, t0 = lt % tiles;
      if (t0 + 1 == tiles) --lt;  // an odd row's last tile alone: the next pair starts the next row
      const uint8_t* const x_row = xp + tr * (kOneD ? 1 : m) * ws * 4;  // tile rows m input rows apart, 1 for one_d
      uint8_t* const d_row = dst + tr * tiles * 4;
      const bool pair = tiles - t0 >= 2;  // else the second lane group is read (inside the row) but not stored
      // Component k of the 8 lanes to its plane.
      const auto put = [&](__m256 v, int k) [[gnu::always_inline]] {
        const __m128i b = low_bytes(requantize_component<S>(v, _mm256_broadcast_ps(reinterpret_cast<const __m128*>(v_scale + 4 * k)), v_lo[k], v_hi[k], round[k]));
        uint8_t* out = d_row + k * comp_stride + t0 * 4;
        if (pair) {
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out), b);
        } else {
          const int32_t w = _mm_cvtsi128_si32(b);
          std::memcpy(out, &w, 4);
        }
      };
      // d[j] = x − x_zp at column j of the two tiles of input row i.
      const auto load = [&](int i, __m256 (&d)[n]) [[gnu::always_inline]] {
        const uint8_t* row = x_row + (i * ws + t0 * m) * 4;
#pragma GCC unroll 8
        for (int j = 0; j < n; ++j) {
          int32_t w0, w1;
          std::memcpy(&w0, row + 4 * j, 4);
          std::memcpy(&w1, row + 4 * (m + j), 4);
          const __m128i w = _mm_unpacklo_epi32(_mm_cvtsi32_si128(w0), _mm_cvtsi32_si128(w1));
          __m256i v;
          if constexpr (x_signed) v = _mm256_cvtepi8_epi32(w);
          else v = _mm256_cvtepu8_epi32(w);
          if constexpr (x_zp) d[j] = _mm256_sub_ps(_mm256_cvtepi32_ps(v), zp);
          else d[j] = _mm256_cvtepi32_ps(v);
        }
      };
      if constexpr (kOneD) {
        __m256 d[n], v[n];
        load(0, d);
        input_pass<S, m, kDefault>(bt, d, v);
#pragma GCC unroll 8
        for (int s = 0; s < n; ++s) put(v[s], s);
        continue;
      }
      __m256 t[n][n];
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        __m256 d[n];
        load(i, d);
        input_pass<S, m, kDefault>(bt, d, t[i]);
      }
      __m256 col[n], v[n];
#pragma GCC unroll 8
      for (int s = 0; s < n; ++s) {
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) col[i] = t[i][s];
        input_pass<S, m, kDefault>(bt, col, v);
#pragma GCC unroll 8
        for (int r = 0; r < n; ++r) put(v[r], r * n + s);
      }
    }
  }
};

// The m result vectors of one output row (lane = tile; values within the
// output type) as `count` pixel-ordered bytes. The values are narrowed
// together: vpackssdw keeps them exactly (|v| ≤ 255), the mask leaves each
// one's low byte, so vpackuswb truncates without saturating (uint8 and int8
// alike); one vpshufb per 128-bit half then puts the bytes of tiles 0–3 and
// 4–7 in pixel order. A whole row of 8 tiles is stored directly, a partial
// one through a buffer (AVX2 has no byte masks).
template <int m>
[[gnu::always_inline]] inline void store_row(const __m256i (&r)[m], uint8_t* out, int64_t count) {
  const __m256i low = _mm256_set1_epi16(0xFF);
  const auto words = [&](__m256i a, __m256i b) { return _mm256_and_si256(_mm256_packs_epi32(a, b), low); };
  alignas(32) uint8_t buf[8 * m];
  uint8_t* const dst = count >= 8 * m ? out : buf;
  if constexpr (m == 2) {
    // Per half: r0 q0–3, r1 q0–3 (twice) → q0 r0 r1, q1 r0 r1, …: 8 bytes per half.
    const __m256i w = words(r[0], r[1]);
    const __m256i v = _mm256_shuffle_epi8(_mm256_packus_epi16(w, w), _mm256_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 8, 8, 8, 8, 8, 8, 8, 8,  //
                                                                                    0, 4, 1, 5, 2, 6, 3, 7, 8, 8, 8, 8, 8, 8, 8, 8));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(_mm256_permute4x64_epi64(v, _MM_SHUFFLE(3, 1, 2, 0))));
  } else if constexpr (m == 4) {
    // Per half: r0 q0–3, r1 q0–3, r2 q0–3, r3 q0–3 → the 4×4 byte transpose.
    const __m256i v = _mm256_shuffle_epi8(_mm256_packus_epi16(words(r[0], r[1]), words(r[2], r[3])),
                                          _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,  //
                                                           0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
  } else {
    static_assert(m == 6);
    // Per half: x = r0…r3 of q0–3 (byte 4s + q), y = r4, r5 of q0–3 (byte 4(s − 4) + q);
    // pixel 6q + s of the half's 24 bytes comes from x or y (−1: the other one).
    const __m256i w45 = words(r[4], r[5]);
    const __m256i x = _mm256_packus_epi16(words(r[0], r[1]), words(r[2], r[3])), y = _mm256_packus_epi16(w45, w45);
    const __m256i xa = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, 1, 5, 9, 13, -1, -1, 2, 6, 10, 14,  //
                                        0, 4, 8, 12, -1, -1, 1, 5, 9, 13, -1, -1, 2, 6, 10, 14);
    const __m256i ya = _mm256_setr_epi8(-1, -1, -1, -1, 0, 4, -1, -1, -1, -1, 1, 5, -1, -1, -1, -1,  //
                                        -1, -1, -1, -1, 0, 4, -1, -1, -1, -1, 1, 5, -1, -1, -1, -1);
    const __m256i xb = _mm256_setr_epi8(-1, -1, 3, 7, 11, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        -1, -1, 3, 7, 11, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i yb = _mm256_setr_epi8(2, 6, -1, -1, -1, -1, 3, 7, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        2, 6, -1, -1, -1, -1, 3, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i first = _mm256_or_si256(_mm256_shuffle_epi8(x, xa), _mm256_shuffle_epi8(y, ya));   // pixels 0–15 of each half
    const __m256i second = _mm256_or_si256(_mm256_shuffle_epi8(x, xb), _mm256_shuffle_epi8(y, yb));  // pixels 16–23
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(first));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 16), _mm256_castsi256_si128(second));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 24), _mm256_extracti128_si256(first, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 40), _mm256_extracti128_si256(second, 1));
  }
  if (dst == buf) std::memcpy(out, buf, static_cast<size_t>(count));
}

template <int m, bool kDefault>
struct Output {
  static void run(WINQ_WINO_OUTPUT_ARGS) {
    if (p.one_d) {  // a tile row is one output row: lanes across tile rows, as below
      const int64_t total = tiles * std::min(tile_rows, rows);
      int64_t t0 = 0;
      for (; t0 + 8 <= total; t0 += 8) vector_1d<false>(p, P, comp_stride, corr, z_scale, coef_stride, bias, t0, total, tiles, y, OW);
      if (t0 < total) vector_1d<true>(p, P, comp_stride, corr, z_scale, coef_stride, bias, t0, total, tiles, y, OW);
      return;
    }
    if (tiles < 8 && tile_rows > 1) {
      // Narrow rows (a 14-wide F4 layer has 4 tiles per row): lanes take tiles
      // in order across tile rows, so that the vectors are full; each output
      // row of a vector goes out through the buffer, one piece per tile row.
      const int64_t total = tiles * tile_rows;
      int64_t t0 = 0;
      for (; t0 + 8 <= total; t0 += 8) vector<false, true>(p, P, comp_stride, corr, z_scale, coef_stride, bias, t0, total, tiles, y, OW, rows);
      if (t0 < total) vector<true, true>(p, P, comp_stride, corr, z_scale, coef_stride, bias, t0, total, tiles, y, OW, rows);
      return;
    }
    for (int64_t tr = 0; tr < tile_rows; ++tr) {
      const int32_t* const Pr = P + tr * tiles;
      uint8_t* const yr = y + tr * m * OW;
      const int64_t rr = std::min<int64_t>(m, rows - tr * m);
      int64_t t0 = 0;
      for (; t0 + 8 <= tiles; t0 += 8) vector<false, false>(p, Pr, comp_stride, corr, z_scale, coef_stride, bias, t0, tiles, tiles, yr, OW, rr);
      if (t0 < tiles) vector<true, false>(p, Pr, comp_stride, corr, z_scale, coef_stride, bias, t0, tiles, tiles, yr, OW, rr);
    }
  }
  // F(m×1, 3×3): tiles [t0, t0 + 8) of `total` (kTail: [t0, total)) across
  // tile rows of `tiles`, tile row tr to output row tr; Aᵀ term by term.
  template <bool kTail>
  [[gnu::always_inline]] static void vector_1d(const WinoOutputArgs& p, const int32_t* P, int64_t comp_stride,
                                               const int32_t* corr, const float* z_scale, int64_t coef_stride, float bias,
                                               int64_t t0, int64_t total, int64_t tiles, uint8_t* y, int64_t OW) {
    constexpr int n = m + 2;
    const float* at = kDefault ? wino_default::Default<m>::at : p.at;
    const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.y_zp));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.y_zp));
    const __m256i lanes = avx2::first_lanes(total - t0);
    __m256 z[n];
#pragma GCC unroll 8
    for (int j = 0; j < n; ++j) {
      const int32_t* pj = P + j * comp_stride + t0;
      const __m256i products = kTail ? _mm256_maskload_epi32(pj, lanes) : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pj));
      z[j] = output_z<S>(products, corr[j * coef_stride], z_scale[j * coef_stride]);
    }
    __m256i res[m];
    output_row_values<S, m, false>(at, z, bias, lo, hi, _mm256_set1_epi32(p.y_zp), res);
    alignas(32) uint8_t buf[8 * m];
    store_row<m>(res, buf, 8 * m);
    const int64_t count = total - t0 < 8 ? total - t0 : 8, tr0 = t0 / tiles, tr1 = (t0 + count - 1) / tiles;
    for (int64_t tr = tr0; tr <= tr1; ++tr) {
      const int64_t a = std::max(t0, tr * tiles) - t0, e = std::min(t0 + count, (tr + 1) * tiles) - t0;
      const int64_t x0 = (t0 + a - tr * tiles) * m;
      std::memcpy(y + tr * OW + x0, buf + a * m, static_cast<size_t>(std::min(OW - x0, (e - a) * m)));
    }
  }

  // Tiles [t0, t0 + 8) of `total`; kTail: [t0, total), the products read with
  // a lane mask. kAcross: the tiles run across tile rows of `tiles` (y at the
  // first tile row, `rows` output rows in all); otherwise all in one tile row.
  template <bool kTail, bool kAcross>
  [[gnu::always_inline]] static void vector(const WinoOutputArgs& p, const int32_t* P, int64_t comp_stride,
                                            const int32_t* corr, const float* z_scale, int64_t coef_stride, float bias,
                                            int64_t t0, int64_t total, int64_t tiles, uint8_t* y, int64_t OW,
                                            int64_t rows) {
    constexpr int n = m + 2;
    const float* at = kDefault ? wino_default::Default<m>::at : p.at;
    const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.y_zp));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.y_zp));
    const __m256i zp = _mm256_set1_epi32(p.y_zp);
    const __m256i lanes = avx2::first_lanes(total - t0);
    __m256 t[m][n];
#pragma GCC unroll 8
    for (int j = 0; j < n; ++j) {
      __m256 z[n];
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        const int k = i * n + j;  // masked lanes read 0 and are never stored
        const int32_t* pk = P + k * comp_stride + t0;
        const __m256i products = kTail ? _mm256_maskload_epi32(pk, lanes)
                                       : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pk));
        z[i] = kDefault && k == n + 1 ? output_z_bias<S>(products, corr[k * coef_stride], z_scale[k * coef_stride], bias)
                                      : output_z<S>(products, corr[k * coef_stride], z_scale[k * coef_stride]);
      }
      output_column_pass<S, m, kDefault>(at, z, t, j);
    }
    if constexpr (kAcross) {
      const int64_t count = total - t0 < 8 ? total - t0 : 8, tr0 = t0 / tiles, tr1 = (t0 + count - 1) / tiles;
      for (int r = 0; r < m && tr0 * m + r < rows; ++r) {
        __m256i res[m];
        output_row_values<S, m, kDefault>(at, t[r], bias, lo, hi, zp, res);
        alignas(32) uint8_t buf[8 * m];
        store_row<m>(res, buf, 8 * m);
        for (int64_t tr = tr0; tr <= tr1 && tr * m + r < rows; ++tr) {
          const int64_t a = std::max(t0, tr * tiles) - t0, e = std::min(t0 + count, (tr + 1) * tiles) - t0;
          const int64_t x0 = (t0 + a - tr * tiles) * m;
          std::memcpy(y + (tr * m + r) * OW + x0, buf + a * m, static_cast<size_t>(std::min(OW - x0, (e - a) * m)));
        }
      }
    } else {
      const int64_t x0 = t0 * m, count = OW - x0 < 8 * m ? OW - x0 : 8 * m;
      for (int r = 0; r < rows; ++r) {
        __m256i res[m];
        output_row_values<S, m, kDefault>(at, t[r], bias, lo, hi, zp, res);
        store_row<m>(res, y + r * OW + x0, count);
      }
    }
  }
};

}  // namespace

void wino_input_rows__avx2(WINQ_WINO_INPUT_ARGS) { dispatch_input<Input>(p, xp, ws, tiles, tile_rows, dst, comp_stride); }

void wino_output_rows__avx2(WINQ_WINO_OUTPUT_ARGS) {
  dispatch_output<Output>(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, tile_rows, y, OW, rows);
}

}  // namespace winq::kernels
