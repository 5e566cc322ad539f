// What the reference and the packed integer conv/FC paths share: the packed
// weight attributes, the activation offset, and the per-channel epilogue.
#pragma once
#include <algorithm>
#include <climits>
#include <string>
#include <vector>

#include "../../kernels/requantize_row.hpp"
#include "../dispatch.hpp"
#include "op.hpp"
#include "qlinear.hpp"
#include "winq/requantize.hpp"

namespace winq::ops {

constexpr const char* kPackedW = "winq_packed_w";
constexpr const char* kPackedBias = "winq_packed_bias";
constexpr const char* kPackedKernel = "winq_packed_kernel";
// Per output channel, the sums whose outputs are not clamped ({sum_lo, sum_hi},
// or {1, 0} where kernels::set_sum_bounds found none): fixed by the node's
// requantization attributes, so computed once when the weights are packed.
constexpr const char* kPackedSumBounds = "winq_packed_sum_bounds";

// The u8 value that stands for a real 0: activations enter the kernels as
// u8 = x (uint8) or x + 128 (int8), so Σ W·(x − zp) = Σ W·u − offset·Σ W.
int32_t activation_offset(DataType x, int64_t zp);

inline DataType y_type(const Node& n, const std::string& where) {
  if (n.attrs.string_is(qattr::kYType, "uint8")) return DataType::u8;
  if (n.attrs.string_is(qattr::kYType, "int8")) return DataType::s8;
  if (n.attrs.string_is(qattr::kYType, "float")) return DataType::f32;
  throw Error(where + ": y_type must be uint8, int8 or float");
}

// The per-output-channel epilogue: requantize (or scale to float) one row of accumulators.
struct Epilogue {
  DataType type;
  std::vector<Requant> rq;
  std::vector<float> scale;
  int32_t zp = 0, qmin = 0, qmax = 0;
  const Attributes* attrs = nullptr;
  const int32_t* sum_bounds = nullptr;  // kPackedSumBounds, when packed
  kernels::RequantRowFn requantize_rows = kernel_table().requantize_row;  // looked up once per layer run

  Epilogue(const Node& n, int64_t channels, const std::string& where) : type(y_type(n, where)), attrs(&n.attrs) {
    if (type == DataType::f32) {
      scale = n.attrs.get_floats(qattr::kYScale);
      if (static_cast<int64_t>(scale.size()) != channels) throw Error(where + ": y_scale needs one value per channel");
      return;
    }
    auto m = n.attrs.get_ints(qattr::kMultiplier), s = n.attrs.get_ints(qattr::kShift);
    if (static_cast<int64_t>(m.size()) != channels || s.size() != m.size())
      throw Error(where + ": multiplier and shift need one value per channel");
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] < 0 || m[i] >= (int64_t{1} << 31) || s[i] < 1 || s[i] > 62)
        throw Error(where + ": requantization multiplier or shift out of range");
      rq.push_back({static_cast<int32_t>(m[i]), static_cast<int>(s[i])});
    }
    zp = static_cast<int32_t>(n.attrs.get_int(qattr::kYZeroPoint, 0));
    qmin = static_cast<int32_t>(n.attrs.get_int(qattr::kQMin, type == DataType::u8 ? 0 : -128));
    qmax = static_cast<int32_t>(n.attrs.get_int(qattr::kQMax, type == DataType::u8 ? 255 : 127));
    if (n.attrs.has(kPackedSumBounds)) {
      const Tensor* b = n.attrs.get_tensor(kPackedSumBounds);
      if (b->dtype() != DataType::s32 || b->numel() != 2 * channels)
        throw Error(where + ": " + kPackedSumBounds + " needs two int32 values per channel");
      sum_bounds = b->data<int32_t>();
    }
  }
  // The epilogue parameters of one channel, with its sum bounds when packed.
  kernels::RowRequant row_requant(int32_t bias, int64_t channel) const {
    kernels::RowRequant p{bias, rq[channel], zp, qmin, qmax, type == DataType::u8};
    if (sum_bounds && sum_bounds[2 * channel] <= sum_bounds[2 * channel + 1]) {
      p.has_sum_bounds = true;
      p.sum_lo = sum_bounds[2 * channel];
      p.sum_hi = sum_bounds[2 * channel + 1];
    }
    return p;
  }

  // Row `channel` of `count` accumulators into y (element offset `at`).
  void apply(const int32_t* acc, int64_t channel, int64_t count, Tensor& y, int64_t at, int64_t stride) const {
    if (type == DataType::f32) {
      float* o = y.data<float>() + at;
      for (int64_t i = 0; i < count; ++i)
        o[i * stride] = static_cast<float>(static_cast<double>(acc[i]) * scale[channel]);
      if (stride == 1) apply_fused_activation(*attrs, o, count);
      return;
    }
    const Requant r = rq[channel];
    if (type == DataType::u8) {
      uint8_t* o = y.data<uint8_t>() + at;
      for (int64_t i = 0; i < count; ++i) o[i * stride] = static_cast<uint8_t>(requantize_with_zp(acc[i], r));
    } else {
      int8_t* o = y.data<int8_t>() + at;
      for (int64_t i = 0; i < count; ++i) o[i * stride] = static_cast<int8_t>(requantize_with_zp(acc[i], r));
    }
  }
  // A row of packed-kernel accumulators plus the folded bias (modulo 2^32: see requantize_row).
  void apply_packed(int32_t* acc, int32_t bias, int64_t channel, int64_t count, Tensor& y, int64_t at) const {
    apply_packed_rows(acc, 1, count, count, bias, channel, y, at, count);
  }
  // `rows` such rows, acc_stride apart in acc and out_stride apart in y.
  void apply_packed_rows(int32_t* acc, int64_t rows, int64_t count, int64_t acc_stride, int32_t bias, int64_t channel,
                         Tensor& y, int64_t at, int64_t out_stride) const {
    if (type == DataType::f32) {
      for (int64_t r = 0; r < rows; ++r) {
        int32_t* a = acc + r * acc_stride;
        for (int64_t i = 0; i < count; ++i)
          a[i] = static_cast<int32_t>(static_cast<uint32_t>(a[i]) + static_cast<uint32_t>(bias));
        apply(a, channel, count, y, at + r * out_stride, 1);
      }
      return;
    }
    const kernels::RowRequant p = row_requant(bias, channel);
    requantize_rows(acc, rows, count, acc_stride, p,
                    type == DataType::u8 ? static_cast<void*>(y.data<uint8_t>() + at)
                                         : static_cast<void*>(y.data<int8_t>() + at),
                    out_stride);
  }
  int32_t requantize_with_zp(int32_t acc, Requant r) const {
    return std::clamp(requantize(acc, r, INT32_MIN / 2, INT32_MAX / 2) + zp, qmin, qmax);
  }
};

}  // namespace winq::ops
