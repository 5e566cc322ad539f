// int8 Winograd tile transforms with AVX-512 (compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -ffp-contract=off). Same operations as
// ref/winograd_int8.cpp, 16 lanes at a time:
//   input:  lane = (tile q of 4, channel c of the word); two vpermt2d put
//           words m·q … m·q + 7 of the 32 loaded in 128-bit chunk q, one
//           vpshufb per word widens its 4 bytes to the 4 lanes; the 16 result
//           bytes of a component are then exactly 4 consecutive GEMM words.
//   output: lane = tile (16 tiles of the row); the m results of an output row
//           are interleaved into pixel order with byte/word unpacks (m = 2, 4)
//           or one vpermt2w (m = 6).
#include <immintrin.h>

#include "../winograd_int8.hpp"
#include "winograd_int8_default.hpp"

namespace winq::kernels {

namespace {

struct S {  // the vector operations winograd_int8_tiles.inl uses, 16 lanes
  using F = __m512;
  using I = __m512i;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fmsub(F a, F b, F c) { return _mm512_fmsub_ps(a, b, c); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F cvt(I v) { return _mm512_cvtepi32_ps(v); }
  static I round(F v) { return _mm512_cvtps_epi32(v); }  // to nearest even (MXCSR default), as nearbyint
  static I bits(F v) { return _mm512_castps_si512(v); }
  static I set1_i(int32_t v) { return _mm512_set1_epi32(v); }
  static I add_i(I a, I b) { return _mm512_add_epi32(a, b); }
  static I sub_i(I a, I b) { return _mm512_sub_epi32(a, b); }
};

}  // namespace

}  // namespace winq::kernels

#include "winograd_int8_tiles.inl"

namespace winq::kernels {

namespace {

using wino_default::Default;
using wino_default::same;

template <int m, bool kDefault>
struct Input {
  template <bool x_signed, bool x_zp>
  static void run(WINQ_WINO_INPUT_ARGS) {
    constexpr int n = m + 2;
    // Per row of the 4 tiles: chunk q (128 bits) of `near` holds words
    // m·q … m·q + 3 of the 32 loaded, of `far` words m·q + 4 … m·q + 7;
    // vpshufb then widens word j of every chunk, byte c → lane q·4 + c.
    __m512i near_idx, far_idx;
    {
      alignas(64) int32_t a[16], b[16];
      for (int l = 0; l < 16; ++l) {
        a[l] = m * (l / 4) + l % 4;
        b[l] = a[l] + 4;
      }
      near_idx = _mm512_load_si512(a);
      far_idx = _mm512_load_si512(b);
    }
    __m512i widen[4];  // word j: unsigned bytes to the low byte of the lane, signed ones to the high (then >> 24)
    for (int j = 0; j < 4; ++j) {
      alignas(64) int8_t v[64];
      for (int l = 0; l < 64; ++l) {
        const int c = (l % 16) / 4, pos = l % 4;
        v[l] = pos == (x_signed ? 3 : 0) ? static_cast<int8_t>(4 * j + c) : int8_t{-128};
      }
      widen[j] = _mm512_load_si512(v);
    }
    const __m512 zp = _mm512_set1_ps(static_cast<float>(p.x_zp));
    const float* bt = kDefault ? Default<m>::bt : p.bt;
    // The per-component constants as locals: the byte stores below may alias
    // p, which would make the compiler reload every pointer after each store.
    // round[k] = 2^23 + v_off[k] (requantize_component).
    const float *const v_scale = p.v_scale, *const v_lo = p.v_lo, *const v_hi = p.v_hi;
    float round[n * n];
    for (int k = 0; k < n * n; ++k) round[k] = 8388608.0f + static_cast<float>(p.v_off[k]);

    const auto group = [&]<bool kTail>(int64_t t0) [[gnu::always_inline]] {
      const __mmask16 store = kTail ? static_cast<__mmask16>((1u << (4 * (tiles - t0))) - 1) : __mmask16{0xFFFF};
      __m512 t[n][n];  // t[i][s] = Σ_j B'ᵀ[s][j] d[i][j]
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        const uint8_t* row = xp + (i * ws + t0 * m) * 4;
        const __m512i lo = _mm512_loadu_si512(row), hi = _mm512_loadu_si512(row + 64);
        const __m512i near = _mm512_permutex2var_epi32(lo, near_idx, hi);
        const __m512i far = n > 4 ? _mm512_permutex2var_epi32(lo, far_idx, hi) : near;
        __m512 d[n];
#pragma GCC unroll 8
        for (int j = 0; j < n; ++j) {
          __m512i v = _mm512_shuffle_epi8(j < 4 ? near : far, widen[j % 4]);
          if constexpr (x_signed) v = _mm512_srai_epi32(v, 24);
          d[j] = x_zp ? _mm512_sub_ps(_mm512_cvtepi32_ps(v), zp) : _mm512_cvtepi32_ps(v);
        }
        input_pass<S, m, kDefault>(bt, d, t[i]);
      }
      // Component k = r·n + s, column by column; vpmovdb keeps the low bytes.
      __m512 col[n], v[n];
#pragma GCC unroll 8
      for (int s = 0; s < n; ++s) {
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) col[i] = t[i][s];
        input_pass<S, m, kDefault>(bt, col, v);
#pragma GCC unroll 8
        for (int r = 0; r < n; ++r) {
          const int k = r * n + s;
          const __m128i bytes = _mm512_cvtepi32_epi8(requantize_component<S>(v[r], v_scale[k], v_lo[k], v_hi[k], round[k]));
          uint8_t* const out = dst + k * comp_stride + t0 * 4;
          if constexpr (kTail) _mm_mask_storeu_epi8(out, store, bytes);
          else _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
        }
      }
    };
    int64_t t0 = 0;
    for (; t0 + 4 <= tiles; t0 += 4) group.template operator()<false>(t0);
    if (t0 < tiles) group.template operator()<true>(t0);
  }
};

// The m result vectors of one output row (lane = tile) as pixel-ordered bytes.
template <int m>
void store_row(const __m512i (&r)[m], uint8_t* out, int64_t count) {
  const auto mask64 = [](int64_t c) { return c >= 64 ? ~__mmask64{0} : (__mmask64{1} << c) - 1; };
  __m128i b[m];
  for (int s = 0; s < m; ++s) b[s] = _mm512_cvtepi32_epi8(r[s]);
  if constexpr (m == 2) {
    const __m256i v = _mm256_set_m128i(_mm_unpackhi_epi8(b[0], b[1]), _mm_unpacklo_epi8(b[0], b[1]));
    _mm256_mask_storeu_epi8(out, static_cast<__mmask32>(mask64(count)), v);
  } else if constexpr (m == 4) {
    const __m128i l01 = _mm_unpacklo_epi8(b[0], b[1]), h01 = _mm_unpackhi_epi8(b[0], b[1]);
    const __m128i l23 = _mm_unpacklo_epi8(b[2], b[3]), h23 = _mm_unpackhi_epi8(b[2], b[3]);
    const __m256i a = _mm256_set_m128i(_mm_unpackhi_epi16(l01, l23), _mm_unpacklo_epi16(l01, l23));
    const __m256i c = _mm256_set_m128i(_mm_unpackhi_epi16(h01, h23), _mm_unpacklo_epi16(h01, h23));
    _mm512_mask_storeu_epi8(out, mask64(count), _mm512_inserti64x4(_mm512_castsi256_si512(a), c, 1));
  } else {
    static_assert(m == 6);
    // Byte pairs (s, s+1) as words: w[p][q] = pixel pair 2p, 2p + 1 of tile q.
    __m256i w[3];
    for (int q = 0; q < 3; ++q)
      w[q] = _mm256_set_m128i(_mm_unpackhi_epi8(b[2 * q], b[2 * q + 1]), _mm_unpacklo_epi8(b[2 * q], b[2 * q + 1]));
    const __m512i a = _mm512_inserti64x4(_mm512_castsi256_si512(w[0]), w[1], 1), c = _mm512_castsi256_si512(w[2]);
    alignas(64) int16_t i0[32], i1[32];
    for (int x = 0; x < 48; ++x) {  // output word x = 3q + pair
      const int q = x / 3, pair = x % 3;
      (x < 32 ? i0[x] : i1[x - 32]) = static_cast<int16_t>(pair * 16 + q);
    }
    for (int x = 48; x < 64; ++x) i1[x - 32] = 0;
    const __m512i lo = _mm512_permutex2var_epi16(a, _mm512_load_si512(i0), c);
    const __m512i hi = _mm512_permutex2var_epi16(a, _mm512_load_si512(i1), c);
    _mm512_mask_storeu_epi8(out, mask64(count), lo);
    if (count > 64) _mm256_mask_storeu_epi8(out + 64, static_cast<__mmask32>(mask64(count - 64)), _mm512_castsi512_si256(hi));
  }
}

template <int m, bool kDefault>
struct Output {
  static void run(WINQ_WINO_OUTPUT_ARGS) {
    constexpr int n = m + 2;
    const float* at = kDefault ? Default<m>::at : p.at;
    const __m512 lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.y_zp));
    const __m512 hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.y_zp));
    const __m512i zp = _mm512_set1_epi32(p.y_zp);
    for (int64_t t0 = 0; t0 < tiles; t0 += 16) {
      const int64_t left = tiles - t0;
      const __mmask16 lanes = left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << left) - 1);
      __m512 t[m][n];  // t[r][j] = Σ_i Aᵀ[r][i] z[i][j]
