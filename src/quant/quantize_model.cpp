// Building the QDQ plan: which layers and tensors are quantized, their
// scales, int8 weights and int32 biases (optionally bias-corrected), written
// as a standard ONNX graph.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "../runtime/ops/op.hpp"
#include "weights.hpp"
#include "winq/quant.hpp"
#include "winq/winograd.hpp"

namespace winq {

namespace {

// Ops whose integer form exists (or is exact on quantized values).
bool is_int_op(const Node& n) {
  static const std::set<std::string> ops = {"Add", "MaxPool", "GlobalAveragePool", "Flatten", "Reshape"};
  return n.domain.empty() && ops.count(n.op);
}
// Ops whose output keeps the input's scale exactly (no new rounding).
bool keeps_scale(const Node& n) { return n.op == "MaxPool" || n.op == "Flatten" || n.op == "Reshape"; }

bool is_quantizable_layer(const Graph& g, const Node& n) {
  if (!n.domain.empty()) return false;
  if (n.op == "Conv") {
    const Value& w = g.values[n.inputs.at(1)];
    return w.is_constant() && w.shape.size() == 4 && (n.input(2) == kNoValue || g.values[n.inputs[2]].is_constant());
  }
  if (n.op == "Gemm") {
    return g.values[n.inputs.at(1)].is_constant() && n.attrs.get_int("transA", 0) == 0 &&
           n.attrs.get_float("alpha", 1.0f) == 1.0f && n.attrs.get_float("beta", 1.0f) == 1.0f &&
           (n.input(2) == kNoValue ||
            (g.values[n.inputs[2]].is_constant() && g.values[n.inputs[2]].shape.size() == 1));
  }
  return false;
}

struct ActQuant {
  float scale = 1;
  bool is_unsigned = false;
  int32_t qmax = 127;
};

// Bias correction: the mean shift of each output channel caused by replacing W
// by its quantized version, E[conv(x, Wq − W)] = Σ (Wq − W) · tap_mean.
std::vector<double> mean_shift(const Node& n, const Tensor& w, const Tensor& wq, const std::vector<double>& tap) {
  const float* a = w.data<float>();
  const float* b = wq.data<float>();
  std::vector<double> shift;
  if (n.op == "Conv") {
    const int64_t M = w.dim(0), per = w.numel() / M, group = n.attrs.get_int("group", 1), Mg = M / group;
    if (static_cast<int64_t>(tap.size()) != per * group) throw Error(n.name + ": tap means do not fit the weights");
    for (int64_t m = 0; m < M; ++m) {
      const double* t = tap.data() + (m / Mg) * per;
      double s = 0;
      for (int64_t k = 0; k < per; ++k) s += (static_cast<double>(b[m * per + k]) - a[m * per + k]) * t[k];
      shift.push_back(s);
    }
    return shift;
  }
  const bool tb = n.attrs.get_int("transB", 0) != 0;
  const int64_t K = tb ? w.dim(1) : w.dim(0), N = tb ? w.dim(0) : w.dim(1);
  if (static_cast<int64_t>(tap.size()) != K) throw Error(n.name + ": tap means do not fit the weights");
  for (int64_t o = 0; o < N; ++o) {
    double s = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t i = tb ? o * K + k : k * N + o;
      s += (static_cast<double>(b[i]) - a[i]) * tap[k];
    }
    shift.push_back(s);
  }
  return shift;
}

// Relu/Clip nodes in front of the fused activations, so that the graph is plain ONNX.
void unfuse_activations(Graph& g) {
  const size_t count = g.nodes.size();
  for (size_t i = 0; i < count; ++i) {
    Node& n = g.nodes[i];
    const std::string act = n.attrs.get_string(ops::kFusedActivation, "");
    if (act.empty()) continue;
    const ValueId out = n.outputs[0];
    Value pre;
    pre.name = g.unique_value_name(g.values[out].name + "_preact");
    pre.dtype = DataType::f32;
    const ValueId pid = g.add_value(pre);
    Node a;
    a.name = g.nodes[i].name + "_" + act;
    a.op = act;
    a.inputs = {pid};
    a.outputs = {out};
    if (act == "Clip") {
      a.inputs.push_back(g.add_constant(g.unique_value_name(a.name + "_min"),
                                        Tensor::scalar<float>(g.nodes[i].attrs.get_float(ops::kFusedMin, -INFINITY))));
      a.inputs.push_back(g.add_constant(g.unique_value_name(a.name + "_max"),
                                        Tensor::scalar<float>(g.nodes[i].attrs.get_float(ops::kFusedMax, INFINITY))));
    }
    Node& prod = g.nodes[i];
    prod.outputs[0] = pid;
    prod.attrs.erase(ops::kFusedActivation);
    prod.attrs.erase(ops::kFusedMin);
    prod.attrs.erase(ops::kFusedMax);
    g.nodes.push_back(std::move(a));
  }
}

Tensor per_axis_floats(const std::vector<float>& v) { return Tensor::from<float>({static_cast<int64_t>(v.size())}, v); }

}  // namespace

