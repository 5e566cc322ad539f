#include "winq/graph.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_map>

namespace winq {

namespace {
template <class T>
const T* get_as(const Attributes::Map& m, std::string_view name) {
  auto it = m.find(name);
  if (it == m.end()) return nullptr;
  const T* p = std::get_if<T>(&it->second);
  if (!p) throw Error("attribute '" + std::string(name) + "' has an unexpected type");
  return p;
}
}  // namespace

int64_t Attributes::get_int(std::string_view name, int64_t dflt) const {
  auto p = get_as<int64_t>(map_, name);
  return p ? *p : dflt;
}
float Attributes::get_float(std::string_view name, float dflt) const {
  auto it = map_.find(name);
  if (it == map_.end()) return dflt;
  if (auto f = std::get_if<float>(&it->second)) return *f;
  if (auto i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  throw Error("attribute '" + std::string(name) + "' is not a float");
}
std::string Attributes::get_string(std::string_view name, const std::string& dflt) const {
  auto p = get_as<std::string>(map_, name);
  return p ? *p : dflt;
}
bool Attributes::string_is(std::string_view name, std::string_view value) const {
  auto p = get_as<std::string>(map_, name);
  return p && *p == value;
}
std::vector<int64_t> Attributes::get_ints(std::string_view name, std::vector<int64_t> dflt) const {
  auto p = get_as<std::vector<int64_t>>(map_, name);
  return p ? *p : dflt;
}
std::vector<float> Attributes::get_floats(std::string_view name, std::vector<float> dflt) const {
  auto p = get_as<std::vector<float>>(map_, name);
  return p ? *p : dflt;
}
const Tensor* Attributes::get_tensor(std::string_view name) const { return get_as<Tensor>(map_, name); }

bool Value::shape_known() const {
  if (!has_shape) return false;
  return std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; });
}

ValueId Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<ValueId>(values.size() - 1);
}

ValueId Graph::add_constant(const std::string& value_name, Tensor t) {
  Value v;
  v.name = value_name;
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.has_shape = true;
  v.constant = std::move(t);
  return add_value(std::move(v));
}

ValueId Graph::find_value(const std::string& value_name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == value_name) return static_cast<ValueId>(i);
  return kNoValue;
}

int Graph::producer(ValueId v) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    for (ValueId o : nodes[i].outputs)
      if (o == v) return static_cast<int>(i);
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> r(values.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (ValueId v : nodes[i].inputs)
      if (v != kNoValue && (r[v].empty() || r[v].back() != static_cast<int>(i)))
        r[v].push_back(static_cast<int>(i));
  return r;
}

bool Graph::is_graph_output(ValueId v) const {
  return std::find(outputs.begin(), outputs.end(), v) != outputs.end();
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (find_value(base) == kNoValue) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "_" + std::to_string(i);
    if (find_value(n) == kNoValue) return n;
  }
}

void Graph::replace_uses(ValueId from, ValueId to) {
  for (auto& n : nodes)
    for (auto& v : n.inputs)
      if (v == from) v = to;
  for (auto& v : outputs)
    if (v == from) v = to;
}

