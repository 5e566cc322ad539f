// BatchNormalization in inference form: y = (x − mean)/sqrt(var + eps)·scale + B.
#include <cmath>

#include "op.hpp"

namespace winq::ops {

namespace {

void bn_infer(InferContext& c) {
  if (c.node.attrs.get_int("spatial", 1) != 1)
    throw Unsupported(c.where() + ": BatchNormalization with spatial=0 (opset < 9) is not supported");
  if (c.node.attrs.get_int("training_mode", 0) != 0 || c.node.outputs.size() > 1)
    throw Unsupported(c.where() + ": training-mode BatchNormalization is not supported");
  const Shape& x = c.in_shape(0);
  if (x.size() < 2) throw Error(c.where() + ": input must have a channel dimension");
  for (size_t i = 1; i < 5; ++i)
    if (c.in_shape(i) != Shape{x[1]})
      throw Error(fmt::format("{}: parameter {} has shape {}, expected [{}]", c.where(), i,
                              shape_str(c.in_shape(i)), x[1]));
  c.set_output(0, DataType::f32, x);
}

void bn_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const float eps = c.node.attrs.get_float("epsilon", 1e-5f);
  const float *scale = c.input(1).data<float>(), *bias = c.input(2).data<float>();
  const float *mean = c.input(3).data<float>(), *var = c.input(4).data<float>();
  const int64_t N = x.dim(0), C = x.dim(1), inner = C ? x.numel() / (N * C) : 0;
  Tensor y(DataType::f32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch) {
      const float a = scale[ch] / std::sqrt(var[ch] + eps);
      const float b = bias[ch] - mean[ch] * a;
      const int64_t base = (n * C + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) yd[base + i] = xd[base + i] * a + b;
    }
  c.out[0] = std::move(y);
}

}  // namespace

void register_batchnorm_ops(OpTable& t) { t.push_back({"BatchNormalization", {bn_infer, bn_run}}); }

}  // namespace winq::ops
