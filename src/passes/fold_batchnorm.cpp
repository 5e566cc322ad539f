// Conv → BatchNormalization  ⇒  Conv with W'[m] = W[m]·a[m], b'[m] = (b[m] − mean[m])·a[m] + beta[m],
// where a[m] = gamma[m] / sqrt(var[m] + eps). Computed in double, stored as float.
#include <cmath>

#include "pass_util.hpp"
#include "winq/passes.hpp"

namespace winq::passes {

bool fold_batchnorm(Graph& g) {
  auto consumers = g.consumers();
  std::vector<char> erase(g.nodes.size(), 0);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& conv = g.nodes[i];
    if (conv.op != "Conv" || !conv.domain.empty()) continue;
    // A fused activation would have to move after the BN: not foldable.
    if (conv.attrs.has("winq_activation")) continue;
    const ValueId y = conv.outputs[0];
    const int bi = sole_consumer(g, consumers, y);
    if (bi < 0) continue;  // the conv output is read elsewhere too: it must keep its value
    Node& bn = g.nodes[bi];
    if (bn.op != "BatchNormalization" || bn.input(0) != y || bn.outputs.size() != 1) continue;
    const Value& wv = g.values[conv.input(1)];
    if (!wv.is_constant() || wv.dtype != DataType::f32) continue;  // weights computed at run time
    bool params_const = true;
    for (size_t p = 1; p < 5; ++p) params_const &= bn.input(p) != kNoValue && g.values[bn.input(p)].is_constant();
    if (!params_const) continue;
    const ValueId bias_id = conv.input(2);
    if (bias_id != kNoValue && !g.values[bias_id].is_constant()) continue;

    const Tensor& w = wv.constant;
    const int64_t M = w.dim(0), per = w.numel() / M;
    const float* gamma = g.values[bn.input(1)].constant.data<float>();
    const float* beta = g.values[bn.input(2)].constant.data<float>();
    const float* mean = g.values[bn.input(3)].constant.data<float>();
    const float* var = g.values[bn.input(4)].constant.data<float>();
    const double eps = bn.attrs.get_float("epsilon", 1e-5f);
    Tensor nw(DataType::f32, w.shape()), nb(DataType::f32, {M});
    const float* b = bias_id != kNoValue ? g.values[bias_id].constant.data<float>() : nullptr;
    for (int64_t m = 0; m < M; ++m) {
      const double a = gamma[m] / std::sqrt(static_cast<double>(var[m]) + eps);
      for (int64_t k = 0; k < per; ++k) nw.data<float>()[m * per + k] = static_cast<float>(w.data<float>()[m * per + k] * a);
      nb.data<float>()[m] = static_cast<float>(((b ? b[m] : 0.0) - mean[m]) * a + beta[m]);
    }
    // New constants (the old ones may be shared with other nodes).
    conv.inputs[1] = g.add_constant(g.unique_value_name(g.values[conv.input(1)].name + "_bnfolded"), std::move(nw));
    ValueId new_bias = g.add_constant(g.unique_value_name(conv.name + "_bias_bnfolded"), std::move(nb));
    if (conv.inputs.size() < 3) conv.inputs.resize(3, kNoValue);
    conv.inputs[2] = new_bias;
    // The conv now writes the BN's output value directly.
    conv.outputs[0] = bn.outputs[0];
    erase[bi] = 1;
    changed = true;
  }
  if (changed) {
    erase_nodes(g, erase);
    g.remove_dead();
  }
  return changed;
}

}  // namespace winq::passes
