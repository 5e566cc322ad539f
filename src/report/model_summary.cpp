#include <fmt/format.h>

#include "winq/summary.hpp"
#include "winq/table.hpp"

namespace winq {

namespace {
std::string dims(const Shape& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "×" : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return r.empty() ? "scalar" : r;
}
}  // namespace

std::vector<SummaryRow> summarize(const Graph& g, const std::map<std::string, LayerAnnotation>& notes) {
  std::vector<SummaryRow> rows;
  for (const Node& n : g.nodes) {
    SummaryRow r{n.name, n.op, "-", "-", {}, 0};
    if (n.attrs.has("winq_activation")) r.kind += "+" + n.attrs.get_string("winq_activation", "");
    if (n.op == "Conv") {
      const Value& w = g.values[n.input(1)];
      if (w.has_shape && w.shape.size() == 4) r.kind += fmt::format(" {}×{}", w.shape[2], w.shape[3]);
    }
    for (ValueId v : n.inputs) {
      if (v == kNoValue) continue;
      const Value& val = g.values[v];
      if (val.is_constant()) {
        if (val.dtype == DataType::s64) continue;  // shape arguments, not parameters
        if (r.param_shape == "-") r.param_shape = dims(val.shape);
        r.params += val.constant.numel();
      } else if (r.input_shape == "-") {
        r.input_shape = dims(val.shape);
      }
    }
    auto it = notes.find(n.name);
    if (it != notes.end()) r.note = it->second;
    else if (r.params == 0) r.note.bits = "-";
    rows.push_back(r);
  }
  return rows;
}

std::string render_summary(const std::vector<SummaryRow>& rows, const Shape& input) {
  int64_t total = 0;
  for (auto& r : rows) total += r.params;
  Table t({"layer", "kind", "param shape", "input shape", "tile", "flex", "bits", "size (k)", "size %"});
  for (auto& r : rows)
    t.add({r.name, r.kind, r.param_shape, r.input_shape, r.note.tile, r.note.flex, r.note.bits,
           r.params ? fmt::format("{:.2f}", r.params / 1000.0) : "-",
           r.params ? fmt::format("{:.2f}", total ? 100.0 * r.params / total : 0.0) : "-"});
  t.separator();
  t.add({"total", fmt::format("{} layers", rows.size()), "", dims(input), "", "", "", fmt::format("{:.2f}", total / 1000.0),
         "100.00"});
  return t.render();
}

nlohmann::json summary_json(const std::vector<SummaryRow>& rows, const Shape& input) {
  nlohmann::json j;
  int64_t total = 0;
  for (auto& r : rows) total += r.params;
  j["input_shape"] = input;
  j["total_params"] = total;
  j["layers"] = nlohmann::json::array();
  for (auto& r : rows)
    j["layers"].push_back({{"name", r.name}, {"kind", r.kind}, {"param_shape", r.param_shape},
                           {"input_shape", r.input_shape}, {"tile", r.note.tile}, {"flex", r.note.flex},
                           {"bits", r.note.bits}, {"params", r.params}});
  return j;
}

}  // namespace winq
