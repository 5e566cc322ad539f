// Requantization: the one definition every integer path follows.
//
// A real multiplier M > 0 is stored as an int32 `multiplier` in [2^30, 2^31)
// and a right `shift` in [1, 62]: M ≈ multiplier · 2^−shift. An accumulator is
// requantized as round(acc · multiplier / 2^shift), computed exactly in int64,
// rounding half to even (the rounding of ONNX QuantizeLinear, so the integer
// engine and a QDQ runtime round ties the same way), then clamped.
#pragma once
#include <algorithm>
#include <cstdint>

namespace winq {

struct Requant {
  int32_t multiplier = 0;  // 0 encodes a multiplier too small to matter (every output rounds to 0)
  int shift = 31;
};

// Decomposes M (finite, >= 0, < 2^29). Throws Error otherwise.
Requant make_requant(double m);
// The real multiplier a Requant stands for.
double requant_value(Requant r);

// x / 2^n rounded half to even, n in [1, 62]: floor division plus a carry that
// is 1 above the half and, at exactly the half, only when the quotient is odd.
inline int64_t shift_round_half_even(int64_t x, int n) {
  const int64_t half_minus_one = (int64_t{1} << (n - 1)) - 1;
  return (x + half_minus_one + ((x >> n) & 1)) >> n;
}

// |acc| < 2^31 and multiplier < 2^31, so the product fits int64.
inline int32_t requantize(int64_t acc, Requant r, int32_t qmin, int32_t qmax) {
  const int64_t v = shift_round_half_even(acc * r.multiplier, r.shift);
  return static_cast<int32_t>(std::clamp<int64_t>(v, qmin, qmax));
}

}  // namespace winq
