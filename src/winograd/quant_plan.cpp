// Post-training quantization of a Winograd layer: U = G g Gᵀ in float64 from
// the float weights, then quantized per component and output channel; one
// input scale per component of V = Bᵀ d B from the calibration statistics.
// A layer with learned transforms uses its own G and Bᵀ (the statistics were
// collected with them).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "winq/error.hpp"
#include "winq/graph.hpp"
#include "winq/winograd.hpp"

namespace winq::winograd {

void attach_int8_plan(Node& n, const Tensor& w, const std::vector<double>& bias, const WinogradStats& st,
                      bool input_unsigned, const Int8Options& opt) {
  const int m = opt.m;
  const bool learned = has_learned_transforms(n);
  const TileMatrices t = learned ? learned_transforms(n) : tile_matrices(m);
  if (learned && (t.m != m || opt.one_d))
    throw Error(fmt::format("{}: its learned transforms are F({},3), 2-D only", n.name, t.m));
  const int nt = t.n, nn = opt.one_d ? nt : nt * nt;  // components
  if (st.m != m || st.one_d != opt.one_d || static_cast<int>(st.components.size()) != nn)
    throw Error(fmt::format("{}: Winograd statistics are for F({}{},3), not F({}{},3)", n.name, st.m,
                            st.one_d ? "×1" : "", m, opt.one_d ? "×1" : ""));
  const int64_t M = w.dim(0), Cw = w.dim(1), C = opt.one_d ? 3 * Cw : Cw;  // C: the GEMM's reduction
  // U in float64, component-major: G g Gᵀ (2-D), or per kernel row g Gᵀ (1-D, index ky·C + c).
  std::vector<double> U(static_cast<size_t>(nn * M * C));
  if (opt.one_d)
    for (int64_t o = 0; o < M; ++o)
      for (int64_t c = 0; c < Cw; ++c)
        for (int ky = 0; ky < 3; ++ky)
          for (int j = 0; j < nt; ++j) {
            double s = 0;
            for (int kx = 0; kx < 3; ++kx) s += t.G[j * 3 + kx] * w.data<float>()[((o * Cw + c) * 3 + ky) * 3 + kx];
            U[(static_cast<size_t>(j) * M + o) * C + ky * Cw + c] = s;
          }
  if (!opt.one_d) U = transform_weights_f64(w, t);
  // Input components: unsigned where both transform rows are non-negative and the input is.
  std::vector<int64_t> vunsigned(static_cast<size_t>(nn), 0);
  auto row_nonneg = [&](int a) {
    for (int j = 0; j < nt; ++j)
      if (t.BT[a * nt + j] < 0) return false;
    return true;
  };
  if (opt.one_d)
    for (int j = 0; j < nt; ++j) vunsigned[j] = input_unsigned && row_nonneg(j);
  else
    for (int a = 0; a < nt; ++a)
      for (int b = 0; b < nt; ++b) vunsigned[a * nt + b] = input_unsigned && row_nonneg(a) && row_nonneg(b);
  std::vector<float> vscale(static_cast<size_t>(nn));
  double all_clip = 0;
  std::vector<double> clip(static_cast<size_t>(nn));
  const std::vector<float> trained = opt.trained_ranges && !opt.one_d && n.attrs.get_int(attr::kTrainedTile, 0) == m
                                         ? n.attrs.get_floats(attr::kTrainedVMax)
                                         : std::vector<float>{};
  if (!trained.empty() && static_cast<int>(trained.size()) != nn)
    throw Error(fmt::format("{}: trained Winograd ranges for {} components, the tile has {}", n.name, trained.size(), nn));
  for (int k = 0; k < nn; ++k) {
    if (!trained.empty()) {
      if (!(trained[k] > 0) || !std::isfinite(trained[k]))
        throw Error(fmt::format("{}: trained Winograd range {} of component {} is not a positive number", n.name,
                                trained[k], k));
      clip[k] = trained[k];
      all_clip = std::max(all_clip, clip[k]);
      continue;
    }
    ClipOptions co;
    co.bits = opt.abits;
    co.is_unsigned = vunsigned[k];
    co.percentile = opt.percentile;
    clip[k] = clip_value(st.components[k], opt.calibrator, co);
    all_clip = std::max(all_clip, clip[k]);
  }
  for (int k = 0; k < nn; ++k) {
    if (!opt.per_component) vunsigned[k] = 0;  // one signed scale for the whole tensor
    const double c = opt.per_component ? clip[k] : all_clip;
    vscale[k] = static_cast<float>(c / quant_max(opt.abits, vunsigned[k]));
  }
  // Per input channel (opt.channel_scales): channel c's step for component k
  // is vscale[k]·f with f = (max_c / clip_k)^α in [2^−8, 1] (max_c: the largest
  // |V| of that channel in calibration), so a channel whose components stay
  // far below the layer's clip keeps more of its 8 bits. The factor moves into
  // the weights, Σ_c U·V = vscale[k] Σ_c (U·f)·(V / (vscale[k]·f)), so the GEMM
  // still sums over channels at one scale: α = 1 spends it all on V; smaller α
  // leaves the weights of quiet channels more of their precision.
  std::vector<float> vchannel;
  if (opt.channel_scales && opt.per_component) {
    if (st.channel_max.size() != static_cast<size_t>(nn * Cw))
      throw Error(fmt::format("{}: no per-channel Winograd statistics for F({}{},3) over {} channels: recollect them "
                              "with winq calibrate (or use --winograd-scales component)",
                              n.name, m, opt.one_d ? "×1" : "", Cw));
    if (!(opt.channel_alpha >= 0 && opt.channel_alpha <= 1))
      throw Error(fmt::format("the per-channel Winograd exponent must lie in [0, 1], not {}", opt.channel_alpha));
    vchannel.resize(static_cast<size_t>(nn * Cw));
    for (int k = 0; k < nn; ++k)
      for (int64_t c = 0; c < Cw; ++c) {
        const double r = clip[k] > 0 ? st.channel_max[static_cast<size_t>(c * nn + k)] / clip[k] : 1.0;
        // In float first: the lowering divides V's step by this same value.
        const double f = static_cast<float>(std::clamp(std::pow(std::min(r, 1.0), opt.channel_alpha), 0x1p-8, 1.0));
        vchannel[static_cast<size_t>(k * Cw + c)] = static_cast<float>(f);
        for (int64_t o = 0; o < M; ++o)
          if (opt.one_d)
            for (int ky = 0; ky < 3; ++ky) U[(static_cast<size_t>(k) * M + o) * C + ky * Cw + c] *= f;
          else
            U[(static_cast<size_t>(k) * M + o) * C + c] *= f;
      }
  }
  // Weight scales: symmetric, max |U| over the input channels of (component, output channel),
  // or over all components of the output channel (per tensor in the Winograd domain).
  const int qw = quant_max(opt.wbits, false);
  std::vector<float> uscale(static_cast<size_t>(nn * M));
  for (int64_t o = 0; o < M; ++o) {
    double all = 0;
    std::vector<double> per(static_cast<size_t>(nn), 0.0);
    for (int k = 0; k < nn; ++k)
      for (int64_t c = 0; c < C; ++c) per[k] = std::max(per[k], std::fabs(U[(static_cast<size_t>(k) * M + o) * C + c]));
    for (double v : per) all = std::max(all, v);
    for (int k = 0; k < nn; ++k) {
      const double mx = opt.per_component ? per[k] : all;
      uscale[static_cast<size_t>(k) * M + o] = static_cast<float>(mx > 0 ? mx / qw : 1.0);
    }
  }
  Tensor uq(DataType::s8, {nn, M, C});
  for (int k = 0; k < nn; ++k)
    for (int64_t o = 0; o < M; ++o)
      for (int64_t c = 0; c < C; ++c) {
        const size_t i = (static_cast<size_t>(k) * M + o) * C + c;
        const double q = std::nearbyint(U[i] / uscale[static_cast<size_t>(k) * M + o]);
        uq.data<int8_t>()[i] = static_cast<int8_t>(std::clamp<double>(q, -qw, qw));
      }
  n.attrs.set(attr::kTile, static_cast<int64_t>(m));
  if (opt.one_d)
    n.attrs.set(attr::kOneD, int64_t{1});
  else
    n.attrs.erase(attr::kOneD);
  n.attrs.set(attr::kU, uq);
  n.attrs.set(attr::kUScale, uscale);
  n.attrs.set(attr::kVScale, vscale);
  n.attrs.set(attr::kVUnsigned, vunsigned);
  n.attrs.set(attr::kBias, std::vector<float>(bias.begin(), bias.end()));
  if (vchannel.empty())
    n.attrs.erase(attr::kVChannel);
  else
    n.attrs.set(attr::kVChannel, vchannel);
}

}  // namespace winq::winograd
