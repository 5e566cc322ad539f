// Conv/Gemm/Add → Relu | Clip(constant bounds)  ⇒  Conv/Gemm with the activation as
// attributes (applied to the output before it is written).
#include <limits>

#include "../runtime/ops/op.hpp"
#include "pass_util.hpp"
#include "winq/passes.hpp"

namespace winq::passes {

namespace {

// Clip bounds: attributes before opset 11, constant inputs from 11 on.
bool clip_bounds(const Graph& g, const Node& clip, float& lo, float& hi) {
  lo = -std::numeric_limits<float>::infinity();
  hi = std::numeric_limits<float>::infinity();
  if (g.opset < 11) {
    lo = clip.attrs.get_float("min", lo);
    hi = clip.attrs.get_float("max", hi);
    return true;
  }
  for (size_t i = 1; i < 3; ++i) {
    ValueId v = clip.input(i);
    if (v == kNoValue) continue;
    if (!g.values[v].is_constant() || g.values[v].dtype != DataType::f32) return false;
    (i == 1 ? lo : hi) = g.values[v].constant.data<float>()[0];
  }
  return true;
}

}  // namespace

bool fuse_activation(Graph& g) {
  auto consumers = g.consumers();
  std::vector<char> erase(g.nodes.size(), 0);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& producer = g.nodes[i];
    const bool fusable = producer.op == "Conv" || producer.op == "Gemm" || producer.op == "Add";
    if (!fusable || !producer.domain.empty()) continue;
    if (producer.attrs.has(ops::kFusedActivation)) continue;  // already carries one
    const int ai = sole_consumer(g, consumers, producer.outputs[0]);
    if (ai < 0) continue;  // the pre-activation value is needed elsewhere
    const Node& act = g.nodes[ai];
    if (act.op == "Relu") {
      producer.attrs.set(ops::kFusedActivation, std::string("Relu"));
    } else if (act.op == "Clip") {
      float lo, hi;
      if (!clip_bounds(g, act, lo, hi)) continue;  // bounds computed at run time
      producer.attrs.set(ops::kFusedActivation, std::string("Clip"));
      producer.attrs.set(ops::kFusedMin, lo);
      producer.attrs.set(ops::kFusedMax, hi);
    } else {
      continue;
    }
    producer.outputs[0] = act.outputs[0];
    erase[ai] = 1;
    changed = true;
  }
  if (changed) {
    erase_nodes(g, erase);
    g.remove_dead();
  }
  return changed;
}

}  // namespace winq::passes
