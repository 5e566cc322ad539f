#include "../requantize_row.hpp"

#include <algorithm>
#include <climits>

namespace winq::kernels {

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
