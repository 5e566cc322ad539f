// int8 Winograd tile transforms with AVX-512 (compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -ffp-contract=off). Same operations as
// ref/winograd_int8.cpp, 16 lanes at a time:
//   input:  lane = (tile q of 4, channel c of the word); two vpermt2d put
//           words m·q … m·q + 7 of the 32 loaded in 128-bit chunk q, one
//           vpshufb per word widens its 4 bytes to the 4 lanes; the 16 result
//           bytes of a component are then exactly 4 consecutive GEMM words;
//           its 4 channel factors, broadcast to each 128-bit chunk, meet
//           their channel's lanes.
//   output: lane = tile (16 tiles in order, across tile rows); the m results
//           of an output row are narrowed with packs and put in pixel order
//           by vpshufb (plus vpermq for m = 2, vpermt2w for m = 6), then
//           stored with a byte mask per tile row covered.
#include <immintrin.h>

#include "../winograd_int8.hpp"
#include "../winograd_int8_default.hpp"

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

// Per row of 4 tiles: chunk q (128 bits) of `near` holds words m·q … m·q + 3
// of the 32 loaded, of `far` words m·q + 4 … m·q + 7; vpshufb with widen[j]
// then widens word j of every chunk, byte c → lane q·4 + c (unsigned bytes to
// the low byte of the lane, signed ones to the high, then >> 24).
template <int m, bool x_signed>
struct RowTables {
  alignas(64) int32_t near[16], far[16];
  alignas(64) int8_t widen[4][64];
  constexpr RowTables() : near{}, far{}, widen{} {
    for (int l = 0; l < 16; ++l) {
      near[l] = m * (l / 4) + l % 4;
      far[l] = near[l] + 4;
    }
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 64; ++l)
        widen[j][l] = l % 4 == (x_signed ? 3 : 0) ? static_cast<int8_t>(4 * j + (l % 16) / 4) : int8_t{-128};
  }
};
template <int m, bool x_signed>
constexpr RowTables<m, x_signed> kRows;

// d[j] = x − x_zp at column j of 4 tiles × 4 channels, from the row of words
// at `row` (tile q's first word at m·q).
template <int m, bool x_signed, bool x_zp>
struct RowLoader {
  __m512i near_idx, far_idx, widen[4];
  __m512 zp;
  explicit RowLoader(int32_t zero_point)
      : near_idx(_mm512_load_si512(kRows<m, x_signed>.near)), far_idx(_mm512_load_si512(kRows<m, x_signed>.far)),
        zp(_mm512_set1_ps(static_cast<float>(zero_point))) {
    for (int j = 0; j < 4; ++j) widen[j] = _mm512_load_si512(kRows<m, x_signed>.widen[j]);
  }
  [[gnu::always_inline]] void load(const uint8_t* row, __m512 (&d)[m + 2]) const {
    const __m512i lo = _mm512_loadu_si512(row), hi = _mm512_loadu_si512(row + 64);
    const __m512i near = _mm512_permutex2var_epi32(lo, near_idx, hi);
    const __m512i far = m + 2 > 4 ? _mm512_permutex2var_epi32(lo, far_idx, hi) : near;
#pragma GCC unroll 8
    for (int j = 0; j < m + 2; ++j) {
      __m512i v = _mm512_shuffle_epi8(j < 4 ? near : far, widen[j % 4]);
      if constexpr (x_signed) v = _mm512_srai_epi32(v, 24);
      d[j] = x_zp ? _mm512_sub_ps(_mm512_cvtepi32_ps(v), zp) : _mm512_cvtepi32_ps(v);
    }
  }
};

// Input, 4 tiles × 4 channels per vector. 2-D: the row pass over the n
// rows of a tile, then the column pass. F(m×1, 3×3) (one_d): the row pass
// alone, one input row per tile row, t[s] requantized straight to component s.
template <int m, bool kDefault>
struct Input {
  template <bool x_signed, bool x_zp>
  static void run(WINQ_WINO_INPUT_ARGS) {
    if (p.one_d) body<x_signed, x_zp, true>(p, xp, ws, tiles, tile_rows, dst, comp_stride);
    else body<x_signed, x_zp, false>(p, xp, ws, tiles, tile_rows, dst, comp_stride);
  }

