// Float Winograd error on real data: for every 3×3 stride-1 layer of a model,
// its input on real images (captured from the float executor) through
// winq.WinogradConv F(2,3), F(4,3), F(6,3) in float32, against a direct
// convolution in float64. Prints, per tile, the largest and the mean error
// relative to the largest and the mean output magnitude, per layer and over all.
//
// Usage: winq_winograd_error MODEL [--images N] [--json]
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "winq/data.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"
#include "winq/winograd.hpp"

using namespace winq;

namespace {

// y = conv(x, w) + b in float64 (stride 1, 3×3, the node's pads).
std::vector<double> direct_f64(const Tensor& x, const Tensor& w, const Tensor* b, int64_t pt, int64_t pl,
                               int64_t OH, int64_t OW) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), M = w.dim(0);
  std::vector<double> y(static_cast<size_t>(N * M * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < M; ++o)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double s = b ? b->data<float>()[o] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < 3; ++ky) {
              const int64_t iy = oy - pt + ky;
              if (iy < 0 || iy >= H) continue;
              for (int64_t kx = 0; kx < 3; ++kx) {
                const int64_t ix = ox - pl + kx;
                if (ix < 0 || ix >= W) continue;
                s += static_cast<double>(x.data<float>()[((n * C + c) * H + iy) * W + ix]) *
                     w.data<float>()[((o * C + c) * 3 + ky) * 3 + kx];
              }
            }
          y[static_cast<size_t>(((n * M + o) * OH + oy) * OW + ox)] = s;
        }
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: winq_winograd_error MODEL [--images N] [--1d] [--json]\n";
    return 2;
  }
  const std::string model_path = argv[1];
  int64_t images = 16;
  bool json = false, one_d = false;  // --1d: the 1-D variants F(m×1, 3×3)
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--images" && i + 1 < argc) images = std::atoll(argv[++i]);
    else if (a == "--json") json = true;
    else if (a == "--1d") one_d = true;
    else {
      std::cerr << "winq_winograd_error: unknown option " << a << "\n";
      return 2;
    }
  }
  try {
    const Graph model = load_onnx(model_path);
    const RawImages raw = read_images("fashion-mnist", images);
    const Dataset d = preprocess(raw, preprocess_for(model, raw, ""));
    Graph g = prepare(model, {{model.values[model.inputs[0]].name, d.images.shape()}});
    std::vector<size_t> layers;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (winograd::winograd_eligible(g, i))
        layers.push_back(i);
    // The input of every eligible conv on these images.
    std::map<ValueId, Tensor> inputs;
    FloatExecutor ex(g);
    ex.set_observer([&](ValueId v, const Tensor& t) {
      for (size_t i : layers)
        if (g.nodes[i].inputs[0] == v) inputs[v] = t;
    });
    ex.run({d.images});
    nlohmann::json out = {{"model", model_path}, {"images", d.size()}, {"layers", nlohmann::json::array()}};
    double worst[7] = {0}, sum_err[7] = {0}, sum_ref[7] = {0};
    if (!json)
      std::cout << fmt::format("{:<18}{:>8}  {:>22}{:>22}{:>22}\n", "layer", "C→M", "F2 max / mean rel.",
                               "F4 max / mean rel.", "F6 max / mean rel.");
    for (size_t i : layers) {
      const Node& n = g.nodes[i];
      const Tensor& x = inputs.at(n.inputs[0]);
      const Tensor& w = g.values[n.inputs[1]].constant;
      const Tensor* b = n.input(2) != kNoValue ? &g.values[n.inputs[2]].constant : nullptr;
      // A one-conv graph without the fused activation: the conv alone is compared.
      Graph one;
      one.opset = g.opset;
      Value xv;
      xv.name = "x";
      xv.dtype = DataType::f32;
      xv.shape = x.shape();
      xv.has_shape = true;
      const ValueId xi = one.add_value(xv);
      one.inputs.push_back(xi);
      Node c;
      c.name = n.name;
      c.op = "Conv";
      c.inputs = {xi, one.add_constant("w", w)};
      if (b) c.inputs.push_back(one.add_constant("b", *b));
      for (const char* a : {"pads", "auto_pad", "strides", "dilations", "group", "kernel_shape"})
        if (n.attrs.has(a)) c.attrs.set(a, n.attrs.all().at(a));
      Value yv;
      yv.name = "y";
      c.outputs = {one.add_value(yv)};
      one.outputs = c.outputs;
      one.nodes.push_back(c);
      const Graph ref_graph = prepare(one);
      const Shape ys = ref_graph.values[ref_graph.outputs[0]].shape;
      const auto pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
      const std::vector<double> ref = direct_f64(x, w, b, pads[0], pads[1], ys[2], ys[3]);
      double ref_max = 0, ref_sum = 0;
      for (double v : ref) {
        ref_max = std::max(ref_max, std::fabs(v));
        ref_sum += std::fabs(v);
      }
      nlohmann::json lj = {{"layer", n.name}, {"in", w.dim(1)}, {"out", w.dim(0)}};
      std::string line = fmt::format("{:<18}{:>8}  ", n.name, fmt::format("{}→{}", w.dim(1), w.dim(0)));
      for (int m : {2, 4, 6}) {
        Graph wg = ref_graph;
        winograd::plan_float_winograd(wg, m, one_d);
        const Tensor y = FloatExecutor(wg).run({x})[0];
        double mx = 0, s = 0;
        for (int64_t k = 0; k < y.numel(); ++k) {
          const double e = std::fabs(y.data<float>()[k] - ref[static_cast<size_t>(k)]);
          mx = std::max(mx, e);
          s += e;
        }
        worst[m] = std::max(worst[m], mx / ref_max);
        sum_err[m] += s;
        sum_ref[m] += ref_sum;
        lj[fmt::format("F{}{}", m, one_d ? "x1" : "")] = {{"max_rel", mx / ref_max}, {"mean_rel", s / ref_sum}};
        line += fmt::format("{:>22}", fmt::format("{:.2e} / {:.2e}", mx / ref_max, s / ref_sum));
      }
      out["layers"].push_back(lj);
      if (!json) std::cout << line << "\n";
    }
    for (int m : {2, 4, 6})
      out[fmt::format("F{}{}", m, one_d ? "x1" : "")] = {{"max_rel", worst[m]}, {"mean_rel", sum_err[m] / sum_ref[m]}};
    if (json) {
      std::cout << out.dump(2) << "\n";
    } else {
      std::cout << fmt::format("{:<26}  {:>22}{:>22}{:>22}\n", "all layers",
                               fmt::format("{:.2e} / {:.2e}", worst[2], sum_err[2] / sum_ref[2]),
                               fmt::format("{:.2e} / {:.2e}", worst[4], sum_err[4] / sum_ref[4]),
                               fmt::format("{:.2e} / {:.2e}", worst[6], sum_err[6] / sum_ref[6]));
      std::cout << "max: largest |error| / largest |output|; mean: Σ|error| / Σ|output| (float32 Winograd vs "
                   "float64 direct)\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "winq_winograd_error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
