// Lowering a prepared QDQ graph to winq's integer operators (qlinear.hpp):
//   DQ(x) → Conv/Gemm(DQ(W), DQ(b)) [→ Relu/Clip…] → Q   ⇒  winq.QConv / winq.QGemm
//   DQ(a) + DQ(b) [→ Relu/Clip…] → Q                     ⇒  winq.QAdd
//   GlobalAveragePool(DQ(x)) → Q                          ⇒  winq.QGlobalAveragePool
//   MaxPool/Flatten/Reshape(DQ(x)) → Q (same scale)       ⇒  the op on the integers
// A layer without a Q after it (the classifier) gives float output. Whatever
// does not match stays dequantize → float → quantize, with ONNX semantics.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "../passes/pass_util.hpp"
#include "../runtime/ops/op.hpp"
#include "../runtime/ops/qlinear.hpp"
#include "winq/quant.hpp"
#include "winq/winograd.hpp"
#include "winq/requantize.hpp"

namespace winq {

namespace {

namespace qa = ops::qattr;

struct Dq {
  int node = -1;
  ValueId q = kNoValue;  // the integer input of the DequantizeLinear
  std::vector<float> scale;
  std::vector<int64_t> zp;  // empty = 0
  int axis = 1;
};

// The DequantizeLinear that produces v, with constant scale and zero point.
bool dq_of(const Graph& g, const std::vector<int>& producer, ValueId v, Dq& d) {
  const int p = producer[v];
  if (p < 0) return false;
  const Node& n = g.nodes[p];
  if (n.op != "DequantizeLinear" || !n.domain.empty()) return false;
  const Value& s = g.values[n.inputs[1]];
  if (!s.is_constant()) return false;
  if (n.input(2) != kNoValue) {
    if (!g.values[n.inputs[2]].is_constant()) return false;
    d.zp = g.values[n.inputs[2]].constant.to_int64s();
  }
  d.node = p;
  d.q = n.inputs[0];
  const auto sv = s.constant.to_doubles();
  d.scale.assign(sv.begin(), sv.end());
  d.axis = static_cast<int>(n.attrs.get_int("axis", 1));
  return true;
}
int64_t zp0(const Dq& d) { return d.zp.empty() ? 0 : d.zp[0]; }
bool all_zero(const std::vector<int64_t>& v) {
  for (auto x : v)
    if (x) return false;
  return true;
}

// Where a value goes: zero or more Relu/Clip (constant bounds), then a
// per-tensor QuantizeLinear, each the sole reader of the one before.
struct QOut {
  std::vector<int> chain;  // activation nodes, then the QuantizeLinear
  ValueId out = kNoValue;  // the quantized value
  float scale = 1;
  int64_t zp = 0;
  DataType type = DataType::u8;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
};

bool clip_consts(const Graph& g, const Node& n, float& lo, float& hi) {
  for (size_t i = 1; i < 3; ++i) {
    const ValueId v = n.input(i);
    if (v == kNoValue) continue;
    if (!g.values[v].is_constant()) return false;
    const float b = static_cast<float>(g.values[v].constant.to_doubles().at(0));
    if (i == 1) lo = std::max(lo, b);
    else hi = std::min(hi, b);
  }
  return true;
}

void fused_bounds(const Attributes& a, float& lo, float& hi) {
  const std::string act = a.get_string(ops::kFusedActivation, "");
  if (act == "Relu") lo = std::max(lo, 0.0f);
  if (act == "Clip") {
    lo = std::max(lo, a.get_float(ops::kFusedMin, lo));
    hi = std::min(hi, a.get_float(ops::kFusedMax, hi));
  }
}

bool q_after(const Graph& g, const std::vector<std::vector<int>>& consumers, ValueId v, QOut& q) {
  for (;;) {
    const int c = passes::sole_consumer(g, consumers, v);
    if (c < 0) return false;
    const Node& n = g.nodes[c];
    if (!n.domain.empty()) return false;
    if (n.op == "Relu") {
      q.lo = std::max(q.lo, 0.0f);
    } else if (n.op == "Clip") {
      if (g.opset < 11 || !clip_consts(g, n, q.lo, q.hi)) return false;
    } else if (n.op == "QuantizeLinear") {
      const Value& s = g.values[n.inputs[1]];
      if (!s.is_constant() || s.constant.numel() != 1) return false;
      if (n.input(2) != kNoValue) {
        if (!g.values[n.inputs[2]].is_constant()) return false;
        q.zp = g.values[n.inputs[2]].constant.to_int64s().at(0);
      }
      q.scale = static_cast<float>(s.constant.to_doubles()[0]);
      q.type = g.values[n.outputs[0]].dtype;
      q.out = n.outputs[0];
      q.chain.push_back(c);
      return true;
    } else {
      return false;
    }
    q.chain.push_back(c);
    v = n.outputs[0];
  }
}

// The integer range [qmin, qmax] of a QOut: the type's range narrowed by the
// activation bounds, quantized exactly as QuantizeLinear would (monotone).
void q_range(const QOut& q, int64_t& qmin, int64_t& qmax) {
  const double tmin = q.type == DataType::u8 ? 0 : -128, tmax = q.type == DataType::u8 ? 255 : 127;
  auto quantize = [&](float x) {
    if (std::isinf(x)) return x < 0 ? tmin : tmax;
    return std::clamp(static_cast<double>(std::nearbyint(x / q.scale)) + q.zp, tmin, tmax);
  };
  qmin = static_cast<int64_t>(quantize(q.lo));
  qmax = static_cast<int64_t>(quantize(q.hi));
}

const char* type_name(DataType t) { return t == DataType::u8 ? "uint8" : "int8"; }

void set_output_attrs(Node& n, const QOut& q) {
  int64_t qmin, qmax;
  q_range(q, qmin, qmax);
  n.attrs.set(qa::kYType, std::string(type_name(q.type)));
  n.attrs.set(qa::kYZeroPoint, q.zp);
  n.attrs.set(qa::kQMin, qmin);
  n.attrs.set(qa::kQMax, qmax);
}

int64_t max_abs_minus_zp(DataType t, int64_t zp) {
  const int64_t lo = t == DataType::u8 ? 0 : -128, hi = t == DataType::u8 ? 255 : 127;
  return std::max(std::abs(lo - zp), std::abs(hi - zp));
}

struct Lowering {
  Graph& g;
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;
  std::vector<char> erase;
  std::vector<Node> added;

