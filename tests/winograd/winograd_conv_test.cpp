// Float Winograd convolution F(2,3), F(4,3), F(6,3) against a float64 direct
// convolution: random layers with output sizes that are and are not multiples
// of the tile, symmetric and asymmetric pads, a fused Relu. The stated
// tolerances bound the largest error relative to the largest output magnitude.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "../test_util.hpp"
#include "winq/runtime.hpp"
#include "winq/winograd.hpp"

using namespace winq;
using namespace winq::test;

namespace {

struct Layer {
  int64_t c, m, h, w;
  std::vector<int64_t> pads;
  bool relu;
};

// y = conv(x, w) + b in float64, stride 1, 3×3.
std::vector<double> direct_f64(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& pads,
                               bool relu, int64_t& OH, int64_t& OW) {
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), M = w.dim(0);
  OH = H + pads[0] + pads[2] - 2;
  OW = W + pads[1] + pads[3] - 2;
  std::vector<double> y(static_cast<size_t>(M * OH * OW));
  for (int64_t o = 0; o < M; ++o)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        double s = b.data<float>()[o];
        for (int64_t ch = 0; ch < C; ++ch)
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy - pads[0] + ky, ix = ox - pads[1] + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s += static_cast<double>(x.data<float>()[(ch * H + iy) * W + ix]) *
                   w.data<float>()[((o * C + ch) * 3 + ky) * 3 + kx];
            }
        y[(o * OH + oy) * OW + ox] = relu ? std::max(0.0, s) : s;
      }
  return y;
}

}  // namespace

TEST(WinogradConvFloat, MatchesFloat64DirectWithinTheStatedTolerance) {
  // Relative to max |y|, for F(m×m, 3×3) and F(m×1, 3×3): F2 2e-6, F4 2e-5, F6 5e-5 (worst measured on these
  // layers: 3.4e-7, 5.3e-6, 6.7e-6; recorded per layer in the test's XML properties).
  const std::pair<int, double> tiles[] = {{2, 2e-6}, {4, 2e-5}, {6, 5e-5}};
  const Layer layers[] = {{9, 5, 9, 9, {1, 1, 1, 1}, false},
                          {16, 8, 13, 7, {1, 1, 1, 1}, true},
                          {8, 12, 12, 12, {0, 0, 0, 0}, false},
                          {32, 16, 10, 11, {2, 0, 1, 2}, false},
                          {64, 32, 8, 8, {1, 1, 1, 1}, true}};
  uint32_t seed = 900;
  for (const Layer& L : layers) {
    const Tensor x = random_tensor({1, L.c, L.h, L.w}, seed++, -1.0f, 1.0f);
    const Tensor w = random_tensor({L.m, L.c, 3, 3}, seed++, -0.5f, 0.5f);
    const Tensor b = random_tensor({L.m}, seed++, -0.2f, 0.2f);
    int64_t OH = 0, OW = 0;
    const std::vector<double> want = direct_f64(x, w, b, L.pads, L.relu, OH, OW);
    double ymax = 0;
    for (double v : want) ymax = std::max(ymax, std::fabs(v));
    for (auto [m, tol] : tiles) {
      SCOPED_TRACE(testing::Message() << "F(" << m << ",3) c=" << L.c << " m=" << L.m << " " << L.h << "x" << L.w);
      GraphBuilder gb;
      const ValueId xi = gb.input("x", x.shape());
      Attributes a;
      a.set("pads", L.pads);
      a.set("kernel_shape", std::vector<int64_t>{3, 3});
      ValueId y = gb.node("Conv", {xi, gb.constant("w", w), gb.constant("b", b)}, "conv", a);
      if (L.relu) y = gb.node("Relu", {y}, "relu");
      gb.output(y);
      for (bool one_d : {false, true}) {  // F(m×m, 3×3) and the 1-D variant F(m×1, 3×3)
        Graph g = prepare(gb.g);
        ASSERT_EQ(winograd::plan_float_winograd(g, m, one_d), 1);
        const Tensor got = FloatExecutor(g, 2).run({x})[0];
        ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
        double worst = 0;
        for (int64_t i = 0; i < got.numel(); ++i) worst = std::max(worst, std::fabs(got.data<float>()[i] - want[i]));
        EXPECT_LE(worst / ymax, tol) << (one_d ? "1-D " : "") << "relative error " << worst / ymax;
        RecordProperty("F" + std::to_string(m) + (one_d ? "x1" : "") + "_c" + std::to_string(L.c) + "_rel_err",
                       fmt::format("{:.3g}", worst / ymax));
      }
    }
  }
}

