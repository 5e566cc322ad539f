// winq summary MODEL: one row per layer (after BatchNorm folding and fusion).
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"
#include "winq/table.hpp"

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
    int64_t total = 0;
    struct Row {
      std::string name, op, param, input;
      int64_t params;
    };
    std::vector<Row> rows;
    for (const Node& n : p.nodes) {
      Row r{n.name, n.op, "-", "-", 0};
      for (ValueId v : n.inputs) {
        if (v == kNoValue) continue;
        const Value& val = p.values[v];
        if (val.is_constant()) {
          // Shape-like int64 inputs (Reshape targets) are not parameters.
          if (val.dtype == DataType::s64) continue;
          if (r.param == "-") r.param = fmt_shape(val.shape);
          r.params += val.constant.numel();
        } else if (r.input == "-") {
          r.input = fmt_shape(val.shape);
        }
      }
      if (n.attrs.has("winq_activation")) r.op += "+" + n.attrs.get_string("winq_activation", "");
      total += r.params;
      rows.push_back(r);
    }
    if (a.json) {
      nlohmann::json j;
      j["model"] = a.model;
      j["input_shape"] = s;
      j["total_params"] = total;
      for (auto& r : rows)
        j["layers"].push_back({{"name", r.name}, {"op", r.op}, {"param_shape", r.param}, {"input_shape", r.input},
                               {"params", r.params}});
      print_json(j);
      return;
    }
    Table t({"layer", "op", "param shape", "input shape", "params (k)", "params %"});
    for (auto& r : rows)
      t.add({r.name, r.op, r.param, r.input, r.params ? fmt::format("{:.2f}", r.params / 1000.0) : "-",
             r.params ? fmt::format("{:.2f}", total ? 100.0 * r.params / total : 0.0) : "-"});
    t.separator();
    t.add({"total", fmt::format("{} layers", rows.size()), "", fmt_shape(s), fmt::format("{:.2f}", total / 1000.0), "100.00"});
    std::cout << a.model << "\n" << t.render();
  });
}

}  // namespace winq::cli
