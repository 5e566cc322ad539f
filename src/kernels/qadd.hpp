// Quantized addition of two 8-bit tensors with different scales (winq.QAdd):
//   y = clamp(round_half_even(((a − za)·ma + (b − zb)·mb) / 2^shift) + zy, qmin, qmax)
// in 64-bit arithmetic (|a − za| ≤ 511, multipliers < 2^31: the sum fits easily).
// Every variant equals qadd__ref exactly.
#pragma once
#include <cstdint>

namespace winq::kernels {

struct QAddArgs {
  int32_t za = 0, zb = 0;
  int64_t ma = 0, mb = 0;  // in [0, 2^31)
  int shift = 1;           // in [1, 62]
  int32_t zy = 0, qmin = 0, qmax = 255;
  bool a_unsigned = true, b_unsigned = true, y_unsigned = true;
};

using QAddFn = void (*)(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p);
void qadd__ref(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p);
void qadd__avx512(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p);
void qadd__avx2(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p);

}  // namespace winq::kernels