TEST(WinogradConvFloat, OnlyEligibleLayersChange) {
  GraphBuilder gb;
  const ValueId xi = gb.input("x", {1, 8, 8, 8});
  Attributes strided;
  strided.set("strides", std::vector<int64_t>{2, 2});
  strided.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ValueId y = gb.node("Conv", {xi, gb.constant("w1", random_tensor({8, 8, 3, 3}, 1, -1, 1))}, "strided", strided);
  y = gb.node("Conv", {y, gb.constant("w2", random_tensor({8, 8, 1, 1}, 2, -1, 1))}, "pointwise");
  Attributes grouped;
  grouped.set("group", int64_t{8});
  grouped.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Attributes padded;
  padded.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  y = gb.node("Conv", {y, gb.constant("w3", random_tensor({8, 1, 3, 3}, 3, -1, 1))}, "depthwise", grouped);
  y = gb.node("Conv", {y, gb.constant("w4", random_tensor({4, 8, 3, 3}, 4, -1, 1))}, "plain", padded);
  y = gb.node("Conv", {y, gb.constant("w5", random_tensor({8, 4, 3, 3}, 5, -1, 1))}, "few_channels", padded);
  gb.output(y);
  Graph g = prepare(gb.g);
  EXPECT_EQ(winograd::plan_float_winograd(g, 4), 1);  // only "plain"
  for (const Node& n : g.nodes) EXPECT_EQ(n.op == "WinogradConv", n.name == "plain_node") << n.name;
  EXPECT_THROW(winograd::plan_float_winograd(g, 3), Error);
  EXPECT_EQ(winograd::parse_tile("F6"), 6);
  EXPECT_THROW(winograd::parse_tile("F5"), Error);
}

// ---- Winograd with given transforms, in standard ONNX operators -----------

namespace {

// y = crop(Σ_c Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A) tile by tile in float64, pad 1, for
// any matrices: the definition the standard-operator graph must compute.
std::vector<double> winograd_f64(const Tensor& x, const Tensor& w, const winograd::TileMatrices& t) {
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3), K = w.dim(0);
  const int m = t.m, n = t.n;
  std::vector<double> y(static_cast<size_t>(K * H * W), 0.0);
  auto px = [&](int64_t c, int64_t r, int64_t q) {
    return r < 0 || r >= H || q < 0 || q >= W ? 0.0 : static_cast<double>(x.data<float>()[(c * H + r) * W + q]);
  };
  for (int64_t k = 0; k < K; ++k)
    for (int64_t ty = 0; ty < H; ty += m)
      for (int64_t tx = 0; tx < W; tx += m) {
        std::vector<double> M(static_cast<size_t>(n * n), 0.0);
        for (int64_t c = 0; c < C; ++c)
          for (int xi = 0; xi < n; ++xi)
            for (int nu = 0; nu < n; ++nu) {
              double v = 0, u = 0;
              for (int i = 0; i < n; ++i)
                for (int j = 0; j < n; ++j) v += t.BT[xi * n + i] * px(c, ty - 1 + i, tx - 1 + j) * t.BT[nu * n + j];
              for (int a = 0; a < 3; ++a)
                for (int b = 0; b < 3; ++b)
                  u += t.G[xi * 3 + a] * w.data<float>()[((k * C + c) * 3 + a) * 3 + b] * t.G[nu * 3 + b];
              M[xi * n + nu] += u * v;
            }
        for (int p = 0; p < m; ++p)
          for (int q = 0; q < m; ++q) {
            if (ty + p >= H || tx + q >= W) continue;
            double s = 0;
            for (int xi = 0; xi < n; ++xi)
              for (int nu = 0; nu < n; ++nu) s += t.AT[p * n + xi] * M[xi * n + nu] * t.AT[q * n + nu];
            y[static_cast<size_t>((k * H + ty + p) * W + tx + q)] = s;
          }
      }
  return y;
}

