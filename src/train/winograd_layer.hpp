// The Winograd-aware convolution of "Searching for Winograd-aware Quantized
// Networks" (Fernandez-Marques et al., MLSys 2020) for 3×3, stride-1, pad-1
// layers, in LibTorch: the input is cut into overlapping n×n tiles (n = m + 2),
// V = Bᵀ d B, U = G g Gᵀ, the products are summed over input channels per
// Winograd component, Y = Aᵀ M A, and the m×m output tiles are reassembled and
// cropped. The matrices start as winq's exact transforms of F(m, 3)
// (src/winograd); with flex they are trainable parameters (they may evolve
// away from Cook–Toom), otherwise fixed buffers. In float and with the
// initial matrices it computes conv2d (tests/train).
#pragma once
#include <torch/torch.h>

#include "fake_quant.hpp"

namespace winq::train {

// Quantization-aware training (bits > 0).
// paper: a fake quantizer at every stage — input, weights, each transform
//   matrix, the Winograd-domain input V and weights U, the products after the
//   channel sum M, and the output — per tensor as in the original work, or per
//   Winograd component for V, U and M (per_component, winq's improvement).
// engine: the rounding winq's int8 engine does and nothing else, so that the
//   trained network is the one deployed: the input (unsigned: the blocks'
//   convs read ReLU outputs), Bᵀ on the engine's integer grid (each row scaled
//   by winograd::input_transform_row_scale's β and rounded, L = 256 for 8-bit
//   inputs: exact on the default transforms), V per
//   component, U = G g Gᵀ per component and output channel from its current
//   max (as winq quantize does); the channel sums are int32 and G, Aᵀ and the
//   output transform float in the engine, so they are not rounded here.
//   With channel_scales (the engine's default, --winograd-scales channel),
//   V's step is per component and input channel and U carries the factor
//   (U·f rounded per component and output channel, then ÷ f), as deployed.
enum class QuantScheme { paper, engine };
struct WinogradQuantOptions {
  int bits = 0;  // 0: float
  bool per_component = true;
  QuantScheme scheme = QuantScheme::paper;
  // engine scheme, per component: one V step per component and input channel.
  bool channel_scales = false;
  // engine scheme: the network rounds every tensor the int8 engine rounds
  // (resnet.hpp), so a layer's input arrives on its grid already: the block
  // applies the layer's q_x (its range stays the layer's, for export) and the
  // layer does not round it again.
  bool all_layers = false;
};

// Bᵀ as the int8 engine computes with it (src/winograd/lower_int8.cpp): each
// row rounded on the grid Σ|row|/(L − n/2); gradient straight through.
torch::Tensor engine_input_transform(const torch::Tensor& BT, int64_t L = 256);

struct WinogradConv2dImpl : torch::nn::Module {
  WinogradConv2dImpl(int64_t in, int64_t out, int m, bool flex, WinogradQuantOptions q = {});
  torch::Tensor forward(torch::Tensor x);

  int m, n;
  bool flex;
  WinogradQuantOptions quant;
  torch::Tensor weight;    // [out, in, 3, 3], as a conv2d weight
  torch::Tensor AT, G, BT;  // [m, n], [n, 3], [n, n]
  // Fake quantizers (registered only when quant.bits > 0).
  FakeQuant q_x{nullptr}, q_w{nullptr}, q_at{nullptr}, q_g{nullptr}, q_bt{nullptr}, q_v{nullptr}, q_u{nullptr},
      q_m{nullptr}, q_y{nullptr};
};
TORCH_MODULE(WinogradConv2d);

}  // namespace winq::train
