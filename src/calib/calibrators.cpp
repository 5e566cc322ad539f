// Calibrators: clipping values from TensorStats. Each one is a pure function
// of the statistics; all of them work on the histogram of |x| (symmetric
// quantization), so signed and unsigned tensors differ only in the number of
// levels above zero (qmax).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "winq/calib.hpp"

namespace winq {

namespace {

struct Named {
  Calibrator c;
  const char* name;
};
constexpr Named kNames[] = {{Calibrator::max, "max"},
                            {Calibrator::pow2, "pow2"},
                            {Calibrator::percentile, "percentile"},
                            {Calibrator::mse, "mse"},
                            {Calibrator::kl, "kl"},
                            {Calibrator::aciq_laplace, "aciq-laplace"},
                            {Calibrator::aciq_gauss, "aciq-gauss"}};

double percentile_clip(const std::vector<double>& hist, double bw, double p) {
  double total = 0;
  for (double h : hist) total += h;
  const double target = total * p / 100.0;
  double cum = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    if (cum + hist[i] >= target && hist[i] > 0)  // interpolate inside the bin
      return bw * (static_cast<double>(i) + (target - cum) / hist[i]);
    cum += hist[i];
  }
  return bw * static_cast<double>(hist.size());
}

double mse_clip(const std::vector<double>& hist, double bw, int32_t qmax) {
  // Candidates: every bin's upper edge; errors from prefix sums in O(bins).
  const size_t n = hist.size();
  std::vector<double> h(n + 1, 0), hx(n + 1, 0), hxx(n + 1, 0);  // suffix sums from bin i
  for (size_t i = n; i-- > 0;) {
    const double x = (static_cast<double>(i) + 0.5) * bw;
    h[i] = h[i + 1] + hist[i];
    hx[i] = hx[i + 1] + hist[i] * x;
    hxx[i] = hxx[i + 1] + hist[i] * x * x;
  }
  double best = std::numeric_limits<double>::infinity(), best_c = bw * static_cast<double>(n);
  for (size_t i = 1; i <= n; ++i) {
    const double c = bw * static_cast<double>(i);
    const double step = c / qmax;
    // Bins [0, i) are inside (rounding noise step²/12), bins [i, n) are clipped to c.
    const double clipped = hxx[i] - 2 * c * hx[i] + c * c * h[i];
    const double err = (h[0] - h[i]) * step * step / 12.0 + clipped;
    if (err < best) {
      best = err;
      best_c = c;
    }
  }
  return best_c;
}

// TensorRT's entropy calibration: the threshold whose quantized distribution
// (qmax + 1 levels of |x|) has the smallest KL divergence from the clipped one.
double kl_clip(const std::vector<double>& hist, double bw, int32_t qmax) {
  const size_t n = hist.size(), levels = static_cast<size_t>(qmax) + 1;
  if (levels >= n) return bw * static_cast<double>(n);
  double best = std::numeric_limits<double>::infinity();
  size_t best_i = n;
  std::vector<double> p, q;
  // Thresholds from 1/16 of the range up, as TensorRT's 128..2048 of 2048 bins:
  // below that, a heavy tail folded into one bin can look "close" to a few levels.
  for (size_t i = std::max(levels, n / 16); i <= n; ++i) {
    p.assign(hist.begin(), hist.begin() + static_cast<std::ptrdiff_t>(i));
    double outliers = 0;
    for (size_t k = i; k < n; ++k) outliers += hist[k];
    p[i - 1] += outliers;
    // Merge the i bins into `levels` groups, then spread each group's mass
    // evenly over its non-empty bins.
    q.assign(i, 0.0);
    for (size_t l = 0; l < levels; ++l) {
      const size_t b0 = l * i / levels, b1 = (l + 1) * i / levels;
      double mass = 0;
      size_t nonzero = 0;
      for (size_t k = b0; k < b1; ++k) {
        mass += hist[k];
        nonzero += hist[k] > 0;
      }
      for (size_t k = b0; k < b1; ++k)
        if (hist[k] > 0) q[k] = mass / static_cast<double>(nonzero);
    }
    double ps = 0, qs = 0;
    for (size_t k = 0; k < i; ++k) ps += p[k], qs += q[k];
    if (ps <= 0 || qs <= 0) continue;
    double kl = 0;
    for (size_t k = 0; k < i; ++k) {
      if (p[k] <= 0) continue;
      const double pk = p[k] / ps, qk = q[k] > 0 ? q[k] / qs : 1e-12;  // TensorRT-style smoothing
      kl += pk * std::log(pk / qk);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return bw * static_cast<double>(best_i);
}

}  // namespace

Calibrator parse_calibrator(const std::string& s) {
  for (const auto& n : kNames)
    if (s == n.name) return n.c;
  throw Error(fmt::format("unknown calibrator '{}' (choose from {})", s, fmt::join(calibrator_names(), ", ")));
}

const char* calibrator_name(Calibrator c) {
  for (const auto& n : kNames)
    if (c == n.c) return n.name;
  return "?";
}

std::vector<std::string> calibrator_names() {
  std::vector<std::string> r;
  for (const auto& n : kNames) r.push_back(n.name);
  return r;
}

int32_t quant_max(int bits, bool is_unsigned) {
  if (bits < 2 || bits > 8) throw Error(fmt::format("{} bits: winq quantizes to 2..8 bits", bits));
  return is_unsigned ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
}

double clip_value(const TensorStats& s, Calibrator c, const ClipOptions& o) {
  const int32_t qmax = quant_max(o.bits, o.is_unsigned);
  const double amax = s.abs_max();
  if (!std::isfinite(s.min) || !std::isfinite(s.max) || !std::isfinite(s.mean) || !std::isfinite(s.std))
    throw Error("calibration statistics are not finite");
  if (s.count == 0 || amax == 0) return 1.0;  // all zero (or nothing seen): any scale is exact
  const double bw = s.hist.empty() ? 0 : amax / static_cast<double>(s.hist.size());
  const bool have_hist = !s.hist.empty();
  double clip = amax;
  switch (c) {
    case Calibrator::max: break;
    case Calibrator::pow2: return std::exp2(std::ceil(std::log2(amax / qmax))) * qmax;
    case Calibrator::percentile:
      if (!(o.percentile > 0 && o.percentile <= 100)) throw Error("the percentile must be in (0, 100]");
      if (!have_hist) throw Error("percentile calibration needs a histogram");
      clip = percentile_clip(s.hist, bw, o.percentile);
      break;
    case Calibrator::mse:
    case Calibrator::kl: {
      if (!have_hist) throw Error("MSE and KL calibration need a histogram");
      // Exact zeros (most of a ReLU output) are represented exactly by any
      // clip; left in, their spike dominates the KL of the first bin.
      std::vector<double> h = s.hist;
      h[0] = std::max(0.0, h[0] - static_cast<double>(s.zeros));
      clip = c == Calibrator::mse ? mse_clip(h, bw, qmax) : kl_clip(h, bw, qmax);
      break;
    }
    case Calibrator::aciq_laplace:
    case Calibrator::aciq_gauss: {
      // Signed: a two-sided prior around the mean, 2^bits levels. Unsigned
      // (after ReLU): the positive half of a zero-mean prior, fitted on the
      // non-zero values; [0, α] with 2^bits levels has the step of [−α, α]
      // with 2^(bits+1), hence bits + 1.
      const bool laplace = c == Calibrator::aciq_laplace;
      const int m = o.is_unsigned ? o.bits + 1 : o.bits;
      const double unit = o.is_unsigned ? (laplace ? s.abs_mean_nonzero : s.rms_nonzero) : (laplace ? s.mad : s.std);
      const double alpha = laplace ? aciq_alpha_laplace(m) : aciq_alpha_gauss(m);
      clip = alpha * unit + (o.is_unsigned ? 0.0 : std::fabs(s.mean));
      break;
    }
  }
  // Never beyond the largest value seen, never zero.
  clip = std::min(clip, amax);
  if (!(clip > 0)) clip = bw > 0 ? bw : amax;
  return clip;
}

double histogram_mse(const std::vector<double>& hist, double bin_width, double c, int32_t qmax) {
  const double step = c / qmax;
  double err = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    const double x = (static_cast<double>(i) + 0.5) * bin_width;
    err += hist[i] * (x > c ? (x - c) * (x - c) : step * step / 12.0);
  }
  return err;
}

}  // namespace winq
