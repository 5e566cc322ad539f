// The integer form of an int8 Winograd layer (winq.QWinogradConv, defined in
// src/runtime/ops/qwinograd_conv.cpp). With d = x − x_zp on an n×n tile:
//   V  = B'ᵀ d B'                 int32, exact (B' = Bᵀ rows scaled to integers by β_ξ)
//   Vq = clamp(requantize(V, s_x / (β_ξ β_ν s_V)))          8 bits per component
//   P  = Σ_c Uq · Vq              int32 per component and output channel
//   Z  = round(P · s_U s_V 2^F / s_y)                       int64, F fractional bits
//   Y  = A'ᵀ Z A' + bias·2^F α² / s_y                        int64 (A' = α Aᵀ, α a power of two)
//   y  = clamp(round(Y / 2^(F + 2 log2 α)) + y_zp, qmin, qmax)
// Overflow analysis: the worst case of every stage is bounded from the bit
// widths, the transform entries and the channel count; a stage that could
// leave its type is refused (V, P: int32) or F is lowered until Y fits int64.
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

}  // namespace

Node lower_int8(Graph& g, const Node& conv, ValueId x, const QuantIO& io) {
  const int m = static_cast<int>(conv.attrs.get_int(attr::kTile, 0));
  const Tensor* uq = conv.attrs.get_tensor(attr::kU);
  if ((m != 2 && m != 4 && m != 6) || !uq) throw Error(conv.name + ": incomplete Winograd plan");
  const Transforms t = generate(m, 3, default_points(m, 3));
  const int nt = t.n(), nn = nt * nt;
  const int64_t M = uq->dim(1), C = uq->dim(2);
  const auto uscale = conv.attrs.get_floats(attr::kUScale), vscale = conv.attrs.get_floats(attr::kVScale);
  const auto vunsigned = conv.attrs.get_ints(attr::kVUnsigned);
  const auto bias = conv.attrs.get_floats(attr::kBias);
  if (static_cast<int64_t>(uscale.size()) != nn * M || static_cast<int>(vscale.size()) != nn ||
      static_cast<int>(vunsigned.size()) != nn || static_cast<int64_t>(bias.size()) != M)
    throw Error(conv.name + ": Winograd plan attributes do not fit the layer");

  // Integer transforms.
  std::vector<int64_t> beta(static_cast<size_t>(nt)), bt, at;
  int64_t bt_row_sum = 0;
  for (int a = 0; a < nt; ++a) {
    beta[a] = lcm_of_denominators(t.BT[a]);
    int64_t s = 0;
    for (const auto& v : t.BT[a]) {
      bt.push_back(as_int(v * beta[a]));
      s += std::abs(bt.back());
    }
    bt_row_sum = std::max(bt_row_sum, s);
  }
  int64_t alpha = 1;
  for (const auto& row : t.AT) alpha = std::lcm(alpha, lcm_of_denominators(row));
  if (alpha & (alpha - 1)) throw Error(conv.name + ": the output transform's scaling is not a power of two");
  const int at_shift = 2 * static_cast<int>(std::log2(static_cast<double>(alpha)) + 0.5);
  int64_t at_row_sum = 0;
  for (const auto& row : t.AT) {
    int64_t s = 0;
    for (const auto& v : row) {
      at.push_back(as_int(v * alpha));
      s += std::abs(at.back());
    }
    at_row_sum = std::max(at_row_sum, s);
  }

  // Stage bounds.
  const int64_t dmax = io.x_type == DataType::u8 ? std::max<int64_t>(io.x_zp, 255 - io.x_zp)
                                                 : std::max<int64_t>(128 + io.x_zp, 127 - io.x_zp);
  const int64_t vbound = dmax * bt_row_sum * bt_row_sum;
  if (vbound > INT32_MAX)
    throw Error(fmt::format("layer '{}': the Winograd input transform could reach {} (beyond int32)", conv.name, vbound));
  int64_t umax = 0;
  for (int64_t i = 0; i < uq->numel(); ++i) umax = std::max<int64_t>(umax, std::abs(uq->data<int8_t>()[i]));
  const int64_t pbound = C * umax * 255;
  if (pbound > INT32_MAX)
    throw Error(fmt::format("layer '{}': Winograd products over {} channels could overflow int32", conv.name, C));

  std::vector<int64_t> vmult, vshift, vmin, vmax;
  for (int k = 0; k < nn; ++k) {
    const Requant r = make_requant(io.x_scale / (static_cast<double>(beta[k / nt] * beta[k % nt]) * vscale[k]));
    vmult.push_back(r.multiplier);
    vshift.push_back(r.shift);
    vmin.push_back(vunsigned[k] ? 0 : -127);
    vmax.push_back(vunsigned[k] ? 255 : 127);
  }
  // F: as many fractional bits as keep every stage in range (at most 16).
  int F = 16;
  std::vector<int64_t> zmult, zshift, bias_acc;
  for (;; --F) {
    if (F < 1) throw Error(fmt::format("layer '{}': no fixed-point format keeps the Winograd output in int64", conv.name));
    zmult.clear();
    zshift.clear();
    bias_acc.clear();
    double zbound = 0, bbound = 0;
    bool fits = true;
    for (int k = 0; k < nn && fits; ++k)
      for (int64_t o = 0; o < M; ++o) {
        const double f = static_cast<double>(uscale[static_cast<size_t>(k) * M + o]) * vscale[k] * std::ldexp(1.0, F) /
                         io.y_scale;
        if (f >= 0x1p29) {
          fits = false;
          break;
        }
        const Requant r = make_requant(f);
        zmult.push_back(r.multiplier);
        zshift.push_back(r.shift);
        zbound = std::max(zbound, static_cast<double>(pbound) * f + 1);
      }
    if (!fits) continue;
    for (int64_t o = 0; o < M; ++o) {
      const double b = std::nearbyint(bias[o] * std::ldexp(1.0, F + at_shift) / io.y_scale);
      bbound = std::max(bbound, std::fabs(b));
      bias_acc.push_back(static_cast<int64_t>(b));
    }
    const double ybound = zbound * static_cast<double>(at_row_sum * at_row_sum) + bbound;
    if (ybound < 0x1p62) break;
  }

  Node q;
  q.name = conv.name;
  q.domain = ops::qattr::kDomain;
  q.op = "QWinogradConv";
  q.inputs = {x, g.add_constant(g.unique_value_name(conv.name + "_winograd_uq"), *uq)};
  for (const char* a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
    if (conv.attrs.has(a)) q.attrs.set(a, conv.attrs.all().at(a));
  q.attrs.set("tile", static_cast<int64_t>(m));
  q.attrs.set("bt", bt);
  q.attrs.set("at", at);
  q.attrs.set(ops::qattr::kXZeroPoint, io.x_zp);
  q.attrs.set("v_multiplier", vmult);
  q.attrs.set("v_shift", vshift);
  q.attrs.set("v_qmin", vmin);
  q.attrs.set("v_qmax", vmax);
  q.attrs.set("z_multiplier", zmult);
  q.attrs.set("z_shift", zshift);
  q.attrs.set("bias_acc", bias_acc);
  q.attrs.set("out_shift", static_cast<int64_t>(F + at_shift));
  q.attrs.set(ops::qattr::kYType, std::string(io.y_type == DataType::u8 ? "uint8" : "int8"));
  q.attrs.set(ops::qattr::kYZeroPoint, io.y_zp);
  q.attrs.set(ops::qattr::kQMin, io.qmin);
  q.attrs.set(ops::qattr::kQMax, io.qmax);
  return q;
}

}  // namespace winq::winograd
