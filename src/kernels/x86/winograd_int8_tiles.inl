// The arithmetic of the int8 Winograd tile transforms, once for every vector
// width: included by winograd_int8__avx512.cpp and winograd_int8__avx2.cpp,
// each with its own `S` (vector types and the few operations used) and its
// own loads and stores (those differ: masks, byte gathers). Every function is
// always inlined so that the default transforms' constant coefficients fold
// (zero terms dropped, ±1 multiplications gone) exactly as if written in
// place. The operation order is the definition's (ref/winograd_int8.cpp).
#include <cstdint>

namespace winq::kernels {

namespace {

#define WINQ_INLINE [[gnu::always_inline]] inline

// acc + c·x with the rounding of fma(c, x, acc), and of acc + fl(c·x): for
// c = ±1 both are acc ± x exactly (IEEE 754: one rounding of the same exact
// value), which runs on the adders instead of the multipliers (Zen 2 has two
// of each). The default transforms' coefficients are constants, so the tests
// fold away; with run-time coefficients they are two predictable branches.
template <class S>
WINQ_INLINE typename S::F fmadd_coef(float c, typename S::F x, typename S::F acc) {
  if (c == 1.0f) return S::add(acc, x);
  if (c == -1.0f) return S::sub(acc, x);
  return S::fmadd(S::set1(c), x, acc);
}
template <class S>
WINQ_INLINE typename S::F add_product(typename S::F acc, float c, typename S::F x) {
  if (c == 1.0f) return S::add(acc, x);
  if (c == -1.0f) return S::sub(acc, x);
  return S::add(acc, S::mul(S::set1(c), x));
}

// One row i of an input tile: t_row[s] = Σ_j B'ᵀ[s][j] d[j] (exact: integers < 2^24).
template <class S, int n>
WINQ_INLINE void input_row_pass(const float* bt, const typename S::F (&d)[n], typename S::F (&t_row)[n]) {
#pragma GCC unroll 8
  for (int s = 0; s < n; ++s) {
    typename S::F acc = S::zero();
#pragma GCC unroll 8
    for (int j = 0; j < n; ++j)
      if (bt[s * n + j] != 0.0f) acc = fmadd_coef<S>(bt[s * n + j], d[j], acc);
    t_row[s] = acc;
  }
}

// The default B'ᵀ (wino_default::Default<m>::bt) applied to one row or column
// of a tile: o[r] = Σ_j B'ᵀ[r][j] d[j] with the common sums shared (even and
// odd taps, as in Lavin & Gray's F(4,3)): 4, 14 and 30 operations for m = 2,
// 4, 6 against 8, 22 and 44 term by term. Any order is exact here: every
// partial sum is an integer bounded by the row's Σ|B'ᵀ|·max|d| < 2^24.
template <class S, int m>
WINQ_INLINE void input_pass_default(const typename S::F (&d)[m + 2], typename S::F (&o)[m + 2]) {
  using F = typename S::F;
  const auto c = [](float v) { return S::set1(v); };
  if constexpr (m == 2) {  // rows (1 0 −1 0) (0 1 1 0) (0 −1 1 0) (0 −1 0 1)
    o[0] = S::sub(d[0], d[2]);
    o[1] = S::add(d[1], d[2]);
    o[2] = S::sub(d[2], d[1]);
    o[3] = S::sub(d[3], d[1]);
  } else if constexpr (m == 4) {
    o[0] = S::fmadd(c(4), d[0], S::fmadd(c(-5), d[2], d[4]));  // 4 0 −5 0 1 0
    o[1] = S::fmsub(c(4), S::add(d[1], d[2]), S::add(d[3], d[4]));  // 0 4 4 −1 −1 0
    o[2] = S::fmadd(c(4), S::sub(d[2], d[1]), S::sub(d[3], d[4]));  // 0 −4 4 1 −1 0
    const F a = S::sub(d[4], d[2]), b = S::sub(d[3], d[1]);
    o[3] = S::fmadd(c(2), b, a);   // 0 −2 −1 2 1 0
    o[4] = S::fmadd(c(-2), b, a);  // 0 2 −1 −2 1 0
    o[5] = S::fmadd(c(4), d[1], S::fmadd(c(-5), d[3], d[5]));  // 0 4 0 −5 0 1
  } else {
    static_assert(m == 6);
    o[0] = S::fmadd(c(4), S::sub(d[0], d[6]), S::mul(c(21), S::sub(d[4], d[2])));  // 4 0 −21 0 21 0 −4 0
    // Rows 1, 2: e ± o with e = 17·d4 − 4(d2 + d6), o = 17·d3 − 4(d1 + d5).
    const F e1 = S::fmadd(c(-4), S::add(d[2], d[6]), S::mul(c(17), d[4]));
    const F o1 = S::fmadd(c(-4), S::add(d[1], d[5]), S::mul(c(17), d[3]));
    o[1] = S::add(e1, o1);
    o[2] = S::sub(e1, o1);
    // Rows 3, 4: (d2 − 5·d4 + 4·d6) ± (2·d1 − 10·d3 + 8·d5).
    const F e3 = S::fmadd(c(4), d[6], S::fmadd(c(-5), d[4], d[2]));
    const F o3 = S::fmadd(c(8), d[5], S::fmadd(c(-10), d[3], S::mul(c(2), d[1])));
    o[3] = S::add(e3, o3);
    o[4] = S::sub(e3, o3);
    // Rows 5, 6: (8·d2 − 10·d4 + 2·d6) ± (4·d1 − 5·d3 + d5).
    const F e5 = S::fmadd(c(2), d[6], S::fmadd(c(-10), d[4], S::mul(c(8), d[2])));
    const F o5 = S::fmadd(c(4), d[1], S::fmadd(c(-5), d[3], d[5]));
    o[5] = S::add(e5, o5);
    o[6] = S::sub(e5, o5);
    o[7] = S::fmadd(c(4), S::sub(d[7], d[1]), S::mul(c(21), S::sub(d[3], d[5])));  // 0 −4 0 21 0 −21 0 4
  }
}

// o = B'ᵀ d for one row or column: the shared sums for the default transform,
// term by term otherwise.
template <class S, int m, bool kDefault>
WINQ_INLINE void input_pass(const float* bt, const typename S::F (&d)[m + 2], typename S::F (&o)[m + 2]) {
  if constexpr (kDefault) input_pass_default<S, m>(d, o);
  else input_row_pass<S, m + 2>(bt, d, o);
}

// A component of V requantized: clamp(nearbyint(fl(v · scale)), lo, hi) +
// off, as the low byte of the lanes' bits. The clamp comes first (the bounds
// are integers, so it commutes with the rounding), and the rounding is the
// addition of round = 2^23 + off: the sum lies in [2^23, 2^23 + 255] (the
// kernels' contract: lo + off ≥ 0, hi + off ≤ 255), where the floats are the
// integers, so it rounds to nearest even exactly as nearbyint; off is even
// (0 or 128), so rounding after adding it is rounding before. One addition
// instead of a conversion and an integer addition; the bits are 2^23's
// exponent then the byte.
template <class S>
WINQ_INLINE typename S::I requantize_component(typename S::F v, typename S::F scale, float lo, float hi, float round) {
  const typename S::F q = S::min(S::max(S::mul(v, scale), S::set1(lo)), S::set1(hi));
  return S::bits(S::add(q, S::set1(round)));
}

constexpr float point_power(float p, int r) {  // exact: p is a power of two
  float v = 1.0f;
  for (int q = 0; q < r; ++q) v *= p;
  return v;
}

// pass(x) of the default Aᵀ (winograd_int8.hpp): the shared sums of the
// pairs of points ±1, ±2, ±1/2. fma(p^r, c, s) is s + p^r·c (the product is
// exact), the definition's order.
template <class S, int m>
WINQ_INLINE void output_pass_default(const typename S::F (&x)[m + 2], typename S::F (&o)[m]) {
  constexpr int n = m + 2, pairs = m / 2;
  constexpr float kPoint[3] = {1.0f, 2.0f, 0.5f};
  typename S::F a[pairs], b[pairs];
#pragma GCC unroll 4
  for (int k = 0; k < pairs; ++k) {
    a[k] = S::add(x[2 * k + 1], x[2 * k + 2]);
    b[k] = S::sub(x[2 * k + 1], x[2 * k + 2]);
  }
  o[0] = x[0];
#pragma GCC unroll 4
  for (int k = 0; k < pairs; ++k) o[0] = S::add(o[0], a[k]);
#pragma GCC unroll 8
  for (int r = 1; r < m; ++r) {
    const typename S::F* c = r % 2 ? b : a;
    typename S::F acc = c[0];
#pragma GCC unroll 4
    for (int k = 1; k < pairs; ++k) acc = S::fmadd(S::set1(point_power(kPoint[k], r)), c[k], acc);
    o[r] = acc;
  }
  o[m - 1] = S::add(o[m - 1], x[n - 1]);
}

// Column j of the output transform: z[i] = fl(float(P − corr) · z_scale) for
// component (i, j), then t[r][j] = Σ_i Aᵀ[r][i] z[i] (i ascending, from +0),
// or pass(z) for the default Aᵀ.
template <class S, int m, bool kDefault>
WINQ_INLINE void output_column_pass(const float* at, const typename S::F (&z)[m + 2], typename S::F (&t)[m][m + 2],
                                    int j) {
  constexpr int n = m + 2;
  if constexpr (kDefault) {
    typename S::F o[m];
    output_pass_default<S, m>(z, o);
#pragma GCC unroll 8
    for (int r = 0; r < m; ++r) t[r][j] = o[r];
    return;
  }
#pragma GCC unroll 8
  for (int r = 0; r < m; ++r) {
    typename S::F acc = S::zero();
#pragma GCC unroll 8
    for (int i = 0; i < n; ++i)
      if (at[r * n + i] != 0.0f) acc = add_product<S>(acc, at[r * n + i], z[i]);
    t[r][j] = acc;
  }
}

template <class S>
WINQ_INLINE typename S::F output_z(typename S::I products, int32_t corr, float z_scale) {
  return S::mul(S::cvt(S::sub_i(products, S::set1_i(corr))), S::set1(z_scale));
}
// z[n + 1] of the default transforms: the bias folded in by one fma.
template <class S>
WINQ_INLINE typename S::F output_z_bias(typename S::I products, int32_t corr, float z_scale, float bias) {
  return S::fmadd(S::cvt(S::sub_i(products, S::set1_i(corr))), S::set1(z_scale), S::set1(bias));
}


// Output row r: Y[s] = bias + Σ_j t[r][j] · Aᵀ[s][j], clamped to [lo, hi]
// (qmin − zp, qmax − zp: integers, so before rounding is the same as after),
// rounded, + zp.
// output_row_rounded leaves the + zp to the caller (the AVX-512 store adds it
// to 16-bit lanes, two vectors at a time).
// For the default transforms the bias is already in (z[n + 1]).
template <class S, int m, bool kDefault>
WINQ_INLINE void output_row_rounded(const float* at, const typename S::F (&t_r)[m + 2], float bias, typename S::F lo,
                                    typename S::F hi, typename S::I (&res)[m]) {
  constexpr int n = m + 2;
  if constexpr (kDefault) {
    typename S::F o[m];
    output_pass_default<S, m>(t_r, o);
#pragma GCC unroll 8
    for (int s = 0; s < m; ++s) res[s] = S::round(S::min(S::max(o[s], lo), hi));
    return;
  }
#pragma GCC unroll 8
  for (int s = 0; s < m; ++s) {
    typename S::F acc = S::set1(bias);
#pragma GCC unroll 8
    for (int j = 0; j < n; ++j)
      if (at[s * n + j] != 0.0f) acc = add_product<S>(acc, at[s * n + j], t_r[j]);
    res[s] = S::round(S::min(S::max(acc, lo), hi));
  }
}
template <class S, int m, bool kDefault>
WINQ_INLINE void output_row_values(const float* at, const typename S::F (&t_r)[m + 2], float bias, typename S::F lo,
                                   typename S::F hi, typename S::I zp, typename S::I (&res)[m]) {
  output_row_rounded<S, m, kDefault>(at, t_r, bias, lo, hi, res);
#pragma GCC unroll 8
  for (int s = 0; s < m; ++s) res[s] = S::add_i(res[s], zp);
}

#undef WINQ_INLINE

// The entry points: the constant-coefficient instantiation when the layer's
// matrices are the default ones, the generic one otherwise, the definition for
// tiles the kernels do not cover.
// The input's signedness and zero point are template arguments too: tested
// per loaded word inside the unrolled tile, they were some 200 branches.
template <class Kernel>
void run_input(WINQ_WINO_INPUT_ARGS) {
  if (p.x_signed)
    (p.x_zp != 0 ? Kernel::template run<true, true> : Kernel::template run<true, false>)(p, xp, ws, tiles, tile_rows, dst, comp_stride);
  else
    (p.x_zp != 0 ? Kernel::template run<false, true> : Kernel::template run<false, false>)(p, xp, ws, tiles, tile_rows, dst, comp_stride);
}

template <template <int, bool> class Input>
void dispatch_input(WINQ_WINO_INPUT_ARGS) {
  using wino_default::Default;
  using wino_default::same;
  switch (p.m) {
    case 2: return (same(p.bt, Default<2>::bt, 16) ? run_input<Input<2, true>> : run_input<Input<2, false>>)(p, xp, ws, tiles, tile_rows, dst, comp_stride);
    case 4: return (same(p.bt, Default<4>::bt, 36) ? run_input<Input<4, true>> : run_input<Input<4, false>>)(p, xp, ws, tiles, tile_rows, dst, comp_stride);
    case 6: return (same(p.bt, Default<6>::bt, 64) ? run_input<Input<6, true>> : run_input<Input<6, false>>)(p, xp, ws, tiles, tile_rows, dst, comp_stride);
    default: return wino_input_rows__ref(p, xp, ws, tiles, tile_rows, dst, comp_stride);
  }
}

template <template <int, bool> class Output>
void dispatch_output(WINQ_WINO_OUTPUT_ARGS) {
  using wino_default::Default;
  using wino_default::same;
#define WINQ_OUT_ARGS p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, tile_rows, y, OW, rows
  switch (p.m) {
    case 2: return (same(p.at, Default<2>::at, 8) ? Output<2, true>::run : Output<2, false>::run)(WINQ_OUT_ARGS);
    case 4: return (same(p.at, Default<4>::at, 24) ? Output<4, true>::run : Output<4, false>::run)(WINQ_OUT_ARGS);
    case 6: return (same(p.at, Default<6>::at, 48) ? Output<6, true>::run : Output<6, false>::run)(WINQ_OUT_ARGS);
    default: return wino_output_rows__ref(WINQ_OUT_ARGS);
  }
#undef WINQ_OUT_ARGS
}

}  // namespace

}  // namespace winq::kernels