void Graph::remove_dead() {
  // Nodes: keep those reachable backwards from the graph outputs.
  std::vector<int> prod(values.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (ValueId o : nodes[i].outputs) prod[o] = static_cast<int>(i);
  std::vector<char> live(nodes.size(), 0);
  std::vector<ValueId> stack(outputs.begin(), outputs.end());
  while (!stack.empty()) {
    ValueId v = stack.back();
    stack.pop_back();
    int p = v == kNoValue ? -1 : prod[v];
    if (p < 0 || live[p]) continue;
    live[p] = 1;
    for (ValueId in : nodes[p].inputs) stack.push_back(in);
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (live[i]) kept.push_back(std::move(nodes[i]));
  nodes = std::move(kept);

  // Values: keep those referenced, renumbered in their original order.
  std::vector<char> used(values.size(), 0);
  for (ValueId v : inputs) used[v] = 1;
  for (ValueId v : outputs) used[v] = 1;
  for (auto& n : nodes) {
    for (ValueId v : n.inputs) if (v != kNoValue) used[v] = 1;
    for (ValueId v : n.outputs) used[v] = 1;
  }
  std::vector<ValueId> remap(values.size(), kNoValue);
  std::vector<Value> kept_values;
  for (size_t i = 0; i < values.size(); ++i)
    if (used[i]) {
      remap[i] = static_cast<ValueId>(kept_values.size());
      kept_values.push_back(std::move(values[i]));
    }
  values = std::move(kept_values);
  auto fix = [&](ValueId& v) { if (v != kNoValue) v = remap[v]; };
  for (auto& v : inputs) fix(v);
  for (auto& v : outputs) fix(v);
  for (auto& n : nodes) {
    for (auto& v : n.inputs) fix(v);
    for (auto& v : n.outputs) fix(v);
  }
}

static std::string node_label(const Node& n, size_t i) {
  return fmt::format("node #{} '{}' ({})", i, n.name, n.op);
}

std::vector<int> topological_order(const Graph& g) {
  const size_t nv = g.values.size();
  std::vector<int> prod(nv, -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ValueId o : g.nodes[i].outputs)
      if (o >= 0 && static_cast<size_t>(o) < nv) prod[o] = static_cast<int>(i);
  // Kahn's algorithm over node -> node edges.
  std::vector<int> pending(g.nodes.size(), 0);
  std::vector<std::vector<int>> users(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ValueId v : g.nodes[i].inputs)
      if (v != kNoValue && prod[v] >= 0) {
        ++pending[i];
        users[prod[v]].push_back(static_cast<int>(i));
      }
  std::vector<int> order, ready;
  for (size_t i = g.nodes.size(); i-- > 0;)
    if (pending[i] == 0) ready.push_back(static_cast<int>(i));
  while (!ready.empty()) {
    int n = ready.back();
    ready.pop_back();
    order.push_back(n);
    for (int u : users[n])
      if (--pending[u] == 0) ready.push_back(u);
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i] > 0) throw Error("graph has a cycle through " + node_label(g.nodes[i], i));
  }
  return order;
}

void validate(const Graph& g) {
  const auto nv = static_cast<ValueId>(g.values.size());
  std::vector<int> prod(nv, -1);
  for (ValueId v : g.inputs)
    if (v < 0 || v >= nv) throw Error("graph input refers to a missing value");
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (ValueId o : n.outputs) {
      if (o < 0 || o >= nv) throw Error(node_label(n, i) + " has an output that refers to no value");
      if (prod[o] >= 0)
        throw Error(fmt::format("value '{}' is produced twice: by {} and {}", g.values[o].name,
                                node_label(g.nodes[prod[o]], prod[o]), node_label(n, i)));
      if (g.values[o].is_constant())
        throw Error(node_label(n, i) + " writes to constant '" + g.values[o].name + "'");
      prod[o] = static_cast<int>(i);
    }
  }
  std::vector<char> is_input(nv, 0);
  for (ValueId v : g.inputs) is_input[v] = 1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (ValueId v : n.inputs) {
      if (v == kNoValue) continue;
      if (v < 0 || v >= nv) throw Error(node_label(n, i) + " has an input that refers to no value");
      if (prod[v] < 0 && !is_input[v] && !g.values[v].is_constant())
        throw Error(fmt::format("{} reads '{}', which no node, input or initializer defines",
                                node_label(n, i), g.values[v].name));
    }
  }
  for (ValueId v : g.outputs) {
    if (v < 0 || v >= nv) throw Error("graph output refers to a missing value");
    if (prod[v] < 0 && !is_input[v] && !g.values[v].is_constant())
      throw Error("graph output '" + g.values[v].name + "' is never computed");
  }
  topological_order(g);
}

void require_finite_constants(const Graph& g) {
  for (const Value& v : g.values) {
    if (!v.is_constant() || v.constant.dtype() != DataType::f32) continue;
    const float* d = v.constant.data<float>();
    int64_t bad = 0;
    for (int64_t i = 0; i < v.constant.numel(); ++i) bad += !std::isfinite(d[i]);
    if (bad)
      throw Error(fmt::format("initializer '{}' {} holds {} NaN/Inf value(s); winq cannot calibrate or quantize it "
                              "(fix the model first)",
                              v.name, shape_str(v.constant.shape()), bad));
  }
}

void sort_topologically(Graph& g) {
  auto order = topological_order(g);
  std::vector<Node> sorted;
  sorted.reserve(order.size());
  for (int i : order) sorted.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(sorted);
}

}  // namespace winq
