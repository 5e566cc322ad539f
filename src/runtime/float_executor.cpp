#include <fmt/format.h>

#include "allocator.hpp"
#include "ops/op.hpp"
#include "winq/runtime.hpp"

namespace winq {

FloatExecutor::FloatExecutor(Graph prepared, int threads) : graph_(std::move(prepared)), threads_(std::max(1, threads)) {
  keep_large_buffers_in_heap();
  validate(graph_);
  last_use_.assign(graph_.values.size(), -1);
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const Node& n = graph_.nodes[i];
    op_defs_.push_back(ops::find_op(n.domain, n.op));
    where_.push_back(fmt::format("node '{}' ({})", n.name, n.op));
    if (!op_defs_.back()) throw Unsupported(fmt::format("unsupported op '{}' at node '{}'", n.op, n.name));
    for (ValueId v : n.inputs)
      if (v != kNoValue) last_use_[v] = static_cast<int>(i);
  }
  // After graph_ is final: a prepared state may point into its nodes.
  for (size_t i = 0; i < graph_.nodes.size(); ++i)
    prepared_.push_back(op_defs_[i]->prepare ? op_defs_[i]->prepare(graph_, graph_.nodes[i]) : nullptr);
  in_place_.assign(graph_.values.size(), 0);
  for (size_t v = 0; v < graph_.values.size(); ++v) in_place_[v] = graph_.values[v].is_constant();
  for (ValueId v : graph_.inputs) in_place_[v] = 0;  // a given input overrides an initializer of its name
  for (ValueId v : graph_.inputs)
    if (!graph_.values[v].shape_known()) throw Error("FloatExecutor needs a prepared graph (input shapes known)");
}

std::vector<Tensor> FloatExecutor::run(const std::vector<Tensor>& inputs) {
  const Graph& g = graph_;
  if (inputs.size() != g.inputs.size())
    throw Error(fmt::format("the model takes {} input(s), {} given", g.inputs.size(), inputs.size()));
  std::vector<Tensor> slot(g.values.size());  // computed values; constants are read in place
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = g.values[g.inputs[i]];
    if (inputs[i].shape() != v.shape || inputs[i].dtype() != v.dtype)
      throw Error(fmt::format("input '{}' must be {} {}, got {} {}", v.name, dtype_name(v.dtype), shape_str(v.shape),
                              dtype_name(inputs[i].dtype()), shape_str(inputs[i].shape())));
    slot[g.inputs[i]] = inputs[i];
    if (observer_) observer_(g.inputs[i], inputs[i]);
  }
  // The input and output lists move into each node's context and back, so
  // that a run allocates them once, not twice per node.
  std::vector<const Tensor*> in_list;
  std::vector<Tensor> out_list;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    in_list.clear();
    for (ValueId v : n.inputs)
      in_list.push_back(v == kNoValue ? nullptr : in_place_[v] ? &g.values[v].constant : &slot[v]);
    out_list.clear();
    out_list.resize(n.outputs.size());
    ops::RunContext rc{n, g.opset, threads_, std::move(in_list), std::move(out_list), &where_[i], prepared_[i].get()};
    op_defs_[i]->run(rc);
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const ValueId id = n.outputs[o];
      if (rc.out[o].shape() != g.values[id].shape)
        throw Error(fmt::format("internal: node '{}' ({}) produced {} but {} was inferred", n.name, n.op,
                                shape_str(rc.out[o].shape()), shape_str(g.values[id].shape)));
      slot[id] = std::move(rc.out[o]);
      if (observer_) observer_(id, slot[id]);
    }
    for (ValueId v : n.inputs)
      if (v != kNoValue && last_use_[v] == static_cast<int>(i) && !in_place_[v] && !g.is_graph_output(v))
        slot[v] = Tensor();
    in_list = std::move(rc.in);
    out_list = std::move(rc.out);
  }
  std::vector<Tensor> out;
  for (ValueId v : g.outputs) out.push_back(in_place_[v] ? g.values[v].constant : slot[v]);
  return out;
}

}  // namespace winq
