// The integer form of an int8 Winograd layer (winq.QWinogradConv, run by
// src/runtime/ops/qwinograd_conv.cpp with the kernels of
// src/kernels/winograd_int8.hpp). With d = x − x_zp on an n×n tile:
//   V  = B'ᵀ d B'          an integer (B' = Bᵀ rows scaled to integers by β)
//   Vq = clamp(round(V · s_x / (β_ξ β_ν s_V f_c)))   8 bits per component (and per
//                                                   input channel c with attr::kVChannel,
//                                                   f_c folded into Uq; else f_c = 1)
//   P  = Σ_c Uq · Vq       int32 per component and output channel
//   Y  = Aᵀ (P · s_U s_V / s_y) A + bias / s_y       float32, fixed order
//   y  = clamp(round(Y) + y_zp, qmin, qmax)
// The 1-D variant F(m×1, 3×3) transforms rows only: V = B'ᵀ d on 1×n tiles,
// n components, and the GEMM sums over 3·C (kernel rows × channels).
// Overflow analysis: |V| is bounded from the bit widths and B' and must stay
// below 2^24, so that float32 computes the input transform exactly (and int32
// holds it); |P| is bounded from C, max |Uq| and 255 and must fit int32. The
// float32 output stage cannot overflow (|Y| ≪ 2^127) and rounds the same way
// on every path.
#include <fmt/format.h>

#include <cmath>
#include <numeric>

#include "../runtime/ops/qlinear.hpp"
#include "winq/error.hpp"
#include "winq/graph.hpp"
#include "winq/requantize.hpp"
#include "winq/winograd.hpp"

