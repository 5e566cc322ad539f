// winq eval MODEL --data D: top-1/top-5 accuracy and throughput.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "winq/cpu.hpp"
#include "winq/winograd.hpp"
#include "winq/data.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/paired_comparison.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"
#include "winq/report.hpp"
#include "winq/table.hpp"

namespace winq::cli {

namespace {
struct EvalArgs {
  std::string model;
  std::string data = "fashion-mnist";
  std::string preprocess;
  int64_t images = 0;
  int64_t batch = 64;
  int threads = 0;
  bool json = false;
  std::string reference, sim = "int";
  std::string winograd = "off";
  bool winograd_1d = false;
  std::string report;
  std::string save_predictions, paired;
};

// --save-predictions: the predicted class of every image, int32 [N], in order.
// --paired: another evaluation's saved predictions on the same images; the
// images where exactly one of the two is right, and McNemar's exact p-value
// (is the accuracy difference more than which borderline images flip?).
Tensor load_paired(const EvalArgs& a, int64_t images) {
  const Tensor o = load_npy(a.paired);
  if (o.shape().size() != 1 || o.dim(0) != images || (o.dtype() != DataType::s32 && o.dtype() != DataType::s64))
    throw Error(fmt::format("--paired {}: expected the integer predictions of {} images (winq eval "
                            "--save-predictions on the same --data and --images)",
                            a.paired, images));
  return o;
}

nlohmann::json predictions_io(const EvalArgs& a, const EvalResult& r, const Dataset& d, bool print) {
  if (!a.save_predictions.empty()) {
    Tensor t(DataType::s32, {r.images});
    std::copy(r.predictions.begin(), r.predictions.end(), t.data<int32_t>());
    save_npy(a.save_predictions, t);
    std::cerr << "wrote " << a.save_predictions << "\n";
  }
  if (a.paired.empty()) return nullptr;
  const Tensor o = load_paired(a, r.images);
  std::vector<int> other(static_cast<size_t>(r.images));
  for (int64_t i = 0; i < r.images; ++i)
    other[static_cast<size_t>(i)] = o.dtype() == DataType::s32 ? o.data<int32_t>()[i]
                                                               : static_cast<int>(o.data<int64_t>()[i]);
  const PairedComparison c = compare_predictions(r.predictions, other, d.labels);
  const double other_top1 = r.top1() - c.difference_points();
  if (print)
    std::cout << fmt::format(
        "paired with {} (top-1 {:.2f}%): {:+.2f} points; {} prediction(s) differ, right on one side only: this "
        "model {}, the other {}; McNemar exact p = {:.3g}{}\n",
        a.paired, other_top1, c.difference_points(), c.differing, c.a_only, c.b_only, c.p_value,
        c.p_value < 0.05 ? " (a real difference at the 5% level)" : " (within the luck of borderline images)");
  return {{"predictions", a.paired}, {"top1", other_top1}, {"difference_points", c.difference_points()},
          {"differing", c.differing}, {"this_only_correct", c.a_only}, {"other_only_correct", c.b_only},
          {"mcnemar_p", c.p_value}};
}

// --report: the accuracy summary, and with a float reference the error of
// every quantized tensor (which layer breaks?).
void eval_report(const EvalArgs& a, const Dataset& d, const EvalResult& r, const EvalResult* ref, double agreement,
                 const std::vector<TensorQuantReport>* tensors, const std::string& engine, bool quantized) {
  report::Report rep("winq eval: " + std::filesystem::path(a.model).filename().string(),
                     fmt::format("{} on {} ({} images), {}", a.model, d.source, r.images, engine));
  rep.section("Accuracy");
  std::vector<std::vector<std::string>> rows = {
      {a.model, engine, fmt::format("{:.2f}", r.top1()), fmt::format("{:.2f}", r.top5()),
       fmt::format("{:.0f}", r.images_per_second())}};
  if (ref)
    rows.push_back({a.reference, "float reference", fmt::format("{:.2f}", ref->top1()), fmt::format("{:.2f}", ref->top5()),
                    fmt::format("{:.0f}", ref->images_per_second())});
  rep.table("accuracy", {"model", "engine", "top-1 %", "top-5 %", "images/s"}, rows);
  if (ref)
    rep.paragraph(fmt::format("Drop {:+.2f} points; the same class as the float model on {:.2f}% of the images.",
                              r.top1() - ref->top1(), 100 * agreement));
  if (tensors) report::add_tensor_errors(rep, a.model, *tensors);
  else if (quantized)
    rep.paragraph("Pass --reference FLOAT_MODEL for the error of every quantized tensor.");
  write_report(rep, a.report);
}

std::string db(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v) : "exact"; }

// A quantized (QDQ) model: accuracy as the integer engine computes it, and
// with --reference the float model's accuracy and the error of every tensor.
void eval_quantized(const EvalArgs& a, const Graph& g, const Dataset& d, const EvalOptions& opt, const Preprocess& pp) {
  QuantEvalOptions qo;
  qo.eval = opt;
  qo.lower = a.sim == "int";
  Graph ref;
  if (!a.reference.empty()) ref = load_onnx(a.reference);
  QuantEvalResult r = evaluate_quantized(g, a.reference.empty() ? nullptr : &ref, d, qo);
  const bool with_ref = !a.reference.empty();
  if (!a.report.empty())
    eval_report(a, d, r.quantized, with_ref ? &r.reference : nullptr, r.agreement, with_ref ? &r.tensors : nullptr,
                qo.lower ? "integer engine" : "QDQ, ONNX semantics", true);
  if (a.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : r.tensors)
      tensors.push_back({{"name", t.name}, {"op", t.producer}, {"bits", t.bits}, {"unsigned", t.is_unsigned},
                         {"scale", t.scale}, {"sqnr_db", std::isfinite(t.sqnr_db) ? nlohmann::json(t.sqnr_db) : nlohmann::json()},
                         {"clip_rate", t.clip_rate}, {"entropy_bits", t.entropy_bits}});
    nlohmann::json j = {{"model", a.model}, {"data", d.source}, {"images", r.quantized.images},
                        {"engine", qo.lower ? "int" : "qdq (ONNX semantics)"},
                        {"isa", isa_name(active_isa())},
                        {"top1", r.quantized.top1()}, {"top5", r.quantized.top5()},
                        {"images_per_second", r.quantized.images_per_second()}, {"threads", opt.threads},
                        {"preprocess", to_string(pp)}};
    if (const auto p = predictions_io(a, r.quantized, d, false); !p.is_null()) j["paired"] = p;
    if (with_ref) {
      j["reference"] = {{"model", a.reference}, {"top1", r.reference.top1()}, {"top5", r.reference.top5()}};
      j["top1_drop"] = r.reference.top1() - r.quantized.top1();
      j["agreement"] = r.agreement;
      j["tensors"] = tensors;
    }
    print_json(j);
    return;
  }
  if (with_ref) {
    Table t({"tensor", "op", "bits", "sign", "scale", "SQNR dB", "clipped %", "entropy bits"});
    for (const auto& x : r.tensors)
      t.add({x.name, x.producer, std::to_string(x.bits), x.is_unsigned ? "u" : "s", fmt::format("{:.4g}", x.scale),
             db(x.sqnr_db), fmt::format("{:.3f}", 100 * x.clip_rate), fmt::format("{:.2f}", x.entropy_bits)});
    std::cout << "per tensor (first 1000 images):\n" << t.render() << "\n";
  }
  std::cout << fmt::format("model       {}\ndata        {} ({} images)\nengine      {} ({} threads)\n", a.model,
                           d.source, r.quantized.images,
                           qo.lower ? fmt::format("integer, {} kernels", isa_name(active_isa())) : "QDQ, ONNX semantics",
                           opt.threads);
  std::cout << fmt::format("top-1       {:.2f}%\ntop-5       {:.2f}%\n", r.quantized.top1(), r.quantized.top5());
  if (with_ref)
    std::cout << fmt::format("float top-1 {:.2f}%  (drop {:+.2f} points, same class on {:.2f}% of images)\n",
                             r.reference.top1(), r.quantized.top1() - r.reference.top1(), 100 * r.agreement);
  std::cout << fmt::format("throughput  {:.0f} images/s\n", r.quantized.images_per_second());
  predictions_io(a, r.quantized, d, true);
}
}  // namespace

