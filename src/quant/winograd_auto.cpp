// --winograd auto: per eligible layer, the fastest of direct, F2, F4, F6 and
// the 1-D variants F2x1, F4x1, F6x1 whose output SQNR stays above a threshold.
//
// Accuracy is judged per layer in isolation: a plan where only that layer uses
// the tile (the rest direct), run on the calibration images beside the float
// model; the layer's output SQNR then holds the direct quantization of the
// layers before it plus this layer's own Winograd error, and not the errors of
// other Winograd layers. Speed is measured in the engine that will run the
// plan (batch 1, the given threads): per tile, a plan where every eligible
// layer uses it, timed layer by layer.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "winq/quant.hpp"
#include "winq/runtime.hpp"

namespace winq {

namespace {

// Median latency (ms) of each lowered node, by node name.
std::map<std::string, double> layer_ms(const Graph& qdq, const Tensor& x, int threads, int runs) {
  const Graph& in = qdq;
  FloatExecutor ex(prepare_quantized(qdq, {{in.values[in.inputs[0]].name, x.shape()}}), threads);
  const RunProfile p = profile_runs(ex, x, runs);
  std::map<std::string, double> ms;
  for (const auto& [node, s] : p.nodes) ms[ex.graph().nodes[node].name] = 1e3 * s;
  return ms;
}

// Output SQNR of each quantized tensor of the plan on `images`, by float tensor name.
std::map<std::string, double> tensor_sqnr(const Graph& qdq, const Graph& model, const Dataset& images, int threads) {
  QuantEvalOptions eo;
  eo.eval.threads = threads;
  const QuantEvalResult r = evaluate_quantized(qdq, &model, images, eo);
  std::map<std::string, double> db;
  for (const auto& t : r.tensors) db[t.name] = t.sqnr_db;

  return db;
}

}  // namespace

WinogradTile winograd_candidate(int i) {
  if (i < 0 || i >= kWinogradCandidates) throw Error(fmt::format("no Winograd candidate {}", i));
  return i == 0 ? WinogradTile{} : WinogradTile{2 * ((i - 1) % 3 + 1), i > 3};
}

std::string winograd_tile_name(WinogradTile t) {
  return t.m ? fmt::format("F{}{}", t.m, t.one_d ? "x1" : "") : std::string("direct");
}

WinogradTile parse_winograd_tile_name(const std::string& s) {
  if (s == "direct" || s == "off") return {};
  for (int i = 1; i < kWinogradCandidates; ++i)
    if (s == winograd_tile_name(winograd_candidate(i))) return winograd_candidate(i);
  throw Error(fmt::format("Winograd tile '{}': expected direct, F2, F4, F6, F2x1, F4x1 or F6x1", s));
}

std::vector<WinogradLayerChoice> choose_winograd_tiles(const Graph& model, const CalibrationStats& stats,
                                                       const QuantizeOptions& base, const Dataset& images,
                                                       const WinogradAutoOptions& ao) {
  if (images.size() == 0) throw Error("--winograd auto: no images to measure the layers on");
  auto say = [&](const std::string& s) {
    if (ao.progress) ao.progress(s);
  };
  const Tensor first = slice_batch(images.images, 0, 1);
  QuantizeOptions o = base;
  o.winograd_layers.clear();
  o.winograd_1d = false;

  // The eligible layers (those a Winograd tile is planned for) and their outputs.
  o.winograd = 4;
  std::vector<WinogradLayerChoice> out;
  std::map<std::string, std::string> output_of;
  for (const auto& l : quantize_model(model, stats, o).layers)
    if (l.winograd) {
      out.push_back({l.node});
      output_of[l.node] = l.output;
    }
  if (out.empty()) return out;

  o.winograd = 0;
  say(fmt::format("SQNR of every layer, direct, on {} images", images.size()));
  const auto direct_db = tensor_sqnr(quantize_model(model, stats, o).qdq, model, images, ao.threads);
  // A layer whose output stays in float (e.g. the model's last conv) runs direct
  // whatever its plan says: not a candidate.
  std::erase_if(out, [&](const WinogradLayerChoice& c) { return !direct_db.count(output_of[c.node]); });
  for (auto& c : out) c.sqnr_db[0] = direct_db.at(output_of[c.node]);
  if (out.empty()) return out;

  const int candidates = ao.one_d ? kWinogradCandidates : 4;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto& c : out)
    for (int ti = candidates; ti < kWinogradCandidates; ++ti) c.ms[ti] = c.sqnr_db[ti] = nan;  // not measured
  const auto use = [&](QuantizeOptions& q, WinogradTile t) {
    q.winograd = t.m;
    q.winograd_1d = t.one_d;
  };
  for (int ti = 0; ti < candidates; ++ti) {
    const WinogradTile t = winograd_candidate(ti);
    say(fmt::format("timing every layer {}", t.m ? "as " + winograd_tile_name(t) : std::string("direct")));
    use(o, t);
    const auto ms = layer_ms(quantize_model(model, stats, o).qdq, first, ao.threads, ao.runs);
    for (auto& c : out) {
      const auto it = ms.find(c.node);
      c.ms[ti] = it == ms.end() ? std::numeric_limits<double>::infinity() : it->second;
    }
  }
  use(o, {});
  for (size_t li = 0; li < out.size(); ++li) {
    auto& c = out[li];
    for (int ti = 1; ti < candidates; ++ti) {
      const WinogradTile t = winograd_candidate(ti);
      say(fmt::format("layer {}/{} {}: SQNR as {}", li + 1, out.size(), c.node, winograd_tile_name(t)));
      o.winograd_layers = {{c.node, t}};
      const auto db = tensor_sqnr(quantize_model(model, stats, o).qdq, model, images, ao.threads);
      const auto it = db.find(output_of[c.node]);
      c.sqnr_db[ti] = it == db.end() ? nan : it->second;
    }
    // Fastest qualifying candidate; direct qualifies always (it is the reference).
    int best = 0;
    for (int ti = 1; ti < candidates; ++ti)
      if (c.sqnr_db[ti] >= ao.min_sqnr_db && c.ms[ti] < c.ms[best]) best = ti;
    c.tile = winograd_candidate(best);
  }
  return out;
}

}  // namespace winq
