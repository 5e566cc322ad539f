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
};

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
