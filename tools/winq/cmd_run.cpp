// winq run MODEL --input x.npy -o y.npy: run a model on arrays (quantized models run on the integer operators).
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"

namespace winq::cli {

namespace {
struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output;
  int threads = 0;
  std::string sim = "int";
};
}  // namespace

void add_run(CLI::App& app) {
  static RunArgs a;
  auto* cmd = app.add_subcommand("run", "Run a model on .npy inputs and save its outputs as .npy");
  cmd->add_option("model", a.model, "ONNX model")->required();
  cmd->add_option("--input,-i", a.inputs, "one .npy per model input, in order")->required();
  cmd->add_option("--output,-o", a.output, "where to save output 0 (output k goes to <name>_k.npy)")->required();
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--sim", a.sim, "quantized models: int (integer operators) or qdq (ONNX semantics)")
      ->check(CLI::IsMember({"int", "qdq"}))
      ->capture_default_str();
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    if (a.inputs.size() != g.inputs.size())
      throw Error(fmt::format("the model takes {} input(s), {} given", g.inputs.size(), a.inputs.size()));
    std::vector<Tensor> xs;
    InputShapes shapes;
    for (size_t i = 0; i < a.inputs.size(); ++i) {
      xs.push_back(load_npy(a.inputs[i]));
      shapes[g.values[g.inputs[i]].name] = xs.back().shape();
    }
    const bool lower = is_quantized_model(g) && a.sim == "int";
    FloatExecutor ex(lower ? prepare_quantized(g, shapes) : prepare(g, shapes), a.threads ? a.threads : default_threads());
    auto outs = ex.run(xs);
    std::string stem = a.output.size() > 4 && a.output.ends_with(".npy") ? a.output.substr(0, a.output.size() - 4) : a.output;
    for (size_t i = 0; i < outs.size(); ++i) {
      const std::string path = i == 0 ? a.output : fmt::format("{}_{}.npy", stem, i);
      save_npy(path, outs[i]);
      std::cerr << fmt::format("output '{}' {} -> {}\n", ex.graph().values[ex.graph().outputs[i]].name,
                               shape_str(outs[i].shape()), path);
    }
  });
}

}  // namespace winq::cli
