// winq demo: the main job on the embedded default data. The shipped
// Fashion-MNIST model is evaluated in float, calibrated once, quantized with
// the recommended settings and a few alternatives, and each plan is evaluated
// on the integer engine over the test set: one table, accuracy against cost.
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "common.hpp"
#include "winq/calib.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"
#include "winq/table.hpp"

namespace winq::cli {

namespace {
struct DemoArgs {
  std::string model;
  std::string data = "fashion-mnist";
  std::string calib_data = "fashion-mnist:train";
  int64_t images = 0;
  int threads = 0;
  bool json = false;
};

struct Config {
  std::string name, note;
  QuantizeOptions opt;
};

std::vector<Config> demo_configs() {
  std::vector<Config> c;
  QuantizeOptions w8;
  c.push_back({"W8A8 per-channel", "recommended: max calibration", w8});
  QuantizeOptions wino = w8;
  wino.winograd = 4;
  c.push_back({"W8A8 Winograd F4", "int8 Winograd F(4,3), one scale per component (scalar transforms)", wino});
  QuantizeOptions naive;
  naive.wbits = naive.abits = 4;
  c.push_back({"W4A4 naive", "max calibration, per-channel", naive});
  QuantizeOptions best = naive;
  best.calibrator = Calibrator::aciq_laplace;
  best.bias_correction = true;
  best.bit_alloc = true;
  c.push_back({"W4A4 ACIQ+BC+BA", "ACIQ Laplace, bias correction, bit allocation", best});
  return c;
}

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
}  // namespace

void add_demo(CLI::App& app) {
  static DemoArgs a;
  auto* cmd = app.add_subcommand("demo", "The main job: float vs quantized accuracy and speed on the shipped model");
  cmd->add_option("--model", a.model, "float ONNX model (default: the shipped Fashion-MNIST model)");
  cmd->add_option("--data", a.data, "evaluation images (see winq eval --help)")->capture_default_str();
  cmd->add_option("--calib-data", a.calib_data, "calibration images (500 are drawn)")->capture_default_str();
  cmd->add_option("--images", a.images, "evaluate the first N images only (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", a.json, "print JSON");
  cmd->callback([] {
    const std::string model = a.model.empty() ? default_model_path() : a.model;
    if (!std::filesystem::exists(model)) throw Error(model + ": model not found");
    std::cerr << fmt::format("winq demo: model {}\n", model);
    Graph g = load_onnx(model);
    RawImages raw = read_images(a.data, a.images);
    Dataset d = preprocess(raw, preprocess_for(g, raw, ""));
    EvalOptions opt;
    opt.threads = a.threads ? a.threads : default_threads();

    struct Row {
      std::string name, engine, note;
      EvalResult r;
      double kib;
    };
    std::vector<Row> rows;
    {
      Progress prog("float evaluation", d.size());
      opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
      rows.push_back({"float32", "float reference", "", evaluate_float(g, d, opt), size_kib(g)});
      prog.done();
    }
    RawImages craw = read_images(a.calib_data);
    Dataset calib = sample_images(preprocess(craw, preprocess_for(g, craw, "")), 500, 0);
    CalibrateOptions co;
    co.threads = opt.threads;
    Progress cprog("calibration", 2 * calib.size());
    co.progress = [&](int64_t done, int64_t) { cprog.update(done); };
    const CalibrationStats stats = collect_stats(g, calib, co);
    cprog.done();
    for (const Config& c : demo_configs()) {
      const Graph q = quantize_model(g, stats, c.opt).qdq;
      Progress prog(c.name, d.size());
      opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
      QuantEvalOptions qo;
      qo.eval = opt;
      rows.push_back({c.name, "int8 engine", c.note, evaluate_quantized(q, nullptr, d, qo).quantized, size_kib(q)});
      prog.done();
    }
    const Row& fl = rows.front();
    if (a.json) {
      nlohmann::json res = nlohmann::json::array();
      for (const Row& r : rows)
        res.push_back({{"configuration", r.name}, {"engine", r.engine}, {"top1", r.r.top1()}, {"top5", r.r.top5()},
                       {"drop", fl.r.top1() - r.r.top1()}, {"images_per_second", r.r.images_per_second()},
                       {"speedup", r.r.images_per_second() / fl.r.images_per_second()}, {"model_kib", r.kib}});
      print_json({{"model", model}, {"data", d.source}, {"images", fl.r.images}, {"threads", opt.threads},
                  {"results", res}});
      return;
    }
    Table t({"configuration", "engine", "top-1 %", "drop", "images/s", "speed-up", "weights KiB"});
    for (const Row& r : rows)
      t.add({r.name, r.engine, fmt::format("{:.2f}", r.r.top1()), fmt::format("{:+.2f}", r.r.top1() - fl.r.top1()),
             fmt::format("{:.0f}", r.r.images_per_second()),
             fmt::format("{:.2f}×", r.r.images_per_second() / fl.r.images_per_second()), fmt::format("{:.0f}", r.kib)});
    std::cout << fmt::format("\n{} on {} ({} test images, {} threads)\n\n",
                             std::filesystem::path(model).filename().string(), d.source, fl.r.images, opt.threads)
              << t.render()
              << "\nW4A4 plans keep 4-bit values in int8 containers (the engine has no packed 4-bit kernels yet).\n";
  });
}

}  // namespace winq::cli
