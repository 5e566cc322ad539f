#include "demo_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "winq/winograd.hpp"

namespace winq::cli::demo {

std::vector<Config> configs() {
  std::vector<Config> c;
  QuantizeOptions w8;
  c.push_back({"W8A8 per-channel", "recommended: max calibration", w8, true});
  QuantizeOptions naive;
  naive.wbits = naive.abits = 4;
  c.push_back({"W4A4 naive", "max calibration, per-channel", naive});
  QuantizeOptions best = naive;
  best.calibrator = Calibrator::aciq_laplace;
  best.bias_correction = true;
  best.bit_alloc = true;
  c.push_back({"W4A4 ACIQ+BC+BA", "ACIQ Laplace, bias correction, bit allocation", best});
  // Input scales per layer, per Winograd component, per component and input channel.
  const char* const kScales[][2] = {{"per-tensor", "layer"},
                                    {"per-component", "Winograd component"},
                                    {"per-channel", "Winograd component and input channel"}};
  for (int scales = 0; scales < 3; ++scales)
    for (int m : {2, 4, 6}) {
      QuantizeOptions w = w8;
      w.winograd = m;
      w.winograd_per_component = scales > 0;
      w.winograd_channel_scales = scales == 2;
      c.push_back({fmt::format("W8A8 Winograd F{} {}", m, kScales[scales][0]),
                   fmt::format("int8 Winograd F({},3), one input scale per {}", m, kScales[scales][1]), w, true});
    }
  return c;
}

Sweep accuracy_vs_bits(const Graph& model, const CalibrationStats& stats, const Dataset& images, int threads,
                       const std::function<void(int64_t, int64_t)>& progress) {
  Sweep s;
  s.bits = {3, 4, 5, 6, 8};
  s.calibrators = calibrator_names();
  s.images = images.size();
  const int64_t total = static_cast<int64_t>(s.bits.size() * s.calibrators.size());
  int64_t done = 0;
  for (const std::string& c : s.calibrators) {
    std::vector<double> row;
    for (int b : s.bits) {
      QuantizeOptions o;
      o.wbits = o.abits = b;
      o.calibrator = parse_calibrator(c);
      QuantEvalOptions qo;
      qo.eval.threads = threads;
      row.push_back(evaluate_quantized(quantize_model(model, stats, o).qdq, nullptr, images, qo).quantized.top1());
      if (progress) progress(++done, total);
    }
    s.top1.push_back(std::move(row));
  }
  return s;
}

namespace {

void summary_section(report::Report& rep, const std::vector<Row>& rows) {
  const Row& fl = rows.front();
  rep.section("Summary", "Each configuration evaluated on the integer engine over the test images; latency is the "
                         "median at batch 1, throughput at batch 64.");
  std::vector<std::vector<std::string>> t;
  for (const Row& r : rows)
    t.push_back({r.name, fmt::format("{:.2f}", r.eval.top1()), fmt::format("{:+.2f}", r.eval.top1() - fl.eval.top1()),
                 fmt::format("{:.3f}", r.latency_ms), fmt::format("{:.2f}×", fl.latency_ms / r.latency_ms),
                 fmt::format("{:.0f}", r.eval.images_per_second()), fmt::format("{:.0f}", r.kib), r.note});
  rep.table("summary",
            {"configuration", "top-1 %", "drop", "latency ms", "speed-up", "images/s", "weights KiB", "what it is"}, t);
  report::BarPlot acc;
  acc.title = "Top-1 accuracy per configuration";
  acc.x_label = "top-1 drop vs float (points)";
  report::Series s{"drop", {}};
  for (size_t i = 1; i < rows.size(); ++i) {
    acc.categories.push_back(rows[i].name);
    s.y.push_back(rows[i].eval.top1() - fl.eval.top1());
  }
  acc.series.push_back(s);
  rep.figure("top1_drop", acc, fmt::format("Float top-1: {:.2f}%. Bars to the left lose accuracy.", fl.eval.top1()));
}

void sweep_section(report::Report& rep, const Sweep& sw, double float_top1) {
  rep.section("Accuracy vs bits", fmt::format("Weights and activations at the same bits (per-channel weights, max "
                                              "for the weights), one activation calibrator per line, on the first {} "
                                              "test images.",
                                              sw.images));
  report::LinePlot p;
  p.title = "Top-1 vs bits, per activation calibrator";
  p.x_label = "bits (weights = activations)";
  p.y_label = "top-1 %";
  for (int b : sw.bits) p.x.push_back(b);
  for (size_t i = 0; i < sw.calibrators.size(); ++i) p.series.push_back({sw.calibrators[i], sw.top1[i]});
  p.reference = float_top1;
  p.reference_label = "float";
  p.y_max = 100;
  rep.figure("accuracy_vs_bits", p, "Each point quantizes the model from the same statistics and evaluates it on the "
                                    "integer engine. Click a calibrator in the legend to hide it.");
}

void winograd_section(report::Report& rep, const std::vector<Row>& rows) {
  rep.section("Winograd error per tile size",
              "int8 Winograd F(m,3) quantizes the transformed input V = Bᵀ d B. Its components differ in range by up "
              "to two orders of magnitude for F4 and F6: one scale per tensor drowns the small ones, one scale per "
              "component keeps them, and one per component and input channel (folded into the Winograd weights) "
              "also keeps the quiet channels.");
  const Row& fl = rows.front();
  report::BarPlot drop;
  drop.title = "Top-1 drop per tile: one scale per tensor, per component, per component and channel";
  drop.x_label = "top-1 drop vs float (points)";
  report::Series per_tensor{"per-tensor", {}}, per_comp{"per-component", {}}, per_channel{"per-channel", {}};
  for (const Row& r : rows)
    if (!r.winograd && r.name.rfind("W8A8", 0) == 0) {  // the same plan without Winograd, for scale
      drop.categories.push_back("direct");
      per_tensor.y.push_back(r.eval.top1() - fl.eval.top1());
      per_comp.y.push_back(r.eval.top1() - fl.eval.top1());
      per_channel.y.push_back(r.eval.top1() - fl.eval.top1());
      break;
    }
  for (int m : {2, 4, 6}) {
    drop.categories.push_back(fmt::format("F({},3)", m));
    for (const Row& r : rows)
      if (r.winograd && r.tile == m)
        (r.per_channel ? per_channel : r.per_component ? per_comp : per_tensor)
            .y.push_back(r.eval.top1() - fl.eval.top1());
  }
  drop.series = {per_tensor, per_comp, per_channel};
  rep.figure("winograd_top1", drop, "W8A8 throughout; \"direct\" is the same plan without Winograd.");
  std::vector<std::pair<std::string, std::vector<TensorQuantReport>>> lines;
  for (const Row& r : rows)
    if (!r.tensors.empty() && (r.winograd || r.name.rfind("W8A8", 0) == 0)) lines.push_back({r.name, r.tensors});
  auto sq = report::sqnr_per_tensor("Output SQNR per tensor, W8A8 direct and Winograd", lines);
  rep.figure("winograd_sqnr", sq,
             "Per-tensor SQNR against the float model; the per-tensor F4/F6 lines fall where the Winograd layers "
             "start. Click legend entries to compare two at a time.");
}

}  // namespace

report::Report build_report(const std::string& model, const Dataset& d, int threads, const std::vector<Row>& rows,
                            const CalibrationStats& stats, const Sweep* sweep) {
  report::Report rep("winq demo: " + std::filesystem::path(model).filename().string(),
                     fmt::format("{} on {} ({} test images, {} threads), calibrated on {} images of {}", model,
                                 d.source, rows.front().eval.images, threads, stats.images,
                                 stats.data_source.empty() ? std::string("?") : stats.data_source.front()));
  summary_section(rep, rows);
  if (sweep) sweep_section(rep, *sweep, rows.front().eval.top1());

  rep.section("Error per tensor (direct plans)", "Which layer breaks? Each quantized tensor against the float model "
                                                 "on the same images; errors accumulate from the input onward.");
  std::vector<std::pair<std::string, std::vector<TensorQuantReport>>> direct;
  for (const Row& r : rows)
    if (!r.tensors.empty() && !r.winograd) direct.push_back({r.name, r.tensors});
  rep.figure("sqnr_per_tensor", report::sqnr_per_tensor("Output SQNR per tensor, direct convolution plans", direct),
             "SQNR = 10·log10(Σ f² / Σ (f − dequantized)²), in dB.");
  winograd_section(rep, rows);

  report::add_calibration(rep, stats, 4);
  rep.section("Latency per layer", fmt::format("Median per node at batch 1, {} thread(s). Pick a configuration.", threads));
  std::vector<std::pair<std::string, report::BarPlot>> lat;
  for (const Row& r : rows)
    lat.push_back({r.name, report::latency_per_layer(fmt::format("{}: {:.3f} ms", r.name, r.latency_ms), r.prepared,
                                                     r.profile)});
  rep.figure_choice("latency_per_layer", lat, "Time per node of the prepared plan (Q ops are integer kernels).",
                    rows.size() > 1 ? 1 : 0);
  return rep;
}

}  // namespace winq::cli::demo
