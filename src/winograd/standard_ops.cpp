// A 3×3 stride-1 convolution computed as Winograd F(m, 3) with *given*
// transforms (learned ones need not form an exact algorithm, so the layer is
// no longer an ordinary conv), written in standard ONNX operators any runtime
// has (opset 13):
//
//   V  = Conv(x, W_B, group = C, kernel n×n, stride m)   tiles → Bᵀ d B, n² per channel
//   V' = Reshape/Transpose V to component-major [N, n²·C, TH, TW]
//   M  = Conv(V', W_U, group = n², kernel 1×1)           Σ_c U ⊙ V per component
//   M' = Reshape/Transpose M to channel-major [N, K·n², TH, TW]
//   Y  = ConvTranspose(M', W_A, group = K, kernel m×m, stride m)   Aᵀ M A, tiles side by side
//   y  = Slice(Y)[:, :, :H, :W]                          border tiles cropped
//
// with W_B[c·n² + ξn + ν][i][j] = Bᵀ[ξ][i]·Bᵀ[ν][j], W_U = G g Gᵀ (float64,
// then float), W_A[k·n² + ξn + ν][p][q] = Aᵀ[p][ξ]·Aᵀ[q][ν]. The padding of the
// last tiles goes into the first Conv's (asymmetric) pads.
#include <fmt/format.h>

#include "winq/error.hpp"
#include "winq/graph.hpp"
#include "winq/winograd.hpp"

namespace winq::winograd {

namespace {

ValueId add_node(Graph& g, const std::string& op, const std::string& name, std::vector<ValueId> in, Attributes a = {}) {
  Value v;
  v.name = name;
  const ValueId out = g.add_value(std::move(v));
  Node n;
  n.name = name;
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  n.attrs = std::move(a);
  g.nodes.push_back(std::move(n));
  return out;
}

ValueId int64s(Graph& g, const std::string& name, const std::vector<int64_t>& v) {
  Tensor t(DataType::s64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return g.add_constant(name, std::move(t));
}

}  // namespace

ValueId add_winograd_conv_standard(Graph& g, ValueId x, const Tensor& weight, const TileMatrices& t, int64_t H,
                                   int64_t W, const std::string& name) {
  const int m = t.m, n = m + 2;
  if (m < 1 || t.AT.size() != static_cast<size_t>(m * n) || t.G.size() != static_cast<size_t>(n * 3) ||
      t.BT.size() != static_cast<size_t>(n * n))
    throw Error(fmt::format("{}: Winograd transforms of F({},3) must be {}×{}, {}×3 and {}×{}", name, m, m, n, n, n, n));
  if (weight.dtype() != DataType::f32 || weight.rank() != 4 || weight.dim(2) != 3 || weight.dim(3) != 3)
    throw Error(name + ": expected float weights [K, C, 3, 3]");
  if (H < 1 || W < 1) throw Error(name + ": the layer's spatial size must be known");
  const int64_t K = weight.dim(0), C = weight.dim(1), nn = int64_t{n} * n;
  const int64_t TH = (H + m - 1) / m, TW = (W + m - 1) / m;

  Tensor wb(DataType::f32, {C * nn, 1, n, n});
  for (int64_t c = 0; c < C; ++c)
    for (int xi = 0; xi < n; ++xi)
      for (int nu = 0; nu < n; ++nu)
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j)
            wb.data<float>()[(((c * nn + xi * n + nu) * n) + i) * n + j] =
                static_cast<float>(t.BT[static_cast<size_t>(xi * n + i)] * t.BT[static_cast<size_t>(nu * n + j)]);
  Tensor wu(DataType::f32, {nn * K, C, 1, 1});
  const float* w = weight.data<float>();
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c) {
      const float* gk = w + (k * C + c) * 9;
      for (int xi = 0; xi < n; ++xi)
        for (int nu = 0; nu < n; ++nu) {
          double u = 0;
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b)
              u += t.G[static_cast<size_t>(xi * 3 + a)] * gk[a * 3 + b] * t.G[static_cast<size_t>(nu * 3 + b)];
          wu.data<float>()[((xi * n + nu) * K + k) * C + c] = static_cast<float>(u);
        }
    }
  Tensor wa(DataType::f32, {K * nn, 1, m, m});
  for (int64_t k = 0; k < K; ++k)
    for (int xi = 0; xi < n; ++xi)
      for (int nu = 0; nu < n; ++nu)
        for (int p = 0; p < m; ++p)
          for (int q = 0; q < m; ++q)
            wa.data<float>()[(((k * nn + xi * n + nu) * m) + p) * m + q] =
                static_cast<float>(t.AT[static_cast<size_t>(p * n + xi)] * t.AT[static_cast<size_t>(q * n + nu)]);

  Attributes in;
  in.set("group", C);
  in.set("kernel_shape", std::vector<int64_t>{n, n});
  in.set("strides", std::vector<int64_t>{m, m});
  in.set("pads", std::vector<int64_t>{1, 1, TH * m + 1 - H, TW * m + 1 - W});
  ValueId v = add_node(g, "Conv", name + ".winograd_input", {x, g.add_constant(name + ".winograd_BT", std::move(wb))}, in);
  v = add_node(g, "Reshape", name + ".v_split", {v, int64s(g, name + ".v_split_shape", {0, C, nn, TH, TW})});
  Attributes perm;
  perm.set("perm", std::vector<int64_t>{0, 2, 1, 3, 4});
  v = add_node(g, "Transpose", name + ".v_components", {v}, perm);
  v = add_node(g, "Reshape", name + ".v", {v, int64s(g, name + ".v_shape", {0, nn * C, TH, TW})});
  Attributes prod;
  prod.set("group", nn);
  prod.set("kernel_shape", std::vector<int64_t>{1, 1});
  ValueId mm = add_node(g, "Conv", name + ".winograd_product", {v, g.add_constant(name + ".winograd_U", std::move(wu))}, prod);
  mm = add_node(g, "Reshape", name + ".m_split", {mm, int64s(g, name + ".m_split_shape", {0, nn, K, TH, TW})});
  mm = add_node(g, "Transpose", name + ".m_channels", {mm}, perm);
  mm = add_node(g, "Reshape", name + ".m", {mm, int64s(g, name + ".m_shape", {0, K * nn, TH, TW})});
  Attributes out;
  out.set("group", K);
  out.set("kernel_shape", std::vector<int64_t>{m, m});
  out.set("strides", std::vector<int64_t>{m, m});
  ValueId y = add_node(g, "ConvTranspose", name + ".winograd_output",
                       {mm, g.add_constant(name + ".winograd_AT", std::move(wa))}, out);
  if (TH * m == H && TW * m == W) return y;
  return add_node(g, "Slice", name + ".crop",
                  {y, int64s(g, name + ".crop_starts", {0, 0}), int64s(g, name + ".crop_ends", {H, W}),
                   int64s(g, name + ".crop_axes", {2, 3})});
}

}  // namespace winq::winograd
