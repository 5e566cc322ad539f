// winq data --model M --data D -o images.npy [--labels labels.npy]: the
// preprocessed images a model sees, as arrays for other runtimes and scripts.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"

namespace winq::cli {

namespace {
struct DataArgs {
  std::string model, data = "fashion-mnist", preprocess, out, labels;
  int64_t images = 0;
};
}  // namespace

void add_data(CLI::App& app) {
  static DataArgs a;
  auto* cmd = app.add_subcommand("data", "Save a dataset, preprocessed for a model, as .npy arrays");
  cmd->add_option("--model", a.model, "the model whose input layout and preprocessing to use")->required();
  cmd->add_option("--data", a.data, "images (see winq eval --help)")->capture_default_str();
  cmd->add_option("--images", a.images, "the first N images only (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--preprocess", a.preprocess, "default: the model's winq.preprocess metadata");
  cmd->add_option("-o,--out", a.out, "images as float32 .npy")->required();
  cmd->add_option("--labels", a.labels, "labels as int64 .npy");
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    RawImages raw = read_images(a.data, a.images);
    Dataset d = preprocess(raw, preprocess_for(g, raw, a.preprocess));
    save_npy(a.out, d.images);
    if (!a.labels.empty()) {
      std::vector<int64_t> l(d.labels.begin(), d.labels.end());
      save_npy(a.labels, Tensor::from<int64_t>({static_cast<int64_t>(l.size())}, l));
    }
    std::cerr << fmt::format("{} images {} -> {}\n", d.size(), shape_str(d.images.shape()), a.out);
  });
}

}  // namespace winq::cli
