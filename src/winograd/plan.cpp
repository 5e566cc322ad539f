// Choosing the layers that run as Winograd convolutions and transforming
// their weights once, in float64.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "winq/error.hpp"
#include "winq/graph.hpp"
#include "winq/winograd.hpp"

namespace winq::winograd {

TileMatrices tile_matrices(int m) {
  const Transforms t = generate(m, 3, default_points(m, 3));
  TileMatrices out;
  out.m = m;
  out.n = t.n();
  for (const auto& row : t.AT)
    for (const auto& v : row) out.AT.push_back(v.get_d());
  for (const auto& row : t.G)
    for (const auto& v : row) out.G.push_back(v.get_d());
  for (const auto& row : t.BT)
    for (const auto& v : row) out.BT.push_back(v.get_d());
  return out;
}

int parse_tile(const std::string& s) {
  if (s == "off" || s == "0") return 0;
  if (s == "F2" || s == "2") return 2;
  if (s == "F4" || s == "4") return 4;
  if (s == "F6" || s == "6") return 6;
  throw Error("Winograd tile '" + s + "': expected off, F2, F4 or F6");
}

bool winograd_eligible(const Graph& g, size_t node) {
  const Node& n = g.nodes[node];
  if (n.op != "Conv" || !n.domain.empty() || n.inputs.size() < 2) return false;
  const Value& w = g.values[n.inputs[1]];
  if (!w.is_constant() || w.constant.rank() != 4 || w.constant.dim(2) != 3 || w.constant.dim(3) != 3) return false;
  // Few input channels (a stem on grayscale or RGB images): too little work to
  // gain from, and no sum over channels to average the transform's rounding noise.
  if (w.constant.dim(1) < kMinWinogradChannels) return false;
  if (n.attrs.get_int("group", 1) != 1) return false;
  for (int64_t s : n.attrs.get_ints("strides", {}))
    if (s != 1) return false;
  for (int64_t d : n.attrs.get_ints("dilations", {}))
    if (d != 1) return false;
  return true;
}

namespace {

// F(m×1, 3×3) along x only: U[j][o][ky·C + c] = Σ_kx G[j][kx] · g[o][c][ky][kx],
// so that one GEMM per column component j sums over channels and kernel rows.
Tensor transform_weights_1d(const Tensor& w, const TileMatrices& t) {
  const int64_t M = w.dim(0), C = w.dim(1);
  const int n = t.n;
  Tensor U(DataType::f32, {n, M, 3 * C});
  const float* wd = w.data<float>();
  for (int64_t o = 0; o < M; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int ky = 0; ky < 3; ++ky)
        for (int j = 0; j < n; ++j) {
          double s = 0;
          for (int kx = 0; kx < 3; ++kx) s += t.G[j * 3 + kx] * wd[((o * C + c) * 3 + ky) * 3 + kx];
          U.data<float>()[(j * M + o) * 3 * C + ky * C + c] = static_cast<float>(s);
        }
  return U;
}

}  // namespace

std::vector<double> transform_weights_f64(const Tensor& w, const TileMatrices& t) {
  if (w.dtype() != DataType::f32 || w.rank() != 4 || w.dim(2) != 3 || w.dim(3) != 3)
    throw Error("Winograd weights must be float [M, C, 3, 3]");
  const int64_t M = w.dim(0), C = w.dim(1);
  const int n = t.n;
  std::vector<double> U(static_cast<size_t>(n * n * M * C));
  const float* wd = w.data<float>();
  for (int64_t o = 0; o < M; ++o)
    for (int64_t c = 0; c < C; ++c) {
      const float* k = wd + (o * C + c) * 9;
      double gk[8][3];  // G · g (n × 3)
      for (int a = 0; a < n; ++a)
        for (int x = 0; x < 3; ++x) {
          double s = 0;
          for (int y = 0; y < 3; ++y) s += t.G[a * 3 + y] * k[y * 3 + x];
          gk[a][x] = s;
        }
      for (int a = 0; a < n; ++a)
        for (int b = 0; b < n; ++b) {
          double s = 0;
          for (int x = 0; x < 3; ++x) s += gk[a][x] * t.G[b * 3 + x];
          U[static_cast<size_t>(((a * n + b) * M + o) * C + c)] = s;
        }
    }
  return U;
}

Tensor transform_weights(const Tensor& w, const TileMatrices& t) {
  const std::vector<double> u = transform_weights_f64(w, t);
  Tensor U(DataType::f32, {int64_t{t.n} * t.n, w.dim(0), w.dim(1)});
  std::copy(u.begin(), u.end(), U.data<float>());
  return U;
}

bool has_learned_transforms(const Node& n) {
  return n.attrs.has(attr::kLearnedAT) || n.attrs.has(attr::kLearnedG) || n.attrs.has(attr::kLearnedBT);
}

TileMatrices learned_transforms(const Node& n) {
  const auto at = n.attrs.get_floats(attr::kLearnedAT), gm = n.attrs.get_floats(attr::kLearnedG),
             bt = n.attrs.get_floats(attr::kLearnedBT);
  TileMatrices t;
  for (int m : {2, 4, 6})
    if (at.size() == static_cast<size_t>(m * (m + 2))) t.m = m;
  t.n = t.m + 2;
  if (t.m == 0 || gm.size() != static_cast<size_t>(3 * t.n) || bt.size() != static_cast<size_t>(t.n * t.n))
    throw Error(fmt::format("{}: learned Winograd transforms must be Aᵀ m×n, G n×3 and Bᵀ n×n with n = m + 2 and m "
                            "2, 4 or 6 (got {}, {} and {} values)",
                            n.name, at.size(), gm.size(), bt.size()));
  for (const auto* v : {&at, &gm, &bt})
    for (float f : *v)
      if (!std::isfinite(f)) throw Error(n.name + ": learned Winograd transforms hold a non-finite value");
  t.AT.assign(at.begin(), at.end());
  t.G.assign(gm.begin(), gm.end());
  t.BT.assign(bt.begin(), bt.end());
  return t;
}

void set_learned_transforms(Node& n, const TileMatrices& t) {
  auto floats = [](const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); };
  n.attrs.set(attr::kLearnedAT, floats(t.AT));
  n.attrs.set(attr::kLearnedG, floats(t.G));
  n.attrs.set(attr::kLearnedBT, floats(t.BT));
}

int plan_float_winograd(Graph& g, int m, bool one_d) {
  if (m != 2 && m != 4 && m != 6) throw Error("Winograd tile must be F2, F4 or F6");
  const TileMatrices defaults = tile_matrices(m);
  int changed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& node = g.nodes[i];
    const bool learned = node.op == "Conv" && node.domain.empty() && has_learned_transforms(node);
    if (!learned && !winograd_eligible(g, i)) continue;
    if (!g.values[node.inputs[1]].is_constant()) continue;  // learned with run-time weights: Conv runs it
    const Tensor& w = g.values[node.inputs[1]].constant;
    const TileMatrices t = learned ? learned_transforms(node) : defaults;
    if (one_d && !learned) {
      node.attrs.set("winq_u", transform_weights_1d(w, t));
      node.attrs.set("one_d", int64_t{1});
    } else {
      node.attrs.set("winq_u", transform_weights(w, t));
    }
    node.op = "WinogradConv";
    node.domain = "winq";
    node.attrs.set("tile", static_cast<int64_t>(t.m));
    ++changed;
  }
  return changed;
}

}  // namespace winq::winograd