  explicit Lowering(Graph& graph) : g(graph), producer(graph.values.size(), -1), consumers(graph.consumers()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (ValueId o : g.nodes[i].outputs) producer[o] = static_cast<int>(i);
    erase.assign(g.nodes.size(), 0);
  }

  void replace(int node, const QOut& q, Node repl) {
    erase[node] = 1;
    for (int c : q.chain) erase[c] = 1;
    added.push_back(std::move(repl));
  }

  // Conv / Gemm with quantized input, weights and bias.
  void layer(int i) {
    const Node& n = g.nodes[i];
    const bool conv = n.op == "Conv";
    Dq x, w, b;
    if (!dq_of(g, producer, n.inputs[0], x) || x.scale.size() != 1) return;
    if (!dq_of(g, producer, n.inputs[1], w) || !g.values[w.q].is_constant() || g.values[w.q].dtype != DataType::s8 ||
        !all_zero(w.zp))
      return;
    const bool has_bias = n.input(2) != kNoValue;
    if (has_bias && (!dq_of(g, producer, n.inputs[2], b) || !g.values[b.q].is_constant() ||
                     g.values[b.q].dtype != DataType::s32 || !all_zero(b.zp)))
      return;
    Tensor wq = g.values[w.q].constant;
    if (!conv) {
      if (n.attrs.get_int("transA", 0) || n.attrs.get_float("alpha", 1) != 1 || n.attrs.get_float("beta", 1) != 1)
        return;
      if (n.attrs.get_int("transB", 0) == 0) {  // [K, N] → one row per output
        if (w.scale.size() > 1 && w.axis != 1) return;
        const int64_t K = wq.dim(0), N = wq.dim(1);
        Tensor t(DataType::s8, {N, K});
        for (int64_t k = 0; k < K; ++k)
          for (int64_t o = 0; o < N; ++o) t.data<int8_t>()[o * K + k] = wq.data<int8_t>()[k * N + o];
        wq = t;
      } else if (w.scale.size() > 1 && w.axis != 0) {
        return;
      }
    } else if (w.scale.size() > 1 && w.axis != 0) {
      return;
    }
    const int64_t M = wq.dim(0);
    auto ws = [&](int64_t c) { return static_cast<double>(w.scale.size() == 1 ? w.scale[0] : w.scale.at(c)); };
    if (w.scale.size() != 1 && static_cast<int64_t>(w.scale.size()) != M) return;
    Tensor bq;
    if (has_bias) {
      bq = g.values[b.q].constant;
      if (bq.numel() != M) return;
      for (int64_t c = 0; c < M; ++c) {  // the bias must be on the accumulator's scale
        const double expect = static_cast<double>(static_cast<float>(x.scale[0] * ws(c)));
        const double got = b.scale.size() == 1 ? b.scale[0] : b.scale.at(c);
        if (std::fabs(got - expect) > 1e-6 * expect) return;
      }
    }
    // Worst-case accumulator: every product at its largest magnitude.
    int64_t wmax = 0, bmax = 0;
    for (int64_t k = 0; k < wq.numel(); ++k) wmax = std::max<int64_t>(wmax, std::abs(wq.data<int8_t>()[k]));
    if (has_bias)
      for (int64_t c = 0; c < M; ++c) bmax = std::max<int64_t>(bmax, std::abs(static_cast<int64_t>(bq.data<int32_t>()[c])));
    const int64_t per_out = conv ? wq.numel() / M : wq.dim(1);
    const int64_t bound = per_out * max_abs_minus_zp(g.values[x.q].dtype, zp0(x)) * wmax + bmax;
    if (bound > std::numeric_limits<int32_t>::max())
      throw Error(fmt::format("layer '{}': the worst-case accumulator {} could overflow int32 ({} products); keep it "
                              "in float with --keep-float or use fewer bits",
                              n.name, bound, per_out));

    if (conv && n.attrs.has(winograd::attr::kTile)) {  // int8 Winograd, when its output is quantized
      QOut wout;
      fused_bounds(n.attrs, wout.lo, wout.hi);
      if (q_after(g, consumers, n.outputs[0], wout)) {
        winograd::QuantIO io;
        io.x_scale = x.scale[0];
        io.x_zp = zp0(x);
        io.x_type = g.values[x.q].dtype;
        io.y_scale = wout.scale;
        io.y_zp = wout.zp;
        io.y_type = wout.type;
        q_range(wout, io.qmin, io.qmax);
        Node wnode = winograd::lower_int8(g, n, x.q, io);
        wnode.outputs = {wout.out};
        replace(i, wout, std::move(wnode));
        return;
      }
    }
    // Learned transforms are not a convolution: without a quantized output the
    // layer stays a float Conv of its dequantized weights (still that Winograd).
    if (conv && winograd::has_learned_transforms(n)) return;
    Node q;
    q.name = n.name;
    q.domain = qa::kDomain;
    q.op = conv ? "QConv" : "QGemm";
    q.inputs = {x.q, g.add_constant(g.unique_value_name(n.name + "_wq"), wq)};
    if (has_bias) q.inputs.push_back(b.q);
    for (const char* a : {"strides", "pads", "dilations", "group", "auto_pad", "kernel_shape"})
      if (conv && n.attrs.has(a)) q.attrs.set(a, n.attrs.all().at(a));
    q.attrs.set(qa::kXZeroPoint, zp0(x));
    QOut out;
    fused_bounds(n.attrs, out.lo, out.hi);
    if (q_after(g, consumers, n.outputs[0], out)) {
      std::vector<int64_t> mult, shift;
      for (int64_t c = 0; c < M; ++c) {
        const Requant r = make_requant(x.scale[0] * ws(c) / out.scale);
        mult.push_back(r.multiplier);
        shift.push_back(r.shift);
      }
      q.attrs.set(qa::kMultiplier, mult);
      q.attrs.set(qa::kShift, shift);
      set_output_attrs(q, out);
      q.outputs = {out.out};
    } else {  // float output (e.g. the logits), with the fused activation kept
      std::vector<float> ys;
      for (int64_t c = 0; c < M; ++c) ys.push_back(static_cast<float>(x.scale[0] * ws(c)));
      q.attrs.set(qa::kYType, std::string("float"));
      q.attrs.set(qa::kYScale, ys);
      for (const char* a : {ops::kFusedActivation, ops::kFusedMin, ops::kFusedMax})
        if (n.attrs.has(a)) q.attrs.set(a, n.attrs.all().at(a));
      q.outputs = {n.outputs[0]};
      out = QOut{};
    }
    replace(i, out, std::move(q));
  }

