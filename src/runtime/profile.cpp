// Per-layer latency of a prepared graph: the time of a node is the time between
// the observer calls of consecutive outputs (the executor runs nodes in order).
#include <algorithm>
#include <chrono>
#include <map>

#include "winq/runtime.hpp"

namespace winq {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

RunProfile profile_runs(FloatExecutor& ex, const Tensor& x, int runs, int warmup) {
  const Graph& pg = ex.graph();
  std::map<int, std::vector<double>> per_node;
  std::vector<int> producer(pg.values.size(), -1);
  for (size_t i = 0; i < pg.nodes.size(); ++i)
    for (ValueId o : pg.nodes[i].outputs) producer[o] = static_cast<int>(i);
  auto last = std::chrono::steady_clock::now();
  bool record = false;
  ex.set_observer([&](ValueId v, const Tensor&) {
    const int p = producer[v];
    if (p >= 0 && record && pg.nodes[p].outputs[0] == v) per_node[p].push_back(seconds_since(last));
    last = std::chrono::steady_clock::now();
  });
  std::vector<double> totals;
  for (int r = 0; r < runs + warmup; ++r) {
    record = r >= warmup;
    const auto t0 = std::chrono::steady_clock::now();
    last = t0;
    ex.run({x});
    if (record) totals.push_back(seconds_since(t0));
  }
  ex.set_observer({});
  RunProfile p;
  p.total_s = median_of(totals);
  for (auto& [node, t] : per_node) p.nodes.push_back({node, median_of(t)});
  return p;
}

}  // namespace winq
