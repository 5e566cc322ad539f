// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops:
// kernel, strides, dilations, pads (explicit or auto_pad) and output size, for
// 1-D and 2-D windows (1-D is carried as 2-D with a height of 1).
#pragma once
#include "op.hpp"

namespace winq::ops {

struct Window {
  int spatial = 2;  // 1 or 2 spatial dims in the ONNX tensor
  int64_t in[2] = {1, 1}, k[2] = {1, 1}, s[2] = {1, 1}, d[2] = {1, 1};
  int64_t pad_begin[2] = {0, 0}, pad_end[2] = {0, 0}, out[2] = {1, 1};
};

// x_shape: [N, C, spatial...]; kernel: spatial kernel sizes.
// ceil_mode: pooling's rounding of the output size.
Window make_window(const Attributes& a, const Shape& x_shape, const std::vector<int64_t>& kernel,
                   bool ceil_mode, const std::string& where);

// A 2-D image input [N, C, H, W] whose H and W are known (N may be dynamic):
// what a plan needs to choose a layer's kernel when it is packed.
inline bool spatial_size_known(const Value& v) {
  return v.has_shape && v.shape.size() == 4 && v.shape[2] > 0 && v.shape[3] > 0;
}

// The ONNX output shape [N, channels, out...] of a window op.
Shape window_output_shape(const Window& w, int64_t n, int64_t channels);

}  // namespace winq::ops