  void add(int i) {
    const Node& n = g.nodes[i];
    Dq a, b;
    if (!dq_of(g, producer, n.inputs[0], a) || !dq_of(g, producer, n.inputs[1], b)) return;
    if (a.scale.size() != 1 || b.scale.size() != 1) return;
    if (g.values[n.inputs[0]].shape != g.values[n.inputs[1]].shape) return;
    QOut out;
    fused_bounds(n.attrs, out.lo, out.hi);
    if (!q_after(g, consumers, n.outputs[0], out)) return;
    const double ma = a.scale[0] / out.scale, mb = b.scale[0] / out.scale;
    int e = 0;
    std::frexp(std::max(ma, mb), &e);
    int shift = 31 - e;
    int64_t ia = std::llround(std::ldexp(ma, shift)), ib = std::llround(std::ldexp(mb, shift));
    if (std::max(ia, ib) >= (int64_t{1} << 31)) {
      --shift;
      ia = std::llround(std::ldexp(ma, shift));
      ib = std::llround(std::ldexp(mb, shift));
    }
    if (shift < 1 || shift > 62) return;
    Node q;
    q.name = n.name;
    q.domain = qa::kDomain;
    q.op = "QAdd";
    q.inputs = {a.q, b.q};
    q.attrs.set(qa::kAZeroPoint, zp0(a));
    q.attrs.set(qa::kBZeroPoint, zp0(b));
    q.attrs.set(qa::kMultiplierA, ia);
    q.attrs.set(qa::kMultiplierB, ib);
    q.attrs.set(qa::kShift, std::vector<int64_t>{shift});
    set_output_attrs(q, out);
    q.outputs = {out.out};
    replace(i, out, std::move(q));
  }