bool is_quantized_model(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.domain.empty() && (n.op == "QuantizeLinear" || n.op == "DequantizeLinear")) return true;
  return false;
}

QuantizeResult quantize_model(const Graph& model, const CalibrationStats& stats, const QuantizeOptions& opt) {
  quant_max(opt.wbits, false);  // validates the bit widths
  quant_max(opt.abits, false);
  if (is_quantized_model(model)) throw Error("the model is already quantized");
  if (model.inputs.size() != 1) throw Error("quantization needs a model with exactly one input");
  require_finite_constants(model);
  // The graph the statistics were collected on: batch 1, default passes.
  Shape in_shape = declared_input_shape(model);
  if (!in_shape.empty() && in_shape[0] < 0) in_shape[0] = 1;
  Graph g = prepare(model, {{model.values[model.inputs[0]].name, in_shape}});
  const auto consumers = g.consumers();

  // 1. Layers to quantize.
  std::vector<char> layer(g.nodes.size(), 0);
  int seen = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!is_quantizable_layer(g, n)) continue;
    const bool kept = seen++ < opt.skip_first ||
                      std::find(opt.keep_float.begin(), opt.keep_float.end(), n.name) != opt.keep_float.end() ||
                      std::find(opt.keep_float.begin(), opt.keep_float.end(), g.values[n.outputs[0]].name) !=
                          opt.keep_float.end();
    layer[i] = !kept;
  }
  for (const auto& name : opt.keep_float) {
    bool found = false;
    for (const Node& n : g.nodes) found |= n.name == name || g.values[n.outputs[0]].name == name;
    if (!found) throw Error(fmt::format("--keep-float: no layer or tensor named '{}'", name));
  }

  // 2. Tensors to quantize: inputs of quantized layers, and outputs of
  // quantized layers and integer ops whose inputs are all quantized.
  std::vector<char> quantized(g.values.size(), 0);
  auto float_activation = [&](ValueId v) { return !g.values[v].is_constant() && g.values[v].dtype == DataType::f32; };
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (layer[i]) quantized[g.nodes[i].inputs[0]] = 1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    bool q = layer[i];
    if (!q && is_int_op(n)) {
      q = true;
      for (ValueId v : n.inputs)
        if (v != kNoValue && float_activation(v) && !quantized[v]) q = false;
    }
    for (ValueId o : n.outputs)
      if (q && float_activation(o) && !g.is_graph_output(o)) quantized[o] = 1;
  }

  // 3. Activation scales, in topological order (scale-keeping ops inherit).
  std::vector<ActQuant> aq(g.values.size());
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ValueId o : g.nodes[i].outputs) producer[o] = static_cast<int>(i);
  // Trained input ranges (a value read by several such layers: the largest).
  std::map<ValueId, double> trained_x;
  if (opt.trained_ranges)
    for (const Node& n : g.nodes)
      if (n.op == "Conv" && n.attrs.has(winograd::attr::kTrainedXMax)) {
        const double r = n.attrs.get_float(winograd::attr::kTrainedXMax, 0);
        if (!(r > 0) || !std::isfinite(r))
          throw Error(fmt::format("{}: trained input range {} is not a positive number", n.name, r));
        trained_x[n.inputs[0]] = std::max(trained_x[n.inputs[0]], r);
      }
  // Scale-keeping ops (max-pool…) pass their input's scale on: the range belongs there too.
  for (auto [v, r] : std::map<ValueId, double>(trained_x))
    for (int p = producer[v]; p >= 0 && keeps_scale(g.nodes[p]); p = producer[g.nodes[p].inputs[0]]) {
      double& up = trained_x[g.nodes[p].inputs[0]];
      up = std::max(up, r);
    }
  auto calibrate = [&](ValueId v) {
    const std::string& name = g.values[v].name;
    auto it = stats.tensors.find(name);
    if (it == stats.tensors.end())
      throw Error(fmt::format("no calibration statistics for tensor '{}': were they collected on this model?", name));
    const TensorStats& s = it->second;
    ActQuant a;
    a.is_unsigned = s.nonnegative();
    a.qmax = quant_max(opt.abits, a.is_unsigned);
    ClipOptions co;
    co.bits = opt.abits;
    co.is_unsigned = a.is_unsigned;
    co.percentile = opt.percentile;
    const auto tr = trained_x.find(v);
    a.scale = static_cast<float>((tr != trained_x.end() ? tr->second : clip_value(s, opt.calibrator, co)) / a.qmax);
    return a;
  };
  std::vector<ValueId> order;
  for (ValueId v : g.inputs)
    if (quantized[v]) order.push_back(v);
  for (const Node& n : g.nodes)
    for (ValueId o : n.outputs)
      if (quantized[o]) order.push_back(o);
  for (ValueId v : order) {
    const int p = producer[v];
    if (p >= 0 && keeps_scale(g.nodes[p]) && quantized[g.nodes[p].inputs[0]])
      aq[v] = aq[g.nodes[p].inputs[0]];
    else
      aq[v] = calibrate(v);
  }

  // 4. Weights and biases of the quantized layers.
  QuantizeResult res;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!is_quantizable_layer(g, g.nodes[i])) continue;
    Node& n = g.nodes[i];
    LayerQuantInfo info;
    info.node = n.name;
    info.op = n.op;
    info.input = g.values[n.inputs[0]].name;
    info.output = g.values[n.outputs[0]].name;
    info.quantized = layer[i];
    if (!layer[i]) {
      res.layers.push_back(info);
      continue;
    }
    const Tensor w = g.values[n.inputs[1]].constant;
    quant::WeightQuantOptions wo;
    wo.bits = opt.wbits;
    wo.per_channel = opt.per_channel;
    wo.axis = n.op == "Gemm" && n.attrs.get_int("transB", 0) == 0 ? 1 : 0;
    wo.calibrator = opt.weight_calibrator;
    wo.bit_alloc = opt.bit_alloc;
    quant::QuantizedWeights qw = quant::quantize_weights(w, wo);
    const int64_t out_ch = w.dim(wo.axis);
    std::vector<double> bias(static_cast<size_t>(out_ch), 0.0);
    if (n.input(2) != kNoValue) {
      const Tensor& b = g.values[n.inputs[2]].constant;
      if (b.numel() != out_ch) throw Error(n.name + ": bias size does not match the output channels");
      for (int64_t c = 0; c < out_ch; ++c) bias[c] = b.data<float>()[c];
    }
    const std::vector<double> float_bias = bias;
    if (opt.bias_correction) {
      auto it = stats.tap_mean.find(n.name);
      if (it == stats.tap_mean.end())
        throw Error(fmt::format("no tap means for layer '{}' in the statistics: recollect them with winq calibrate", n.name));
      const auto shift = mean_shift(n, w, qw.dequantized, it->second);
      for (int64_t c = 0; c < out_ch; ++c) {
        bias[c] -= shift[c];
        info.max_bias_shift = std::max(info.max_bias_shift, std::fabs(shift[c]));
      }
    }
    const ActQuant& xq = aq[n.inputs[0]];
    // Bias scale = s_in · s_w[c] in float, as a QDQ runtime multiplies them.
    std::vector<float> wscale = qw.scale, bscale(static_cast<size_t>(out_ch));
    if (wscale.size() == 1) wscale.assign(static_cast<size_t>(out_ch), qw.scale[0]);
    std::vector<int32_t> qb(static_cast<size_t>(out_ch));
    for (int64_t c = 0; c < out_ch; ++c) {
      bscale[c] = xq.scale * wscale[c];
      const double v = std::nearbyint(bias[c] / bscale[c]);
      if (std::fabs(v) > 0x1p30)
        throw Error(fmt::format("layer '{}': the bias does not fit int32 at scale {} (keep it in float with --keep-float)",
                                n.name, bscale[c]));
      qb[c] = static_cast<int32_t>(v);
    }
    const auto tile_of = opt.winograd_layers.find(n.name);
    // A layer with learned transforms computes only its own Winograd (2-D, its tile).
    const bool learned = n.op == "Conv" && winograd::has_learned_transforms(n);
    const bool listed = tile_of != opt.winograd_layers.end();
    const int tile = learned ? winograd::learned_transforms(n).m : (listed ? tile_of->second.m : opt.winograd);
    const bool one_d = !learned && (listed ? tile_of->second.one_d : opt.winograd_1d);
    if (learned || (tile && winograd::winograd_eligible(g, i))) {
      const WinogradStats* ws = stats.winograd_of(n.name, tile, one_d);
      if (!ws)
        throw Error(fmt::format("no Winograd statistics for layer '{}': recollect them with winq calibrate "
                                "(without --no-winograd)",
                                n.name));
      winograd::Int8Options wo8;
      wo8.m = tile;
      wo8.one_d = one_d;
      wo8.wbits = opt.wbits;
      wo8.abits = opt.abits;
      wo8.per_component = opt.winograd_per_component;
      wo8.channel_scales = opt.winograd_channel_scales;
      wo8.channel_alpha = opt.winograd_channel_alpha;
      wo8.calibrator = opt.winograd_calibrator;
      wo8.percentile = opt.percentile;
      wo8.trained_ranges = opt.trained_ranges;
      // The Winograd weights come from the float weights, so the direct-conv bias correction does not apply.
      winograd::attach_int8_plan(n, w, float_bias, *ws, xq.is_unsigned, wo8);
      info.winograd = tile;
      info.winograd_1d = one_d;
      info.winograd_learned = learned;
    }
    info.input_scale = xq.scale;
    info.weight_bits = qw.mean_bits;
    info.weight_sqnr_db = qw.sqnr_db;
    res.layers.push_back(info);

    // Rewire: W → DQ(Wq), B → DQ(Bq).
    const std::string base = n.name;
    const int axis = opt.per_channel ? wo.axis : 0;
    auto dq = [&](std::string name, Tensor q, Tensor scale, int ax) {  // name by value: g.values grows
      Node d;
      d.name = g.unique_value_name(name + "_DequantizeLinear");
      d.op = "DequantizeLinear";
      d.inputs = {g.add_constant(g.unique_value_name(name + "_quantized"), std::move(q)),
                  g.add_constant(g.unique_value_name(name + "_scale"), std::move(scale))};
      if (ax >= 0) d.attrs.set("axis", int64_t{ax});
      Value out;
      out.name = g.unique_value_name(name + "_dequantized");
      out.dtype = DataType::f32;
      d.outputs = {g.add_value(out)};
      const ValueId r = d.outputs[0];
      g.nodes.push_back(std::move(d));
      return r;
    };
    Tensor wscale_t = opt.per_channel ? per_axis_floats(qw.scale) : Tensor::scalar<float>(qw.scale[0]);
    const ValueId wv = dq(g.values[g.nodes[i].inputs[1]].name, qw.q, wscale_t, opt.per_channel ? axis : -1);
    const std::string bname = g.nodes[i].input(2) != kNoValue ? g.values[g.nodes[i].inputs[2]].name : base + "_bias";
    const ValueId bv = dq(bname, Tensor::from<int32_t>({out_ch}, qb), per_axis_floats(bscale), 0);
    Node& nn = g.nodes[i];  // g.nodes grew: refresh the reference
    nn.inputs.resize(3);
    nn.inputs[1] = wv;
    nn.inputs[2] = bv;
  }

  // 5. Quantize → dequantize pairs on every quantized activation.
  for (ValueId v : order) {
    const ActQuant& a = aq[v];
    const std::string name = g.values[v].name;
    ValueId src = v;
    if (opt.abits < 8) {  // bound the values to the b-bit range
      Node c;
      c.name = g.unique_value_name(name + "_Clip");
      c.op = "Clip";
      c.inputs = {v, g.add_constant(g.unique_value_name(name + "_lo"),
                                    Tensor::scalar<float>(a.is_unsigned ? 0.0f : -a.qmax * a.scale)),
                  g.add_constant(g.unique_value_name(name + "_hi"), Tensor::scalar<float>(a.qmax * a.scale))};
      Value cv;
      cv.name = g.unique_value_name(name + "_clipped");
      c.outputs = {g.add_value(cv)};
      src = c.outputs[0];
      g.nodes.push_back(std::move(c));
    }
    Node q;
    q.name = g.unique_value_name(name + "_QuantizeLinear");
    q.op = "QuantizeLinear";
    Tensor zp = a.is_unsigned ? Tensor::scalar<uint8_t>(0) : Tensor::scalar<int8_t>(0);
    const ValueId sc = g.add_constant(g.unique_value_name(name + "_scale"), Tensor::scalar<float>(a.scale));
    const ValueId zv = g.add_constant(g.unique_value_name(name + "_zero_point"), zp);
    q.inputs = {src, sc, zv};
    Value qv;
    qv.name = g.unique_value_name(name + "_q");
    qv.dtype = a.is_unsigned ? DataType::u8 : DataType::s8;
    q.outputs = {g.add_value(qv)};
    Node d;
    d.name = g.unique_value_name(name + "_DequantizeLinear");
    d.op = "DequantizeLinear";
    d.inputs = {q.outputs[0], sc, zv};
    Value dv;
    dv.name = g.unique_value_name(name + "_dq");
    d.outputs = {g.add_value(dv)};
    const ValueId dqv = d.outputs[0];
    // Every reader of v (but the new Clip/Quantize) reads the dequantized value.
    const size_t first_new = g.nodes.size();
    g.nodes.push_back(std::move(q));
    g.nodes.push_back(std::move(d));
    for (size_t i = 0; i < first_new; ++i) {
      if (g.nodes[i].op == "Clip" && g.nodes[i].outputs[0] == src && src != v) continue;
      for (ValueId& in : g.nodes[i].inputs)
        if (in == v) in = dqv;
    }
  }

  unfuse_activations(g);
  sort_topologically(g);
  g.remove_dead();
  // A plan for any batch size: the batch dimension is dynamic again and the
  // inferred shapes of intermediate values are dropped.
  for (size_t v = 0; v < g.values.size(); ++v) {
    Value& val = g.values[v];
    if (val.is_constant()) continue;
    const bool io = std::find(g.inputs.begin(), g.inputs.end(), static_cast<ValueId>(v)) != g.inputs.end() ||
                    g.is_graph_output(static_cast<ValueId>(v));
    if (io && val.has_shape && !val.shape.empty()) {
      val.shape[0] = -1;
      if (val.dim_params.size() < val.shape.size()) val.dim_params.resize(val.shape.size());
      val.dim_params[0] = "batch";
    } else if (!io) {
      val.has_shape = false;
      val.shape.clear();
    }
  }
  g.opset = std::max<int64_t>(g.opset, 13);  // per-axis QuantizeLinear/DequantizeLinear
  nlohmann::json meta = {{"wbits", opt.wbits},
                         {"abits", opt.abits},
                         {"per_channel", opt.per_channel},
                         {"calibrator", calibrator_name(opt.calibrator)},
                         {"weight_calibrator", calibrator_name(opt.weight_calibrator)},
                         {"bias_correction", opt.bias_correction},
                         {"bit_alloc", opt.bit_alloc},
                         {"skip_first", opt.skip_first},
                         {"keep_float", opt.keep_float}};
  if (opt.calibrator == Calibrator::percentile) meta["percentile"] = opt.percentile;
  nlohmann::json tiles = nlohmann::json::object();  // the int8 Winograd tile of each layer planned as one
  for (const auto& l : res.layers)
    if (l.winograd) tiles[l.node] = winograd_tile_name({l.winograd, l.winograd_1d});
  if (!tiles.empty()) meta["winograd_tiles"] = tiles;
  g.metadata["winq.quantization"] = meta.dump();
  validate(g);
  res.qdq = std::move(g);
  return res;
}

}  // namespace winq
