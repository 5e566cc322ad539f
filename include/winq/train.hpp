// Training the ResNet-18-like network with LibTorch. This header is free of
// LibTorch types so that the CLI compiles quickly; the implementation lives in
// src/train/ (the only place that includes <torch/torch.h>).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "winq/graph.hpp"

namespace winq {

struct TrainConfig {
  std::string arch = "resnet18";
  std::string mode = "normal";  // normal | static | flex (Winograd-aware 3×3 convs, fixed or trainable transforms)
  int winograd = 0;             // static/flex: the tile m of F(m, 3) (2, 4, 6)
  bool q_per_component = true;  // fake quantization of V, U, M: one range per Winograd component (else per tensor)
  // What a Winograd-aware layer's fake quantizers model: "paper" — every stage
  // at the same bits (input, weights, Aᵀ, G, Bᵀ, V, U, M, output), as the
  // original work; "engine" — the rounding winq's int8 engine does (input, Bᵀ
  // on the engine's integer grid, V per component, U per component and output
  // channel, nothing else: M is int32, G and Aᵀ stay float).
  std::string q_scheme = "paper";
  // engine scheme: also round what the engine rounds outside the Winograd
  // layers — stem, projections, residual adds, pooled features, classifier.
  bool q_all_layers = false;
  // engine scheme, per component: V's steps as the engine deploys them —
  // "channel" (one per component and input channel, winq quantize's default)
  // or "component".
  std::string q_v_scales = "channel";
  double transform_lr = 1.0;  // flex: the transforms' learning rate as a multiple of --lr
  double mult = 0.5;            // width multiplier: stages of 64m, 128m, 256m, 512m channels
  int epochs = 30;
  double lr = 0.1;
  int batch = 128;
  std::string optimizer = "sgd";  // sgd | adam
  std::string schedule = "cosine";  // cosine | step (×0.1 at 50% and 75% of the epochs)
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool augment = true;  // random crop (pad 4) + horizontal flip
  int threads = 0;      // 0 = all hardware threads
  uint64_t seed = 0;
  int bits = 32;  // 32 = float training; 2–8: quantization-aware (Winograd-aware layers)
  std::string data = "fashion-mnist";
  std::string preprocess = "pad=2,mean=0.2860,std=0.3530";  // 28×28 → 32×32
  int in_channels = 1;
  int classes = 10;
  int64_t train_limit = 0, test_limit = 0;  // 0 = whole split (smaller for quick runs and tests)
  std::string out_root = "experiments";
  // winq adapt: start from another run's trained network (its directory and
  // checkpoint, "best" or "last") instead of random weights.
  std::string adapted_from, adapted_checkpoint = "best";
  // winq adapt: knowledge distillation from the network it starts from (kept
  // in float, ordinary convs, evaluation mode). The loss is
  // (1 − distill)·CE(labels) + distill·T²·KL(teacher ‖ student) at temperature T;
  // 0 = labels only.
  double distill = 0;
  double distill_temperature = 2;
  // winq adapt: BatchNorm normalises with its running statistics and leaves
  // them as they are (its scale and shift still learn), as at deployment where
  // it is folded into the conv: fine-tuning then sees the folded network.
  bool freeze_bn = false;
};

nlohmann::json to_json(const TrainConfig& c);
// The configuration a run directory was started with (its config.json).
TrainConfig load_run_config(const std::string& run_dir);
TrainConfig train_config_from_json(const nlohmann::json& j);
// What winq adapt starts from: a run directory (its config.json) or an ONNX
// file written by winq train / export-run (the network it records: width,
// preprocessing, input channels, classes; data and training settings default).
TrainConfig adapt_source_config(const std::string& from);

struct TrainResult {
  std::string run_dir;
  int epochs_done = 0;
  double best_top1 = 0, last_top1 = 0;
  double seconds_per_epoch = 0;  // training time of an epoch (without the test evaluation)
  double peak_rss_mib = 0;       // the process's peak resident memory
  bool interrupted = false;
};

// Trains into a new run directory experiments/<arch>/<mode>/mult_<m>/bits_<b>/lr_<lr>/<date-time>/
// (config.json, log.txt, best.pt, last.pt), or continues the run in
// `resume_dir` exactly where it stopped. SIGINT/SIGTERM finish the current
// batch, save last.pt and return with interrupted = true.
TrainResult run_training(const TrainConfig& cfg, const std::string& resume_dir = "");

// Who runs the exported network. A flex run's learned Winograd layers are not
// convolutions: for winq they are Conv nodes carrying their transforms
// (winograd::attr::kLearnedAT…; winq's float and int8 engines compute that
// Winograd); for other runtimes they are the Winograd computation in standard
// operators (Conv/Reshape/Transpose/ConvTranspose/Slice, see
// winograd::add_winograd_conv_standard). Other runs export the same for both.
enum class ExportTarget { winq, onnxruntime };

// The network of a run (best.pt or last.pt) as a winq graph: Conv,
// BatchNormalization, Relu, MaxPool, Add, GlobalAveragePool, Flatten, Gemm
// (learned Winograd layers as above; the transforms written are the
// fake-quantized ones a quantization-aware run computes with; fake quantizers
// are left out); input "image" [batch, C, 32, 32] with a dynamic batch;
// metadata carries the preprocessing. Throws Error for a missing, corrupt or
// mismatched checkpoint.
Graph export_checkpoint(const std::string& run_dir, const std::string& which = "best",
                        ExportTarget target = ExportTarget::winq);

// LibTorch's own predictions on the whole test split against the float
// executor's on the exported graph: the export is right when they agree.
// Quantization-aware runs are compared without their fake quantizers (the
// export is the float network; its int8 plan comes from winq quantize).
struct ExportCheck {
  int64_t images = 0;
  double libtorch_top1 = 0, winq_top1 = 0;
  std::vector<int64_t> differing;  // test images whose top-1 class differs
};
ExportCheck check_export(const std::string& run_dir, const std::string& which = "best", int threads = 0,
                         ExportTarget target = ExportTarget::winq);

// Deployment of a quantization-aware run: LibTorch's fake-quantized network
// (frozen ranges) against winq's int8 engine running the exported network
// (calibrated on 500 training images, weights and activations at the run's
// bits, learned Winograd layers as their own int8 Winograd, a static run's
// blocks as int8 Winograd of its tile) on the whole test split. They differ by
// rounding: the engine also quantizes the stem, the projections, the adds and
// the classifier, and calibrates its own activation ranges; with the "paper"
// scheme training also rounds the transforms and the channel sums M to the
// run's bits (the engine: exact integer Bᵀ, float Aᵀ, int32 M) and U per
// component only (the engine: per component and output channel).
struct Int8DeployCheck {
  int64_t images = 0, differing = 0;
  double libtorch_top1 = 0, engine_top1 = 0;
  // Of the images where exactly one is right: the engine's and LibTorch's
  // count, and McNemar's exact p-value for that split (winq/paired_comparison.hpp).
  int64_t engine_only = 0, libtorch_only = 0;
  double p_value = 1;
};
// trained_ranges: the engine takes the Winograd layers' input and V ranges
// from the run's fake quantizers (exported with the network) instead of
// calibrating them.
Int8DeployCheck check_int8_deployment(const std::string& run_dir, const std::string& which = "best", int threads = 0,
                                      bool trained_ranges = false);

// Summary of the network a configuration builds (parameters, shapes per layer).
std::string train_summary(const TrainConfig& cfg);

}  // namespace winq
