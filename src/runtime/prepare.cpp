// prepare(): bind input sizes, infer shapes, fold constants, run the passes.
#include <fmt/format.h>

#include "ops/op.hpp"
#include "winq/passes.hpp"
#include "winq/runtime.hpp"

namespace winq {

namespace {

void bind_inputs(Graph& g, const InputShapes& shapes) {
  for (const auto& [name, shape] : shapes) {
    ValueId id = g.find_value(name);
    bool is_input = false;
    for (ValueId in : g.inputs) is_input |= in == id;
    if (!is_input) throw Error("the model has no input named '" + name + "'");
  }
  for (ValueId in : g.inputs) {
    Value& v = g.values[in];
    auto it = shapes.find(v.name);
    if (it == shapes.end()) {
      if (!v.shape_known())
        throw Error(fmt::format("input '{}' has dynamic dimensions {}: its size must be given", v.name, shape_str(v.shape)));
      continue;
    }
    const Shape& want = it->second;
    if (v.has_shape) {
      bool ok = v.shape.size() == want.size();
      for (size_t i = 0; ok && i < want.size(); ++i) ok = v.shape[i] < 0 || v.shape[i] == want[i];
      if (!ok)
        throw Error(fmt::format("input '{}' expects shape {} but was given {}", v.name, shape_str(v.shape), shape_str(want)));
    }
    for (int64_t d : want)
      if (d < 0) throw Error(fmt::format("input '{}': size {} has an unknown dimension", v.name, shape_str(want)));
    shape_numel(want);
    v.shape = want;
    v.has_shape = true;
  }
}

std::string with_node(const Node& n, const std::string& msg) {
  if (msg.find("node '") != std::string::npos) return msg;
  return fmt::format("node '{}' ({}): {}", n.name, n.op, msg);
}

}  // namespace

Graph prepare(Graph g, const InputShapes& shapes, const PrepareOptions& opt) {
  validate(g);
  bind_inputs(g, shapes);
  sort_topologically(g);
  std::vector<char> folded(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    const ops::OpDef* def = ops::find_op(n.domain, n.op);
    if (!def) {
      std::string dom = n.domain.empty() ? "" : " (domain '" + n.domain + "')";
      throw Unsupported(fmt::format("unsupported op '{}'{} at node '{}'", n.op, dom, n.name));
    }
    try {
      bool all_const = true;
      for (ValueId v : n.inputs) all_const &= v == kNoValue || g.values[v].is_constant();
      // A DequantizeLinear of constant weights stays: it says the layer computes
      // with integers (lower_qdq needs to see it); the float path runs it once per batch.
      if (n.op == "DequantizeLinear" && n.domain.empty()) all_const = false;
      if (n.op == "Shape" && g.values[n.inputs.at(0)].shape_known()) {
        Tensor t = ops::shape_op_value(g.values[n.inputs[0]].shape, n);
        Value& out = g.values[n.outputs.at(0)];
        out.dtype = t.dtype();
        out.shape = t.shape();
        out.has_shape = true;
        out.constant = std::move(t);
        folded[i] = 1;
      } else if (all_const) {
        const std::string where = fmt::format("node '{}' ({})", n.name, n.op);
        ops::RunContext rc{n, g.opset, 1, {}, std::vector<Tensor>(n.outputs.size()), &where};
        for (ValueId v : n.inputs) rc.in.push_back(v == kNoValue ? nullptr : &g.values[v].constant);
        def->run(rc);
        for (size_t o = 0; o < n.outputs.size(); ++o) {
          Value& out = g.values[n.outputs[o]];
          out.dtype = rc.out[o].dtype();
          out.shape = rc.out[o].shape();
          out.has_shape = true;
          out.constant = std::move(rc.out[o]);
        }
        folded[i] = 1;
      } else {
        ops::InferContext ic{g, n};
        def->infer(ic);
      }
    } catch (const Unsupported& e) {
      throw Unsupported(with_node(n, e.what()));
    } catch (const Error& e) {
      throw Error(with_node(n, e.what()));
    } catch (const std::logic_error& e) {
      // Bounds-checked accesses (.at()) and argument checks of the standard
      // library on a node with too few inputs/outputs or odd attribute values
      // (found by fuzz/onnx_import): a malformed model, said as such.
      throw Error(with_node(n, fmt::format("malformed node (missing inputs or outputs, or attribute values out of "
                                           "range: {})",
                                           e.what())));
    }
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!folded[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  g.remove_dead();

  if (opt.remove_identity) passes::remove_identity(g);
  if (opt.fold_batchnorm) passes::fold_batchnorm(g);
  if (opt.fuse_activations) passes::fuse_activation(g);
  validate(g);
  return g;
}

Shape declared_input_shape(const Graph& g, size_t input) {
  if (input >= g.inputs.size()) throw Error("the model has no input #" + std::to_string(input));
  const Value& v = g.values[g.inputs[input]];
  if (!v.has_shape) throw Error("input '" + v.name + "' declares no shape");
  return v.shape;
}

}  // namespace winq
