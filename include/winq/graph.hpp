// A small graph IR: values (tensors flowing between nodes, possibly constant),
// nodes (an operator with attributes), graph inputs/outputs. Node inputs and
// outputs refer to values by index; kNoValue marks an absent optional input.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "winq/tensor.hpp"

namespace winq {

using ValueId = int32_t;
inline constexpr ValueId kNoValue = -1;

using Attribute = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>, Tensor>;

class Attributes {
 public:
  // Names are looked up as string views (a transparent comparator): kernels
  // read their attributes on every run, and a std::string key built from a
  // literal longer than 15 characters cost an allocation per lookup.
  using Map = std::map<std::string, Attribute, std::less<>>;
  bool has(std::string_view name) const { return map_.find(name) != map_.end(); }
  void set(const std::string& name, Attribute a) { map_[name] = std::move(a); }
  void erase(std::string_view name) {
    if (auto it = map_.find(name); it != map_.end()) map_.erase(it);
  }
  const Map& all() const { return map_; }

  int64_t get_int(std::string_view name, int64_t dflt) const;
  float get_float(std::string_view name, float dflt) const;
  std::string get_string(std::string_view name, const std::string& dflt) const;
  // Whether the string attribute `name` is present and equal to `value` (no copy).
  bool string_is(std::string_view name, std::string_view value) const;
  std::vector<int64_t> get_ints(std::string_view name, std::vector<int64_t> dflt = {}) const;
  std::vector<float> get_floats(std::string_view name, std::vector<float> dflt = {}) const;
  const Tensor* get_tensor(std::string_view name) const;

 private:
  Map map_;
};

struct Value {
  std::string name;
  DataType dtype = DataType::f32;
  // Dimensions; -1 where unknown. `has_shape` is false while even the rank is unknown.
  Shape shape;
  bool has_shape = false;
  // Symbolic names of dynamic dimensions of graph inputs ("batch", "height", ...).
  std::vector<std::string> dim_params;
  // Set for initializers and folded values.
  Tensor constant;
  bool is_constant() const { return constant.defined(); }
  bool shape_known() const;  // rank and every dimension known
};

struct Node {
  std::string name;
  std::string op;
  std::string domain;  // "" = ai.onnx
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  Attributes attrs;
  // Input i, or kNoValue if absent.
  ValueId input(size_t i) const { return i < inputs.size() ? inputs[i] : kNoValue; }
};

struct Graph {
  std::string name;
  int64_t opset = 13;  // ai.onnx opset the model was written for
  std::map<std::string, std::string> metadata;  // ONNX metadata_props
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;

  ValueId add_value(Value v);
  ValueId add_constant(const std::string& name, Tensor t);
  // Index of the value with this name, or kNoValue.
  ValueId find_value(const std::string& name) const;
  // Node index that produces `v`, or -1 (graph input, constant or absent).
  int producer(ValueId v) const;
  // For each value, the indices of the nodes that read it.
  std::vector<std::vector<int>> consumers() const;
  bool is_graph_output(ValueId v) const;
  // A name not used by any value yet, starting from `base`.
  std::string unique_value_name(const std::string& base) const;
  // Replace every read of `from` (by nodes and graph outputs) with `to`.
  void replace_uses(ValueId from, ValueId to);
  // Remove nodes whose outputs nobody reads, then values nobody references.
  void remove_dead();
};

// Node indices in an order where every node comes after the producers of its
// inputs (iterative: deep graphs cannot overflow the stack). Throws Error on a
// cycle, naming a node on it.
std::vector<int> topological_order(const Graph& g);

// Structural checks: ids in range, every value produced at most once, every
// node input defined, graph acyclic. Throws Error naming the offending node.
void validate(const Graph& g);

// Throws Error naming the first float constant (initializer) that holds NaN or
// ±Inf: calibration and quantization cannot give such a model a scale.
void require_finite_constants(const Graph& g);

// Sort g.nodes into topological order.
void sort_topologically(Graph& g);

}  // namespace winq
