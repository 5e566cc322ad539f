// Calibration: statistics of every activation over a set of images, collected
// once and saved as JSON, and the calibrators that turn them into clipping
// values. Each calibrator is a pure function of the statistics.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "winq/data.hpp"
#include "winq/graph.hpp"

namespace winq {

// Statistics of one tensor over all calibration images.
struct TensorStats {
  int64_t count = 0;     // finite values seen
  int64_t nonfinite = 0; // NaN or ±Inf values seen (they are left out of everything else)
  int64_t zeros = 0;     // values exactly 0 (e.g. cut by a ReLU)
  double min = 0, max = 0, mean = 0, std = 0;
  double mad = 0;       // mean absolute deviation from the mean (the Laplace scale b)
  double abs_mean_nonzero = 0, rms_nonzero = 0;  // over the non-zero values (half-distributions after ReLU)
  // Histogram of |x| over [0, abs_max] in equal bins (abs_max = max(|min|, |max|)).
  std::vector<double> hist;
  double abs_max() const { return std::max(-min, max); }
  bool nonnegative() const { return min >= 0; }
};

// For each Conv/Gemm node (by name), the mean of the input seen by every weight
// tap (input channel × kernel position, zero padding included) over all output
// positions and images: E[conv(x, ΔW)] = Σ ΔW · tap_mean exactly, which is
// what bias correction needs.
// The Winograd-domain input V = Bᵀ d B of a 3×3 stride-1 conv for tile F(m, 3):
// one TensorStats per component (ξ, ν), row-major n × n, histograms of
// kWinogradBins bins. Collected for F2, F4 and F6.
inline constexpr int kWinogradBins = 256;
struct WinogradStats {
  int m = 0;
  bool one_d = false;  // the 1-D variant F(m×1, 3×3): n components (rows transformed), else n·n
  std::vector<TensorStats> components;
  // max |V| of component k over the tiles of input channel c, at [c·components + k]
  // (per-channel input scales, Int8Options::channel_scales). Empty in files
  // written before it was collected.
  std::vector<float> channel_max;
};

struct CalibrationStats {
  std::string model;           // the model file the statistics belong to
  std::vector<std::string> data_source;
  int64_t images = 0;
  uint64_t seed = 0;
  int bins = 2048;
  std::map<std::string, TensorStats> tensors;               // by value name
  std::map<std::string, std::vector<double>> tap_mean;      // by node name
  std::map<std::string, std::vector<WinogradStats>> winograd;  // by node name (eligible convs)
  const WinogradStats* winograd_of(const std::string& node, int m, bool one_d = false) const {
    auto it = winograd.find(node);
    if (it == winograd.end()) return nullptr;
    for (const auto& w : it->second)
      if (w.m == m && w.one_d == one_d) return &w;
    return nullptr;
  }
};

struct CalibrateOptions {
  int64_t batch = 64;
  int threads = 1;
  int bins = 2048;
  bool winograd = true;  // also the Winograd-domain statistics of every 3×3 stride-1 conv
  std::function<void(int64_t, int64_t)> progress;  // (images done of both passes, total)
};

// Two passes of the float executor over `data` (prepared as for evaluation):
// moments and ranges first, then histograms, deviations and tap means. Values
// are named as in prepare(model) with the default passes.
CalibrationStats collect_stats(const Graph& model, const Dataset& data, const CalibrateOptions& opt = {});

// A reproducible subset: `count` images drawn without replacement by `seed`
// (all of them, in order, when count >= data size).
Dataset sample_images(const Dataset& data, int64_t count, uint64_t seed);

void save_stats(const CalibrationStats& s, const std::string& path);  // atomic (temporary file + rename)
CalibrationStats load_stats(const std::string& path);                // clear Error when malformed

// ---- calibrators ----------------------------------------------------------
enum class Calibrator { max, pow2, percentile, mse, kl, aciq_laplace, aciq_gauss };
Calibrator parse_calibrator(const std::string& s);  // max|pow2|percentile|mse|kl|aciq-laplace|aciq-gauss
const char* calibrator_name(Calibrator c);
std::vector<std::string> calibrator_names();

struct ClipOptions {
  int bits = 8;
  bool is_unsigned = false;  // values in [0, clip] with 2^bits levels, else [−clip, clip] with 2^bits − 1
  double percentile = 99.99;
};

// The largest quantized magnitude for these bits: 2^b − 1 unsigned, 2^(b−1) − 1 signed.
int32_t quant_max(int bits, bool is_unsigned);

// Clipping value (> 0, finite) for one tensor. A tensor that is all zero gets
// clip 1 (any scale represents it exactly); non-finite statistics are an Error.
// pow2 returns the clip whose scale clip/qmax is the power of two just above max/qmax.
double clip_value(const TensorStats& s, Calibrator c, const ClipOptions& o);

// Expected squared error of quantizing the histogram's |x| with clip `c`
// (clipping error plus uniform rounding noise step²/12): what `mse` minimises.
double histogram_mse(const std::vector<double>& hist, double bin_width, double c, int32_t qmax);

// ACIQ: the clip, in units of the Laplace scale b (or of σ for a Gaussian),
// that minimises clipping + rounding noise for `bits` bits over [−α, α].
// Derived numerically from the noise model; 2..8 bits give the published
// 2.83 … 9.89 (Laplace) and 1.71 … 3.92 (Gaussian).
double aciq_alpha_laplace(int bits);
double aciq_alpha_gauss(int bits);

}  // namespace winq
