// Fake quantization for quantization-aware training: the forward pass rounds
// to the grid of a symmetric B-bit quantizer, the backward pass is straight
// through inside the clipping range and zero outside (clipped STE). The range
// is tracked as an exponential moving average of max |x| during training
// (frozen in eval mode), per tensor or per Winograd component — one range per
// position (i, j) of the last two dimensions — which is winq's improvement
// over the per-tensor quantizers of the original work.
#pragma once
#include <torch/torch.h>

namespace winq::train {

struct FakeQuantImpl : torch::nn::Module {
  // components = n: one range per index of the last two dimensions (n × n);
  // 0: one range for the tensor. The range buffer has its final shape from the
  // start, so a checkpoint loads into a freshly built network.
  // is_unsigned (per tensor only): the grid 0 … 2^bits − 1 for a non-negative input.
  // channels > 0 (per component only): also one step per input channel and
  // component, as winq's int8 engine takes them (--winograd-scales channel,
  // src/winograd/quant_plan.cpp): channel c's step for component k is the
  // component's step times f = clamp(max_{c,k} / max_k, 2^−8, 1), max_{c,k}
  // tracked like the range; the channel axis is dimension dim − 1.
  FakeQuantImpl(int bits, int64_t components = 0, double momentum = 0.05, bool is_unsigned = false,
                int64_t channels = 0);
  // Per component: the n × n components are dimensions (dim, dim + 1) of x
  // (negative counts from the end); the range of each is over all the others.
  torch::Tensor forward(const torch::Tensor& x, int64_t dim = -2);
  // Per channel: the factors f [channels, n, n] of the current ranges (1 before
  // the first batch), in float as the engine rounds them.
  torch::Tensor channel_factors() const;

  int bits;
  bool per_component;
  bool is_unsigned;
  double momentum;
  torch::Tensor max_abs;  // buffer: [] or [n, n]; all 0 until the first batch
  torch::Tensor channel_max;  // buffer [channels, n, n] (per channel), else undefined
};
TORCH_MODULE(FakeQuant);

// Weights as winq quantize rounds them: symmetric, one scale per row of
// rows [R, K] (an output channel, or a channel and Winograd component) from
// the row's current max; straight-through gradient (nothing saturates).
torch::Tensor fake_quant_rows(const torch::Tensor& rows, int bits);
// A conv or linear weight [O, …] per output channel.
torch::Tensor fake_quant_per_channel(const torch::Tensor& w, int bits);

}  // namespace winq::train
