#include "export.hpp"

#include "tensor_bridge.hpp"
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "winq/error.hpp"
#include "winq/winograd.hpp"

namespace winq::train {

namespace {

struct Builder {
  Graph g;
  ValueId value(const std::string& name) {
    Value v;
    v.name = name;
    return g.add_value(std::move(v));
  }
  ValueId node(const std::string& op, const std::string& name, std::vector<ValueId> in, Attributes a = {}) {
    ValueId out = value(name);
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(in);
    n.outputs = {out};
    n.attrs = std::move(a);
    g.nodes.push_back(std::move(n));
    return out;
  }
  // When set, every tensor written is also listed with its module tensor (a handle
  // to the same storage): the export read backwards (read_exported_network).
  std::vector<std::pair<std::string, torch::Tensor>>* written = nullptr;
  ValueId constant(const std::string& name, const torch::Tensor& t) {
    if (written) written->emplace_back(name, t);
    return g.add_constant(name, to_winq(t));
  }

  ValueId conv_bn(ValueId x, torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn, const std::string& name, bool relu) {
    return conv_bn(x, conv->weight, bn, name, relu);
  }
  ValueId conv_bn(ValueId x, const torch::Tensor& weight, torch::nn::BatchNorm2d& bn, const std::string& name,
                  bool relu) {
    return bn_relu(conv_bn_node(x, weight, name), bn, name, relu);
  }
  ValueId conv_bn_node(ValueId x, const torch::Tensor& weight, const std::string& name) {
    const int64_t k = weight.size(2), p = k / 2;
    Attributes a;
    a.set("kernel_shape", std::vector<int64_t>{k, k});
    a.set("pads", std::vector<int64_t>{p, p, p, p});
    a.set("strides", std::vector<int64_t>{1, 1});
    return node("Conv", name + ".conv", {x, constant(name + ".conv.weight", weight)}, a);
  }
  // A flex layer's learned transforms need not form an exact algorithm: the
  // layer is written as a Conv carrying them (winq) or as the Winograd
  // computation itself in standard operators.
  LearnedLayers learned = LearnedLayers::winq;
  ValueId winograd_bn(ValueId x, WinogradConv2d& layer, torch::nn::BatchNorm2d& bn, const std::string& name,
                      bool relu, int64_t hw) {
    const winograd::TileMatrices t = effective_transforms(layer);
    if (learned == LearnedLayers::standard) {
      const ValueId y = winograd::add_winograd_conv_standard(g, x, to_winq(layer->weight.detach().contiguous()), t,
                                                             hw, hw, name + ".conv");
      return bn_relu(y, bn, name, relu);
    }
    const ValueId y = conv_bn_node(x, layer->weight, name);
    winograd::set_learned_transforms(g.nodes.back(), t);
    return bn_relu(y, bn, name, relu);
  }
  // A quantization-aware Winograd layer's learned ranges (input, V per
  // component) on its Conv, for `winq quantize --trained-ranges` (winq target
  // only: other runtimes need not accept extra Conv attributes).
  void attach_trained_ranges(const std::string& conv_name, WinogradConv2d& layer) {
    if (learned != LearnedLayers::winq || !layer || !layer->q_x || !layer->q_v) return;
    if (!(layer->q_x->max_abs.min().item<double>() > 0) || !(layer->q_v->max_abs.min().item<double>() > 0))
      return;  // never trained: no ranges
    for (Node& n : g.nodes) {
      if (n.name != conv_name) continue;
      const int64_t nn = layer->n * layer->n;
      const auto v = layer->q_v->max_abs.detach().to(torch::kFloat).reshape({-1}).expand({nn}).contiguous();
      n.attrs.set(winograd::attr::kTrainedTile, static_cast<int64_t>(layer->m));
      n.attrs.set(winograd::attr::kTrainedXMax, layer->q_x->max_abs.item<float>());
      n.attrs.set(winograd::attr::kTrainedVMax, std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + nn));
      return;
    }
    throw Error("export: no Conv named " + conv_name);
  }
  ValueId bn_relu(ValueId y, torch::nn::BatchNorm2d& bn, const std::string& name, bool relu) {
    Attributes b;
    b.set("epsilon", static_cast<float>(bn->options.eps()));
    y = node("BatchNormalization", name + ".bn",
             {y, constant(name + ".bn.weight", bn->weight), constant(name + ".bn.bias", bn->bias),
              constant(name + ".bn.running_mean", bn->running_mean), constant(name + ".bn.running_var", bn->running_var)},
             b);
    return relu ? node("Relu", name + ".relu", {y}) : y;
  }
};

}  // namespace

