// Helpers for building small graphs and random tensors in tests.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "winq/graph.hpp"

namespace winq::test {

// Deterministic random tensors; every test prints its seed on failure via SCOPED_TRACE.
inline Tensor random_tensor(Shape s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DataType::f32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

struct GraphBuilder {
  Graph g;
  GraphBuilder() { g.opset = 13; }
  ValueId input(const std::string& name, Shape s) {
    Value v;
    v.name = name;
    v.shape = std::move(s);
    v.has_shape = true;
    ValueId id = g.add_value(std::move(v));
    g.inputs.push_back(id);
    return id;
  }
  ValueId constant(const std::string& name, Tensor t) { return g.add_constant(name, std::move(t)); }
  // Adds a node with one output named `out`; returns the output value.
  ValueId node(const std::string& op, std::vector<ValueId> ins, const std::string& out, Attributes attrs = {}) {
    Value v;
    v.name = out;
    ValueId o = g.add_value(std::move(v));
    Node n;
    n.name = out + "_node";
    n.op = op;
    n.inputs = std::move(ins);
    n.outputs = {o};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
    return o;
  }
  void output(ValueId v) { g.outputs.push_back(v); }
};

// Relative L2 difference ||a − b|| / ||b||.
inline double rel_l2(const Tensor& a, const Tensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = static_cast<double>(a.data<float>()[i]) - b.data<float>()[i];
    num += d * d;
    den += static_cast<double>(b.data<float>()[i]) * b.data<float>()[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace winq::test
