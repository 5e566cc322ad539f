// winq train: train the ResNet-18-like network with LibTorch (ordinary or Winograd-aware convs).
// Includes only winq/train.hpp, so the CLI does not compile LibTorch headers.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/onnx.hpp"
#include "winq/train.hpp"

namespace winq::cli {

namespace {
struct TrainArgs {
  TrainConfig cfg;
  std::string resume;
  bool normal = false, winograd_static = false, winograd_flex = false, q = false, q_per_tensor = false;
  bool use_cpu = true;
  bool no_augment = false;
  bool json = false;
};
// The end of a run, for people or (--json) machines.
void report_run(const TrainResult& r, bool json) {
  if (json) {
    print_json({{"run_dir", r.run_dir}, {"epochs_done", r.epochs_done}, {"best_top1", r.best_top1},
                {"last_top1", r.last_top1}, {"seconds_per_epoch", r.seconds_per_epoch},
                {"peak_rss_mib", std::lround(r.peak_rss_mib)}, {"interrupted", r.interrupted}});
  } else if (!r.interrupted) {
    std::cout << fmt::format("run {}\nbest test top-1 {:.2f}%  last {:.2f}%  {:.1f} s/epoch  peak memory {:.0f} MiB\n",
                             r.run_dir, r.best_top1, r.last_top1, r.seconds_per_epoch, r.peak_rss_mib);
  }
  if (r.interrupted) throw Error("training interrupted (checkpoint saved; resume with --resume " + r.run_dir + ")");
}
}  // namespace

// Shared by train and adapt: how Winograd-aware layers are fake-quantized and how fast their transforms learn.
static void add_winograd_training_options(CLI::App* cmd, TrainConfig& c) {
  cmd->add_option("--q-scheme", c.q_scheme,
                  "with --Q: what the Winograd-aware layers' fake quantizers model — paper (every stage, as the "
                  "original work) or engine (the rounding of winq's int8 engine only)")
      ->check(CLI::IsMember({"paper", "engine"}))
      ->capture_default_str();
  cmd->add_flag("--q-all-layers", c.q_all_layers,
                "with --Q --q-scheme engine: also fake-quantize what the int8 engine rounds outside the Winograd "
                "layers (stem, projections, residual adds, pooled features, classifier)");
  cmd->add_option("--q-v-scales", c.q_v_scales,
                  "with --Q --q-scheme engine: the Winograd-domain input's steps, as winq quantize will deploy them "
                  "(--winograd-scales) — channel (per component and input channel) or component")
      ->check(CLI::IsMember({"channel", "component"}))
      ->capture_default_str();
  cmd->add_option("--transform-lr", c.transform_lr, "with --flex: the transforms' learning rate as a multiple of --lr")
      ->check(CLI::Range(1e-6, 100.0))
      ->capture_default_str();
}

void add_train(CLI::App& app) {
  static TrainArgs a;
  auto* cmd = app.add_subcommand("train", "Train the ResNet-18-like network (LibTorch) on Fashion-MNIST or your data");
  TrainConfig& c = a.cfg;
  cmd->add_flag("--use-normal-conv", a.normal, "ordinary convolutions (the default)");
  auto* st = cmd->add_flag("--static", a.winograd_static,
                           "Winograd-aware 3×3 convs with fixed transforms (the exact F(m,3) matrices)");
  auto* fl = cmd->add_flag("--flex", a.winograd_flex, "Winograd-aware 3×3 convs whose transforms A, B, G are learned");
  st->excludes(fl);
  cmd->add_option("--F", c.winograd, "with --static/--flex: the tile m of F(m,3)")->check(CLI::IsMember({2, 4, 6}));
  cmd->add_flag("--Q", a.q,
                "quantization-aware training at --bits: fake quantization at every Winograd stage (ordinary convs: "
                "input, weights, output)");
  cmd->add_option("--bits", c.bits, "with --Q: bits of every quantizer (2–8)")->check(CLI::Range(2, 32));
  cmd->add_flag("--q-per-tensor", a.q_per_tensor,
                "with --Q: one range per tensor for V, U, M, as the original work (default: per Winograd component)");
  add_winograd_training_options(cmd, c);
  cmd->add_option("--mult", c.mult, "width multiplier: stages of 64m/128m/256m/512m channels")->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "epochs")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--lr", c.lr, "base learning rate")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", c.batch, "images per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "sgd | adam")->check(CLI::IsMember({"sgd", "adam"}))->capture_default_str();
  cmd->add_option("--schedule", c.schedule, "cosine | step")->check(CLI::IsMember({"cosine", "step"}))->capture_default_str();
  cmd->add_option("--momentum", c.momentum, "SGD momentum (Nesterov)")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "L2 weight decay")->capture_default_str();
  cmd->add_flag("--no-augment", a.no_augment, "no random crop / horizontal flip");
  cmd->add_option("--threads", c.threads, "LibTorch threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--seed", c.seed, "random seed (weights, order, augmentation)")->capture_default_str();
  cmd->add_flag("--use-cpu", a.use_cpu, "train on the CPU (always; accepted for compatibility)");
  cmd->add_option("--data", c.data, "fashion-mnist, or a folder with train/ and test/ image folders")->capture_default_str();
  cmd->add_option("--preprocess", c.preprocess, "how images become 32×32 inputs")->capture_default_str();
  cmd->add_option("--in-channels", c.in_channels, "input channels (1 gray, 3 RGB)")->check(CLI::Range(1, 3))->capture_default_str();
  cmd->add_option("--classes", c.classes, "number of classes")->check(CLI::Range(2, 100000))->capture_default_str();
  cmd->add_option("--train-images", c.train_limit, "use the first N training images (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--test-images", c.test_limit, "use the first N test images (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", c.out_root, "root of the run directories")->capture_default_str();
  cmd->add_option("--resume", a.resume, "continue the interrupted run in this directory (its configuration is used)");
  cmd->add_flag("--json", a.json, "print the result as JSON");
  cmd->callback([] {
    a.cfg.augment = !a.no_augment;
    if (a.normal && (a.winograd_static || a.winograd_flex))
      throw Error("--use-normal-conv excludes --static and --flex");
    a.cfg.mode = a.winograd_flex ? "flex" : a.winograd_static ? "static" : "normal";
    if (a.q && a.cfg.bits == 32) a.cfg.bits = 8;  // --Q alone: 8 bits
    if (!a.q && a.cfg.bits != 32) throw Error("--bits needs --Q");
    a.cfg.q_per_component = !a.q_per_tensor;
    report_run(run_training(a.cfg, a.resume), a.json);
  });
}

