#include "../requantize_row.hpp"

#include <algorithm>
#include <climits>

namespace winq::kernels {

namespace {
// The definition's output for sum v, before the zero point and the final clamp.
int64_t output_of(int64_t v, Requant r) { return shift_round_half_even(v * r.multiplier, r.shift); }
}  // namespace

void set_sum_bounds(RowRequant& p) {
  p.has_sum_bounds = false;
  const int64_t lo = int64_t{p.qmin} - p.zp, hi = int64_t{p.qmax} - p.zp;
  // Multiplier in [2^30, 2^31) and shift ≥ 31: below 1. The other preconditions as the variants'.
  if (p.rq.multiplier <= 0 || p.rq.shift < 31 || lo > hi || lo < INT32_MIN / 2 || hi > INT32_MAX / 2) return;
  if (hi - lo + 2 >= (int64_t{1} << (63 - p.rq.shift))) return;
  // Outputs are monotone in the sum: the first sum that reaches lo and the last that stays within hi.
  if (output_of(INT32_MAX, p.rq) < lo || output_of(INT32_MIN, p.rq) > hi) return;
  int64_t a = INT32_MIN, b = INT32_MAX;  // output_of(b) >= lo
  if (output_of(a, p.rq) >= lo) b = a;
  while (b - a > 1) {
    const int64_t mid = a + (b - a) / 2;
    (output_of(mid, p.rq) >= lo ? b : a) = mid;
  }
  const int64_t sum_lo = b;
  a = INT32_MIN, b = INT32_MAX;  // output_of(a) <= hi
  if (output_of(b, p.rq) <= hi) a = b;
  while (b - a > 1) {
    const int64_t mid = a + (b - a) / 2;
    (output_of(mid, p.rq) <= hi ? a : b) = mid;
  }
  if (sum_lo > a) return;
  p.sum_lo = static_cast<int32_t>(sum_lo);
  p.sum_hi = static_cast<int32_t>(a);
  p.has_sum_bounds = true;
}

void requantize_row__ref(WINQ_REQUANTIZE_ROWS_ARGS) {
  for (int64_t r = 0; r < rows; ++r)
  for (int64_t i = 0; i < n; ++i) {
    // acc + bias is within int32 (the bound was checked when lowering); acc
    // alone may have wrapped in the packed kernels (u8 activations carry an
    // offset that the bias removes), so the sum is taken modulo 2^32.
    const auto sum = static_cast<int32_t>(static_cast<uint32_t>(acc[r * acc_stride + i]) + static_cast<uint32_t>(p.bias));
    const int32_t v = std::clamp(requantize(sum, p.rq, INT32_MIN / 2, INT32_MAX / 2) + p.zp, p.qmin, p.qmax);
    if (p.out_unsigned)
      static_cast<uint8_t*>(out)[r * out_stride + i] = static_cast<uint8_t>(v);
    else
      static_cast<int8_t*>(out)[r * out_stride + i] = static_cast<int8_t>(v);
  }
}

}  // namespace winq::kernels
