// winq bench MODEL: latency of the whole model and of every layer (median of
// several runs) on the engine `eval` uses: float models on the float executor,
// quantized (QDQ) plans on the integer engine.
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "common.hpp"
#include "winq/cpu.hpp"
#include "winq/data.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"
#include "winq/report.hpp"
#include "winq/table.hpp"

namespace winq::cli {

namespace {
struct BenchArgs {
  std::string model, data = "fashion-mnist", sim = "int", compare;
  int64_t batch = 1;
  int runs = 50, threads = 1;
  bool json = false;
  std::string report;
};

// The same model and input in ONNX Runtime (npm onnxruntime-node, installed by
// scripts/setup.sh into .deps/ort), timed by bench/ort_latency.js: median ms.
double onnxruntime_median_ms(const std::string& model, const Tensor& x, int runs, int threads) {
  const std::string root = std::string(WINQ_MODELS_DIR) + "/..";
  const std::string modules = root + "/.deps/ort/node_modules";
  if (!std::filesystem::exists(modules + "/onnxruntime-node"))
    throw Error("--compare onnxruntime: onnxruntime-node is not installed (run scripts/setup.sh)");
  const std::string npy = (std::filesystem::temp_directory_path() /
                           fmt::format("winq_bench_input_{}.npy", static_cast<long>(::getpid())))
                              .string();
  save_npy(npy, x);
  const std::string cmd = fmt::format("NODE_PATH='{}' node '{}/bench/ort_latency.js' '{}' '{}' {} {} 2>&1", modules,
                                      root, model, npy, runs, threads);
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int rc = ::pclose(p);
    std::filesystem::remove(npy);
    if (rc != 0) throw Error("--compare onnxruntime: " + out.substr(0, out.find('\n')));
  } else {
    std::filesystem::remove(npy);
    throw Error("--compare onnxruntime: cannot start node");
  }
  try {
    return nlohmann::json::parse(out).at("median_ms").get<double>();
  } catch (const nlohmann::json::exception&) {
    throw Error("--compare onnxruntime: unexpected output from bench/ort_latency.js: " + out.substr(0, 200));
  }
}
}  // namespace

void add_bench(CLI::App& app) {
  static BenchArgs a;
  auto* cmd = app.add_subcommand("bench", "Latency per layer and in total (median of runs)");
  cmd->add_option("model", a.model, "ONNX model, float or quantized (QDQ)")->required();
  cmd->add_option("--batch", a.batch, "images per run")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--runs", a.runs, "timed runs (after 3 warm-up runs)")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--threads", a.threads, "worker threads")->check(CLI::Range(1, 1024))->capture_default_str();
  cmd->add_option("--data", a.data, "where the input images come from")->capture_default_str();
  cmd->add_option("--sim", a.sim, "quantized models: int (integer engine) or qdq (ONNX semantics)")
      ->check(CLI::IsMember({"int", "qdq"}))
      ->capture_default_str();
  cmd->add_option("--compare", a.compare,
                  "also time the same model and input in ONNX Runtime (same runs and threads)")
      ->check(CLI::IsMember({"onnxruntime"}));
  cmd->add_flag("--json", a.json, "print JSON");
  add_report_option(cmd, a.report);
  cmd->callback([] {
    Graph g = load_onnx(a.model);
    RawImages raw = read_images(a.data, a.batch);
    Dataset d = preprocess(raw, preprocess_for(g, raw, ""));
    if (d.size() < a.batch) throw Error(fmt::format("the data has only {} images", d.size()));
    const Tensor x = slice_batch(d.images, 0, a.batch);
    const bool lower = is_quantized_model(g) && a.sim == "int";
    const InputShapes shapes = {{g.values[g.inputs[0]].name, x.shape()}};
    FloatExecutor ex(lower ? prepare_quantized(g, shapes) : prepare(g, shapes), a.threads);
    const Graph& pg = ex.graph();
    const RunProfile prof = profile_runs(ex, x, a.runs);
    const double total = prof.total_s;
    const double ort_ms = a.compare.empty() ? 0 : onnxruntime_median_ms(a.model, x, a.runs, a.threads);
    // ONNX Runtime's u8×s8 kernels without VNNI add two products in 16 bits and
    // saturate with 8-bit weights (bench/RESULTS.md): it then times another result.
    const CpuFeatures& cpu = cpu_features();
    const bool ort_saturates = ort_ms > 0 && lower && !(cpu.avx512vnni && cpu.os_avx512) && !cpu.avxvnni;
    if (ort_saturates)
      std::cerr << "note: this CPU has no VNNI: ONNX Runtime's int8 kernels here add product pairs in 16 bits, which "
                   "saturates with 8-bit weights (a plan quantized with --wbits 7 is computed exactly by both)\n";
    const auto& layers = prof.nodes;
    if (!a.report.empty()) {
      report::Report rep("winq bench: " + std::filesystem::path(a.model).filename().string(),
                         fmt::format("{}: {} engine, batch {}, {} thread(s), median of {} runs", a.model,
                                     lower ? "int8" : "float", a.batch, a.threads, a.runs));
      report::add_latency(rep, lower ? "int8 engine" : "float engine", pg, prof);
      if (ort_ms > 0) {
        rep.section("ONNX Runtime", "The same model file and input, same runs and threads, timed in ONNX Runtime.");
        rep.table("compare", {"engine", "median ms", "images/s"},
                  {{"winq", fmt::format("{:.3f}", 1e3 * total), fmt::format("{:.0f}", a.batch / total)},
                   {"ONNX Runtime", fmt::format("{:.3f}", ort_ms), fmt::format("{:.0f}", 1e3 * a.batch / ort_ms)}});
      }
      write_report(rep, a.report);
    }
    if (a.json) {
      nlohmann::json js = nlohmann::json::array();
      for (auto& [node, t] : layers)
        js.push_back({{"node", pg.nodes[node].name}, {"op", pg.nodes[node].op},
                      {"kernel", kernel_description(pg.nodes[node])}, {"median_ms", 1e3 * t}});
      nlohmann::json res = {{"model", a.model}, {"engine", lower ? "int8" : "float"}, {"batch", a.batch},
                            {"threads", a.threads}, {"runs", a.runs}, {"median_ms", 1e3 * total},
                            {"images_per_second", a.batch / total}, {"layers", js}};
      if (ort_ms > 0)
        res["onnxruntime"] = {{"median_ms", ort_ms},
                              {"winq_speedup", ort_ms / (1e3 * total)},
                              {"may_saturate_8bit_weights", ort_saturates}};
      print_json(res);
      return;
    }
    Table t({"layer", "op", "kernel", "median ms", "%"});
    for (auto& [node, ms] : layers)
      t.add({pg.nodes[node].name, pg.nodes[node].op, kernel_description(pg.nodes[node]), fmt::format("{:.3f}", 1e3 * ms),
             fmt::format("{:.1f}", 100 * ms / total)});
    std::cout << t.render()
              << fmt::format("\n{}: {} engine, batch {}, {} thread(s): median {:.3f} ms over {} runs ({:.0f} images/s)\n",
                             a.model, lower ? "int8" : "float", a.batch, a.threads, 1e3 * total, a.runs,
                             a.batch / total);
    if (ort_ms > 0)
      std::cout << fmt::format("ONNX Runtime, same model and input, {} thread(s): median {:.3f} ms — winq is {:.2f}× {}\n",
                               a.threads, ort_ms, ort_ms >= 1e3 * total ? ort_ms / (1e3 * total) : 1e3 * total / ort_ms,
                               ort_ms >= 1e3 * total ? "faster" : "slower");
  });
}

}  // namespace winq::cli
