#include "pass_util.hpp"

namespace winq::passes {

int sole_consumer(const Graph& g, const std::vector<std::vector<int>>& consumers, ValueId v) {
  if (g.is_graph_output(v) || consumers[v].size() != 1) return -1;
  int c = consumers[v][0];
  int reads = 0;
  for (ValueId in : g.nodes[c].inputs) reads += in == v;
  return reads == 1 ? c : -1;
}

void erase_nodes(Graph& g, const std::vector<char>& erase) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!erase[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

}  // namespace winq::passes
