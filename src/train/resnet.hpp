// The ResNet-18-like network of the Winograd-aware quantized networks work,
// for small images (32×32): stem 3×3 conv (32 channels), four stages of two
// BasicBlocks with 64m, 128m, 256m, 512m channels; every stride-2 3×3 conv is
// replaced by a 2×2 max-pool followed by a stride-1 3×3 conv; 1×1 projection
// shortcuts where channels change; global average pool; linear classifier.
#pragma once
#include <torch/torch.h>

#include "winograd_layer.hpp"

namespace winq::train {

// How the blocks' 3×3 stride-1 convolutions are built: ordinary conv2d
// (winograd = 0), or Winograd-aware F(winograd, 3) with static or flex
// transforms; either with fake quantization (quant.bits > 0) — for ordinary
// convs of the input, the weights and the output, as the Winograd-aware
// layer does at its ends. With quant.all_layers (Winograd-aware, engine
// scheme) every tensor winq's int8 engine rounds is rounded in training too:
// the stem, the projections, the residual adds, the pooled features and the
// classifier, each activation once, where it is produced.
struct ConvMode {
  int winograd = 0;
  bool flex = false;
  WinogradQuantOptions quant;
};

struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in, int64_t out, bool downsample, const ConvMode& mode = {});
  torch::Tensor forward(torch::Tensor x);
  torch::Tensor forward_all_layers_quantized(const torch::Tensor& x);
  const torch::Tensor& conv1_weight() const { return wconv1 ? wconv1->weight : conv1->weight; }
  const torch::Tensor& conv2_weight() const { return wconv2 ? wconv2->weight : conv2->weight; }

  bool downsample;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, proj{nullptr};
  WinogradConv2d wconv1{nullptr}, wconv2{nullptr};  // instead of conv1/conv2 in Winograd mode
  FakeQuant fq1_x{nullptr}, fq1_w{nullptr}, fq1_y{nullptr};  // ordinary convs with quantization-aware training
  FakeQuant fq2_x{nullptr}, fq2_w{nullptr}, fq2_y{nullptr};
  // Winograd-aware blocks with quant.all_layers: the signed outputs the engine
  // rounds before the residual add — conv2's (BatchNorm folded) and the projection's.
  FakeQuant q_conv2_out{nullptr}, q_proj_out{nullptr};
  int bits = 0;  // of the projection's weights under all_layers (0: float)
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, proj_bn{nullptr};
};
TORCH_MODULE(BasicBlock);

struct ResNetImpl : torch::nn::Module {
  ResNetImpl(int64_t in_channels, int64_t classes, double mult, const ConvMode& mode = {});
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d stem{nullptr};
  torch::nn::BatchNorm2d stem_bn{nullptr};
  std::vector<BasicBlock> blocks;
  torch::nn::Linear fc{nullptr};
  std::vector<int64_t> stage_channels;
  // quant.all_layers: the network's input (signed), the last block's output
  // and the pooled features (unsigned); the stem's and classifier's weights
  // are rounded per output channel (bits).
  FakeQuant q_image{nullptr}, q_last{nullptr}, q_pooled{nullptr};
  int bits = 0;
};
TORCH_MODULE(ResNet);

// Stage widths for a multiplier (at least 8 channels each).
std::vector<int64_t> stage_channels(double mult);

}  // namespace winq::train
