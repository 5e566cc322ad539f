// The two tile transforms of int8 Winograd F(m, 3) convolution (winq.QWinogradConv),
// around the packed int8 GEMM that sums the products over input channels.
//
// Input transform, one word of 4 channels × one row of tiles. With d = x − x_zp
// on each n×n tile (n = m + 2), V = B'ᵀ d B' (B' the integer-scaled Bᵀ) is an
// integer of magnitude < 2^24 (checked when the layer is lowered), so float32
// computes it exactly in any order. Component k of channel c (of the word) is
// requantized to 8 bits with its own factor:
//   q = clamp(nearbyint(fl(V · v_scale[4k + c])), v_lo[k], v_hi[k]) + v_off[k]
// and stored as one byte (v_off = 128 turns a signed component into the uint8
// the u8×s8 GEMM reads; the GEMM caller takes 128·ΣU back).
//
// Output transform, one output channel × one row of tiles, in float32 with a
// fixed order of operations (every variant performs the same IEEE operations,
// so results are identical; these files are compiled with -ffp-contract=off).
// Any Aᵀ, term by term:
//   z[k]    = fl(float(P[k] − corr[k]) · z_scale[k])
//   t[r][j] = Σ_i Aᵀ[r][i] · z[i·n + j]         (i ascending, from +0)
//   Y[r][s] = bias + Σ_j t[r][j] · Aᵀ[s][j]      (j ascending)
//   y       = clamp(nearbyint(Y) + y_zp, qmin, qmax)
// Zero coefficients may be skipped: adding ±0 to a sum that starts at +0 never
// changes it.
// The default Aᵀ (winograd_int8_default.hpp: points 0, ±1, ±2, ±1/2, ∞) with
// shared sums, 10 operations per row or column for F(4,3) instead of 24:
//   z[k]    as above, except z[n + 1] = fma(float(P − corr), z_scale, bias):
//           column 1 of Aᵀ (point 1) is all ones, so the bias that enters
//           t[r][1] for every r reaches every Y[r][s] once
//   t[·][j] = pass(z[·n + j]),  Y[r][·] = pass(t[r][·]), where for a vector x
//   of n and the pairs a_k = x[2k−1] + x[2k], b_k = x[2k−1] − x[2k] (k = 1 …
//   m/2, points p = 1, 2, 1/2):
//     pass[0]   = ((x[0] + a_1) + a_2) + …
//     pass[r]   = fma(p_{m/2}^r, c_{m/2}, … fma(p_2^r, c_2, c_1))   r ≥ 1, c = b (r odd) or a
//     pass[m−1] = that + x[n − 1]
// The products p^r · c are exact (powers of two; the op keeps z_scale and bias
// in [2^−60, 2^60] or 0, so no value nears the subnormals or overflows), so
// fma(p^r, c, s) = s + p^r·c and the definition uses the latter.
#pragma once
#include <cstdint>

namespace winq::kernels {

struct WinoInputArgs {
  int m = 4;                 // output tile; tiles are (m + 2)² inputs
  const float* bt = nullptr;       // n×n, integer-valued
  const float* v_scale = nullptr;  // n²·4 requantization factors: component k of channel c of the word at 4k + c
  const float* v_lo = nullptr;     // n² clamp bounds (integers, before v_off)
  const float* v_hi = nullptr;
  const int32_t* v_off = nullptr;  // n²: 0 or 128, with v_lo + v_off ≥ 0 and v_hi + v_off ≤ 255
  bool x_signed = false;           // input bytes are int8 (else uint8)
  int32_t x_zp = 0;
  bool one_d = false;              // F(m×1, 3×3): tiles of 1 row × n columns (below)
};

// xp: the padded input plane of 4-channel words (byte j of a word = channel j),
// at the first tile row's top-left; ws words per row; tile row tr (of
// tile_rows, `tiles` tiles each) reads rows [tr·m, tr·m + n). The SIMD loads
// read up to m·⌈tiles/4⌉·4 + 32 words from each row's start (past the row's
// end: any readable bytes, they reach no stored tile).
// dst: component 0's word of the first tile; component k at dst + k·comp_stride
// bytes; tile (tr, t) at + 4·(tr·tiles + t) (the GEMM's activation layout, one
// row of K4).
#define WINQ_WINO_INPUT_ARGS                                                                                 \
  const WinoInputArgs &p, const uint8_t *xp, int64_t ws, int64_t tiles, int64_t tile_rows, uint8_t *dst, \
      int64_t comp_stride
// one_d: the row transform of F(m×1, 3×3). Tile row tr is input row tr (rows
// 1 apart, no overlap); component s of a tile is V_s = Σ_j B'ᵀ[s][j]·d[j] over
// its n columns, requantized as above with v_scale[4s + c], v_lo[s], v_hi[s],
// v_off[s] (n components, stored at dst + s·comp_stride).
using WinoInputFn = void (*)(WINQ_WINO_INPUT_ARGS);
void wino_input_rows__ref(WINQ_WINO_INPUT_ARGS);
void wino_input_rows__avx512(WINQ_WINO_INPUT_ARGS);
void wino_input_rows__avx2(WINQ_WINO_INPUT_ARGS);

struct WinoOutputArgs {
  int m = 4;
  const float* at = nullptr;  // m×n
  int32_t y_zp = 0, qmin = 0, qmax = 255;
  bool y_unsigned = true;
  bool one_d = false;  // F(m×1, 3×3) (below)
};

// P: component 0's products of this output channel for the first tile (int32),
// component k at + k·comp_stride; within a component the tiles of tile row tr
// follow those of row tr − 1: tile (tr, tx) at + tr·tiles + tx. corr[k·coef_stride]
// and z_scale[k·coef_stride] per component. y: output plane at the first tile
// row's top-left, OW bytes per row; tile row tr (of tile_rows, each `tiles`
// tiles wide) writes output rows [tr·m, min(tr·m + m, rows)) and OW columns.
// The kernels may fill their vectors across tile rows (a 28-wide F(4,3) layer
// has 7 tiles per row, a vector 16 lanes).
#define WINQ_WINO_OUTPUT_ARGS                                                                              \
  const WinoOutputArgs &p, const int32_t *P, int64_t comp_stride, const int32_t *corr, const float *z_scale, \
      int64_t coef_stride, float bias, int64_t tiles, int64_t tile_rows, uint8_t *y, int64_t OW, int64_t rows
// one_d: n components per tile; tile row tr writes output row tr (tile_rows ≤
// rows), each tile m columns of it, for any Aᵀ term by term:
//   Y[s] = bias + Σ_j Aᵀ[s][j] · z[j]   (j ascending, zero terms skipped)
//   y    = clamp(nearbyint(Y) + y_zp, qmin, qmax)
using WinoOutputFn = void (*)(WINQ_WINO_OUTPUT_ARGS);
void wino_output_rows__ref(WINQ_WINO_OUTPUT_ARGS);
void wino_output_rows__avx512(WINQ_WINO_OUTPUT_ARGS);
void wino_output_rows__avx2(WINQ_WINO_OUTPUT_ARGS);

// True when bt and at are the default transforms (src/winograd) that the
// AVX-512 and AVX2 kernels compile with constant coefficients (the fast path;
// the output transform's definition differs for them, above).
bool wino_default_transforms__avx512(int m, const float* bt, const float* at);

}  // namespace winq::kernels