namespace winq::winograd {

namespace {

int64_t lcm_of_denominators(const std::vector<Rational>& row) {
  int64_t l = 1;
  for (const auto& v : row) l = std::lcm(l, static_cast<int64_t>(v.get_den().get_si()));
  return l;
}

int64_t as_int(const Rational& v) {
  if (v.get_den() != 1) throw Error("internal: a scaled Winograd transform entry is not an integer");
  return v.get_num().get_si();
}

// Attributes hold float32: the engine computes with exactly these values.
std::vector<float> as_float_attr(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

}  // namespace

double input_transform_row_scale(const double* row, int n, double L) {
  double l1 = 0;
  for (int j = 0; j < n; ++j) l1 += std::fabs(row[j]);
  if (!(l1 > 0)) return 1.0;
  const double beta_max = (L - n / 2.0) / l1;
  const double lo = std::max(1.0, std::ceil(0.75 * beta_max));
  if (beta_max < lo) return beta_max;  // a row too large for an integer grid: the finest one
  double best = 0, best_err = INFINITY;
  for (double b = std::floor(beta_max); b >= lo; b -= 1) {
    double err = 0;
    for (int j = 0; j < n; ++j) err = std::max(err, std::fabs(b * row[j] - std::nearbyint(b * row[j])));
    err /= b;  // in the entry's own units
    if (err < best_err) best = b, best_err = err;
  }
  return best;
}

Node lower_int8(Graph& g, const Node& conv, ValueId x, const QuantIO& io) {
  const int m = static_cast<int>(conv.attrs.get_int(attr::kTile, 0));
  const Tensor* uq = conv.attrs.get_tensor(attr::kU);
  if ((m != 2 && m != 4 && m != 6) || !uq) throw Error(conv.name + ": incomplete Winograd plan");
  const bool one_d = conv.attrs.get_int(attr::kOneD, 0) != 0;
  const bool learned = has_learned_transforms(conv);
  const TileMatrices lt = learned ? learned_transforms(conv) : TileMatrices{};
  if (learned && (lt.m != m || one_d)) throw Error(conv.name + ": learned transforms of another tile");
  const int nt = m + 2, nn = one_d ? nt : nt * nt;
  const int64_t M = uq->dim(1), C = uq->dim(2);  // C: the reduction (3·channels for 1-D)
  const auto uscale = conv.attrs.get_floats(attr::kUScale), vscale = conv.attrs.get_floats(attr::kVScale);
  const auto vunsigned = conv.attrs.get_ints(attr::kVUnsigned);
  const auto bias = conv.attrs.get_floats(attr::kBias);
  if (static_cast<int64_t>(uscale.size()) != nn * M || static_cast<int>(vscale.size()) != nn ||
      static_cast<int>(vunsigned.size()) != nn || static_cast<int64_t>(bias.size()) != M)
    throw Error(conv.name + ": Winograd plan attributes do not fit the layer");

  const int64_t dmax = io.x_type == DataType::u8 ? std::max<int64_t>(io.x_zp, 255 - io.x_zp)
                                                 : std::max<int64_t>(128 + io.x_zp, 127 - io.x_zp);
  // Integer input transform: each row of Bᵀ scaled by β to integers, B' = β·Bᵀ.
  // Exact transforms: β = the lcm of the row's denominators (no rounding).
  // Learned transforms: B' = round(β·row) with β from input_transform_row_scale
  // (an integer ≤ (L − n/2) / Σ|row|), so that Σ|B'| ≤ L with dmax·L² < 2^24
  // (the bound below holds); the engine then computes with B'/β, within 0.5/β
  // of each learned entry (under 0.3% of the row's L1 norm for 8-bit inputs)
  // and exactly on rows with small denominators.
  std::vector<double> beta(static_cast<size_t>(nt));
  std::vector<int64_t> bt;
  int64_t bt_row_sum = 0;
  std::vector<double> at;
  if (learned) {
    const double L = std::floor(std::sqrt(static_cast<double>((int64_t{1} << 24) - 1) /
                                          static_cast<double>(one_d ? 1 : std::max<int64_t>(dmax, 1))));
    for (int a = 0; a < nt; ++a) {
      beta[a] = input_transform_row_scale(&lt.BT[static_cast<size_t>(a) * nt], nt, L);
      int64_t s = 0;
      for (int j = 0; j < nt; ++j) {
        bt.push_back(static_cast<int64_t>(std::nearbyint(beta[a] * lt.BT[a * nt + j])));
        s += std::abs(bt.back());
      }
      bt_row_sum = std::max(bt_row_sum, s);
    }
    at = lt.AT;
  } else {
    const Transforms t = generate(m, 3, default_points(m, 3));
    for (int a = 0; a < nt; ++a) {
      const int64_t b = lcm_of_denominators(t.BT[a]);
      beta[a] = static_cast<double>(b);
      int64_t s = 0;
      for (const auto& v : t.BT[a]) {
        bt.push_back(as_int(v * b));
        s += std::abs(bt.back());
      }
      bt_row_sum = std::max(bt_row_sum, s);
    }
    for (const auto& row : t.AT)
      for (const auto& v : row) at.push_back(v.get_d());
  }

  // Stage bounds.
  const int64_t vbound = one_d ? dmax * bt_row_sum : dmax * bt_row_sum * bt_row_sum;
  if (vbound >= (int64_t{1} << 24))
    throw Error(fmt::format("layer '{}': the Winograd input transform could reach {} (2^24 or more: not exact in float32)",
                            conv.name, vbound));
  int64_t umax = 0;
  for (int64_t i = 0; i < uq->numel(); ++i) umax = std::max<int64_t>(umax, std::abs(uq->data<int8_t>()[i]));
  const int64_t pbound = C * umax * 255;
  if (pbound > INT32_MAX)
    throw Error(fmt::format("layer '{}': Winograd products over {} channels could overflow int32", conv.name, C));

  // Per-channel factors (attr::kVChannel): channel c's step of component k is vscale[k]·f[k·Cw + c].
  const int64_t Cw = one_d ? C / 3 : C;
  const std::vector<float> vchannel = conv.attrs.has(attr::kVChannel) ? conv.attrs.get_floats(attr::kVChannel)
                                                                      : std::vector<float>{};
  if (!vchannel.empty() && static_cast<int64_t>(vchannel.size()) != nn * Cw)
    throw Error(conv.name + ": per-channel Winograd factors do not fit the layer");
  for (float f : vchannel)
    if (!(f > 0 && f <= 1)) throw Error(fmt::format("layer '{}': per-channel Winograd factor {} is not in (0, 1]", conv.name, f));
  std::vector<double> vs, zs, bias_y;
  std::vector<int64_t> vmin, vmax;
  for (int k = 0; k < nn; ++k) {
    const double b = one_d ? beta[k] : beta[k / nt] * beta[k % nt];
    vs.push_back(io.x_scale / (b * vscale[k]));
    if (!std::isfinite(vs.back()) || vs.back() <= 0)
      throw Error(fmt::format("layer '{}': Winograd component {} has no usable scale", conv.name, k));
    vmin.push_back(vunsigned[k] ? 0 : -127);
    vmax.push_back(vunsigned[k] ? 255 : 127);
    for (int64_t o = 0; o < M; ++o)
      zs.push_back(static_cast<double>(uscale[static_cast<size_t>(k) * M + o]) * vscale[k] / io.y_scale);
  }
  for (int64_t o = 0; o < M; ++o) bias_y.push_back(bias[o] / io.y_scale);
  if (!vchannel.empty()) {  // [k·Cw + c]: the component's factor over the channel's
    std::vector<double> per(static_cast<size_t>(nn * Cw));
    for (int k = 0; k < nn; ++k)
      for (int64_t c = 0; c < Cw; ++c) per[static_cast<size_t>(k * Cw + c)] = vs[k] / vchannel[k * Cw + c];
    vs = std::move(per);
  }

  Node q;
  q.name = conv.name;
  q.domain = ops::qattr::kDomain;
  q.op = "QWinogradConv";
  q.inputs = {x, g.add_constant(g.unique_value_name(conv.name + "_winograd_uq"), *uq)};
  for (const char* a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
    if (conv.attrs.has(a)) q.attrs.set(a, conv.attrs.all().at(a));
  q.attrs.set("tile", static_cast<int64_t>(m));
  if (one_d) q.attrs.set("one_d", int64_t{1});
  q.attrs.set("bt", bt);
  q.attrs.set("at_f", as_float_attr(at));
  q.attrs.set(ops::qattr::kXZeroPoint, io.x_zp);
  q.attrs.set("v_scale", as_float_attr(vs));
  q.attrs.set("v_qmin", vmin);
  q.attrs.set("v_qmax", vmax);
  q.attrs.set("z_scale", as_float_attr(zs));
  q.attrs.set("bias_y", as_float_attr(bias_y));
  q.attrs.set(ops::qattr::kYType, std::string(io.y_type == DataType::u8 ? "uint8" : "int8"));
  q.attrs.set(ops::qattr::kYZeroPoint, io.y_zp);
  q.attrs.set(ops::qattr::kQMin, io.qmin);
  q.attrs.set(ops::qattr::kQMax, io.qmax);
  return q;
}

}  // namespace winq::winograd
