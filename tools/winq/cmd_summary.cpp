// winq summary MODEL: one row per layer (after BatchNorm folding and fusion).
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"
#include "winq/summary.hpp"

namespace winq::cli {

namespace {

struct SummaryArgs {
  std::string model;
  std::string input_shape;
  bool json = false;
};

Shape parse_shape(const std::string& s) {
  Shape r;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t x = s.find_first_of("x,", pos);
    std::string part = s.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    try {
      size_t used;
      r.push_back(std::stoll(part, &used));
      if (used != part.size() || r.back() <= 0) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error("--input-shape: expected sizes like 1x1x28x28, got '" + s + "'");
    }
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  return r;
}

}  // namespace

void add_summary(CLI::App& app) {
  static SummaryArgs a;
  auto* cmd = app.add_subcommand("summary", "Table of the model's layers: op, parameter and input shapes, size");
  cmd->add_option("model", a.model, "ONNX model")->required();
  cmd->add_option("--input-shape", a.input_shape, "input size, e.g. 1x1x32x32 (default: declared, batch 1)");
  cmd->add_flag("--json", a.json, "print JSON");
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    Shape s = a.input_shape.empty() ? declared_input_shape(g) : parse_shape(a.input_shape);
    if (a.input_shape.empty()) {
      if (!s.empty() && s[0] < 0) s[0] = 1;
      for (int64_t d : s)
        if (d < 0) throw Error("the model's input has dynamic dimensions " + shape_str(s) + ": pass --input-shape");
    }
    Graph p = prepare(g, {{g.values[g.inputs[0]].name, s}});
    auto rows = summarize(p);
    if (a.json) {
      auto j = summary_json(rows, s);
      j["model"] = a.model;
      print_json(j);
      return;
    }
    std::cout << a.model << "\n" << render_summary(rows, s);
  });
}

}  // namespace winq::cli
