// winq eval MODEL --data D: top-1/top-5 accuracy and throughput.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"

namespace winq::cli {

namespace {
struct EvalArgs {
  std::string model;
  std::string data = "fashion-mnist";
  std::string preprocess;
  int64_t images = 0;
  int64_t batch = 64;
  int threads = 0;
  bool json = false;
};
}  // namespace

void add_eval(CLI::App& app) {
  static EvalArgs a;
  auto* cmd = app.add_subcommand("eval", "Accuracy of a model on a labelled dataset");
  cmd->add_option("model", a.model, "ONNX model")->required();
  cmd->add_option("--data", a.data,
                  "fashion-mnist (test split), fashion-mnist:train, a folder (IDX files or <class>/<image>), "
                  "or images.npy:labels.npy")
      ->capture_default_str();
  cmd->add_option("--images", a.images, "evaluate the first N images only (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", a.batch, "images per run")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--preprocess", a.preprocess,
                  "e.g. pad=2,mean=0.286,std=0.353 (default: the model's winq.preprocess metadata)");
  cmd->add_flag("--json", a.json, "print JSON");
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    RawImages raw = read_images(a.data, a.images);
    Preprocess pp = preprocess_for(g, raw, a.preprocess);
    Dataset d = preprocess(raw, pp);
    EvalOptions opt;
    opt.batch = a.batch;
    opt.threads = a.threads ? a.threads : default_threads();
    Progress prog("eval", d.size());
    opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
    EvalResult r = evaluate_float(g, d, opt);
    prog.done();
    if (a.json) {
      print_json({{"model", a.model}, {"data", d.source}, {"images", r.images}, {"engine", "float"},
                  {"top1", r.top1()}, {"top5", r.top5()}, {"images_per_second", r.images_per_second()},
                  {"threads", opt.threads}, {"preprocess", to_string(pp)}});
      return;
    }
    std::cout << fmt::format("model       {}\ndata        {} ({} images)\nengine      float reference ({} threads)\n",
                             a.model, d.source, r.images, opt.threads);
    std::cout << fmt::format("top-1       {:.2f}%\ntop-5       {:.2f}%\nthroughput  {:.0f} images/s\n", r.top1(),
                             r.top5(), r.images_per_second());
  });
}

}  // namespace winq::cli