Tensor run_standard(const Tensor& x, const Tensor& w, const winograd::TileMatrices& t, size_t* ops) {
  GraphBuilder b;
  const ValueId in = b.input("x", x.shape());
  const ValueId out = winograd::add_winograd_conv_standard(b.g, in, w, t, x.dim(2), x.dim(3), "layer");
  b.g.outputs = {out};
  std::set<std::string> kinds;
  for (const Node& n : b.g.nodes) kinds.insert(n.op);
  *ops = b.g.nodes.size();
  EXPECT_EQ(kinds, (std::set<std::string>{"Conv", "ConvTranspose", "Reshape", "Transpose", "Slice"}));
  FloatExecutor ex(prepare(b.g, {{"x", x.shape()}}));
  return ex.run({x})[0];
}

// The same layer as winq keeps a flex-trained one: a Conv carrying its
// transforms, run by Conv itself (planned = false) or after plan_float_winograd
// turned it into winq.WinogradConv with U precomputed (planned = true).
Tensor run_learned_conv(const Tensor& x, const Tensor& w, const winograd::TileMatrices& t, bool planned) {
  GraphBuilder b;
  const ValueId in = b.input("x", x.shape());
  Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  const ValueId out = b.node("Conv", {in, b.constant("w", w)}, "layer", pad);
  winograd::set_learned_transforms(b.g.nodes.back(), t);
  b.output(out);
  Graph g = prepare(b.g, {{"x", x.shape()}});
  if (planned) {
    EXPECT_EQ(winograd::plan_float_winograd(g, 2), 1) << "the learned layer keeps its own tile";
    EXPECT_EQ(g.nodes.at(0).op, "WinogradConv");
    EXPECT_EQ(g.nodes.at(0).attrs.get_int("tile", 0), t.m);
  }
  FloatExecutor ex(g);
  return ex.run({x})[0];
}

}  // namespace

// With the exact transforms the graph is the convolution; with perturbed
// (learned-like) ones it is the Winograd formula with those matrices — in both
// cases against float64, relative to the largest output: ≤ 1e-5 (F2, F4), 5e-5 (F6)
// (measured 2.8e-7, 2.2e-6, 3.7e-6). The Conv carrying learned transforms
// computes the same formula, planned or not.
TEST(WinogradStandardOps, ComputeTheWinogradFormulaWithAnyTransforms) {
  for (int m : {2, 4, 6})
    for (bool perturbed : {false, true}) {
      const uint32_t seed = static_cast<uint32_t>(40 + m + perturbed);
      SCOPED_TRACE(fmt::format("F({},3) perturbed={} seed {}", m, perturbed, seed));
      winograd::TileMatrices t = winograd::tile_matrices(m);
      if (perturbed) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<double> d(-0.1, 0.1);
        for (auto* mat : {&t.AT, &t.G, &t.BT})
          for (double& v : *mat) v += d(rng);
      }
      const Tensor x = random_tensor({2, 5, 11, 9}, seed);
      const Tensor w = random_tensor({4, 5, 3, 3}, seed + 100);
      size_t ops = 0;
      const Tensor standard = run_standard(x, w, t, &ops);
      const Tensor learned = run_learned_conv(x, w, t, false), planned = run_learned_conv(x, w, t, true);
      for (const auto& [what, y] : {std::pair{"standard operators", &standard}, std::pair{"learned Conv", &learned},
                                    std::pair{"learned Conv, planned", &planned}}) {
        ASSERT_EQ(y->shape(), (Shape{2, 4, 11, 9})) << what;
        double peak = 0, err = 0;
        for (int64_t img = 0; img < 2; ++img) {
          Tensor xi(DataType::f32, {1, 5, 11, 9});
          std::copy_n(x.data<float>() + img * 5 * 99, 5 * 99, xi.data<float>());
          const auto want = winograd_f64(xi, w, t);
          for (size_t i = 0; i < want.size(); ++i) {
            peak = std::max(peak, std::fabs(want[i]));
            err = std::max(err, std::fabs(want[i] - y->data<float>()[static_cast<size_t>(img) * want.size() + i]));
          }
        }
        EXPECT_LE(err / peak, m == 6 ? 5e-5 : 1e-5) << what << ": relative error " << err / peak;
      }
    }
}
