// Identity and Dropout (inference: the identity on its first output) are removed;
// readers of their output read their input instead.
#include "pass_util.hpp"
#include "winq/passes.hpp"

namespace winq::passes {

bool remove_identity(Graph& g) {
  std::vector<char> erase(g.nodes.size(), 0);
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    if ((n.op != "Identity" && n.op != "Dropout") || !n.domain.empty()) continue;
    if (n.outputs.size() != 1) continue;  // Dropout's mask is requested
    const ValueId in = n.input(0), out = n.outputs[0];
    if (!g.is_graph_output(out)) {
      g.replace_uses(out, in);
    } else {
      // The output name is part of the model's interface: keep it by making the
      // input's producer write it, when that is possible.
      const int p = g.producer(in);
      if (p < 0 || g.is_graph_output(in)) continue;  // input is a graph input/constant or itself an output
      for (auto& o : g.nodes[p].outputs)
        if (o == in) o = out;
      g.replace_uses(in, out);
    }
    erase[i] = 1;
    changed = true;
  }
  if (changed) {
    erase_nodes(g, erase);
    g.remove_dead();
  }
  return changed;
}

}  // namespace winq::passes
