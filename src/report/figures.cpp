// Figures and sections of the report built from winq's own results:
// calibration histograms with each calibrator's clip, per-tensor SQNR of
// quantized plans, and per-layer latency.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "winq/error.hpp"
#include "winq/report.hpp"

namespace winq::report {

HistogramPlot calibration_histogram(const std::string& tensor, const TensorStats& s, int bits) {
  HistogramPlot p;
  ClipOptions o;
  o.bits = bits;
  o.is_unsigned = s.nonnegative();
  p.title = fmt::format("{}: |x| over the calibration images", tensor);
  p.x_label = fmt::format("|x| (clip values for {} bits, {})", bits, o.is_unsigned ? "unsigned" : "signed");
  // At most 256 bars: neighbouring bins are summed (the page stays light).
  const size_t n = s.hist.size(), group = std::max<size_t>(1, (n + 255) / 256);
  p.bin_width = n ? s.abs_max() / static_cast<double>(n) * static_cast<double>(group) : 1;
  for (size_t i = 0; i < n; i += group) {
    double c = 0;
    for (size_t j = i; j < std::min(n, i + group); ++j) c += s.hist[j];
    p.counts.push_back(c);
  }
  for (const std::string& name : calibrator_names()) {
    double clip = std::numeric_limits<double>::quiet_NaN();
    try {
      clip = clip_value(s, parse_calibrator(name), o);
    } catch (const Error&) {
      // a calibrator that refuses these statistics gets no marker
    }
    p.markers.push_back({name, clip});
  }
  return p;
}

LinePlot sqnr_per_tensor(const std::string& title,
                         const std::vector<std::pair<std::string, std::vector<TensorQuantReport>>>& plans) {
  LinePlot p;
  p.title = title;
  p.x_label = "quantized tensor (graph order)";
  p.y_label = "SQNR vs float (dB)";
  if (plans.empty()) return p;
  for (const auto& t : plans.front().second) p.categories.push_back(t.name);
  for (const auto& [name, tensors] : plans) {
    std::map<std::string, double> by;
    for (const auto& t : tensors) by[t.name] = t.sqnr_db;
    Series s{name, {}};
    for (const auto& c : p.categories) {
      auto it = by.find(c);
      // exact tensors (infinite SQNR) have no point to draw
      s.y.push_back(it == by.end() || !std::isfinite(it->second) ? std::numeric_limits<double>::quiet_NaN()
                                                                  : it->second);
    }
    p.series.push_back(std::move(s));
  }
  return p;
}

BarPlot latency_per_layer(const std::string& title, const Graph& prepared, const RunProfile& prof) {
  BarPlot p;
  p.title = title;
  p.x_label = "median latency (ms)";
  Series s{"median ms", {}};
  for (const auto& [node, sec] : prof.nodes) {
    const Node& n = prepared.nodes[static_cast<size_t>(node)];
    p.categories.push_back(fmt::format("{} ({})", n.name, n.op.substr(n.op.rfind('.') + 1)));
    s.y.push_back(1e3 * sec);
  }
  p.series.push_back(std::move(s));
  return p;
}

void add_tensor_errors(Report& r, const std::string& plan, const std::vector<TensorQuantReport>& tensors) {
  r.section("Error per tensor", "Each quantized tensor of the plan against the float model on the same images: "
                                "where the signal-to-quantization-noise ratio falls, that layer breaks.");
  r.figure("sqnr_per_tensor", sqnr_per_tensor("Output SQNR per tensor", {{plan, tensors}}),
           "SQNR = 10·log10(Σ f² / Σ (f − dequantized)²) over the images compared; errors accumulate "
           "from the input onward.");
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tensors)
    rows.push_back({t.name, t.producer, std::to_string(t.bits), t.is_unsigned ? "u" : "s", fmt::format("{:.4g}", t.scale),
                    std::isfinite(t.sqnr_db) ? fmt::format("{:.1f}", t.sqnr_db) : "exact",
                    fmt::format("{:.3f}", 100 * t.clip_rate), fmt::format("{:.2f}", t.entropy_bits)});
  r.table("tensors", {"tensor", "op", "bits", "sign", "scale", "SQNR dB", "clipped %", "entropy bits"}, rows);
}

void add_calibration(Report& r, const CalibrationStats& stats, int bits, const std::string& preferred_tensor) {
  r.section("Calibration",
            fmt::format("Histogram of |x| for each activation over {} calibration images, with the clipping value "
                        "each calibrator picks at {} bits. Pick a tensor from the list.",
                        stats.images, bits));
  std::vector<std::pair<std::string, HistogramPlot>> plots;
  // Shown first: the preferred tensor, else the one where the calibrators
  // disagree most (largest ratio of the largest to the smallest clip).
  size_t shown = 0;
  double widest = 0;
  for (const auto& [name, s] : stats.tensors) {
    if (s.hist.empty() || s.count == 0) continue;
    HistogramPlot h = calibration_histogram(name, s, bits);
    double lo = INFINITY, hi = 0;
    for (const auto& m : h.markers)
      if (std::isfinite(m.second) && m.second > 0) lo = std::min(lo, m.second), hi = std::max(hi, m.second);
    const double spread = std::isfinite(lo) ? hi / lo : 0;
    if (name == preferred_tensor) shown = plots.size(), widest = INFINITY;
    else if (spread > widest) shown = plots.size(), widest = spread;
    plots.push_back({name, std::move(h)});
  }
  if (plots.empty()) {
    r.paragraph("The statistics hold no histograms.");
    return;
  }
  r.figure_choice("calibration_histograms", plots,
                  "Solid and dashed lines alternate between calibrators; hover a line for its value.", shown);
}

void add_latency(Report& r, const std::string& plan, const Graph& prepared, const RunProfile& prof) {
  r.section("Latency per layer", fmt::format("{}: median {:.3f} ms per run.", plan, 1e3 * prof.total_s));
  r.figure("latency_per_layer", latency_per_layer(plan, prepared, prof), "Median over the timed runs, per node.");
}

}  // namespace winq::report
