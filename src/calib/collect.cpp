// Statistics collection: two passes of the float executor over the
// calibration images (ranges and moments, then histograms, deviations and the
// per-tap input means that bias correction needs).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <cmath>
#include <numeric>
#include <random>

#include "../runtime/ops/window.hpp"
#include "winq/calib.hpp"
#include "winq/runtime.hpp"
#include "winq/winograd.hpp"

namespace winq {

namespace {

struct Accum {
  int64_t count = 0, nonfinite = 0, zeros = 0;
  double min = INFINITY, max = -INFINITY, sum = 0, sumsq = 0, abs_sum = 0, dev_sum = 0;
  std::vector<double> hist;
};

void add_moments(Accum& a, double f) {
  if (!std::isfinite(f)) {
    ++a.nonfinite;
    return;
  }
  ++a.count;
  a.zeros += f == 0;
  a.min = std::min(a.min, f);
  a.max = std::max(a.max, f);
  a.sum += f;
  a.sumsq += f * f;
  a.abs_sum += std::fabs(f);
}

// Second pass: histogram of |x| over [0, abs_max] and the deviation from the mean.
struct HistPass {
  double mean, scale;
  int bins;
  explicit HistPass(Accum& a, int nbins) : bins(nbins) {
    mean = a.count ? a.sum / a.count : 0;
    const double amax = a.count ? std::max(-a.min, a.max) : 0;
    scale = amax > 0 ? bins / amax : 0;
    a.hist.resize(static_cast<size_t>(bins), 0.0);
  }
  void add(Accum& a, double f) const {
    if (!std::isfinite(f)) return;
    a.dev_sum += std::fabs(f - mean);
    a.hist[static_cast<size_t>(std::min<int64_t>(bins - 1, static_cast<int64_t>(std::fabs(f) * scale)))] += 1;
  }
};

TensorStats finish(const Accum& a) {
  TensorStats s;
  s.count = a.count;
  s.nonfinite = a.nonfinite;
  s.zeros = a.zeros;
  if (a.count) {
    s.min = a.min;
    s.max = a.max;
    s.mean = a.sum / a.count;
    s.std = std::sqrt(std::max(0.0, a.sumsq / a.count - s.mean * s.mean));
    s.mad = a.dev_sum / a.count;
    const int64_t nz = a.count - a.zeros;
    s.abs_mean_nonzero = nz ? a.abs_sum / nz : 0;
    s.rms_nonzero = nz ? std::sqrt(a.sumsq / nz) : 0;
  }
  s.hist = a.hist;
  return s;
}

// The Winograd-domain input of a 3×3 stride-1 conv for one tile size: every
// component (ξ, ν) of V = Bᵀ d B over all tiles, channels and images.
struct WinogradReader {
  int node;
  int m;
  bool one_d;
  std::vector<Accum> comp;  // n·n (2-D) or n (1-D)
  winograd::TileMatrices t;  // the default transforms, or the layer's learned ones
  std::vector<double> channel_max = {};  // [c·comp.size() + k] (WinogradStats::channel_max)
};

// Calls fn(channel, component, value) for every tile of every channel of x (zero outside the image).
template <class Fn>
void for_each_component(const Node& n, const Tensor& x, const winograd::TileMatrices& t, Fn&& fn) {
  const int m = t.m;
  const int nt = t.n;
  ops::Window win = ops::make_window(n.attrs, x.shape(), {3, 3}, false, n.name);
  const int64_t N = x.dim(0), C = x.dim(1), H = win.in[0], W = win.in[1];
  const int64_t TH = (win.out[0] + m - 1) / m, TW = (win.out[1] + m - 1) / m;
  double d[64], tmp[64];
  for (int64_t img = 0; img < N; ++img)
    for (int64_t c = 0; c < C; ++c) {
      const float* plane = x.data<float>() + (img * C + c) * H * W;
      for (int64_t ty = 0; ty < TH; ++ty)
        for (int64_t tx = 0; tx < TW; ++tx) {
          const int64_t y0 = ty * m - win.pad_begin[0], x0 = tx * m - win.pad_begin[1];
          for (int i = 0; i < nt; ++i)
            for (int j = 0; j < nt; ++j) {
              const int64_t iy = y0 + i, ix = x0 + j;
              d[i * nt + j] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? plane[iy * W + ix] : 0.0;
            }
          for (int a = 0; a < nt; ++a)
            for (int j = 0; j < nt; ++j) {
              double s = 0;
              for (int i = 0; i < nt; ++i) s += t.BT[a * nt + i] * d[i * nt + j];
              tmp[a * nt + j] = s;
            }
          for (int a = 0; a < nt; ++a)
            for (int b = 0; b < nt; ++b) {
              double s = 0;
              for (int j = 0; j < nt; ++j) s += tmp[a * nt + j] * t.BT[b * nt + j];
              fn(c, a * nt + b, s);
            }
        }
    }
}

// The 1-D variant F(m×1, 3×3): every input row the engine transforms — row
// oy + ky of the padded input for each output row oy and kernel row ky — as
// V[j] = Σ_i Bᵀ[j][i] · d[i] along tiles of n columns (zero outside).
template <class Fn>
void for_each_component_1d(const Node& n, const Tensor& x, const winograd::TileMatrices& t, Fn&& fn) {
  const int m = t.m;
  const int nt = t.n;
  ops::Window win = ops::make_window(n.attrs, x.shape(), {3, 3}, false, n.name);
  const int64_t N = x.dim(0), C = x.dim(1), H = win.in[0], W = win.in[1];
  const int64_t OH = win.out[0], TW = (win.out[1] + m - 1) / m;
  double d[8];
  for (int64_t img = 0; img < N; ++img)
    for (int64_t c = 0; c < C; ++c) {
      const float* plane = x.data<float>() + (img * C + c) * H * W;
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int ky = 0; ky < 3; ++ky) {
          const int64_t iy = oy + ky - win.pad_begin[0];
          for (int64_t tx = 0; tx < TW; ++tx) {
            const int64_t x0 = tx * m - win.pad_begin[1];
            for (int i = 0; i < nt; ++i) {
              const int64_t ix = x0 + i;
              d[i] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? plane[iy * W + ix] : 0.0;
            }
            for (int j = 0; j < nt; ++j) {
              double s = 0;
              for (int i = 0; i < nt; ++i) s += t.BT[j * nt + i] * d[i];
              fn(c, j, s);
            }
          }
        }
    }
}

template <class Fn>
void for_each_reader_component(const Node& n, const Tensor& x, const WinogradReader& r, Fn&& fn) {
  if (r.one_d)
    for_each_component_1d(n, x, r.t, fn);
  else
    for_each_component(n, x, r.t, fn);
}

// Reads of a value by Conv/Gemm nodes whose tap means are wanted.
struct TapReader {
  int node;
  std::vector<double> sum;
  int64_t positions = 0;  // output positions summed (images × OH × OW, or rows)
};

void add_conv_taps(const Node& n, const Tensor& x, const Shape& w_shape, TapReader& r) {
  const Shape& xs = x.shape();
  ops::Window win = ops::make_window(n.attrs, xs, {w_shape[2], w_shape[3]}, false, n.name);
  const int64_t N = xs[0], C = xs[1], H = win.in[0], W = win.in[1], KH = win.k[0], KW = win.k[1];
  r.sum.resize(static_cast<size_t>(C * KH * KW), 0.0);
  const float* d = x.data<float>();
  for (int64_t img = 0; img < N; ++img)
    for (int64_t c = 0; c < C; ++c) {
      const float* plane = d + (img * C + c) * H * W;
      for (int64_t ky = 0; ky < KH; ++ky)
        for (int64_t kx = 0; kx < KW; ++kx) {
          double s = 0;
          for (int64_t oy = 0; oy < win.out[0]; ++oy) {
            const int64_t iy = oy * win.s[0] - win.pad_begin[0] + ky * win.d[0];
            if (iy < 0 || iy >= H) continue;
            for (int64_t ox = 0; ox < win.out[1]; ++ox) {
              const int64_t ix = ox * win.s[1] - win.pad_begin[1] + kx * win.d[1];
              if (ix >= 0 && ix < W) s += plane[iy * W + ix];
            }
          }
          r.sum[static_cast<size_t>((c * KH + ky) * KW + kx)] += s;
        }
    }
  r.positions += N * win.out[0] * win.out[1];
}

void add_gemm_taps(const Tensor& x, TapReader& r) {
  const int64_t N = x.dim(0), K = x.dim(1);
  r.sum.resize(static_cast<size_t>(K), 0.0);
  const float* d = x.data<float>();
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < K; ++k) r.sum[static_cast<size_t>(k)] += d[i * K + k];
  r.positions += N;
}

}  // namespace

