// Accuracy of a quantized plan, and for every quantized tensor the error
// against the float model: SQNR, clipping rate and Huffman entropy.
#include <fmt/format.h>

#include <cmath>
#include <map>

#include "winq/quant.hpp"

namespace winq {

namespace {

// A QuantizeLinear of the plan: which float tensor it quantizes, and how.
struct QPoint {
  std::string qname, fname;
  float scale = 1;
  int64_t zp = 0, qmin = 0, qmax = 255;
  bool is_unsigned = true;
  // accumulated over images
  double sig = 0, err = 0;
  int64_t clipped = 0, values = 0;
  std::vector<double> hist = std::vector<double>(384, 0.0);  // q + 128
};

std::vector<QPoint> quantize_points(const Graph& g) {
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (ValueId o : g.nodes[i].outputs) producer[o] = static_cast<int>(i);
  std::vector<QPoint> pts;
  for (const Node& n : g.nodes) {
    if (n.op != "QuantizeLinear" || !n.domain.empty()) continue;
    const Value& s = g.values[n.inputs[1]];
    if (!s.is_constant() || s.constant.numel() != 1) continue;
    QPoint p;
    p.qname = g.values[n.outputs[0]].name;
    p.scale = static_cast<float>(s.constant.to_doubles()[0]);
    if (n.input(2) != kNoValue && g.values[n.inputs[2]].is_constant())
      p.zp = g.values[n.inputs[2]].constant.to_int64s().at(0);
    p.is_unsigned = n.input(2) == kNoValue || g.values[n.inputs[2]].dtype == DataType::u8;
    p.qmin = p.is_unsigned ? 0 : -128;
    p.qmax = p.is_unsigned ? 255 : 127;
    ValueId src = n.inputs[0];
    const int pc = producer[src];
    if (pc >= 0 && g.nodes[pc].op == "Clip") {  // the b-bit bound in front of the quantizer
      const Node& c = g.nodes[pc];
      for (size_t i = 1; i < 3; ++i)
        if (c.input(i) != kNoValue && g.values[c.inputs[i]].is_constant()) {
          const double b = std::nearbyint(g.values[c.inputs[i]].constant.to_doubles()[0] / p.scale) + p.zp;
          if (i == 1) p.qmin = std::max<int64_t>(p.qmin, static_cast<int64_t>(b));
          else p.qmax = std::min<int64_t>(p.qmax, static_cast<int64_t>(b));
        }
      src = c.inputs[0];
    }
    p.fname = g.values[src].name;
    pts.push_back(std::move(p));
  }
  return pts;
}

int64_t int_at(const Tensor& t, int64_t i) {
  return t.dtype() == DataType::u8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}

}  // namespace

QuantEvalResult evaluate_quantized(const Graph& qdq, const Graph* float_model, const Dataset& data,
                                   const QuantEvalOptions& opt) {
  QuantEvalResult r;
  EvalOptions qo = opt.eval;
  if (opt.lower) qo.prepare_fn = [](const Graph& g, const InputShapes& s) { return prepare_quantized(g, s); };
  r.quantized = evaluate_float(qdq, data, qo);
  if (!float_model) return r;
  EvalOptions fo = opt.eval;
  fo.progress = nullptr;
  r.reference = evaluate_float(*float_model, data, fo);
  int64_t same = 0;
  for (size_t i = 0; i < r.quantized.predictions.size(); ++i)
    same += r.quantized.predictions[i] == r.reference.predictions[i];
  r.agreement = r.quantized.images ? static_cast<double>(same) / r.quantized.images : 0;
  r.tensors = tensor_errors(qdq, *float_model, data, 1000, opt);
  return r;
}

std::vector<TensorQuantReport> tensor_errors(const Graph& qdq, const Graph& float_model, const Dataset& data,
                                             int64_t max_images, const QuantEvalOptions& opt) {
  EvalOptions qo = opt.eval;
  if (opt.lower) qo.prepare_fn = [](const Graph& g, const InputShapes& s) { return prepare_quantized(g, s); };
  std::vector<TensorQuantReport> out;
  // Per-tensor errors on (up to) the first max_images images: both models, batch by batch.
  std::vector<QPoint> pts = quantize_points(qdq);
  std::map<std::string, size_t> by_q, by_f;
  for (size_t i = 0; i < pts.size(); ++i) by_q[pts[i].qname] = i, by_f[pts[i].fname] = i;
  BatchedExecutor qrun(qdq, opt.eval.threads, qo.prepare_fn), frun(float_model, opt.eval.threads);
  const int64_t n_report = std::min<int64_t>(data.size(), max_images), batch = std::max<int64_t>(1, opt.eval.batch);
  std::map<std::string, std::string> producer_op;
  for (int64_t b = 0; b < n_report; b += batch) {
    Tensor x = slice_batch(data.images, b, std::min(batch, n_report - b));
    std::vector<Tensor> stash(pts.size());
    FloatExecutor& qe = qrun.for_input(x.shape());
    qe.set_observer([&](ValueId v, const Tensor& t) {
      auto it = by_q.find(qe.graph().values[v].name);
      if (it != by_q.end()) stash[it->second] = t;
    });
    qe.run({x});
    FloatExecutor& fe = frun.for_input(x.shape());
    const Graph& fg = fe.graph();
    if (producer_op.empty())
      for (const Node& n : fg.nodes)
        for (ValueId o : n.outputs) producer_op[fg.values[o].name] = n.op;
    fe.set_observer([&](ValueId v, const Tensor& t) {
      auto it = by_f.find(fg.values[v].name);
      if (it == by_f.end() || !stash[it->second].defined()) return;
      QPoint& p = pts[it->second];
      const Tensor& q = stash[it->second];
      if (q.numel() != t.numel() || t.dtype() != DataType::f32) return;
      const float* f = t.data<float>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        const int64_t qi = int_at(q, i);
        const double dq = static_cast<double>(qi - p.zp) * p.scale;
        p.sig += static_cast<double>(f[i]) * f[i];
        p.err += (f[i] - dq) * (f[i] - dq);
        const double u = f[i] / p.scale + p.zp;
        p.clipped += u > p.qmax + 0.5 || u < p.qmin - 0.5;
        p.hist[static_cast<size_t>(qi + 128)] += 1;
      }
      p.values += t.numel();
    });
    fe.run({x});
  }
  for (const QPoint& p : pts) {
    if (!p.values) continue;
    TensorQuantReport t;
    t.name = p.fname;
    auto it = producer_op.find(p.fname);
    t.producer = it == producer_op.end() ? (p.fname == float_model.values[float_model.inputs[0]].name ? "input" : "?")
                                         : it->second;
    t.bits = static_cast<int>(std::ceil(std::log2(static_cast<double>(p.qmax - p.qmin + 1))));
    t.is_unsigned = p.is_unsigned;
    t.scale = p.scale;
    t.sqnr_db = p.err > 0 ? 10 * std::log10(p.sig / p.err) : INFINITY;
    t.clip_rate = static_cast<double>(p.clipped) / p.values;
    t.entropy_bits = huffman_bits(p.hist);
    out.push_back(t);
  }
  return out;
}

}  // namespace winq
