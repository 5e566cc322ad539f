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
  // Runs alternate: the observed ones time each node, the others the whole
  // run, so that the total does not include the timing calls (2 clock reads
  // per node: a few microseconds on a sub-millisecond network, which the
  // peers it is compared with do not pay).
  auto last = std::chrono::steady_clock::now();
  bool record = false, observing = false;
  ex.set_observer([&](ValueId v, const Tensor&) {
    if (!observing) return;
    const int p = producer[v];
    if (p >= 0 && record && pg.nodes[p].outputs[0] == v) per_node[p].push_back(seconds_since(last));
    last = std::chrono::steady_clock::now();
  });
  std::vector<double> totals;
  for (int r = 0; r < 2 * (runs + warmup); ++r) {
    record = r >= 2 * warmup;
    observing = r % 2 == 1;
    const auto t0 = std::chrono::steady_clock::now();
    last = t0;
    ex.run({x});
    if (record && !observing) totals.push_back(seconds_since(t0));
  }
  ex.set_observer({});
  RunProfile p;
  p.total_s = median_of(totals);
  for (auto& [node, t] : per_node) p.nodes.push_back({node, median_of(t)});
  return p;
}

}  // namespace winq
