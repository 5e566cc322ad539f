// winq calibrate MODEL --data D --images N --stats OUT: statistics of every
// activation, collected once and reused by `winq quantize --stats`.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/calib.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"

namespace winq::cli {

namespace {
struct CalibrateArgs {
  std::string model, stats, data = "fashion-mnist:train", preprocess;
  int64_t images = 500;
  uint64_t seed = 0;
  int bins = 2048;
  int threads = 0;
  bool json = false, no_winograd = false;
};
}  // namespace

void add_calibrate(CLI::App& app) {
  static CalibrateArgs a;
  auto* cmd = app.add_subcommand("calibrate", "Collect activation statistics for quantization (saved as JSON)");
  cmd->add_option("model", a.model, "float ONNX model")->required();
  cmd->add_option("--stats,-o", a.stats, "where to write the statistics (JSON)")->required();
  cmd->add_option("--data", a.data, "calibration images (see winq eval --help)")->capture_default_str();
  cmd->add_option("--images", a.images, "number of calibration images, drawn by --seed (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--seed", a.seed, "which images are drawn")->capture_default_str();
  cmd->add_option("--bins", a.bins, "histogram bins per tensor")->check(CLI::Range(16, 65536))->capture_default_str();
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--preprocess", a.preprocess, "default: the model's winq.preprocess metadata");
  cmd->add_flag("--json", a.json, "print a JSON summary");
  cmd->add_flag("--no-winograd", a.no_winograd,
                "skip the Winograd-domain statistics (per component, F2/F4/F6) of 3×3 stride-1 convs");
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    RawImages raw = read_images(a.data);
    Dataset all = preprocess(raw, preprocess_for(g, raw, a.preprocess));
    Dataset d = sample_images(all, a.images, a.seed);
    CalibrateOptions opt;
    opt.threads = a.threads ? a.threads : default_threads();
    opt.bins = a.bins;
    opt.winograd = !a.no_winograd;
    Progress prog("calibrate", 2 * d.size());
    opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
    CalibrationStats s = collect_stats(g, d, opt);
    prog.done();
    s.model = a.model;
    s.seed = a.seed;
    save_stats(s, a.stats);
    int64_t nonfinite = 0;
    for (const auto& [name, t] : s.tensors) nonfinite += t.nonfinite;
    if (a.json) {
      print_json({{"stats", a.stats}, {"images", s.images}, {"tensors", s.tensors.size()},
                  {"winograd_layers", s.winograd.size()}, {"nonfinite", nonfinite}});
      return;
    }
    std::cout << fmt::format("{} tensors and {} Winograd layers over {} images ({}) → {}\n", s.tensors.size(),
                             s.winograd.size(), s.images, all.source, a.stats);
    if (nonfinite)
      std::cout << fmt::format("warning: {} NaN/Inf activation values were left out of the statistics\n", nonfinite);
  });
}

}  // namespace winq::cli