  template <bool x_signed, bool x_zp, bool kOneD>
  static void body(WINQ_WINO_INPUT_ARGS) {
    constexpr int n = m + 2;
    const RowLoader<m, x_signed, x_zp> loader(p.x_zp);
    const float* bt = kDefault ? Default<m>::bt : p.bt;
    // The per-component constants as locals: the byte stores below may alias
    // p, which would make the compiler reload every pointer after each store.
    // round[k] = 2^23 + v_off[k] (requantize_component).
    const float *const v_scale = p.v_scale, *const v_lo = p.v_lo, *const v_hi = p.v_hi;
    constexpr int components = kOneD ? n : n * n;
    float round[components];
    for (int k = 0; k < components; ++k) round[k] = 8388608.0f + static_cast<float>(p.v_off[k]);

    const auto group = [&]<bool kTail>(const uint8_t* x_row, uint8_t* d_row, int64_t t0) [[gnu::always_inline]] {
      const __mmask16 store = kTail ? static_cast<__mmask16>((1u << (4 * (tiles - t0))) - 1) : __mmask16{0xFFFF};
      // Component k of the 16 lanes to its plane; vpmovdb keeps the low bytes.
      const auto put = [&](__m512 v, int k) [[gnu::always_inline]] {
        const __m128i bytes = _mm512_cvtepi32_epi8(requantize_component<S>(v, _mm512_broadcast_f32x4(_mm_loadu_ps(v_scale + 4 * k)), v_lo[k], v_hi[k], round[k]));
        uint8_t* const out = d_row + k * comp_stride + t0 * 4;
        if constexpr (kTail) _mm_mask_storeu_epi8(out, store, bytes);
        else _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
      };
      if constexpr (kOneD) {
        __m512 d[n], v[n];
        loader.load(x_row + t0 * m * 4, d);
        input_pass<S, m, kDefault>(bt, d, v);
#pragma GCC unroll 8
        for (int s = 0; s < n; ++s) put(v[s], s);
        return;
      }
      __m512 t[n][n];  // t[i][s] = Σ_j B'ᵀ[s][j] d[i][j]
#pragma GCC unroll 8
      for (int i = 0; i < n; ++i) {
        __m512 d[n];
        loader.load(x_row + (i * ws + t0 * m) * 4, d);
        input_pass<S, m, kDefault>(bt, d, t[i]);
      }
      // Component k = r·n + s, column by column.
      __m512 col[n], v[n];
#pragma GCC unroll 8
      for (int s = 0; s < n; ++s) {
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) col[i] = t[i][s];
        input_pass<S, m, kDefault>(bt, col, v);
#pragma GCC unroll 8
        for (int r = 0; r < n; ++r) put(v[r], r * n + s);
      }
    };
    for (int64_t tr = 0; tr < tile_rows; ++tr) {
      const uint8_t* const x_row = xp + tr * (kOneD ? 1 : m) * ws * 4;  // tile rows m input rows apart, 1 for one_d
      uint8_t* const d_row = dst + tr * tiles * 4;
      int64_t t0 = 0;
      for (; t0 + 4 <= tiles; t0 += 4) group.template operator()<false>(x_row, d_row, t0);
      if (t0 < tiles) group.template operator()<true>(x_row, d_row, t0);
    }
  }
};

// Word index tables for m = 6 (see row_bytes), built at compile time.
struct Words6 {
  alignas(64) int16_t lo[32], hi[32];
  constexpr Words6() : lo{}, hi{} {
    for (int x = 0; x < 48; ++x) {  // output word x: pixel pair x % 3 of tile x / 3
      const int tile = x / 3, pair = x % 3, c = tile / 4, q = tile % 4;
      const int src = pair == 2 ? 32 + 8 * c + q : 8 * c + 4 * pair + q;
      (x < 32 ? lo[x] : hi[x - 32]) = static_cast<int16_t>(src);
    }
  }
};
constexpr Words6 kWords6;

