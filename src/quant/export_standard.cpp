// Export of a winq plan for other runtimes: standard ONNX only. The plan's
// QDQ graph already is standard ONNX except for winq's private attributes on
// int8 Winograd convolutions (tile, Winograd-domain weights and scales). With
// the standard (Cook–Toom) transforms such a layer computes the convolution
// of its quantized weights, so dropping the attributes leaves exactly that:
// an ordinary QDQ Conv, which the other runtime computes directly (its
// rounding then differs from winq's Winograd arithmetic only by the Winograd
// rounding the layer would have had).
#include <fmt/format.h>

#include "winq/quant.hpp"
#include "winq/winograd.hpp"

namespace winq {

StandardExport export_standard_onnx(const Graph& plan) {
  StandardExport out{plan, {}};
  for (Node& n : out.graph.nodes) {
    if (!n.domain.empty())
      throw Unsupported(fmt::format("node '{}' ({}) is in domain '{}': not expressible in standard ONNX "
                                    "(export the QDQ plan from winq quantize, not a lowered graph)",
                                    n.name, n.op, n.domain));
    std::vector<std::string> drop;
    for (const auto& [name, value] : n.attrs.all())
      if (name.rfind("winq_", 0) == 0) drop.push_back(name);
    if (n.attrs.has(winograd::attr::kTile)) {
      const int64_t m = n.attrs.get_int(winograd::attr::kTile, 0);
      const bool one_d = n.attrs.get_int(winograd::attr::kOneD, 0) != 0;
      out.winograd_layers.push_back(fmt::format("{} (F({}{},3{}))", n.name, m, one_d ? "×1" : "", one_d ? "×3" : ""));
    }
    for (const auto& name : drop) n.attrs.erase(name);
  }
  out.graph.metadata["winq.export_target"] = "onnxruntime";
  return out;
}

}  // namespace winq
