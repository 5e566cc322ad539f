// int8 Winograd tile transforms with AVX-512 (compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -ffp-contract=off). Same operations as
// ref/winograd_int8.cpp, 16 lanes at a time:
//   input:  lane = (tile q of 4, channel c of the word); the words of 4 tiles
//           at stride m are picked from 32 loaded words with one vpermt2d, the
//           channel byte by a variable shift; the 16 result bytes of a
//           component are then exactly 4 consecutive GEMM words.
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
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F cvt(I v) { return _mm512_cvtepi32_ps(v); }
  static I round(F v) { return _mm512_cvtps_epi32(v); }  // to nearest even (MXCSR default), as nearbyint
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
  static void run(WINQ_WINO_INPUT_ARGS) {
    constexpr int n = m + 2;
    // idx[j]: lane q·4 + c reads word m·q + j of the 32 loaded.
    __m512i idx[n];
    for (int j = 0; j < n; ++j) {
      alignas(64) int32_t v[16];
      for (int l = 0; l < 16; ++l) v[l] = m * (l / 4) + j;
      idx[j] = _mm512_load_si512(v);
    }
    alignas(64) static constexpr int32_t kShiftU[16] = {0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24};
    alignas(64) static constexpr int32_t kShiftS[16] = {24, 16, 8, 0, 24, 16, 8, 0, 24, 16, 8, 0, 24, 16, 8, 0};
    const __m512i shu = _mm512_load_si512(kShiftU), shs = _mm512_load_si512(kShiftS);
    const __m512i byte = _mm512_set1_epi32(0xFF);
    const __m512 zp = _mm512_set1_ps(static_cast<float>(p.x_zp));
    const float* bt = kDefault ? Default<m>::bt : p.bt;
    // Locals, not p's members: the byte stores below may alias p, which would
    // make the compiler reload every pointer after each store.
    const float *const v_scale = p.v_scale, *const v_lo = p.v_lo, *const v_hi = p.v_hi;
    const int32_t* const v_off = p.v_off;
    const bool x_signed = p.x_signed, x_zp = p.x_zp != 0;
    for (int64_t t0 = 0; t0 < tiles; t0 += 4) {
      const int64_t left = tiles - t0;
      const __mmask16 store = left >= 4 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (4 * left)) - 1);
      __m512 t[n][n];  // t[i][s] = Σ_j B'ᵀ[s][j] d[i][j]
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        const uint8_t* row = xp + (i * ws + t0 * m) * 4;
        const __m512i lo = _mm512_loadu_si512(row), hi = _mm512_loadu_si512(row + 64);
        __m512 d[n];
#pragma GCC unroll 8
        for (int j = 0; j < n; ++j) {
          const __m512i w = _mm512_permutex2var_epi32(lo, idx[j], hi);
          const __m512i v = x_signed ? _mm512_srai_epi32(_mm512_sllv_epi32(w, shs), 24)
                                       : _mm512_and_si512(_mm512_srlv_epi32(w, shu), byte);
          d[j] = x_zp ? _mm512_sub_ps(_mm512_cvtepi32_ps(v), zp) : _mm512_cvtepi32_ps(v);
        }
        input_row_pass<S, n>(bt, d, t[i]);
      }
#pragma GCC unroll 8
      for (int s = 0; s < n; ++s)
#pragma GCC unroll 8
        for (int r = 0; r < n; ++r) {
          const int k = r * n + s;
          const __m512i b = input_component<S, n>(bt, t, r, s, v_scale[k], v_lo[k], v_hi[k], v_off[k]);
          _mm512_mask_cvtepi32_storeu_epi8(dst + k * comp_stride + t0 * 4, store, b);
        }
    }
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