  void global_average_pool(int i) {
    const Node& n = g.nodes[i];
    Dq x;
    if (!dq_of(g, producer, n.inputs[0], x) || x.scale.size() != 1) return;
    QOut out;
    if (!q_after(g, consumers, n.outputs[0], out)) return;
    const Shape& s = g.values[n.inputs[0]].shape;
    int64_t inner = 1;
    for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
    const Requant r = make_requant(x.scale[0] / (out.scale * static_cast<double>(inner)));
    Node q;
    q.name = n.name;
    q.domain = qa::kDomain;
    q.op = "QGlobalAveragePool";
    q.inputs = {x.q};
    q.attrs.set(qa::kXZeroPoint, zp0(x));
    q.attrs.set(qa::kMultiplier, std::vector<int64_t>{r.multiplier});
    q.attrs.set(qa::kShift, std::vector<int64_t>{r.shift});
    set_output_attrs(q, out);
    q.outputs = {out.out};
    replace(i, out, std::move(q));
  }

  // MaxPool / Flatten / Reshape between a DQ and a Q of the same parameters:
  // the op runs on the integers themselves.
  void passthrough(int i) {
    const Node& n = g.nodes[i];
    Dq x;
    if (!dq_of(g, producer, n.inputs[0], x) || x.scale.size() != 1) return;
    QOut out;
    if (!q_after(g, consumers, n.outputs[0], out) || out.chain.size() != 1) return;
    if (out.scale != x.scale[0] || out.zp != zp0(x) || out.type != g.values[x.q].dtype) return;
    Node q = n;
    q.inputs[0] = x.q;
    q.outputs = {out.out};
    replace(i, out, std::move(q));
  }
};

}  // namespace

Graph lower_qdq(Graph g) {
  Lowering l(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!n.domain.empty() || l.erase[i]) continue;
    if (n.op == "Conv" || n.op == "Gemm")
      l.layer(static_cast<int>(i));
    else if (n.op == "Add")
      l.add(static_cast<int>(i));
    else if (n.op == "GlobalAveragePool")
      l.global_average_pool(static_cast<int>(i));
    else if (n.op == "MaxPool" || n.op == "Flatten" || n.op == "Reshape")
      l.passthrough(static_cast<int>(i));
  }
  passes::erase_nodes(g, l.erase);
  for (Node& n : l.added) g.nodes.push_back(std::move(n));
  sort_topologically(g);
  g.remove_dead();
  validate(g);
  return g;
}

Graph prepare_quantized(const Graph& qdq, const InputShapes& shapes) {
  Graph g = lower_qdq(prepare(qdq, shapes));
  pack_int8_weights(g);
  return g;
}

}  // namespace winq
