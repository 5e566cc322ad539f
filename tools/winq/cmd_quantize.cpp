// winq quantize MODEL --stats S [options] -o OUT: the QDQ plan.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/report.hpp"
#include "winq/table.hpp"
#include "winq/winograd.hpp"

namespace winq::cli {

namespace {
struct QuantizeArgs {
  std::string model, stats, out;
  std::string calibrator = "max", weight_calibrator = "max", keep_float;
  int wbits = 8, abits = 8, skip_first = 0;
  bool per_tensor = false, bias_correction = false, bit_alloc = false, json = false, winograd_1d = false,
       trained_ranges = false;
  double percentile = 99.99, winograd_channel_alpha = 1.0;
  std::string winograd = "off", winograd_scales = "channel", winograd_clip = "mse";
  // --winograd auto
  std::string data = "fashion-mnist:train";
  int64_t auto_images = 64;
  double auto_min_sqnr = 25;
  int threads = 1;
  std::string report;
};
}  // namespace

// The page for --report: the plan per layer, the weight error, the calibration
// histograms with each calibrator's clip, and --winograd auto's measurements.
static report::Report quantize_report(const QuantizeArgs& a, const CalibrationStats& s,
                               const QuantizeOptions& o, const QuantizeResult& r,
                               const std::vector<WinogradLayerChoice>& choices) {
  report::Report rep("winq quantize: " + std::filesystem::path(a.out).filename().string(),
                     fmt::format("{} → {}: W{}A{}, activations {}, weights {}{}", a.model, a.out, o.wbits, o.abits,
                                 a.calibrator, o.per_channel ? "per channel" : "per tensor",
                                 o.winograd ? fmt::format(", Winograd F({},3)", o.winograd) : ""));
  rep.section("Plan", "Every Conv/Gemm layer: how it runs, its weights' bits and their error against the float weights.");
  std::vector<std::vector<std::string>> rows;
  report::BarPlot wq;
  wq.title = "Weight SQNR per layer";
  wq.x_label = "SQNR of the quantized weights (dB)";
  report::Series ws{"weights", {}};
  for (const auto& l : r.layers) {
    rows.push_back({l.node, l.winograd ? fmt::format("{} F({}{},3)", l.op, l.winograd, l.winograd_1d ? "×1" : "") : l.op,
                    l.quantized ? "int" : "float", l.quantized ? fmt::format("{:.2f}", l.weight_bits) : "-",
                    l.quantized ? fmt::format("{:.1f}", l.weight_sqnr_db) : "-",
                    l.quantized ? fmt::format("{:.4g}", l.input_scale) : "-",
                    l.quantized ? fmt::format("{:.3g}", l.max_bias_shift) : "-"});
    if (!l.quantized) continue;
    wq.categories.push_back(l.node);
    ws.y.push_back(l.weight_sqnr_db);
  }
  wq.series.push_back(ws);
  rep.table("layers", {"layer", "op", "weights", "bits", "weight SQNR dB", "input scale", "bias shift"}, rows);
  rep.figure("weight_sqnr", wq, "10·log10(Σ w² / Σ (w − ŵ)²) per layer, all channels together.");
  if (!choices.empty()) {
    rep.section("Winograd tiles (auto)", fmt::format("Per layer the fastest tile whose output SQNR stays ≥ {} dB.",
                                                      a.auto_min_sqnr));
    std::vector<std::vector<std::string>> ar;
    for (const auto& c : choices)
      ar.push_back({c.node, fmt::format("{:.1f}", c.sqnr_db[0]), fmt::format("{:.1f}", c.sqnr_db[1]),
                    fmt::format("{:.1f}", c.sqnr_db[2]), fmt::format("{:.1f}", c.sqnr_db[3]),
                    fmt::format("{:.3f}", c.ms[0]), fmt::format("{:.3f}", c.ms[1]), fmt::format("{:.3f}", c.ms[2]),
                    fmt::format("{:.3f}", c.ms[3]), c.tile ? fmt::format("F{}", c.tile) : "direct"});
    rep.table("winograd_auto",
              {"layer", "direct dB", "F2 dB", "F4 dB", "F6 dB", "direct ms", "F2 ms", "F4 ms", "F6 ms", "chosen"}, ar);
  }
  report::add_calibration(rep, s, o.abits);
  rep.data("options", nlohmann::json::parse(r.qdq.metadata.at("winq.quantization")));
  return rep;
}

void add_quantize(CLI::App& app) {
  static QuantizeArgs a;
  auto* cmd = app.add_subcommand("quantize", "Quantize a float model into a QDQ ONNX plan");
  cmd->add_option("model", a.model, "float ONNX model")->required();
  cmd->add_option("--stats", a.stats, "statistics from winq calibrate")->required();
  cmd->add_option("-o,--out", a.out, "the quantized model (ONNX, QDQ)")->required();
  cmd->add_option("--wbits", a.wbits, "weight bits")->check(CLI::Range(2, 8))->capture_default_str();
  cmd->add_option("--abits", a.abits, "activation bits")->check(CLI::Range(2, 8))->capture_default_str();
  cmd->add_flag("--per-tensor", a.per_tensor, "one weight scale per layer (default: per output channel)");
  cmd->add_flag("--per-channel", [](int64_t) { a.per_tensor = false; }, "one weight scale per output channel (default)");
  cmd->add_option("--clip", a.calibrator, "activation calibrator: " + fmt::format("{}", fmt::join(calibrator_names(), "|")))
      ->capture_default_str();
  cmd->add_option("--wclip", a.weight_calibrator, "weight calibrator (same choices)")->capture_default_str();
  cmd->add_option("--percentile", a.percentile, "for --clip percentile")->check(CLI::Range(50.0, 100.0))->capture_default_str();
  cmd->add_flag("--bias-correction", a.bias_correction, "compensate the mean shift that weight rounding causes");
  cmd->add_flag("--bit-alloc", a.bit_alloc, "allocate weight levels across channels (∝ range^2/3, same budget)");
  cmd->add_option("--skip-first", a.skip_first, "keep the first K Conv/Gemm layers in float")->check(CLI::NonNegativeNumber);
  cmd->add_option("--keep-float", a.keep_float, "comma-separated layer or tensor names kept in float");
  cmd->add_option("--winograd", a.winograd,
                  "run 3×3 stride-1 convs as int8 Winograd off|F2|F4|F6|auto (integer engine only: ONNX Runtime "
                  "cannot load such a plan); auto: per layer the fastest tile, measured here, whose output SQNR "
                  "stays ≥ --auto-min-sqnr")
      ->capture_default_str();
  cmd->add_option("--auto-min-sqnr", a.auto_min_sqnr, "--winograd auto: least output SQNR (dB) of a Winograd layer")
      ->capture_default_str();
  cmd->add_option("--auto-images", a.auto_images, "--winograd auto: images the SQNR is measured on")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}))
      ->capture_default_str();
  cmd->add_option("--data", a.data, "--winograd auto: where those images come from (see winq eval --help)")
      ->capture_default_str();
  cmd->add_option("--threads", a.threads, "--winograd auto: threads of the engine whose latency decides")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--winograd-scales", a.winograd_scales,
                  "channel (one scale per Winograd component and input channel, the channel's part folded into the "
                  "Winograd weights), component (one per component) or tensor (one per layer, to show why not)")
      ->check(CLI::IsMember({"channel", "component", "tensor"}))
      ->capture_default_str();
  cmd->add_option("--winograd-channel-alpha", a.winograd_channel_alpha,
                  "--winograd-scales channel: a channel's step is the component's times (channel max / clip)^alpha; "
                  "1 refines the inputs fully, smaller values leave the weights of quiet channels more precision")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--winograd-clip", a.winograd_clip, "calibrator of the Winograd components (same choices as --clip)")
      ->capture_default_str();
  cmd->add_flag("--winograd-1d", a.winograd_1d,
                "with --winograd F2|F4|F6: the 1-D variant F(m×1,3×3) (Winograd along rows, 3(m+2)/m products per "
                "output instead of 9)");
  cmd->add_flag("--trained-ranges", a.trained_ranges,
                "layers of a quantization-aware run (winq export-run) that carry their trained ranges: use those for "
                "their inputs and Winograd components instead of the calibrator's clip");
  cmd->add_flag("--json", a.json, "print the per-layer result as JSON");
  add_report_option(cmd, a.report);
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    CalibrationStats s = load_stats(a.stats);
    QuantizeOptions o;
    o.wbits = a.wbits;
    o.abits = a.abits;
    o.per_channel = !a.per_tensor;
    o.calibrator = parse_calibrator(a.calibrator);
    o.weight_calibrator = parse_calibrator(a.weight_calibrator);
    o.percentile = a.percentile;
    o.bias_correction = a.bias_correction;
    o.bit_alloc = a.bit_alloc;
    o.skip_first = a.skip_first;
    const bool auto_tiles = a.winograd == "auto";
    o.winograd = auto_tiles ? 0 : winograd::parse_tile(a.winograd);
    o.winograd_per_component = a.winograd_scales != "tensor";
    o.winograd_channel_scales = a.winograd_scales == "channel";
    o.winograd_channel_alpha = a.winograd_channel_alpha;
    o.winograd_calibrator = parse_calibrator(a.winograd_clip);
    o.winograd_1d = a.winograd_1d;
    o.trained_ranges = a.trained_ranges;
    if (a.winograd_1d && (auto_tiles || !o.winograd))
      throw Error("--winograd-1d needs --winograd F2, F4 or F6 (auto chooses among the 2-D tiles)");
    for (size_t p = 0; p < a.keep_float.size();) {
      size_t e = a.keep_float.find(',', p);
      if (e == std::string::npos) e = a.keep_float.size();
      if (e > p) o.keep_float.push_back(a.keep_float.substr(p, e - p));
      p = e + 1;
    }
    std::vector<WinogradLayerChoice> choices;
    if (auto_tiles) {
      RawImages raw = read_images(a.data);
      const Dataset d = sample_images(preprocess(raw, preprocess_for(g, raw, "")), a.auto_images, 0);
      WinogradAutoOptions ao;
      ao.min_sqnr_db = a.auto_min_sqnr;
      ao.threads = a.threads;
      ao.progress = [](const std::string& line) { std::cerr << "winograd auto: " << line << "\n"; };
      choices = choose_winograd_tiles(g, s, o, d, ao);
      for (const auto& c : choices) o.winograd_layers[c.node] = c.tile;
    }
    QuantizeResult r = quantize_model(g, s, o);
    OnnxWriteOptions wo;
    wo.value_info = false;
    save_onnx(r.qdq, a.out, wo);
    if (!a.report.empty()) write_report(quantize_report(a, s, o, r, choices), a.report);
    if (a.json) {
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : r.layers)
        layers.push_back({{"node", l.node}, {"op", l.op}, {"quantized", l.quantized}, {"input_scale", l.input_scale},
                          {"weight_bits", l.weight_bits}, {"weight_sqnr_db", l.weight_sqnr_db},
                          {"max_bias_shift", l.max_bias_shift}, {"winograd", l.winograd},
                          {"winograd_1d", l.winograd_1d}, {"winograd_learned", l.winograd_learned}});
      nlohmann::json js = {{"model", a.out}, {"options", nlohmann::json::parse(r.qdq.metadata.at("winq.quantization"))},
                            {"layers", layers}};
      if (auto_tiles) {
        nlohmann::json ch = nlohmann::json::array();
        for (const auto& c : choices) {
          nlohmann::json cand = nlohmann::json::object();
          for (int i = 0; i < 4; ++i)
            cand[i ? fmt::format("F{}", 2 * i) : "direct"] = {{"sqnr_db", std::isfinite(c.sqnr_db[i]) ? nlohmann::json(c.sqnr_db[i]) : nlohmann::json(nullptr)}, {"median_ms", c.ms[i]}};
          ch.push_back({{"node", c.node}, {"tile", c.tile}, {"candidates", cand}});
        }
        js["winograd_auto"] = {{"min_sqnr_db", a.auto_min_sqnr}, {"threads", a.threads}, {"layers", ch}};
      }
      print_json(js);
      return;
    }
    if (auto_tiles) {
      Table at({"layer", "direct dB", "F2 dB", "F4 dB", "F6 dB", "direct ms", "F2 ms", "F4 ms", "F6 ms", "chosen"});
      for (const auto& c : choices)
        at.add({c.node, fmt::format("{:.1f}", c.sqnr_db[0]), fmt::format("{:.1f}", c.sqnr_db[1]),
                fmt::format("{:.1f}", c.sqnr_db[2]), fmt::format("{:.1f}", c.sqnr_db[3]), fmt::format("{:.3f}", c.ms[0]),
                fmt::format("{:.3f}", c.ms[1]), fmt::format("{:.3f}", c.ms[2]), fmt::format("{:.3f}", c.ms[3]),
                c.tile ? fmt::format("F{}", c.tile) : "direct"});
      std::cout << fmt::format("--winograd auto: the fastest tile whose layer output SQNR ≥ {} dB ({} images, {} thread(s))\n",
                               a.auto_min_sqnr, a.auto_images, a.threads)
                << at.render() << "\n";
    }
    Table t({"layer", "op", "weights", "bits", "weight SQNR dB", "input scale", "bias shift"});
    for (const auto& l : r.layers)
      t.add({l.node, l.winograd ? fmt::format("{} F({}{},3{})", l.op, l.winograd, l.winograd_1d ? "×1" : "", l.winograd_1d ? "×3" : "") : l.op, l.quantized ? "int" : "float", l.quantized ? fmt::format("{:.2f}", l.weight_bits) : "-",
             l.quantized ? fmt::format("{:.1f}", l.weight_sqnr_db) : "-",
             l.quantized ? fmt::format("{:.4g}", l.input_scale) : "-",
             l.quantized ? fmt::format("{:.3g}", l.max_bias_shift) : "-"});
    std::cout << t.render() << fmt::format("wrote {}\n", a.out);
    if (o.winograd || !o.winograd_layers.empty())
      std::cout << "note: the int8 Winograd plan runs on winq's integer engine (winq eval/run/bench); ONNX Runtime "
                   "cannot load its winq_winograd_* attributes\n";
  });
}

}  // namespace winq::cli
