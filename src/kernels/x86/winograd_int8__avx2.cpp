// int8 Winograd tile transforms with AVX2 (compiled with -mavx2 -mfma
// -ffp-contract=off). Same operations as ref/winograd_int8.cpp, 8 lanes at a
// time — the AVX-512 variant's scheme at half the width, without its masks:
//   input:  lane = (tile q of 2, channel c of the word); the two words of a
//           tile pair are joined in one 64-bit lane and widened byte → int32,
//           so the 8 result bytes of a component are 2 consecutive GEMM words.
//   output: lane = tile (8 tiles of the row); the m results of an output row
//           are interleaved into pixel order with byte/word unpacks, and a
//           partial row goes out through a small buffer (AVX2 has no byte
//           masks).
#include <immintrin.h>

#include <cstring>

#include "../winograd_int8.hpp"
#include "avx2_lanes.hpp"
#include "winograd_int8_default.hpp"

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
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F cvt(I v) { return _mm256_cvtepi32_ps(v); }
  static I round(F v) { return _mm256_cvtps_epi32(v); }  // to nearest even (MXCSR default), as nearbyint
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

template <int m, bool kDefault>
struct Input {
  // The input's signedness and zero point as template arguments: tested per
  // loaded word inside the unrolled tile, they were some 200 branches.
  static void run(WINQ_WINO_INPUT_ARGS) {
    if (p.x_signed)
      (p.x_zp != 0 ? run_t<true, true> : run_t<true, false>)(p, xp, ws, tiles, dst, comp_stride);
    else
      (p.x_zp != 0 ? run_t<false, true> : run_t<false, false>)(p, xp, ws, tiles, dst, comp_stride);
  }
  template <bool x_signed, bool x_zp>
  static void run_t(WINQ_WINO_INPUT_ARGS) {
    constexpr int n = m + 2;
    const __m256 zp = _mm256_set1_ps(static_cast<float>(p.x_zp));
    const float* bt = kDefault ? wino_default::Default<m>::bt : p.bt;
    // Locals, not p's members: the byte stores below may alias p.
    const float *const v_scale = p.v_scale, *const v_lo = p.v_lo, *const v_hi = p.v_hi;
    const int32_t* const v_off = p.v_off;
    for (int64_t t0 = 0; t0 < tiles; t0 += 2) {
      const bool pair = tiles - t0 >= 2;  // else the second lane group is read (inside the row) but not stored
      __m256 t[n][n];
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        const uint8_t* row = xp + (i * ws + t0 * m) * 4;
        __m256 d[n];
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
        input_row_pass<S, n>(bt, d, t[i]);
      }
#pragma GCC unroll 8
      for (int s = 0; s < n; ++s)
#pragma GCC unroll 8
        for (int r = 0; r < n; ++r) {
          const int k = r * n + s;
          const __m128i b = low_bytes(input_component<S, n>(bt, t, r, s, v_scale[k], v_lo[k], v_hi[k], v_off[k]));
          uint8_t* out = dst + k * comp_stride + t0 * 4;
          if (pair) {
            _mm_storel_epi64(reinterpret_cast<__m128i*>(out), b);
          } else {
            const int32_t w = _mm_cvtsi128_si32(b);
            std::memcpy(out, &w, 4);
          }
        }
    }
  }
};

// The m result vectors of one output row (lane = tile) as `count` pixel-ordered bytes.
template <int m>
void store_row(const __m256i (&r)[m], uint8_t* out, int64_t count) {
  alignas(32) uint8_t buf[8 * m];
  __m128i b[m];
  for (int s = 0; s < m; ++s) b[s] = low_bytes(r[s]);
  if constexpr (m == 2) {
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), _mm_unpacklo_epi8(b[0], b[1]));
  } else if constexpr (m == 4) {
    const __m128i l01 = _mm_unpacklo_epi8(b[0], b[1]), l23 = _mm_unpacklo_epi8(b[2], b[3]);
    _mm_store_si128(reinterpret_cast<__m128i*>(buf), _mm_unpacklo_epi16(l01, l23));
    _mm_store_si128(reinterpret_cast<__m128i*>(buf + 16), _mm_unpackhi_epi16(l01, l23));
  } else {
    static_assert(m == 6);
    // Byte pairs (s, s+1) as words: w[p] word q = pixels 2p, 2p + 1 of tile q; tile q's
    // three words go to words 3q, 3q + 1, 3q + 2.
    alignas(16) uint16_t w[3][8];
    for (int pr = 0; pr < 3; ++pr)
      _mm_store_si128(reinterpret_cast<__m128i*>(w[pr]), _mm_unpacklo_epi8(b[2 * pr], b[2 * pr + 1]));
    uint16_t words[24];
    for (int q = 0; q < 8; ++q)
      for (int pr = 0; pr < 3; ++pr) words[3 * q + pr] = w[pr][q];
    std::memcpy(buf, words, sizeof words);
  }
  if (count >= 8 * m)
    std::memcpy(out, buf, 8 * m);
  else
    std::memcpy(out, buf, static_cast<size_t>(count));
}

template <int m, bool kDefault>
struct Output {
  static void run(WINQ_WINO_OUTPUT_ARGS) {
    constexpr int n = m + 2;
    const float* at = kDefault ? wino_default::Default<m>::at : p.at;
    const __m256 lo = _mm256_set1_ps(static_cast<float>(p.qmin - p.y_zp));
    const __m256 hi = _mm256_set1_ps(static_cast<float>(p.qmax - p.y_zp));
    const __m256i zp = _mm256_set1_epi32(p.y_zp);
    for (int64_t t0 = 0; t0 < tiles; t0 += 8) {
      const int64_t left = tiles - t0;
      const __m256i lanes = avx2::first_lanes(left);
      __m256 t[m][n];
#pragma GCC unroll 8
      for (int j = 0; j < n; ++j) {
        __m256 z[n];
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) {
          const int k = i * n + j;  // masked lanes read 0 and are never stored
          z[i] = output_z<S>(_mm256_maskload_epi32(P + k * comp_stride + t0, lanes), corr[k * coef_stride],
                             z_scale[k * coef_stride]);
        }
        output_column_pass<S, m>(at, z, t, j);
      }
      const int64_t x0 = t0 * m, count = OW - x0 < 8 * m ? OW - x0 : 8 * m;
      for (int r = 0; r < rows; ++r) {
        __m256i res[m];
        output_row_values<S, m>(at, t[r], bias, lo, hi, zp, res);
        store_row<m>(res, y + r * OW + x0, count);
      }
    }
  }
};

}  // namespace

void wino_input_row__avx2(WINQ_WINO_INPUT_ARGS) { dispatch_input<Input>(p, xp, ws, tiles, dst, comp_stride); }

void wino_output_row__avx2(WINQ_WINO_OUTPUT_ARGS) {
  dispatch_output<Output>(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, y, OW, rows);
}

}  // namespace winq::kernels