Dataset sample_images(const Dataset& data, int64_t count, uint64_t seed) {
  const int64_t n = data.size();
  if (count <= 0 || count >= n) return data;
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < count; ++i)  // partial Fisher–Yates: the first `count` are the sample
    std::swap(idx[i], idx[i + static_cast<int64_t>(rng() % static_cast<uint64_t>(n - i))]);
  idx.resize(static_cast<size_t>(count));
  std::sort(idx.begin(), idx.end());
  Dataset out;
  Shape s = data.images.shape();
  s[0] = count;
  out.images = Tensor(DataType::f32, s);
  const int64_t per = data.images.numel() / n;
  for (int64_t i = 0; i < count; ++i) {
    std::copy_n(data.images.data<float>() + idx[i] * per, per, out.images.data<float>() + i * per);
    out.labels.push_back(data.labels[static_cast<size_t>(idx[i])]);
  }
  out.class_names = data.class_names;
  out.source = data.source;
  return out;
}

CalibrationStats collect_stats(const Graph& model, const Dataset& data, const CalibrateOptions& opt) {
  if (data.size() == 0) throw Error("calibration needs at least one image");
  if (opt.bins < 16) throw Error("calibration needs at least 16 histogram bins");
  require_finite_constants(model);
  BatchedExecutor runner(model, opt.threads);
  const int64_t N = data.size(), batch = std::max<int64_t>(1, opt.batch);
  const Graph& g = runner.for_input(slice_batch(data.images, 0, std::min(batch, N)).shape()).graph();

  std::vector<Accum> acc(g.values.size());
  std::vector<char> wanted(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v)
    wanted[v] = !g.values[v].is_constant() && g.values[v].dtype == DataType::f32;
  std::vector<std::vector<TapReader>> taps(g.values.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const bool conv = n.op == "Conv" && g.values[n.inputs[1]].shape.size() == 4;
    const bool gemm = n.op == "Gemm" && n.attrs.get_int("transA", 0) == 0;
    if (n.domain.empty() && (conv || gemm) && g.values[n.inputs[1]].is_constant())
      taps[n.inputs[0]].push_back({static_cast<int>(i), {}, 0});
  }
  std::vector<std::vector<WinogradReader>> wino(g.values.size());
  if (opt.winograd) {
    std::map<int, winograd::TileMatrices> defaults;
    for (int m : {2, 4, 6}) defaults[m] = winograd::tile_matrices(m);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      auto add = [&](const winograd::TileMatrices& t, bool one_d) {
        const auto comps = static_cast<size_t>(one_d ? t.n : t.n * t.n);
        wino[n.inputs[0]].push_back({static_cast<int>(i), t.m, one_d, std::vector<Accum>(comps), t});
      };
      if (n.op == "Conv" && n.domain.empty() && winograd::has_learned_transforms(n))
        add(winograd::learned_transforms(n), false);  // a learned layer runs only as its own 2-D Winograd
      else if (winograd::winograd_eligible(g, i))
        for (bool one_d : {false, true})
          for (int m : {2, 4, 6}) add(defaults[m], one_d);
    }
  }

  int64_t done = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t b = 0; b < N; b += batch) {
      const int64_t n = std::min(batch, N - b);
      Tensor x = slice_batch(data.images, b, n);
      FloatExecutor& ex = runner.for_input(x.shape());
      const Graph& eg = ex.graph();
      ex.set_observer([&](ValueId v, const Tensor& t) {
        if (!wanted[v]) return;
        if (eg.values[v].name != g.values[v].name) throw Error("internal: calibration graphs differ between batch sizes");
        Accum& a = acc[v];
        const float* d = t.data<float>();
        if (pass == 0) {
          for (int64_t i = 0; i < t.numel(); ++i) add_moments(a, d[i]);
          for (WinogradReader& r : wino[v]) {
            const auto comps = static_cast<int64_t>(r.comp.size());
            r.channel_max.resize(static_cast<size_t>(t.dim(1) * comps), 0.0);
            for_each_reader_component(eg.nodes[r.node], t, r, [&](int64_t c, int k, double f) {
              add_moments(r.comp[k], f);
              double& mx = r.channel_max[static_cast<size_t>(c * comps + k)];
              mx = std::max(mx, std::fabs(f));
            });
          }
          return;
        }
        const HistPass hp(a, opt.bins);
        for (int64_t i = 0; i < t.numel(); ++i) hp.add(a, d[i]);
        for (WinogradReader& r : wino[v]) {
          std::vector<HistPass> hps;
          for (Accum& ca : r.comp) hps.emplace_back(ca, kWinogradBins);
          for_each_reader_component(eg.nodes[r.node], t, r, [&](int64_t, int k, double f) { hps[k].add(r.comp[k], f); });
        }
        for (TapReader& r : taps[v]) {
          const Node& node = eg.nodes[r.node];
          if (node.op == "Conv")
            add_conv_taps(node, t, eg.values[node.inputs[1]].shape, r);
          else
            add_gemm_taps(t, r);
        }
      });
      ex.run({x});
      done += n;
      if (opt.progress) opt.progress(done, 2 * N);
    }
  }

  CalibrationStats st;
  st.images = N;
  st.bins = opt.bins;
  st.data_source = {data.source};
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (!wanted[v]) continue;
    TensorStats s = finish(acc[v]);
    st.tensors[g.values[v].name] = std::move(s);
    for (const TapReader& r : taps[v]) {
      std::vector<double> m(r.sum.size());
      for (size_t i = 0; i < m.size(); ++i) m[i] = r.positions ? r.sum[i] / r.positions : 0;
      st.tap_mean[g.nodes[r.node].name] = std::move(m);
    }
    for (const WinogradReader& r : wino[v]) {
      WinogradStats ws;
      ws.m = r.m;
      ws.one_d = r.one_d;
      for (const Accum& ca : r.comp) ws.components.push_back(finish(ca));
      ws.channel_max.assign(r.channel_max.begin(), r.channel_max.end());
      st.winograd[g.nodes[r.node].name].push_back(std::move(ws));
    }
  }
  return st;
}

}  // namespace winq