#pragma GCC unroll 8
      for (int j = 0; j < n; ++j) {
        __m512 z[n];
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) {
          const int k = i * n + j;
          z[i] = output_z<S>(_mm512_maskz_loadu_epi32(lanes, P + k * comp_stride + t0), corr[k * coef_stride],
                             z_scale[k * coef_stride]);
        }
        output_column_pass<S, m>(at, z, t, j);
      }
      const int64_t x0 = t0 * m, count = OW - x0 < 16 * m ? OW - x0 : 16 * m;
      for (int r = 0; r < rows; ++r) {
        __m512i res[m];
        output_row_values<S, m>(at, t[r], bias, lo, hi, zp, res);
        store_row<m>(res, y + r * OW + x0, count);
      }
    }
  }
};

}  // namespace

void wino_input_row__avx512(WINQ_WINO_INPUT_ARGS) { dispatch_input<Input>(p, xp, ws, tiles, dst, comp_stride); }

void wino_output_row__avx512(WINQ_WINO_OUTPUT_ARGS) {
  dispatch_output<Output>(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, y, OW, rows);
}

bool wino_default_transforms__avx512(int m, const float* bt, const float* at) {
  switch (m) {
    case 2: return same(bt, Default<2>::bt, 16) && same(at, Default<2>::at, 8);
    case 4: return same(bt, Default<4>::bt, 36) && same(at, Default<4>::at, 24);
    case 6: return same(bt, Default<6>::bt, 64) && same(at, Default<6>::at, 48);
    default: return false;
  }
}

}  // namespace winq::kernels
