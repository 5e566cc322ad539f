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
       trained_ranges = false, auto_2d_only = false;
  double percentile = 99.99, winograd_channel_alpha = 1.0;
  std::string winograd = "off", winograd_scales = "channel", winograd_clip = "mse", winograd_layers;
  // --winograd auto
  std::string data = "fashion-mnist:train";
  int64_t auto_images = 64;
  double auto_min_sqnr = 25;
  int threads = 1;
  std::string report;
};
// --winograd auto's measurements, a row per layer: the name, then per
// candidate measured "SQNR dB / median ms", then the choice.
std::vector<std::string> auto_header(int candidates) {
  std::vector<std::string> h{"layer"};
  for (int i = 0; i < candidates; ++i) h.push_back(winograd_tile_name(winograd_candidate(i)) + " dB/ms");
  h.push_back("chosen");
  return h;
}
std::vector<std::vector<std::string>> auto_rows(const std::vector<WinogradLayerChoice>& choices, int candidates) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : choices) {
    std::vector<std::string> r{c.node};
    for (int i = 0; i < candidates; ++i) r.push_back(fmt::format("{:.1f} / {:.3f}", c.sqnr_db[i], c.ms[i]));
    r.push_back(winograd_tile_name(c.tile));
    rows.push_back(std::move(r));
  }
  return rows;
}
int auto_candidates(const QuantizeArgs& a) { return a.auto_2d_only ? 4 : kWinogradCandidates; }

// --winograd-layers NODE=TILE,...: each node a Conv that can run as Winograd
// (3×3, stride 1, no dilation or groups) unless its tile is direct.
std::map<std::string, WinogradTile> parse_winograd_layers(const std::string& spec, const Graph& g) {
  std::map<std::string, WinogradTile> out;
  for (size_t p = 0; p < spec.size();) {
    size_t e = spec.find(',', p);
    if (e == std::string::npos) e = spec.size();
    const std::string item = spec.substr(p, e - p);
    p = e + 1;
    if (item.empty()) continue;
    const size_t eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format("--winograd-layers: '{}' is not NODE=TILE (e.g. conv1=F4x1)", item));
    const std::string node = item.substr(0, eq);
    const WinogradTile t = parse_winograd_tile_name(item.substr(eq + 1));
    size_t i = 0;
    while (i < g.nodes.size() && g.nodes[i].name != node) ++i;
    if (i == g.nodes.size()) throw Error(fmt::format("--winograd-layers: the model has no node '{}'", node));
    if (t.m && !winograd::winograd_eligible(g, i))
      throw Error(fmt::format("--winograd-layers: node '{}' is not a 3×3 stride-1 Conv that can run as Winograd", node));
    out[node] = t;
  }
  return out;
}
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
    rep.table("winograd_auto", auto_header(auto_candidates(a)), auto_rows(choices, auto_candidates(a)));
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
                  "cannot load such a plan); auto: per layer the fastest of direct, F2, F4, F6, F2x1, F4x1, F6x1, "
                  "measured here, whose output SQNR stays ≥ --auto-min-sqnr")
      ->capture_default_str();
  cmd->add_option("--auto-min-sqnr", a.auto_min_sqnr, "--winograd auto: least output SQNR (dB) of a Winograd layer")
      ->capture_default_str();
  cmd->add_option("--winograd-layers", a.winograd_layers,
                  "per layer, over --winograd: NODE=TILE,... with TILE one of direct, F2, F4, F6, F2x1, F4x1, F6x1 "
                  "(what --winograd auto chose, to replay it)");
  cmd->add_flag("--auto-2d-only", a.auto_2d_only,
                "--winograd auto: only direct, F2, F4 and F6 (leave out the 1-D variants F2x1, F4x1, F6x1 and their "
                "measurements)");
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
      throw Error("--winograd-1d needs --winograd F2, F4 or F6 (auto measures the 1-D variants itself)");
    if (a.auto_2d_only && !auto_tiles) throw Error("--auto-2d-only needs --winograd auto");
    if (auto_tiles && !a.winograd_layers.empty())
      throw Error("--winograd-layers and --winograd auto: choose the tiles one way");
    o.winograd_layers = parse_winograd_layers(a.winograd_layers, g);
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
      ao.one_d = !a.auto_2d_only;
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
          for (int i = 0; i < auto_candidates(a); ++i)
            cand[winograd_tile_name(winograd_candidate(i))] = {
                {"sqnr_db", std::isfinite(c.sqnr_db[i]) ? nlohmann::json(c.sqnr_db[i]) : nlohmann::json(nullptr)},
                {"median_ms", c.ms[i]}};
          ch.push_back({{"node", c.node}, {"tile", winograd_tile_name(c.tile)}, {"candidates", cand}});
        }
        js["winograd_auto"] = {{"min_sqnr_db", a.auto_min_sqnr}, {"threads", a.threads}, {"layers", ch}};
      }
      print_json(js);
      return;
    }
    if (auto_tiles) {
      Table at(auto_header(auto_candidates(a)));
      for (auto& row : auto_rows(choices, auto_candidates(a))) at.add(std::move(row));
      std::cout << fmt::format("--winograd auto: the fastest tile whose layer output SQNR ≥ {} dB ({} images, {} thread(s))\n",
                               a.auto_min_sqnr, a.auto_images, a.threads)
                << at.render() << "\n";
      std::string replay;
      for (const auto& c : choices) replay += (replay.empty() ? "" : ",") + c.node + "=" + winograd_tile_name(c.tile);
      std::cout << "the same plan without measuring: --winograd-layers " << replay << "\n";
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
