// The pieces of `winq demo` beyond its table: the configurations it compares,
// the accuracy-vs-bits sweep over the calibrators, and the report page.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "winq/calib.hpp"
#include "winq/evaluate.hpp"
#include "winq/quant.hpp"
#include "winq/report.hpp"
#include "winq/runtime.hpp"

namespace winq::cli::demo {

struct Config {
  std::string name, note;
  QuantizeOptions opt;
  bool winograd_figure = false;  // shown in the Winograd comparison too
};

// Recommended W8A8, W4A4 naive vs tuned, and int8 Winograd F2/F4/F6 with one
// input scale per tensor, per Winograd component, and per component and channel.
std::vector<Config> configs();

// One evaluated configuration (the float model is the first row).
struct Row {
  std::string name, note;
  EvalResult eval;
  double kib = 0;             // weights as stored
  double latency_ms = 0;      // batch 1, median
  Graph prepared;             // what the latency was measured on
  RunProfile profile;
  std::vector<TensorQuantReport> tensors;  // vs the float model (quantized rows)
  bool winograd = false;
  int tile = 0;
  bool per_component = true;
  bool per_channel = false;  // per component and input channel
};

// Top-1 on `images` for every calibrator × bits (weights and activations at
// the same bits, per-channel weights): series per calibrator.
struct Sweep {
  std::vector<int> bits;
  std::vector<std::string> calibrators;
  std::vector<std::vector<double>> top1;  // [calibrator][bits]
  int64_t images = 0;
};
Sweep accuracy_vs_bits(const Graph& model, const CalibrationStats& stats, const Dataset& images, int threads,
                       const std::function<void(int64_t, int64_t)>& progress);

report::Report build_report(const std::string& model, const Dataset& d, int threads, const std::vector<Row>& rows,
                            const CalibrationStats& stats, const Sweep* sweep);

}  // namespace winq::cli::demo
