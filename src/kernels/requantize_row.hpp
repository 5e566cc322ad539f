// The conv/FC epilogue on one output channel: y = clamp(requantize(acc + bias) + zp, qmin, qmax),
// stored as uint8 or int8. Every variant equals requantize() (include/winq/requantize.hpp) exactly.
#pragma once
#include <cstdint>

#include "winq/requantize.hpp"

namespace winq::kernels {

struct RowRequant {
  int32_t bias = 0;
  Requant rq;
  int32_t zp = 0, qmin = 0, qmax = 255;
  bool out_unsigned = true;
  // Optional (set_sum_bounds): the sums [sum_lo, sum_hi] whose outputs are not
  // clamped. Clamping the sum to them first gives the same outputs, and lets
  // a SIMD variant skip the 64-bit clamps (AVX2 has no 64-bit min, max or
  // arithmetic shift). Variants that do not use them ignore them.
  bool has_sum_bounds = false;
  int32_t sum_lo = 0, sum_hi = 0;
};

// Sets sum_lo/sum_hi when they exist and the short route is exact: a real
// multiplier below 1 (so the output never steps by more than 1 between
// adjacent sums, and the clamp of the output is the clamp of the sum) and
// (qmax − qmin + 2)·2^shift < 2^63 (the rounding then works on non-negative
// 64-bit values). Otherwise leaves has_sum_bounds false.
void set_sum_bounds(RowRequant& p);

// `rows` rows of n accumulators (row r at acc + r·acc_stride) into rows of n
// outputs (row r at element r·out_stride of out): one call per channel of a
// block of output rows, whose accumulators may be spaced by padding columns.
#define WINQ_REQUANTIZE_ROWS_ARGS \
  const int32_t *acc, int64_t rows, int64_t n, int64_t acc_stride, const RowRequant &p, void *out, int64_t out_stride
using RequantRowFn = void (*)(WINQ_REQUANTIZE_ROWS_ARGS);
void requantize_row__ref(WINQ_REQUANTIZE_ROWS_ARGS);
void requantize_row__avx512(WINQ_REQUANTIZE_ROWS_ARGS);
void requantize_row__avx2(WINQ_REQUANTIZE_ROWS_ARGS);

}  // namespace winq::kernels
