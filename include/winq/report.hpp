// The report: SVG plots and a self-contained HTML page that embeds them (no
// external files, a little script for legends and view switches), with the
// same data written as JSON for machines. The plots are pure functions of
// their description; the page is assembled section by section.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "winq/calib.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"

namespace winq::report {

// One named line or set of bars: a value per x (NaN = no value there).
struct Series {
  std::string name;
  std::vector<double> y;
};

// Lines with markers over numeric x (bits), or over named categories (layers)
// when `categories` is given (then x is the category index).
struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<double> x;
  std::vector<std::string> categories;
  std::vector<Series> series;
  std::optional<double> y_min, y_max;  // fixed axis ends (else from the data)
  std::optional<double> reference;     // a dashed horizontal line (e.g. float accuracy)
  std::string reference_label;
};

// Horizontal bars, one per category (layer), grouped by series.
struct BarPlot {
  std::string title, x_label;
  std::vector<std::string> categories;
  std::vector<Series> series;
};

// A histogram (log-scaled counts) with named vertical markers (clipping values).
struct HistogramPlot {
  std::string title, x_label;
  double bin_width = 1;
  std::vector<double> counts;
  std::vector<std::pair<std::string, double>> markers;
};

std::string svg(const LinePlot& p);
std::string svg(const BarPlot& p);
std::string svg(const HistogramPlot& p);
nlohmann::json to_json(const LinePlot& p);
nlohmann::json to_json(const BarPlot& p);
nlohmann::json to_json(const HistogramPlot& p);

// Text for HTML/SVG: & < > " escaped.
std::string escape(const std::string& s);

class Report {
 public:
  explicit Report(std::string title, std::string subtitle = "");
  void section(const std::string& heading, const std::string& intro = "");
  void paragraph(const std::string& text);
  // A figure; `key` names its data in report.json (unique within the report).
  template <class Plot>
  void figure(const std::string& key, const Plot& p, const std::string& caption) {
    add_figure(key, svg(p), to_json(p), caption);
  }
  // Several figures of which one is shown, picked from a list (e.g. one per tensor).
  template <class Plot>
  void figure_choice(const std::string& key, const std::vector<std::pair<std::string, Plot>>& plots,
                     const std::string& caption, size_t shown = 0) {
    std::vector<Choice> c;
    for (const auto& [name, p] : plots) c.push_back({name, svg(p), to_json(p)});
    add_choice(key, std::move(c), caption, shown);
  }
  void table(const std::string& key, const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  // Anything else worth keeping in report.json (not shown on the page).
  void data(const std::string& key, nlohmann::json value);

  std::string html() const;
  nlohmann::json json() const;
  // DIR/report.html and DIR/report.json, each written atomically; DIR is created.
  void write(const std::string& dir) const;

 private:
  struct Choice {
    std::string name, svg;
    nlohmann::json data;
  };
  void add_figure(const std::string& key, std::string svg, nlohmann::json data, const std::string& caption);
  void add_choice(const std::string& key, std::vector<Choice> c, const std::string& caption, size_t shown);
  void claim(const std::string& key);

  std::string title_, subtitle_;
  std::vector<std::string> body_;  // HTML fragments in order
  std::vector<std::pair<std::string, std::string>> toc_;  // (anchor, heading)
  nlohmann::json data_ = nlohmann::json::object();
};

// ---- figures built from winq's own results --------------------------------

// The |x| histogram of one tensor's calibration statistics with the clip each
// calibrator chooses at `bits` (unsigned when the tensor is non-negative).
HistogramPlot calibration_histogram(const std::string& tensor, const TensorStats& s, int bits);

// Per-tensor output SQNR (dB) of several plans against the float model: one
// line per plan over the tensors of the first plan, in graph order.
LinePlot sqnr_per_tensor(const std::string& title,
                         const std::vector<std::pair<std::string, std::vector<TensorQuantReport>>>& plans);

// Median latency per node of a profiled plan, in execution order.
BarPlot latency_per_layer(const std::string& title, const Graph& prepared, const RunProfile& prof);

// The usual sections for the CLI subcommands (each adds what it knows).
void add_tensor_errors(Report& r, const std::string& plan, const std::vector<TensorQuantReport>& tensors);
void add_calibration(Report& r, const CalibrationStats& stats, int bits, const std::string& preferred_tensor = "");
void add_latency(Report& r, const std::string& plan, const Graph& prepared, const RunProfile& prof);

}  // namespace winq::report
