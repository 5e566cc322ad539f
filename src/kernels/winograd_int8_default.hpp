// The default int8 Winograd transforms as constants, shared by the SIMD
// variants of the tile transforms (winograd_int8__avx512.cpp, __avx2.cpp).
#pragma once

namespace winq::kernels::wino_default {

// The default transforms (DESIGN.md's points, Bᵀ rows scaled to integers as in
// src/winograd/lower_int8.cpp). When a layer uses them, the SIMD kernels are
// instantiated with these constants: the compiler drops the zero terms and the
// multiplications by ±1. The same operations in the same order as with the
// run-time coefficients, so the bytes are the same (tests check both).
template <int m>
struct Default;
template <>
struct Default<2> {
  static constexpr float bt[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, -1, 0, 1};
  static constexpr float at[8] = {1, 1, 1, 0, 0, 1, -1, 1};
};
template <>
struct Default<4> {
  static constexpr float bt[36] = {4, 0, -5, 0, 1, 0, 0, 4, 4, -1, -1, 0, 0, -4, 4, 1, -1, 0,
                                   0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1};
  static constexpr float at[24] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};
};
template <>
struct Default<6> {
  static constexpr float bt[64] = {4, 0,  -21, 0,   21,  0,   -4, 0, 0, -4, -4, 17,  17,  -4, -4, 0,
                                   0, 4,  -4,  -17, 17,  4,   -4, 0, 0, 2,  1,  -10, -5,  8,  4,  0,
                                   0, -2, 1,   10,  -5,  -8,  4,  0, 0, 4,  8,  -5,  -10, 1,  2,  0,
                                   0, -4, 8,   5,   -10, -1,  2,  0, 0, -4, 0,  21,  0,   -21, 0,  4};
  static constexpr float at[48] = {1, 1, 1,  1,  1,   1,      1,       0, 0, 1, -1, 2,  -2,  0.5f,   -0.5f,   0,
                                   0, 1, 1,  4,  4,   0.25f,  0.25f,   0, 0, 1, -1, 8,  -8,  0.125f, -0.125f, 0,
                                   0, 1, 1,  16, 16,  0.0625f, 0.0625f, 0, 0, 1, -1, 32, -32, 0.03125f, -0.03125f, 1};
};

inline bool same(const float* v, const float* table, int count) {
  for (int i = 0; i < count; ++i)
    if (v[i] != table[i]) return false;
  return true;
}

}  // namespace winq::kernels::wino_default