void add_eval(CLI::App& app) {
  static EvalArgs a;
  auto* cmd = app.add_subcommand("eval", "Accuracy of a model on a labelled dataset");
  cmd->add_option("model", a.model, "ONNX model")->required();
  cmd->add_option("--data", a.data,
                  "fashion-mnist (test split), fashion-mnist:train, a folder (IDX files or <class>/<image>), "
                  "or images.npy:labels.npy")
      ->capture_default_str();
  cmd->add_option("--images", a.images, "evaluate the first N images only (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", a.batch, "images per run")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--threads", a.threads, "worker threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--preprocess", a.preprocess,
                  "e.g. pad=2,mean=0.286,std=0.353 (default: the model's winq.preprocess metadata)");
  cmd->add_flag("--json", a.json, "print JSON");
  add_report_option(cmd, a.report);
  cmd->add_option("--reference", a.reference, "quantized models: the float model, for the accuracy drop and per-tensor errors");
  cmd->add_option("--sim", a.sim, "quantized models: int (integer operators, the engine's definition) or qdq (ONNX semantics)")
      ->check(CLI::IsMember({"int", "qdq"}))
      ->capture_default_str();
  cmd->add_option("--winograd", a.winograd, "float models: run 3×3 stride-1 convs as Winograd off|F2|F4|F6")
      ->capture_default_str();
  cmd->add_flag("--winograd-1d", a.winograd_1d,
                "float models: with --winograd F2|F4|F6, the 1-D variant F(m×1,3×3) (Winograd along rows only)");
  cmd->add_option("--save-predictions", a.save_predictions,
                  "also write the predicted class of every image as int32 .npy (for --paired)");
  cmd->add_option("--paired", a.paired,
                  "predictions saved by another winq eval --save-predictions on the same images: the images only "
                  "one of the two gets right, and McNemar's exact p-value for the difference");
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    RawImages raw = read_images(a.data, a.images);
    Preprocess pp = preprocess_for(g, raw, a.preprocess);
    Dataset d = preprocess(raw, pp);
    if (!a.paired.empty()) load_paired(a, d.size());  // a wrong file fails before the evaluation, not after
    EvalOptions opt;
    opt.batch = a.batch;
    opt.threads = a.threads ? a.threads : default_threads();
    Progress prog("eval", d.size());
    opt.progress = [&](int64_t done, int64_t) { prog.update(done); };
    if (is_quantized_model(g)) {
      if (a.winograd_1d)
        throw Error("--winograd-1d runs float models; quantized plans take their tiles from winq quantize --winograd");
      eval_quantized(a, g, d, opt, pp);
      return;
    }
    if (!a.reference.empty()) throw Error("--reference is for quantized models; this one is float");
    const int tile = winograd::parse_tile(a.winograd);
    if (a.winograd_1d && !tile) throw Error("--winograd-1d needs --winograd F2, F4 or F6");
    int winograd_layers = 0;
    if (tile)
      opt.prepare_fn = [&](const Graph& model, const std::map<std::string, Shape>& shapes) {
        Graph p = prepare(model, shapes);
        winograd_layers = winograd::plan_float_winograd(p, tile, a.winograd_1d);
        return p;
      };
    EvalResult r = evaluate_float(g, d, opt);
    prog.done();
    if (!a.report.empty())
      eval_report(a, d, r, nullptr, 0, nullptr,
                  tile ? fmt::format("float Winograd F({},3)", tile) : std::string("float reference"), false);
    if (a.json) {
      nlohmann::json j = {{"model", a.model}, {"data", d.source}, {"images", r.images}, {"engine", "float"},
                          {"top1", r.top1()}, {"top5", r.top5()}, {"images_per_second", r.images_per_second()},
                          {"threads", opt.threads}, {"preprocess", to_string(pp)},
                          {"winograd", a.winograd}, {"winograd_1d", a.winograd_1d},
                          {"winograd_layers", winograd_layers}};
      if (const auto p = predictions_io(a, r, d, false); !p.is_null()) j["paired"] = p;
      print_json(j);
      return;
    }
    std::cout << fmt::format("model       {}\ndata        {} ({} images)\nengine      float reference ({} threads)\n",
                             a.model, d.source, r.images, opt.threads);
    if (tile)
      std::cout << fmt::format("winograd    F({}{},3{}) on {} layers (3×3, stride 1)\n", tile, a.winograd_1d ? "×1" : "",
                               a.winograd_1d ? "×3" : "", winograd_layers);
    std::cout << fmt::format("top-1       {:.2f}%\ntop-5       {:.2f}%\nthroughput  {:.0f} images/s\n", r.top1(),
                             r.top5(), r.images_per_second());
    predictions_io(a, r, d, true);
  });
}

}  // namespace winq::cli