// The m rounded results of one output row (lane = tile; zp not yet added) as
// the 16·m pixel-ordered bytes of the 16 tiles: v[0] bytes 0–63, v[1] bytes
// 64–95 (m = 6). vpackssdw keeps the values exactly (|v| ≤ 510), zp is added
// to 16-bit lanes, vpackuswb / vpacksswb keep them exactly (they are within
// the output type); each 128-bit chunk c then holds tiles 4c … 4c + 3, put in
// pixel order by one vpshufb (m = 4), plus a vpermq (m = 2) or two vpermt2w on
// byte pairs (m = 6).
template <int m>
struct RowBytes {
  __m512i v[m == 6 ? 2 : 1];
};
template <int m>
[[gnu::always_inline]] inline RowBytes<m> row_bytes(const __m512i (&r)[m], __m512i zp16, bool y_unsigned) {
  const auto words = [&](__m512i a, __m512i b) { return _mm512_add_epi16(_mm512_packs_epi32(a, b), zp16); };
  const auto bytes = [&](__m512i a, __m512i b) {
    return y_unsigned ? _mm512_packus_epi16(a, b) : _mm512_packs_epi16(a, b);
  };
  // Per chunk: bytes 4s + q (result s of tile q) → 2q + s, for two results.
  const __m512i pairs = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15));
  RowBytes<m> out;
  if constexpr (m == 2) {
    const __m512i w = words(r[0], r[1]);
    const __m512i v = _mm512_shuffle_epi8(bytes(w, w), pairs);  // chunk c: tiles 4c … 4c + 3 in its low 8 bytes
    out.v[0] = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 2, 4, 6, 0, 2, 4, 6), v);
  } else if constexpr (m == 4) {
    const __m512i v = bytes(words(r[0], r[1]), words(r[2], r[3]));  // chunk: byte 4s + q
    out.v[0] = _mm512_shuffle_epi8(v, _mm512_broadcast_i32x4(_mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)));
  } else {
    static_assert(m == 6);
    // x: word q = pixels (0, 1) of tile q, word 4 + q = pixels (2, 3); y: word q = pixels (4, 5).
    const __m512i w45 = words(r[4], r[5]);
    const __m512i x = _mm512_shuffle_epi8(bytes(words(r[0], r[1]), words(r[2], r[3])), pairs);
    const __m512i y = _mm512_shuffle_epi8(bytes(w45, w45), pairs);
    out.v[0] = _mm512_permutex2var_epi16(x, _mm512_load_si512(kWords6.lo), y);
    out.v[1] = _mm512_permutex2var_epi16(x, _mm512_load_si512(kWords6.hi), y);
  }
  return out;
}

// Bytes [from, to) of a row's 16·m to dst (byte `from` at dst[0]); the masked
// stores leave every other byte untouched, so the vector is addressed from
// dst − from, which the masks never reach.
template <int m>
[[gnu::always_inline]] inline void store_bytes(const RowBytes<m>& b, uint8_t* dst, int64_t from, int64_t to) {
  const auto bits = [](int64_t lo, int64_t hi) {  // bits [lo, hi) of 64, 0 ≤ lo ≤ hi ≤ 64
    const __mmask64 below_hi = hi >= 64 ? ~__mmask64{0} : (__mmask64{1} << hi) - 1;
    return below_hi & ~((__mmask64{1} << lo) - 1);
  };
  auto* const base = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(dst) - static_cast<uintptr_t>(from));
  if (from < 64) _mm512_mask_storeu_epi8(base, bits(from, to < 64 ? to : 64), b.v[0]);
  if constexpr (m == 6)
    if (to > 64) _mm512_mask_storeu_epi8(base + 64, bits(from > 64 ? from - 64 : 0, to - 64), b.v[1]);
}

// Lanes are tiles taken in order across tile rows, 16 at a time, so that a
// narrow layer (7 tiles per row) still fills its vectors; each output row of
// a vector is then stored in one piece per tile row it covers. F(m×1, 3×3)
// (one_d): a tile row is one output row, and Aᵀ goes term by term (its
// definition; the default Aᵀ's constants still fold).
template <int m, bool kDefault>
struct Output {
  static void run(WINQ_WINO_OUTPUT_ARGS) {
    if constexpr (m <= 4)
      if (coef_stride == 1) {
        (p.one_d ? body<true, true> : body<false, true>)(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles,
                                                         tile_rows, y, OW, rows);
        return;
      }
    (p.one_d ? body<true, false> : body<false, false>)(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles,
                                                       tile_rows, y, OW, rows);
  }

