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

using RequantRowFn = void (*)(const int32_t* acc, int64_t n, const RowRequant& p, void* out);
void requantize_row__ref(const int32_t* acc, int64_t n, const RowRequant& p, void* out);
void requantize_row__avx512(const int32_t* acc, int64_t n, const RowRequant& p, void* out);

}  // namespace winq::kernels
