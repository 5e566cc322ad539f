// winq export MODEL --target onnxruntime -o OUT.onnx: standard ONNX that other
// runtimes load (src/quant/export_standard.cpp).
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"

namespace winq::cli {

namespace {
struct ExportArgs {
  std::string model, out, target = "onnxruntime";
  bool json = false;
};
}  // namespace

void add_export(CLI::App& app) {
  static ExportArgs a;
  auto* cmd = app.add_subcommand("export", "Export a model or quantized plan as standard ONNX for another runtime");
  cmd->add_option("model", a.model, "ONNX model or plan from winq quantize")->required();
  cmd->add_option("-o,--output", a.out, "ONNX file to write")->required();
  cmd->add_option("--target", a.target, "the runtime that will load it")
      ->check(CLI::IsMember({"onnxruntime"}))
      ->capture_default_str();
  cmd->add_flag("--json", a.json, "print the result as JSON");
  cmd->callback([] {
    const Graph g = load_onnx(a.model);
    const StandardExport e = export_standard_onnx(g);
    save_onnx(e.graph, a.out);
    if (a.json) {
      print_json({{"model", a.model}, {"output", a.out}, {"target", a.target},
                  {"quantized", is_quantized_model(g)}, {"winograd_layers_as_direct_conv", e.winograd_layers},
                  {"learned_winograd_layers_as_standard_ops", e.learned_layers}});
      return;
    }
    std::cout << fmt::format("wrote {} (standard ONNX for {}; {})\n", a.out, a.target,
                             is_quantized_model(g) ? "QDQ plan" : "float model");
    if (!e.winograd_layers.empty()) {
      std::cout << fmt::format("{} int8 Winograd layer(s) exported as ordinary quantized convolutions (the same "
                               "weights, computed directly by the runtime):\n",
                               e.winograd_layers.size());
      for (const auto& l : e.winograd_layers) std::cout << "  " << l << "\n";
    }
    if (!e.learned_layers.empty()) {
      std::cout << fmt::format("{} layer(s) with learned Winograd transforms exported as that Winograd computation "
                               "in standard operators (grouped Conv, ConvTranspose, Slice):\n",
                               e.learned_layers.size());
      for (const auto& l : e.learned_layers) std::cout << "  " << l << "\n";
    }
  });
}

}  // namespace winq::cli