winograd::TileMatrices effective_transforms(WinogradConv2d& layer) {
  torch::NoGradGuard no_grad;
  auto doubles = [](const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kDouble).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  // Fake quantizers in eval mode round with their frozen ranges (no update).
  auto effective = [](FakeQuant& q, const torch::Tensor& v) {
    if (!q) return v;
    const bool was_training = q->is_training();
    q->eval();
    torch::Tensor r = q->forward(v);
    q->train(was_training);
    return r;
  };
  winograd::TileMatrices t;
  t.m = static_cast<int>(layer->AT.size(0));
  t.n = t.m + 2;
  t.AT = doubles(effective(layer->q_at, layer->AT));
  t.G = doubles(effective(layer->q_g, layer->G));
  t.BT = doubles(effective(layer->q_bt, layer->BT));
  return t;
}

namespace {

Graph build_graph(ResNet& net, const TrainConfig& cfg, LearnedLayers learned,
                  std::vector<std::pair<std::string, torch::Tensor>>* written) {
  torch::NoGradGuard no_grad;
  Builder b;
  b.learned = learned;
  b.written = written;
  b.g.name = "winq_" + cfg.arch;
  b.g.opset = 13;
  ValueId x = b.value("image");
  {
    Value& in = b.g.values[x];
    in.shape = {-1, cfg.in_channels, 32, 32};
    in.dim_params = {"batch", "", "", ""};
    in.has_shape = true;
  }
  b.g.inputs = {x};
  ValueId y = b.conv_bn(x, net->stem, net->stem_bn, "stem", true);
  int64_t hw = 32;  // spatial size at the block's input (a downsampling block halves it first)
  for (size_t i = 0; i < net->blocks.size(); ++i) {
    auto& blk = net->blocks[i];
    const std::string name = "layer" + std::to_string(i / 2 + 1) + "_" + std::to_string(i % 2);
    if (blk->downsample) {
      Attributes a;
      a.set("kernel_shape", std::vector<int64_t>{2, 2});
      a.set("strides", std::vector<int64_t>{2, 2});
      y = b.node("MaxPool", name + ".pool", {y}, a);
      hw /= 2;
    }
    // A static Winograd-aware conv computes the conv of its weight: exported as that conv.
    const bool flex = blk->wconv1 && blk->wconv1->AT.requires_grad();
    ValueId h = flex ? b.winograd_bn(y, blk->wconv1, blk->bn1, name + ".1", true, hw)
                     : b.conv_bn(y, blk->conv1_weight(), blk->bn1, name + ".1", true);
    h = flex ? b.winograd_bn(h, blk->wconv2, blk->bn2, name + ".2", false, hw)
             : b.conv_bn(h, blk->conv2_weight(), blk->bn2, name + ".2", false);
    b.attach_trained_ranges(name + ".1.conv", blk->wconv1);
    b.attach_trained_ranges(name + ".2.conv", blk->wconv2);
    ValueId sc = blk->proj ? b.conv_bn(y, blk->proj, blk->proj_bn, name + ".proj", false) : y;
    y = b.node("Relu", name + ".out", {b.node("Add", name + ".add", {h, sc})});
  }
  y = b.node("GlobalAveragePool", "pool", {y});
  y = b.node("Flatten", "flatten", {y});
  Attributes g;
  g.set("transB", int64_t{1});
  y = b.node("Gemm", "logits", {y, b.constant("fc.weight", net->fc->weight), b.constant("fc.bias", net->fc->bias)}, g);
  b.g.outputs = {y};
  b.g.metadata["winq.preprocess"] = cfg.preprocess;
  b.g.metadata["winq.arch"] = cfg.arch;
  b.g.metadata["winq.mult"] = std::to_string(cfg.mult);
  validate(b.g);
  return b.g;
}

}  // namespace

Graph graph_from_resnet(ResNet& net, const TrainConfig& cfg, LearnedLayers learned) {
  return build_graph(net, cfg, learned, nullptr);
}

void read_exported_network(const Graph& g, const std::string& source, ResNet& net, const TrainConfig& cfg) {
  for (const Node& n : g.nodes)
    if (winograd::has_learned_transforms(n))
      throw Error(fmt::format("{}: layer '{}' carries learned Winograd transforms; adapt a Winograd-aware network "
                              "from its run directory (the ONNX file is read as an ordinary network)",
                              source, n.name));
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  build_graph(net, cfg, LearnedLayers::winq, &tensors);
  torch::NoGradGuard no_grad;
  for (auto& [name, dst] : tensors) {
    const ValueId id = g.find_value(name);
    if (id == kNoValue || !g.values[id].is_constant())
      throw Error(fmt::format("{}: no initializer '{}': not a {} exported by winq (winq train / export-run)", source,
                              name, cfg.arch));
    const Tensor& t = g.values[id].constant;
    if (t.dtype() != DataType::f32 || !std::equal(t.shape().begin(), t.shape().end(), dst.sizes().begin(),
                                                   dst.sizes().end()))
      throw Error(fmt::format("{}: initializer '{}' has shape {}, the {} of width {} needs {}", source, name,
                              fmt::join(t.shape(), "×"), cfg.arch, cfg.mult,
                              fmt::join(dst.sizes().begin(), dst.sizes().end(), "×")));
    dst.copy_(to_torch(t));
  }
}

}  // namespace winq::train