  // kUnitCoef: corr and z_scale contiguous (coef_stride 1), so that their
  // loads take constant offsets from one register; with a run-time stride
  // the compiler kept a pointer per component, spilled to the stack (A/B,
  // F4 64@56² 1,039–1,050 → 1,090–1,099 GOP/s). Not for F6: its run then
  // held both bodies, and F6 128@28² ran 15% slower (1,300–1,352 →
  // 1,106–1,154), in its input transform as much as in the output.
  template <bool kOneD, bool kUnitCoef>
  static void body(WINQ_WINO_OUTPUT_ARGS) {
    const int64_t cs = kUnitCoef ? 1 : coef_stride;
    constexpr int n = m + 2, height = kOneD ? 1 : m;  // output rows per tile
    const float* at = kDefault ? Default<m>::at : p.at;
    const __m512 lo = _mm512_set1_ps(static_cast<float>(p.qmin - p.y_zp));
    const __m512 hi = _mm512_set1_ps(static_cast<float>(p.qmax - p.y_zp));
    const __m512i zp16 = _mm512_set1_epi16(static_cast<int16_t>(p.y_zp));
    const bool y_unsigned = p.y_unsigned;
    const int64_t total = tiles * (kOneD && rows < tile_rows ? rows : tile_rows);
    for (int64_t t0 = 0; t0 < total; t0 += 16) {
      const int64_t count = total - t0 < 16 ? total - t0 : 16;
      const __mmask16 lanes = static_cast<__mmask16>((1u << count) - 1);
      const int64_t tr0 = t0 / tiles, tr1 = (t0 + count - 1) / tiles;
      // Output row r of every tile row the vector covers.
      const auto store_row = [&](const __m512i (&res)[m], int r) [[gnu::always_inline]] {
        const RowBytes<m> b = row_bytes<m>(res, zp16, y_unsigned);
        for (int64_t tr = tr0; tr <= tr1 && tr * height + r < rows; ++tr) {
          const int64_t a = (tr * tiles > t0 ? tr * tiles : t0) - t0;  // the lanes of tile row tr: [a, e)
          const int64_t e = ((tr + 1) * tiles < t0 + count ? (tr + 1) * tiles : t0 + count) - t0;
          const int64_t x0 = (t0 + a - tr * tiles) * m, width = OW - x0 < (e - a) * m ? OW - x0 : (e - a) * m;
          store_bytes<m>(b, y + (tr * height + r) * OW + x0, a * m, a * m + width);
        }
      };
      if constexpr (kOneD) {
        __m512 z[n];
#pragma GCC unroll 8
        for (int j = 0; j < n; ++j)
          z[j] = output_z<S>(_mm512_maskz_loadu_epi32(lanes, P + j * comp_stride + t0), corr[j * cs], z_scale[j * cs]);
        __m512i res[m];
        output_row_rounded<S, m, false>(at, z, bias, lo, hi, res);
        store_row(res, 0);
        continue;
      }
      __m512 t[m][n];  // t[r][j] = Σ_i Aᵀ[r][i] z[i][j]
#pragma GCC unroll 8
      for (int j = 0; j < n; ++j) {
        __m512 z[n];
#pragma GCC unroll 8
        for (int i = 0; i < n; ++i) {
          const int k = i * n + j;
          const __m512i products = _mm512_maskz_loadu_epi32(lanes, P + k * comp_stride + t0);
          z[i] = kDefault && k == n + 1 ? output_z_bias<S>(products, corr[k * cs], z_scale[k * cs], bias)
                                        : output_z<S>(products, corr[k * cs], z_scale[k * cs]);
        }
        output_column_pass<S, m, kDefault>(at, z, t, j);
      }
      for (int r = 0; r < m && tr0 * m + r < rows; ++r) {
        __m512i res[m];
        output_row_rounded<S, m, kDefault>(at, t[r], bias, lo, hi, res);
        store_row(res, r);
      }
    }
  }
};

}  // namespace

void wino_input_rows__avx512(WINQ_WINO_INPUT_ARGS) { dispatch_input<Input>(p, xp, ws, tiles, tile_rows, dst, comp_stride); }

void wino_output_rows__avx512(WINQ_WINO_OUTPUT_ARGS) {
  dispatch_output<Output>(p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, tile_rows, y, OW, rows);
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
