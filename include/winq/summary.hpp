// The model summary table (the columns the Winograd-aware work prints): layer,
// kind, parameter shape, input shape, Winograd tile, flex, bits, size (k
// parameters) and size (%), then the totals. Used by `winq summary` and printed
// at the start of training.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "winq/graph.hpp"

namespace winq {

// Per-layer annotations by node name (defaults: tile "-", flex "-", bits "FP").
struct LayerAnnotation {
  std::string tile = "-";
  std::string flex = "-";
  std::string bits = "FP";
};

struct SummaryRow {
  std::string name, kind, param_shape, input_shape;
  LayerAnnotation note;
  int64_t params = 0;
};

// Rows of a prepared graph: one per node that has parameters or changes the
// data (shape-only nodes are listed too; constants of type int64 are not
// parameters).
std::vector<SummaryRow> summarize(const Graph& prepared, const std::map<std::string, LayerAnnotation>& notes = {});
std::string render_summary(const std::vector<SummaryRow>& rows, const Shape& input);
nlohmann::json summary_json(const std::vector<SummaryRow>& rows, const Shape& input);

}  // namespace winq
