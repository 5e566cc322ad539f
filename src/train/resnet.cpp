#include "resnet.hpp"

namespace winq::train {

namespace {
torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).padding(k / 2).bias(false));
}
}  // namespace

std::vector<int64_t> stage_channels(double mult) {
  std::vector<int64_t> c;
  for (int base : {64, 128, 256, 512}) c.push_back(std::max<int64_t>(8, static_cast<int64_t>(std::lround(base * mult))));
  return c;
}

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, bool down, const ConvMode& mode) : downsample(down) {
  // The 3×3 convs are stride 1 (down-sampling is a max-pool): all Winograd-eligible.
  if (mode.winograd)
    wconv1 = register_module("conv1", WinogradConv2d(in, out, mode.winograd, mode.flex, mode.quant));
  else
    conv1 = register_module("conv1", conv(in, out, 3));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(out));
  if (mode.winograd)
    wconv2 = register_module("conv2", WinogradConv2d(out, out, mode.winograd, mode.flex, mode.quant));
  else
    conv2 = register_module("conv2", conv(out, out, 3));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
  if (!mode.winograd && mode.quant.bits) {
    const int b = mode.quant.bits;
    fq1_x = register_module("fq1_x", FakeQuant(b));
    fq1_w = register_module("fq1_w", FakeQuant(b));
    fq1_y = register_module("fq1_y", FakeQuant(b));
    fq2_x = register_module("fq2_x", FakeQuant(b));
    fq2_w = register_module("fq2_w", FakeQuant(b));
    fq2_y = register_module("fq2_y", FakeQuant(b));
  }
  if (in != out) {
    proj = register_module("proj", conv(in, out, 1));
    proj_bn = register_module("proj_bn", torch::nn::BatchNorm2d(out));
  }
  if (mode.winograd && mode.quant.all_layers && mode.quant.bits) {
    bits = mode.quant.bits;
    q_conv2_out = register_module("q_conv2_out", FakeQuant(bits));
    if (proj) q_proj_out = register_module("q_proj_out", FakeQuant(bits));
  }
}

namespace {
// An ordinary 3×3 conv, with fake quantization of input, weights and output when given.
torch::Tensor conv3x3(torch::nn::Conv2d& c, FakeQuant& fx, FakeQuant& fw, FakeQuant& fy, const torch::Tensor& x) {
  if (!fx) return c(x);
  namespace F = torch::nn::functional;
  return fy(F::conv2d(fx(x), fw(c->weight), F::Conv2dFuncOptions().padding(1)));
}
}  // namespace

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  if (downsample) x = torch::max_pool2d(x, 2, 2);
  if (bits) return forward_all_layers_quantized(x);
  auto y = torch::relu(bn1(wconv1 ? wconv1(x) : conv3x3(conv1, fq1_x, fq1_w, fq1_y, x)));
  y = bn2(wconv2 ? wconv2(y) : conv3x3(conv2, fq2_x, fq2_w, fq2_y, y));
  auto shortcut = proj ? proj_bn(proj(x)) : x;
  return torch::relu(y + shortcut);
}

// The block as the int8 engine runs it: the input (the previous add's ReLU
// output, or the stem's; max-pooling keeps its grid and its max) rounded once
// on conv1's input grid and read so by conv1, the projection and the
// shortcut; conv1's ReLU output on conv2's input grid; conv2's and the
// projection's outputs (BatchNorm folded) signed; the add's ReLU output is
// rounded by its consumer.
torch::Tensor BasicBlockImpl::forward_all_layers_quantized(const torch::Tensor& x_float) {
  namespace F = torch::nn::functional;
  const auto x = wconv1->q_x(x_float);
  auto y = wconv2->q_x(torch::relu(bn1(wconv1(x))));
  y = q_conv2_out(bn2(wconv2(y)));
  auto shortcut = x;
  if (proj) shortcut = q_proj_out(proj_bn(F::conv2d(x, fake_quant_per_channel(proj->weight, bits))));
  return torch::relu(y + shortcut);
}

ResNetImpl::ResNetImpl(int64_t in_channels, int64_t classes, double mult, const ConvMode& mode) {
  stage_channels = train::stage_channels(mult);
  stem = register_module("stem", conv(in_channels, 32, 3));
  stem_bn = register_module("stem_bn", torch::nn::BatchNorm2d(32));
  int64_t in = 32;
  for (size_t s = 0; s < 4; ++s)
    for (int b = 0; b < 2; ++b) {
      const int64_t out = stage_channels[s];
      blocks.push_back(register_module("layer" + std::to_string(s + 1) + "_" + std::to_string(b),
                                       BasicBlock(in, out, s > 0 && b == 0, mode)));
      in = out;
    }
  fc = register_module("fc", torch::nn::Linear(in, classes));
  if (mode.winograd && mode.quant.all_layers && mode.quant.bits) {
    bits = mode.quant.bits;
    q_image = register_module("q_image", FakeQuant(bits));
    q_last = register_module("q_last", FakeQuant(bits, 0, 0.05, /*is_unsigned=*/true));
    q_pooled = register_module("q_pooled", FakeQuant(bits, 0, 0.05, /*is_unsigned=*/true));
  }
  // He initialisation for convs; BN starts at identity.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) torch::nn::init::kaiming_normal_(c->weight, 0, torch::kFanOut, torch::kReLU);
  }
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  if (bits) {  // every tensor the int8 engine rounds (see BasicBlockImpl::forward_all_layers_quantized)
    namespace F = torch::nn::functional;
    x = torch::relu(stem_bn(F::conv2d(q_image(x), fake_quant_per_channel(stem->weight, bits),
                                      F::Conv2dFuncOptions().padding(1))));
    for (auto& b : blocks) x = b->forward(x);
    x = q_pooled(torch::adaptive_avg_pool2d(q_last(x), {1, 1}).flatten(1));
    return F::linear(x, fake_quant_per_channel(fc->weight, bits), fc->bias);
  }
  x = torch::relu(stem_bn(stem(x)));
  for (auto& b : blocks) x = b->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc(x);
}

}  // namespace winq::train
