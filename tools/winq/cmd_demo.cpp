// winq demo: the main job on the embedded default data. The shipped
// Fashion-MNIST model is evaluated in float, calibrated once, quantized with
// the recommended settings and a few alternatives, and each plan is evaluated
// on the integer engine over the test set: one table, accuracy against cost,
// and a report page with the plots behind it.
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <optional>

#include "common.hpp"
#include "demo_report.hpp"
#include "winq/calib.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"
#include "winq/table.hpp"
#include "winq/winograd.hpp"

namespace winq::cli {

namespace {
struct DemoArgs {
  std::string model;
  std::string flex_model;  // a Winograd-aware (flex) trained version of the model
  std::string data = "fashion-mnist";
  std::string calib_data;  // default: fashion-mnist:train, or --data when that is the user's
  std::string report = "winq-demo-report";
  int64_t images = 0, sweep_images = 2000, error_images = 200;
  int threads = 0, runs = 30;
  bool json = false, no_report = false;
};

// Bytes of the constants (weights, biases, scales) as stored in the model,
// including tensors kept as attributes (the Winograd-domain weights).
double size_kib(const Graph& g) {
  int64_t bytes = 0;
  for (const Value& v : g.values)
    if (v.is_constant()) bytes += static_cast<int64_t>(v.constant.nbytes());
  for (const Node& n : g.nodes)
    for (const auto& [name, attr] : n.attrs.all())
      if (const Tensor* t = std::get_if<Tensor>(&attr)) bytes += static_cast<int64_t>(t->nbytes());
  return static_cast<double>(bytes) / 1024.0;
}

Dataset first_images(const Dataset& d, int64_t n) {
  Dataset s = d;
  n = std::min(n, d.size());
  s.images = slice_batch(d.images, 0, n);
  s.labels.assign(d.labels.begin(), d.labels.begin() + n);
  return s;
}

// Batch-1 latency of a plan (median of `runs`) on the first test image.
void measure_latency(demo::Row& row, const Graph& model, bool quantized, const Dataset& d, int threads, int runs) {
  const Tensor x = slice_batch(d.images, 0, 1);
  const InputShapes shapes = {{model.values[model.inputs[0]].name, x.shape()}};
  FloatExecutor ex(quantized ? prepare_quantized(model, shapes) : prepare(model, shapes), threads);
  row.profile = profile_runs(ex, x, runs);
  row.latency_ms = 1e3 * row.profile.total_s;
  row.prepared = ex.graph();
}
// Statistics of `g` on 500 images drawn from `spec` (seed 0), with progress.
CalibrationStats calibrate(const Graph& g, const std::string& spec, int threads, const std::string& label) {
  RawImages craw = read_images(spec);
  const Dataset calib = sample_images(preprocess(craw, preprocess_for(g, craw, "")), 500, 0);
  CalibrateOptions co;
  co.threads = threads;
  Progress prog(label, 2 * calib.size());
  co.progress = [&](int64_t done, int64_t) { prog.update(done); };
  CalibrationStats stats = collect_stats(g, calib, co);
  prog.done();
  return stats;
}

// The flex-trained model: calibrated on the same images, quantized W8A8 (its
// learned layers run as their own int8 Winograd), on the integer engine.
demo::Row flex_row(const std::string& path, const std::string& calib_spec, const Dataset& d, const EvalOptions& eo,
                   const DemoArgs& a) {
  if (!std::filesystem::exists(path)) throw Error(path + ": flex model not found");
  const Graph g = load_onnx(path);
  int learned = 0, tile = 0;
  for (const Node& n : g.nodes)
    if (n.op == "Conv" && winograd::has_learned_transforms(n)) {
      ++learned;
      tile = winograd::learned_transforms(n).m;
    }
  if (!learned) throw Error(path + ": no layer with learned Winograd transforms (not a flex-trained model)");
  const CalibrationStats stats = calibrate(g, calib_spec, eo.threads, "calibration (flex model)");
  const Graph q = quantize_model(g, stats, QuantizeOptions{}).qdq;
  demo::Row r;
  r.name = fmt::format("W8A8 Winograd F{} flex-trained", tile);
  r.note = fmt::format("{} layers with learned transforms (Winograd-aware QAT), {}", learned,
                       std::filesystem::path(path).filename().string());
  Progress prog(r.name, d.size());
  QuantEvalOptions qo;
  qo.eval = eo;
  qo.eval.progress = [&](int64_t done, int64_t) { prog.update(done); };
  r.eval = evaluate_quantized(q, nullptr, d, qo).quantized;
  r.kib = size_kib(q);
  r.tile = tile;
  measure_latency(r, q, true, d, eo.threads, a.runs);
  prog.done();
  return r;
}

}  // namespace

void add_demo(CLI::App& app) {
  static DemoArgs a;
  auto* cmd = app.add_subcommand("demo", "The main job: float vs quantized accuracy and speed on the shipped model");
  cmd->add_option("--model", a.model, "float ONNX model (default: the shipped Fashion-MNIST model)");
  cmd->add_option("--flex-model", a.flex_model,
                  "the same network trained Winograd-aware with learned transforms (best.onnx of winq train/adapt "
                  "--flex): one more row, its int8 plan on the engine (default with the shipped model: "
                  "models/fashion_resnet18_w0.5_flex_f4.onnx when present)");
  cmd->add_option("--data", a.data, "evaluation images (see winq eval --help)")->capture_default_str();
  cmd->add_option("--calib-data", a.calib_data,
                  "calibration images, 500 drawn (default: fashion-mnist:train with the default data, else --data)");
  cmd->add_option("--images", a.images, "evaluate the first N images only (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--runs", a.runs, "timed batch-1 runs per configuration for the latency")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--report", a.report, "directory of the report (report.html, report.json)")->capture_default_str();
  cmd->add_flag("--no-report", a.no_report, "no report, no accuracy-vs-bits sweep (the table only)");
  cmd->add_option("--sweep-images", a.sweep_images,
                  "report: test images of the accuracy-vs-bits sweep (7 calibrators × 5 bit widths; 0 = skip it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--error-images", a.error_images, "report: test images the per-tensor errors are measured on")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--json", a.json, "print JSON");
  cmd->callback([] {
    const std::string model = a.model.empty() ? default_model_path() : a.model;
    if (!std::filesystem::exists(model)) throw Error(model + ": model not found");
    std::cerr << fmt::format("winq demo: model {}\n", model);
    const bool with_report = !a.no_report;
    Graph g = load_onnx(model);
    RawImages raw = read_images(a.data, a.images);
    Dataset d = preprocess(raw, preprocess_for(g, raw, ""));
    EvalOptions opt;
    opt.threads = a.threads ? a.threads : default_threads();

    std::vector<demo::Row> rows;
    {
      Progress prog("float evaluation", d.size());
      opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
      demo::Row r;
      r.name = "float32";
      r.note = "float reference";
      r.eval = evaluate_float(g, d, opt);
      r.kib = size_kib(g);
      measure_latency(r, g, false, d, opt.threads, a.runs);
      rows.push_back(std::move(r));
      prog.done();
    }
    std::string calib_spec = a.calib_data;
    if (calib_spec.empty()) {
      calib_spec = a.data == "fashion-mnist" ? "fashion-mnist:train" : a.data;
      if (calib_spec == a.data)
        std::cerr << "winq demo: calibrating on the evaluation images (give --calib-data for a separate set)\n";
    }
    const CalibrationStats stats = calibrate(g, calib_spec, opt.threads, "calibration");
    const Dataset err_images = first_images(d, a.error_images);
    for (const demo::Config& c : demo::configs()) {
      const Graph q = quantize_model(g, stats, c.opt).qdq;
      Progress prog(c.name, d.size());
      opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
      QuantEvalOptions qo;
      qo.eval = opt;
      demo::Row r;
      r.name = c.name;
      r.note = c.note;
      r.eval = evaluate_quantized(q, nullptr, d, qo).quantized;
      r.kib = size_kib(q);
      r.winograd = c.opt.winograd != 0;
      r.tile = c.opt.winograd;
      r.per_component = c.opt.winograd_per_component;
      r.per_channel = c.opt.winograd_per_component && c.opt.winograd_channel_scales;
      measure_latency(r, q, true, d, opt.threads, a.runs);
      qo.eval.progress = nullptr;
      if (with_report) r.tensors = tensor_errors(q, g, err_images, err_images.size(), qo);
      rows.push_back(std::move(r));
      prog.done();
    }
    std::string flex = a.flex_model;
    if (flex.empty() && a.model.empty()) {
      const auto shipped = std::filesystem::path(models_dir()) / "fashion_resnet18_w0.5_flex_f4.onnx";
      if (std::filesystem::exists(shipped)) flex = shipped.string();
    }
    if (!flex.empty()) rows.push_back(flex_row(flex, calib_spec, d, opt, a));
    std::optional<demo::Sweep> sweep;
    if (with_report && a.sweep_images > 0) {
      const Dataset sw = first_images(d, a.sweep_images);
      Progress prog(fmt::format("accuracy vs bits ({} images)", sw.size()), 35);
      sweep = demo::accuracy_vs_bits(g, stats, sw, opt.threads, [&](int64_t done, int64_t) { prog.update(done); });
      prog.done();
    }
    const demo::Row& fl = rows.front();
    if (with_report)
      demo::build_report(model, d, opt.threads, rows, stats, sweep ? &*sweep : nullptr).write(a.report);
    if (a.json) {
      nlohmann::json res = nlohmann::json::array();
      for (const demo::Row& r : rows)
        res.push_back({{"configuration", r.name}, {"note", r.note}, {"top1", r.eval.top1()}, {"top5", r.eval.top5()},
                       {"drop", fl.eval.top1() - r.eval.top1()}, {"latency_ms", r.latency_ms},
                       {"speedup", fl.latency_ms / r.latency_ms}, {"images_per_second", r.eval.images_per_second()},
                       {"model_kib", r.kib}});
      nlohmann::json j = {{"model", model}, {"data", d.source}, {"images", fl.eval.images}, {"threads", opt.threads},
                          {"results", res}};
      if (with_report) j["report"] = (std::filesystem::path(a.report) / "report.html").string();
      print_json(j);
      return;
    }
    Table t({"configuration", "top-1 %", "drop", "latency ms", "speed-up", "images/s", "weights KiB"});
    for (const demo::Row& r : rows)
      t.add({r.name, fmt::format("{:.2f}", r.eval.top1()), fmt::format("{:+.2f}", r.eval.top1() - fl.eval.top1()),
             fmt::format("{:.3f}", r.latency_ms), fmt::format("{:.2f}×", fl.latency_ms / r.latency_ms),
             fmt::format("{:.0f}", r.eval.images_per_second()), fmt::format("{:.0f}", r.kib)});
    std::cout << fmt::format("\n{} on {} ({} test images, {} threads; latency: batch 1, median of {} runs; "
                             "images/s: batch 64)\n\n",
                             std::filesystem::path(model).filename().string(), d.source, fl.eval.images, opt.threads,
                             a.runs)
              << t.render()
              << "\nW4A4 plans keep 4-bit values in int8 containers (the engine has no packed 4-bit kernels yet).\n"
                 "Winograd per-tensor rows show why winq keeps one scale per Winograd component.\n";
    if (with_report)
      std::cout << fmt::format("report: {}\n", (std::filesystem::path(a.report) / "report.html").string());
  });
}

}  // namespace winq::cli