// winq adapt: fine-tune a trained run with Winograd-aware 3×3 convolutions.
// The network (width, data, preprocessing) is the source run's; the options
// here are what changes.
void add_adapt(CLI::App& app) {
  static TrainArgs a;
  static std::string from, checkpoint = "best";
  auto* cmd = app.add_subcommand(
      "adapt", "Fine-tune a trained run with Winograd-aware 3×3 convs (static or learned transforms, optional QAT)");
  TrainConfig& c = a.cfg;
  c.epochs = 20;
  c.lr = 0.01;
  cmd->add_option("--from", from, "the trained network: its run directory (winq train), or its ONNX file as winq train / export-run wrote it (e.g. models/fashion_resnet18_w0.5.onnx)");
  cmd->add_option("--checkpoint", checkpoint, "which of its checkpoints: best | last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  auto* st = cmd->add_flag("--static", a.winograd_static, "fixed transforms (the exact F(m,3) matrices)");
  auto* fl = cmd->add_flag("--flex", a.winograd_flex, "learned transforms A, B, G (initialised from the exact ones)");
  auto* nc = cmd->add_flag("--use-normal-conv", a.normal,
                           "keep ordinary convs (with --Q: quantization-aware fine-tuning of them, no Winograd)");
  st->excludes(fl);
  nc->excludes(st)->excludes(fl);
  cmd->add_option("--F", c.winograd, "the tile m of F(m,3)")->check(CLI::IsMember({2, 4, 6}));
  cmd->add_flag("--Q", a.q, "quantization-aware fine-tuning (fake quantization at every Winograd stage) at --bits");
  cmd->add_option("--bits", c.bits, "with --Q: bits of every quantizer (2–8)")->check(CLI::Range(2, 32));
  cmd->add_flag("--q-per-tensor", a.q_per_tensor, "with --Q: one range per tensor for V, U, M (default: per component)");
  add_winograd_training_options(cmd, c);
  cmd->add_option("--distill", c.distill,
                  "weight of knowledge distillation from the --from network (float, ordinary convs) in the loss: "
                  "(1−W)·cross-entropy + W·T²·KL(teacher‖student); 0 = labels only")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--distill-temperature", c.distill_temperature, "with --distill: the softmax temperature T")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--freeze-bn", c.freeze_bn,
                "BatchNorm normalises with the trained running statistics and keeps them (as folded at deployment); "
                "its scale and shift still learn");
  cmd->add_option("--epochs", c.epochs, "epochs")->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--lr", c.lr, "base learning rate (fine-tuning: smaller than training)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--batch-size", c.batch, "images per batch")->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "sgd | adam")->check(CLI::IsMember({"sgd", "adam"}))->capture_default_str();
  cmd->add_option("--schedule", c.schedule, "cosine | step")->check(CLI::IsMember({"cosine", "step"}))->capture_default_str();
  cmd->add_option("--threads", c.threads, "LibTorch threads (0 = all hardware threads)")->check(CLI::Range(0, 1024));
  cmd->add_option("--seed", c.seed, "random seed (order, augmentation)")->capture_default_str();
  cmd->add_option("--train-images", c.train_limit, "use the first N training images (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--test-images", c.test_limit, "use the first N test images (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--out", c.out_root, "root of the run directories")->capture_default_str();
  cmd->add_option("--resume", a.resume, "continue an interrupted adapt run in this directory");
  cmd->add_flag("--json", a.json, "print the result as JSON");
  cmd->callback([] {
    TrainConfig cfg;
    if (a.resume.empty()) {
      if (from.empty()) throw Error("adapt needs --from RUN_DIR|MODEL.onnx (or --resume DIR)");
      if (!a.winograd_static && !a.winograd_flex && !a.normal)
        throw Error("adapt needs --static or --flex (or --use-normal-conv --Q)");
      if (a.normal && (!a.q || a.cfg.winograd)) throw Error("--use-normal-conv needs --Q and takes no --F");
      if (!a.normal && !a.cfg.winograd) throw Error("adapt needs --F 2, 4 or 6");
      if (a.q && a.cfg.bits == 32) a.cfg.bits = 8;
      if (!a.q && a.cfg.bits != 32) throw Error("--bits needs --Q");
      cfg = adapt_source_config(from);  // the network and data of the trained run
      cfg.mode = a.winograd_flex ? "flex" : a.winograd_static ? "static" : "normal";
      cfg.winograd = a.cfg.winograd;
      cfg.bits = a.cfg.bits;
      cfg.q_per_component = !a.q_per_tensor;
      cfg.q_scheme = a.cfg.q_scheme;
      cfg.q_all_layers = a.cfg.q_all_layers;
      cfg.q_v_scales = a.cfg.q_v_scales;
      cfg.transform_lr = a.cfg.transform_lr;
      cfg.distill = a.cfg.distill;
      cfg.distill_temperature = a.cfg.distill_temperature;
      cfg.freeze_bn = a.cfg.freeze_bn;
      cfg.epochs = a.cfg.epochs;
      cfg.batch = a.cfg.batch;
      cfg.lr = a.cfg.lr;
      cfg.optimizer = a.cfg.optimizer;
      cfg.schedule = a.cfg.schedule;
      cfg.threads = a.cfg.threads;
      cfg.seed = a.cfg.seed;
      cfg.train_limit = a.cfg.train_limit;
      cfg.test_limit = a.cfg.test_limit;
      cfg.out_root = a.cfg.out_root;
      cfg.adapted_from = from;
      cfg.adapted_checkpoint = checkpoint;
    }
    report_run(run_training(cfg, a.resume), a.json);
  });
}

