// Export of a winq plan for other runtimes: standard ONNX only. The plan's
// QDQ graph already is standard ONNX except for winq's private attributes on
// int8 Winograd convolutions (tile, Winograd-domain weights and scales). With
// the standard (Cook–Toom) transforms such a layer computes the convolution
// of its quantized weights, so dropping the attributes leaves exactly that:
// an ordinary QDQ Conv, which the other runtime computes directly (its
// rounding then differs from winq's Winograd arithmetic only by the Winograd
// rounding the layer would have had). A layer with learned transforms is not
// a convolution: it becomes the Winograd computation with its transforms in
// standard operators (winograd::add_winograd_conv_standard) on its
// (dequantized) weights, plus its bias; its input and output keep their
// quantizers, the Winograd-domain rounding inside is float in the other runtime.
#include <fmt/format.h>

#include "winq/quant.hpp"
#include "winq/runtime.hpp"
#include "winq/winograd.hpp"

namespace winq {

namespace {

// The float weights of a Conv: a constant, or DequantizeLinear of constants.
Tensor float_weights(const Graph& g, const Node& conv) {
  const ValueId w = conv.inputs.at(1);
  if (g.values[w].is_constant()) return g.values[w].constant;
  for (const Node& d : g.nodes) {
    if (d.outputs.empty() || d.outputs[0] != w) continue;
    if (d.op != "DequantizeLinear" || !d.domain.empty() || !g.values[d.inputs.at(0)].is_constant() ||
        !g.values[d.inputs.at(1)].is_constant())
      break;
    const Tensor& q = g.values[d.inputs[0]].constant;
    const auto scale = g.values[d.inputs[1]].constant.to_doubles();
    std::vector<int64_t> zp(scale.size(), 0);
    if (d.input(2) != kNoValue && g.values[d.inputs[2]].is_constant()) zp = g.values[d.inputs[2]].constant.to_int64s();
    const auto qv = q.to_doubles();
    if (q.rank() != 4 || (scale.size() != 1 && static_cast<int64_t>(scale.size()) != q.dim(0)) ||
        zp.size() != scale.size() || (scale.size() > 1 && d.attrs.get_int("axis", 1) != 0))
      break;
    Tensor f(DataType::f32, q.shape());
    const int64_t per = q.numel() / q.dim(0);
    for (int64_t i = 0; i < q.numel(); ++i) {
      const size_t c = scale.size() == 1 ? 0 : static_cast<size_t>(i / per);
      f.data<float>()[i] = static_cast<float>((qv[static_cast<size_t>(i)] - static_cast<double>(zp[c])) * scale[c]);
    }
    return f;
  }
  throw Unsupported(conv.name + ": the weights of a layer with learned transforms must be constant");
}

ValueId add_plain_node(Graph& g, const std::string& op, const std::string& name, std::vector<ValueId> in,
                       ValueId out) {
  Node n;
  n.name = g.unique_value_name(name);
  n.op = op;
  n.inputs = std::move(in);
  n.outputs = {out};
  g.nodes.push_back(std::move(n));
  return out;
}

// Every Conv with learned transforms replaced by the standard-operator
// Winograd computation; returns their names.
std::vector<std::string> lower_learned_layers(Graph& g) {
  std::vector<size_t> learned;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].op == "Conv" && g.nodes[i].domain.empty() && winograd::has_learned_transforms(g.nodes[i]))
      learned.push_back(i);
  if (learned.empty()) return {};
  // The layers' spatial sizes: the graph prepared for one image (names kept).
  InputShapes shapes;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    Shape s = declared_input_shape(g, i);
    for (int64_t& d : s)
      if (d < 0) d = 1;
    shapes[g.values[g.inputs[i]].name] = s;
  }
  PrepareOptions keep;
  keep.fold_batchnorm = false;
  keep.fuse_activations = false;
  keep.remove_identity = false;
  const Graph shaped = prepare(g, shapes, keep);
  std::vector<std::string> names;
  std::vector<char> erase(g.nodes.size(), 0);
  for (size_t i : learned) {
    const Node conv = g.nodes[i];
    const winograd::TileMatrices t = winograd::learned_transforms(conv);
    const ValueId in = shaped.find_value(g.values[conv.inputs[0]].name);
    if (in == kNoValue || shaped.values[in].shape.size() != 4)
      throw Unsupported(conv.name + ": the input size of a layer with learned transforms is not known");
    if (conv.attrs.get_ints("pads", {0, 0, 0, 0}) != std::vector<int64_t>{1, 1, 1, 1})
      throw Unsupported(conv.name + ": a layer with learned transforms exports with pads 1 only");
    const Shape& xs = shaped.values[in].shape;
    const Tensor w = float_weights(g, conv);
    ValueId y = winograd::add_winograd_conv_standard(g, conv.inputs[0], w, t, xs[2], xs[3], conv.name);
    if (conv.input(2) != kNoValue) {
      Tensor shape(DataType::s64, {3});
      shape.data<int64_t>()[0] = w.dim(0);
      shape.data<int64_t>()[1] = shape.data<int64_t>()[2] = 1;
      Value bv;
      bv.name = g.unique_value_name(conv.name + ".bias_nchw");
      const ValueId b = add_plain_node(g, "Reshape", conv.name + ".bias_reshape",
                                       {conv.inputs[2], g.add_constant(g.unique_value_name(conv.name + ".bias_shape"),
                                                                       std::move(shape))},
                                       g.add_value(bv));
      add_plain_node(g, "Add", conv.name + ".bias", {y, b}, conv.outputs[0]);
    } else {
      add_plain_node(g, "Identity", conv.name + ".out", {y}, conv.outputs[0]);
    }
    erase[i] = 1;
    names.push_back(fmt::format("{} (F({},3), learned transforms)", conv.name, t.m));
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (i >= erase.size() || !erase[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  g.remove_dead();  // the replaced layers' weight dequantizers
  sort_topologically(g);
  validate(g);
  return names;
}

}  // namespace

StandardExport export_standard_onnx(const Graph& plan) {
  StandardExport out{plan, {}, {}};
  out.learned_layers = lower_learned_layers(out.graph);
  for (Node& n : out.graph.nodes) {
    if (!n.domain.empty())
      throw Unsupported(fmt::format("node '{}' ({}) is in domain '{}': not expressible in standard ONNX "
                                    "(export the QDQ plan from winq quantize, not a lowered graph)",
                                    n.name, n.op, n.domain));
    std::vector<std::string> drop;
    for (const auto& [name, value] : n.attrs.all())
      if (name.rfind("winq_", 0) == 0) drop.push_back(name);
    if (n.attrs.has(winograd::attr::kTile)) {
      const int64_t m = n.attrs.get_int(winograd::attr::kTile, 0);
      const bool one_d = n.attrs.get_int(winograd::attr::kOneD, 0) != 0;
      out.winograd_layers.push_back(fmt::format("{} (F({}{},3{}))", n.name, m, one_d ? "×1" : "", one_d ? "×3" : ""));
    }
    for (const auto& name : drop) n.attrs.erase(name);
  }
  out.graph.metadata["winq.export_target"] = "onnxruntime";
  return out;
}

}  // namespace winq
