// winq demo: the main job on the embedded default data. For now: the shipped
// Fashion-MNIST model evaluated in float on the 10,000 test images.
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "common.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"
#include "winq/table.hpp"

namespace winq::cli {

namespace {
struct DemoArgs {
  std::string model;
  std::string data = "fashion-mnist";
  int threads = 0;
  bool json = false;
};
}  // namespace

void add_demo(CLI::App& app) {
  static DemoArgs a;
  auto* cmd = app.add_subcommand("demo", "The main job on the shipped model and Fashion-MNIST (or your own)");
  cmd->add_option("--model", a.model, "ONNX model (default: the shipped Fashion-MNIST model)");
  cmd->add_option("--data", a.data, "dataset (see winq eval --help)")->capture_default_str();
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--json", a.json, "print JSON");
  cmd->callback([] {
    const std::string model = a.model.empty() ? default_model_path() : a.model;
    if (!std::filesystem::exists(model)) throw Error(model + ": model not found");
    std::cerr << fmt::format("winq demo: model {}\n", model);
    Graph g = load_onnx(model);
    RawImages raw = read_images(a.data);
    Dataset d = preprocess(raw, preprocess_for(g, raw, ""));
    EvalOptions opt;
    opt.threads = a.threads ? a.threads : default_threads();
    Progress prog("float evaluation", d.size());
    opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
    EvalResult r = evaluate_float(g, d, opt);
    prog.done();
    if (a.json) {
      print_json({{"model", model}, {"data", d.source}, {"images", r.images},
                  {"results", {{{"configuration", "float32"}, {"top1", r.top1()}, {"top5", r.top5()},
                                {"images_per_second", r.images_per_second()}}}}});
      return;
    }
    Table t({"configuration", "engine", "top-1 %", "top-5 %", "images/s"});
    t.add({"float32", "float reference", fmt::format("{:.2f}", r.top1()), fmt::format("{:.2f}", r.top5()),
           fmt::format("{:.0f}", r.images_per_second())});
    std::cout << fmt::format("\n{} on {} ({} test images)\n\n", std::filesystem::path(model).filename().string(),
                             d.source, r.images)
              << t.render();
  });
}

}  // namespace winq::cli
