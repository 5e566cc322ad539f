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

// Component (r, s) of V = B'ᵀ d B' from the row-transformed tile, requantized:
// clamp(round(V · scale), lo, hi) + off as int32 lanes. The bounds are
// integers, so clamping before the rounding conversion is the same as after.
template <class S, int n>
WINQ_INLINE typename S::I input_component(const float* bt, const typename S::F (&t)[n][n], int r, int s, float scale,
                                          float lo, float hi, int32_t off) {
  typename S::F v = S::zero();
#pragma GCC unroll 8
  for (int i = 0; i < n; ++i)
    if (bt[r * n + i] != 0.0f) v = fmadd_coef<S>(bt[r * n + i], t[i][s], v);
  const typename S::F q = S::min(S::max(S::mul(v, S::set1(scale)), S::set1(lo)), S::set1(hi));
  return S::add_i(S::round(q), S::set1_i(off));
}

// Column j of the output transform: z[i] = fl(float(P − corr) · z_scale) for
// component (i, j), then t[r][j] = Σ_i Aᵀ[r][i] z[i] (i ascending, from +0).
template <class S, int m>
WINQ_INLINE void output_column_pass(const float* at, const typename S::F (&z)[m + 2], typename S::F (&t)[m][m + 2],
                                    int j) {
  constexpr int n = m + 2;
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

// Output row r: Y[s] = bias + Σ_j t[r][j] · Aᵀ[s][j], clamped to [lo, hi]
// (qmin − zp, qmax − zp: integers, so before rounding is the same as after),
// rounded, + zp.
template <class S, int m>
WINQ_INLINE void output_row_values(const float* at, const typename S::F (&t_r)[m + 2], float bias, typename S::F lo,
                                   typename S::F hi, typename S::I zp, typename S::I (&res)[m]) {
  constexpr int n = m + 2;
#pragma GCC unroll 8
  for (int s = 0; s < m; ++s) {
    typename S::F acc = S::set1(bias);
#pragma GCC unroll 8
    for (int j = 0; j < n; ++j)
      if (at[s * n + j] != 0.0f) acc = add_product<S>(acc, at[s * n + j], t_r[j]);
    res[s] = S::add_i(S::round(S::min(S::max(acc, lo), hi)), zp);
  }
}

#undef WINQ_INLINE

// The entry points: the constant-coefficient instantiation when the layer's
// matrices are the default ones, the generic one otherwise, the definition for
// tiles the kernels do not cover.
template <template <int, bool> class Input>
void dispatch_input(WINQ_WINO_INPUT_ARGS) {
  using wino_default::Default;
  using wino_default::same;
  switch (p.m) {
    case 2: return (same(p.bt, Default<2>::bt, 16) ? Input<2, true>::run : Input<2, false>::run)(p, xp, ws, tiles, dst, comp_stride);
    case 4: return (same(p.bt, Default<4>::bt, 36) ? Input<4, true>::run : Input<4, false>::run)(p, xp, ws, tiles, dst, comp_stride);
    case 6: return (same(p.bt, Default<6>::bt, 64) ? Input<6, true>::run : Input<6, false>::run)(p, xp, ws, tiles, dst, comp_stride);
    default: return wino_input_row__ref(p, xp, ws, tiles, dst, comp_stride);
  }
}

template <template <int, bool> class Output>
void dispatch_output(WINQ_WINO_OUTPUT_ARGS) {
  using wino_default::Default;
  using wino_default::same;
#define WINQ_OUT_ARGS p, P, comp_stride, corr, z_scale, coef_stride, bias, tiles, y, OW, rows
  switch (p.m) {
    case 2: return (same(p.at, Default<2>::at, 8) ? Output<2, true>::run : Output<2, false>::run)(WINQ_OUT_ARGS);
    case 4: return (same(p.at, Default<4>::at, 24) ? Output<4, true>::run : Output<4, false>::run)(WINQ_OUT_ARGS);
    case 6: return (same(p.at, Default<6>::at, 48) ? Output<6, true>::run : Output<6, false>::run)(WINQ_OUT_ARGS);
    default: return wino_output_row__ref(WINQ_OUT_ARGS);
  }
#undef WINQ_OUT_ARGS
}

}  // namespace

}  // namespace winq::kernels