void add_export_run(CLI::App& app) {
  static std::string run, which = "best", out, target = "winq";
  static bool check = false, check_int8 = false, json = false, trained_ranges = false;
  auto* cmd = app.add_subcommand("export-run", "Export a training run's network (best or last checkpoint) to ONNX");
  cmd->add_option("run_dir", run, "run directory of winq train")->required();
  cmd->add_option("--checkpoint", which, "best | last")->check(CLI::IsMember({"best", "last"}))->capture_default_str();
  cmd->add_option("-o,--output", out, "ONNX file to write")->required();
  cmd->add_option("--target", target,
                  "winq: learned Winograd layers as Conv nodes carrying their transforms (winq eval/quantize run "
                  "them, in float and int8); onnxruntime: as standard operators any ONNX runtime runs")
      ->check(CLI::IsMember({"winq", "onnxruntime"}))
      ->capture_default_str();
  cmd->add_flag("--check", check, "compare LibTorch's and winq's predictions on the whole test split");
  cmd->add_flag("--check-int8", check_int8,
                "quantization-aware runs: LibTorch's fake-quantized network vs winq's int8 engine on the export "
                "(calibrated on 500 training images; a static run's blocks as int8 Winograd of its tile), whole "
                "test split");
  cmd->add_flag("--trained-ranges", trained_ranges,
                "with --check-int8: the Winograd layers' input and V ranges from the run's fake quantizers instead "
                "of calibration");
  cmd->add_flag("--json", json, "print the checks' results as JSON");
  cmd->callback([] {
    const ExportTarget t = target == "onnxruntime" ? ExportTarget::onnxruntime : ExportTarget::winq;
    save_onnx(export_checkpoint(run, which, t), out);
    std::cerr << "wrote " << out << "\n";
    nlohmann::json j = {{"output", out}};
    if (check) {
      const ExportCheck c = check_export(run, which, 0, t);
      j["check"] = {{"images", c.images}, {"libtorch_top1", c.libtorch_top1}, {"winq_top1", c.winq_top1},
                    {"differing", c.differing}};
      if (!json) {
        std::cout << fmt::format(
            "test images {}: LibTorch top-1 {:.2f}%, winq float executor {:.2f}%, {} prediction(s) differ\n", c.images,
            c.libtorch_top1, c.winq_top1, c.differing.size());
        for (int64_t i : c.differing) std::cout << "  differs on test image " << i << "\n";
      }
    }
    if (check_int8) {
      const Int8DeployCheck c = check_int8_deployment(run, which, 0, trained_ranges);
      j["check_int8"] = {{"trained_ranges", trained_ranges}, {"images", c.images}, {"libtorch_fake_quant_top1", c.libtorch_top1},
                         {"engine_top1", c.engine_top1}, {"differing", c.differing},
                         {"engine_only_correct", c.engine_only}, {"libtorch_only_correct", c.libtorch_only},
                         {"mcnemar_p", c.p_value}};
      if (!json)
        std::cout << fmt::format("test images {}: LibTorch fake-quantized top-1 {:.2f}%, winq int8 engine {:.2f}% "
                                 "({:+.2f} points), {} prediction(s) differ\n"
                                 "  right on one side only: engine {}, LibTorch {} (McNemar exact p = {:.3g}; "
                                 "below 0.05 the two differ by more than which borderline images flip)\n",
                                 c.images, c.libtorch_top1, c.engine_top1, c.engine_top1 - c.libtorch_top1,
                                 c.differing, c.engine_only, c.libtorch_only, c.p_value);
    }
    if (json) std::cout << j.dump(2) << "\n";
  });
}

}  // namespace winq::cli
