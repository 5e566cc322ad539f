// The training loop: deterministic epoch plans (order and augmentation derived
// from seed and epoch only), so an interrupted run resumes exactly where it
// stopped; progress per batch; test accuracy per epoch; atomic checkpoints.
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <random>
#include <sys/resource.h>

#include "adapt.hpp"
#include "checkpoint.hpp"
#include "export.hpp"
#include "fine_tune.hpp"
#include "resnet.hpp"
#include "tensor_bridge.hpp"
#include "winq/data.hpp"
#include "winq/evaluate.hpp"
#include "winq/onnx.hpp"
#include "winq/paired_comparison.hpp"
#include "winq/quant.hpp"
#include "winq/calib.hpp"
#include "winq/progress.hpp"
#include "winq/runtime.hpp"
#include "winq/summary.hpp"
#include "winq/file.hpp"
#include "winq/train.hpp"

// OpenBLAS starts its own threads and fights OpenMP (ENVIRONMENT.md); call its
// setter when the library is present.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace fs = std::filesystem;

namespace winq {

namespace {
// The process's peak resident memory so far (MiB): training's memory figure
// (network, optimizer state, activations kept for backward, the data split).
double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}
}  // namespace

nlohmann::json to_json(const TrainConfig& c) {
  return {{"arch", c.arch}, {"mode", c.mode}, {"mult", c.mult}, {"epochs", c.epochs}, {"lr", c.lr},
          {"batch", c.batch}, {"optimizer", c.optimizer}, {"schedule", c.schedule}, {"momentum", c.momentum},
          {"weight_decay", c.weight_decay}, {"augment", c.augment}, {"threads", c.threads}, {"seed", c.seed},
          {"bits", c.bits}, {"data", c.data}, {"preprocess", c.preprocess}, {"in_channels", c.in_channels},
          {"classes", c.classes}, {"train_limit", c.train_limit}, {"test_limit", c.test_limit},
          {"out_root", c.out_root}, {"winograd", c.winograd}, {"q_per_component", c.q_per_component},
          {"q_scheme", c.q_scheme}, {"q_all_layers", c.q_all_layers}, {"q_v_scales", c.q_v_scales},
          {"transform_lr", c.transform_lr},
          {"adapted_from", c.adapted_from}, {"adapted_checkpoint", c.adapted_checkpoint}, {"distill", c.distill},
          {"distill_temperature", c.distill_temperature}, {"freeze_bn", c.freeze_bn}};
}

TrainConfig train_config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.arch = j.at("arch");
    c.mode = j.at("mode");
    c.winograd = j.value("winograd", 0);  // absent in runs of earlier versions (normal only)
    c.q_per_component = j.value("q_per_component", true);
    c.q_scheme = j.value("q_scheme", "paper");  // runs of earlier versions
    c.q_all_layers = j.value("q_all_layers", false);
    c.q_v_scales = j.value("q_v_scales", "component");  // runs before per-channel steps
    c.transform_lr = j.value("transform_lr", 1.0);
    c.adapted_from = j.value("adapted_from", "");
    c.adapted_checkpoint = j.value("adapted_checkpoint", "best");
    c.distill = j.value("distill", 0.0);
    c.distill_temperature = j.value("distill_temperature", 2.0);
    c.freeze_bn = j.value("freeze_bn", false);
    c.mult = j.at("mult");
    c.epochs = j.at("epochs");
    c.lr = j.at("lr");
    c.batch = j.at("batch");
    c.optimizer = j.at("optimizer");
    c.schedule = j.at("schedule");
    c.momentum = j.at("momentum");
    c.weight_decay = j.at("weight_decay");
    c.augment = j.at("augment");
    c.threads = j.at("threads");
    c.seed = j.at("seed");
    c.bits = j.at("bits");
    c.data = j.at("data");
    c.preprocess = j.at("preprocess");
    c.in_channels = j.at("in_channels");
    c.classes = j.at("classes");
    c.train_limit = j.at("train_limit");
    c.test_limit = j.at("test_limit");
    c.out_root = j.at("out_root");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("training configuration is incomplete or malformed: ") + e.what());
  }
  return c;
}

// The configuration a run directory was started with.
TrainConfig load_run_config(const std::string& run_dir) {
  const fs::path dir = run_dir;
  std::ifstream f(dir / "config.json");
  if (!f) throw Error(dir.string() + ": no config.json: not a winq run directory");
  nlohmann::json j;
  try {
    f >> j;
  } catch (const nlohmann::json::exception&) {
    throw Error((dir / "config.json").string() + ": malformed JSON");
  }
  return train_config_from_json(j);
}

namespace {

bool is_model_file(const std::string& from) { return fs::is_regular_file(from); }

// The network of an ONNX file written by winq train / export-run, from what
// the export records: architecture and width (metadata), preprocessing, the
// input's channels and the classifier's rows.
TrainConfig model_file_config(const Graph& g, const std::string& path) {
  auto meta = [&](const char* key) {
    auto it = g.metadata.find(key);
    if (it == g.metadata.end())
      throw Error(fmt::format("{}: no '{}' metadata: not a network exported by winq train / export-run (adapt "
                              "starts from those, or from a run directory)",
                              path, key));
    return it->second;
  };
  TrainConfig c;
  c.arch = meta("winq.arch");
  if (c.arch != "resnet18") throw Error(fmt::format("{}: architecture '{}' (adapt knows resnet18)", path, c.arch));
  try {
    c.mult = std::stod(meta("winq.mult"));
  } catch (const std::logic_error&) {
    throw Error(fmt::format("{}: winq.mult '{}' is not a number", path, meta("winq.mult")));
  }
  if (auto it = g.metadata.find("winq.preprocess"); it != g.metadata.end()) c.preprocess = it->second;
  if (g.inputs.size() != 1 || g.values[g.inputs[0]].shape.size() != 4)
    throw Error(path + ": expected one image input of rank 4");
  c.in_channels = static_cast<int>(g.values[g.inputs[0]].shape[1]);
  const ValueId fc = g.find_value("fc.weight");
  if (fc == kNoValue || !g.values[fc].is_constant() || g.values[fc].constant.rank() != 2)
    throw Error(path + ": no classifier weight 'fc.weight': not a network exported by winq train / export-run");
  c.classes = static_cast<int>(g.values[fc].constant.dim(0));
  return c;
}

}  // namespace

TrainConfig adapt_source_config(const std::string& from) {
  if (!is_model_file(from)) return load_run_config(from);
  return model_file_config(load_onnx(from), from);
}

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
  // A second signal ends the process the usual way.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

struct SignalGuard {
  void (*old_int)(int), (*old_term)(int);
  SignalGuard() {
    g_stop = false;
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
  }
  ~SignalGuard() {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
};

std::string lr_dir(double lr) { return fmt::format("lr_{:g}", lr); }

fs::path new_run_dir(const TrainConfig& c) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  const std::string mode_dir = c.mode == "normal" ? c.mode : fmt::format("{}_F{}", c.mode, c.winograd);
  fs::path base = fs::path(c.out_root) / c.arch / mode_dir / fmt::format("mult_{:g}", c.mult) /
                  fmt::format("bits_{}", c.bits) / lr_dir(c.lr);
  fs::path dir = base / stamp;
  for (int i = 1; fs::exists(dir); ++i) dir = base / fmt::format("{}-{}", stamp, i);
  fs::create_directories(dir);
  return dir;
}

struct Split {
  torch::Tensor x;  // [N, C, 32, 32] float
  torch::Tensor y;  // [N] int64
};

Split load_split(const TrainConfig& c, bool train) {
  std::string spec;
  if (c.data == "fashion-mnist") spec = train ? "fashion-mnist:train" : "fashion-mnist";
  else spec = (fs::path(c.data) / (train ? "train" : "test")).string();
  RawImages raw = read_images(spec, train ? c.train_limit : c.test_limit);
  Preprocess p = parse_preprocess(c.preprocess);
  if (p.channels == 0 && raw.pixels.dim(3) != c.in_channels) p.channels = c.in_channels;
  Dataset d = preprocess(raw, p);
  if (d.images.dim(1) != c.in_channels || d.images.dim(2) != 32 || d.images.dim(3) != 32)
    throw Error(fmt::format("training needs {}×32×32 inputs; preprocessing '{}' gives {}", c.in_channels, c.preprocess,
                            shape_str(d.images.shape())));
  Split s;
  s.x = train::to_torch(d.images);
  std::vector<int64_t> labels(d.labels.begin(), d.labels.end());
  for (auto l : labels)
    if (l < 0 || l >= c.classes) throw Error(fmt::format("label {} outside 0..{}", l, c.classes - 1));
  s.y = torch::tensor(labels, torch::kLong);
  return s;
}

// Order and augmentation of one epoch, from (seed, epoch) only.
struct EpochPlan {
  std::vector<int64_t> order;
  std::vector<uint8_t> dx, dy, flip;
};

EpochPlan plan_epoch(uint64_t seed, int64_t epoch, int64_t n) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  EpochPlan p;
  p.order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p.order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p.order[i], p.order[rng() % static_cast<uint64_t>(i + 1)]);
  p.dx.resize(n);
  p.dy.resize(n);
  p.flip.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    p.dx[i] = static_cast<uint8_t>(rng() % 9);
    p.dy[i] = static_cast<uint8_t>(rng() % 9);
    p.flip[i] = static_cast<uint8_t>(rng() & 1);
  }
  return p;
}

torch::Tensor augment(const torch::Tensor& x, const EpochPlan& p, int64_t first, float fill) {
  // Random crop of a 4-pixel zero-padded (in pixel space: `fill` after
  // normalisation) image back to 32×32, and a horizontal flip.
  auto padded = torch::constant_pad_nd(x, {4, 4, 4, 4}, fill);
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<size_t>(x.size(0)));
  for (int64_t i = 0; i < x.size(0); ++i) {
    const int64_t k = first + i;
    auto img = padded[i].narrow(1, p.dy[k], 32).narrow(2, p.dx[k], 32);
    out.push_back(p.flip[k] ? img.flip({2}) : img);
  }
  return torch::stack(out);
}

double evaluate(train::ResNet& net, const Split& test, int64_t batch) {
  torch::NoGradGuard no_grad;
  net->eval();
  int64_t correct = 0;
  for (int64_t i = 0; i < test.x.size(0); i += batch) {
    const int64_t n = std::min(batch, test.x.size(0) - i);
    auto pred = net->forward(test.x.narrow(0, i, n)).argmax(1);
    correct += pred.eq(test.y.narrow(0, i, n)).sum().item<int64_t>();
  }
  net->train();
  return 100.0 * correct / std::max<int64_t>(1, test.x.size(0));
}

// Weight decay regularises weights; the Winograd transforms of a flex network
// are an algorithm, not weights: decay would pull Aᵀ, G, Bᵀ towards zero, so
// they form a second group without it.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(train::ResNet& net, const TrainConfig& c) {
  std::vector<torch::Tensor> weights, transforms;
  for (auto& p : net->named_parameters()) {
    const std::string& k = p.key();
    const bool transform = k.size() > 3 && (k.ends_with(".AT") || k.ends_with(".G") || k.ends_with(".BT"));
    (transform ? transforms : weights).push_back(p.value());
  }
  auto groups = [&](auto decayed, auto plain) {
    using Group = torch::optim::OptimizerParamGroup;
    std::vector<Group> g;
    g.emplace_back(weights, std::make_unique<decltype(decayed)>(decayed));
    if (!transforms.empty()) g.emplace_back(transforms, std::make_unique<decltype(plain)>(plain));
    return g;
  };
  if (c.optimizer == "sgd") {
    const auto o = torch::optim::SGDOptions(c.lr).momentum(c.momentum).weight_decay(c.weight_decay).nesterov(true);
    auto plain = o;
    plain.weight_decay(0);
    return std::make_unique<torch::optim::SGD>(groups(o, plain), o);
  }
  if (c.optimizer == "adam") {
    const auto o = torch::optim::AdamOptions(c.lr).weight_decay(c.weight_decay);
    auto plain = o;
    plain.weight_decay(0);
    return std::make_unique<torch::optim::Adam>(groups(o, plain), o);
  }
  throw Error("--optimizer must be sgd or adam");
}

double lr_at(const TrainConfig& c, int64_t step, int64_t total) {
  const double t = total ? static_cast<double>(step) / total : 0;
  if (c.schedule == "cosine") return c.lr * 0.5 * (1 + std::cos(M_PI * t));
  if (c.schedule == "step") return c.lr * (t < 0.5 ? 1.0 : t < 0.75 ? 0.1 : 0.01);
  throw Error("--schedule must be cosine or step");
}

// Group 0: the weights; group 1 (flex only): the transforms, at transform_lr × lr.
void set_lr(torch::optim::Optimizer& opt, const TrainConfig& c, double lr) {
  auto& groups = opt.param_groups();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(i == 0 ? lr : lr * c.transform_lr);
}

// Whether the Winograd-aware layers round V per component and input channel.
bool engine_v_per_channel(const TrainConfig& c) {
  return c.q_scheme == "engine" && c.q_per_component && c.q_v_scales == "channel";
}

// The network a configuration describes (ordinary or Winograd-aware blocks).
train::ResNet make_net(const TrainConfig& c) {
  train::ConvMode mode;
  mode.quant.bits = c.bits == 32 ? 0 : c.bits;
  mode.quant.per_component = c.q_per_component;
  mode.quant.scheme = c.q_scheme == "engine" ? train::QuantScheme::engine : train::QuantScheme::paper;
  mode.quant.all_layers = c.q_all_layers;
  mode.quant.channel_scales = engine_v_per_channel(c);
  if (c.mode != "normal") {
    mode.winograd = c.winograd;
    mode.flex = c.mode == "flex";
  }
  return train::ResNet(c.in_channels, c.classes, c.mult, mode);
}

void check_config(const TrainConfig& c) {
  if (c.arch != "resnet18") throw Error("--arch: only resnet18 is available");
  if (c.mode != "normal" && c.mode != "static" && c.mode != "flex")
    throw Error("mode '" + c.mode + "': expected normal, static or flex");
  if (c.mode != "normal" && c.winograd != 2 && c.winograd != 4 && c.winograd != 6)
    throw Error("--static/--flex need --F 2, 4 or 6");
  if (c.mode == "normal" && c.winograd) throw Error("--F needs --static or --flex");
  if (!(c.mult > 0 && c.mult <= 4)) throw Error("--mult must be in (0, 4]");
  if (c.epochs < 1 || c.batch < 1) throw Error("--epochs and --batch-size must be positive");
  if (!(c.lr > 0)) throw Error("--lr must be positive");
  if (c.bits != 32 && (c.bits < 2 || c.bits > 8)) throw Error("--bits must be 2 to 8 (or 32: float)");
  if (c.optimizer != "sgd" && c.optimizer != "adam") throw Error("--optimizer must be sgd or adam");
  if (c.schedule != "cosine" && c.schedule != "step") throw Error("--schedule must be cosine or step");
  if (c.q_scheme != "paper" && c.q_scheme != "engine") throw Error("--q-scheme must be paper or engine");
  if (c.q_v_scales != "channel" && c.q_v_scales != "component") throw Error("--q-v-scales must be channel or component");
  if (!(c.transform_lr > 0) || c.transform_lr > 100) throw Error("--transform-lr must be in (0, 100]");
  if (c.q_all_layers && (c.mode == "normal" || c.bits == 32 || c.q_scheme != "engine"))
    throw Error("--q-all-layers needs Winograd-aware layers (--static/--flex) with --Q and --q-scheme engine");
  if (!(c.distill >= 0 && c.distill <= 1)) throw Error("--distill must be in [0, 1]");
  if (!(c.distill_temperature > 0)) throw Error("--distill-temperature must be positive");
  if ((c.distill > 0 || c.freeze_bn) && c.adapted_from.empty())
    throw Error("--distill and --freeze-bn belong to winq adapt (a trained network to start from)");
}


// winq adapt: the trained network of cfg.adapted_from (as it was trained),
// and where it came from in words.
train::ResNet load_source_network(const TrainConfig& cfg, std::string& origin) {
  const fs::path src_dir = cfg.adapted_from;
  const TrainConfig src = adapt_source_config(src_dir.string());
  if (src.arch != cfg.arch || src.mult != cfg.mult || src.in_channels != cfg.in_channels || src.classes != cfg.classes)
    throw Error(fmt::format("{}: a {} of width {} with {} input channel(s) and {} classes; adapt keeps the network "
                            "and changes only its 3×3 convolutions",
                            src_dir.string(), src.arch, src.mult, src.in_channels, src.classes));
  train::ResNet from = make_net(src);
  if (is_model_file(src_dir.string())) {  // an exported ONNX file: weights and BatchNorm statistics only
    train::read_exported_network(load_onnx(src_dir.string()), src_dir.string(), from, src);
    origin = fmt::format("{} (ordinary network, ONNX)", src_dir.string());
  } else {
    const std::string ckpt = (src_dir / (cfg.adapted_checkpoint + ".pt")).string();
    const train::TrainState st = train::load_checkpoint(ckpt, from, nullptr);
    origin = fmt::format("{} ({} network, test top-1 {:.2f}% at epoch {})", ckpt,
                         src.mode == "normal" ? "ordinary" : src.mode + " Winograd", st.best_top1, st.epoch);
  }
  return from;
}

// winq adapt: the trained network of cfg.adapted_from, carried into `net`.
void adapt_network(const TrainConfig& cfg, train::ResNet& net) {
  std::string origin;
  train::ResNet from = load_source_network(cfg, origin);
  const train::TransferReport rep = train::transfer_weights(from, net);
  std::cerr << fmt::format("adapted from {}: {} tensors copied, {} new (transforms and quantizer ranges)\n", origin,
                           rep.copied, rep.fresh.size());
}


}  // namespace

std::string train_summary(const TrainConfig& cfg) {
  torch::manual_seed(0);
  train::ResNet net = make_net(cfg);
  Graph g = train::graph_from_resnet(net, cfg);
  Shape in = {1, cfg.in_channels, 32, 32};
  PrepareOptions keep;  // show the network as trained: BatchNorm separate
  keep.fold_batchnorm = false;
  keep.fuse_activations = false;
  // The blocks' 3×3 convs: their Winograd tile, whether the transforms learn,
  // and the bits of their fake quantizers.
  std::map<std::string, LayerAnnotation> notes;
  if (cfg.mode != "normal" || cfg.bits != 32)
    for (const Node& n : g.nodes)
      if (n.op == "Conv" && n.name.rfind("layer", 0) == 0 && n.name.find(".proj") == std::string::npos)
        notes[n.name] = {cfg.mode == "normal" ? "-" : fmt::format("F({},3)", cfg.winograd),
                         cfg.mode == "normal" ? "-" : cfg.mode == "flex" ? "yes" : "no",
                         cfg.bits == 32               ? "FP"
                         : cfg.mode == "normal"       ? std::to_string(cfg.bits)
                                                      : fmt::format("{} ({}{}{})", cfg.bits, cfg.q_scheme,
                                                                    engine_v_per_channel(cfg) ? ", V per channel" : "",
                                                                    cfg.q_all_layers ? ", all layers" : "")};
  if (cfg.q_all_layers)  // the stem, projections and classifier are rounded too (direct in the engine)
    for (const Node& n : g.nodes)
      if ((n.op == "Conv" || n.op == "Gemm") && !notes.count(n.name)) notes[n.name] = {"-", "-", std::to_string(cfg.bits)};
  return render_summary(summarize(prepare(g, {{"image", in}}, keep), notes), in);
}

TrainResult run_training(const TrainConfig& cfg_in, const std::string& resume_dir) {
  TrainConfig cfg = cfg_in;
  fs::path dir;
  train::TrainState st;
  if (!resume_dir.empty()) {
    dir = resume_dir;
    cfg = load_run_config(dir.string());
  }
  check_config(cfg);
  const int threads = cfg.threads > 0 ? cfg.threads : default_threads();
  if (openblas_set_num_threads) openblas_set_num_threads(1);
  at::set_num_threads(threads);
  torch::manual_seed(static_cast<uint64_t>(cfg.seed));

  train::ResNet net = make_net(cfg);
  auto opt = make_optimizer(net, cfg);
  if (!resume_dir.empty()) {
    st = train::load_checkpoint((dir / "last.pt").string(), net, opt.get());
    std::cerr << fmt::format("resuming {} at epoch {} batch {}\n", dir.string(), st.epoch + 1, st.batch);
  } else {
    if (!cfg.adapted_from.empty()) adapt_network(cfg, net);
    dir = new_run_dir(cfg);
    write_file_atomic((dir / "config.json").string(), to_json(cfg).dump(2) + "\n");
  }
  st.config_json = to_json(cfg).dump();
  std::cerr << "run directory: " << dir.string() << "\n" << train_summary(cfg);
  train::ResNet teacher{nullptr};
  if (cfg.distill > 0) {
    std::string origin;
    teacher = load_source_network(cfg, origin);
    teacher->eval();
    for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    std::cerr << fmt::format("distilling from {}: weight {:g}, temperature {:g}\n", origin, cfg.distill,
                             cfg.distill_temperature);
  }

  Split tr = load_split(cfg, true), te = load_split(cfg, false);
  const Preprocess pp = parse_preprocess(cfg.preprocess);
  const float fill = (0.0f - pp.mean[0]) / pp.std[0];  // a black pixel after normalisation
  const int64_t n = tr.x.size(0);
  const int64_t batches = n / cfg.batch;  // the last partial batch is dropped (BatchNorm dislikes tiny batches)
  if (batches == 0) throw Error(fmt::format("{} training images are fewer than one batch of {}", n, cfg.batch));
  const int64_t total_steps = batches * cfg.epochs;
  std::ofstream log(dir / "log.txt", std::ios::app);
  nlohmann::json history = st.history.empty() ? nlohmann::json::array() : nlohmann::json::parse(st.history);

  SignalGuard signals;
  TrainResult res;
  res.run_dir = dir.string();
  train::set_training_mode(*net, cfg.freeze_bn);
  for (int64_t epoch = st.epoch; epoch < cfg.epochs; ++epoch) {
    const EpochPlan plan = plan_epoch(cfg.seed, epoch, n);
    Progress prog(fmt::format("epoch {}/{}", epoch + 1, cfg.epochs), batches * cfg.batch);
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (int64_t b = st.batch; b < batches; ++b) {
      auto idx = torch::from_blob(const_cast<int64_t*>(plan.order.data() + b * cfg.batch), {cfg.batch}, torch::kLong);
      auto x = tr.x.index_select(0, idx);
      auto y = tr.y.index_select(0, idx);
      if (cfg.augment) x = augment(x, plan, b * cfg.batch, fill);
      set_lr(*opt, cfg, lr_at(cfg, st.step, total_steps));
      opt->zero_grad();
      torch::Tensor teacher_logits;
      if (teacher) {
        torch::NoGradGuard no_grad;
        teacher_logits = teacher->forward(x);
      }
      auto logits = net->forward(x);
      auto loss = train::distillation_loss(logits, y, teacher_logits, cfg.distill, cfg.distill_temperature);
      const double loss_value = loss.item<double>();
      // A diverged run stops before the step that would write NaN into the
      // weights: the checkpoints on disk stay those of the last finite state.
      if (!std::isfinite(loss_value))
        throw Error(fmt::format("training diverged: the loss is {} at epoch {}, batch {} (learning rate {:g}); {}; "
                                "try a lower --lr",
                                std::isnan(loss_value) ? "NaN" : "infinite", epoch + 1, b + 1,
                                lr_at(cfg, st.step, total_steps),
                                std::filesystem::exists(dir / "last.pt")
                                    ? "the checkpoints in " + dir.string() + " are from before it"
                                    : "no checkpoint had been written yet"));
      loss.backward();
      opt->step();
      ++st.step;
      loss_sum += loss_value * cfg.batch;
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += cfg.batch;
      prog.update((b + 1) * cfg.batch, fmt::format("loss {:.3f} acc {:.1f}%", loss_sum / seen, 100.0 * correct / seen));
      if (g_stop) {
        st.batch = b + 1;
        st.epoch = epoch;
        st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        st.history = history.dump();
        train::save_checkpoint((dir / "last.pt").string(), net, *opt, st);
        log << fmt::format("interrupted at epoch {} batch {}; saved last.pt\n", epoch + 1, b + 1) << std::flush;
        std::cerr << fmt::format("\ninterrupted: saved {}; continue with: winq train --resume {}\n",
                                 (dir / "last.pt").string(), dir.string());
        res.interrupted = true;
        res.epochs_done = static_cast<int>(epoch);
        res.best_top1 = st.best_top1;
        return res;
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    st.seconds += secs;
    const double top1 = evaluate(net, te, 500);
    train::set_training_mode(*net, cfg.freeze_bn);
    const bool best = top1 > st.best_top1;
    if (best) st.best_top1 = top1;
    prog.done(fmt::format("loss {:.3f} train {:.2f}% test {:.2f}%{}", seen ? loss_sum / seen : 0.0,
                          seen ? 100.0 * correct / seen : 0.0, top1, best ? " (best)" : ""));
    history.push_back({{"epoch", epoch + 1}, {"loss", seen ? loss_sum / seen : 0.0},
                       {"train_top1", seen ? 100.0 * correct / seen : 0.0}, {"test_top1", top1}, {"seconds", secs},
                       {"lr", lr_at(cfg, st.step, total_steps)}, {"peak_rss_mib", std::lround(peak_rss_mib())}});
    log << history.back().dump() << "\n" << std::flush;
    st.epoch = epoch + 1;
    st.batch = 0;
    st.history = history.dump();
    if (best) train::save_checkpoint((dir / "best.pt").string(), net, *opt, st);
    train::save_checkpoint((dir / "last.pt").string(), net, *opt, st);
    res.last_top1 = top1;
  }
  res.epochs_done = cfg.epochs;
  res.best_top1 = st.best_top1;
  res.seconds_per_epoch = cfg.epochs ? st.seconds / cfg.epochs : 0;
  res.peak_rss_mib = peak_rss_mib();
  // The best network as ONNX, next to its checkpoint (learned transforms on
  // their Conv for winq's engines; fake quantizers are training-time only).
  save_onnx(export_checkpoint(dir.string(), "best"), (dir / "best.onnx").string());
  std::cerr << fmt::format("best test top-1 {:.2f}%; wrote {}\n", st.best_top1, (dir / "best.onnx").string());
  return res;
}

namespace {

train::LearnedLayers learned_layers(ExportTarget target) {
  return target == ExportTarget::onnxruntime ? train::LearnedLayers::standard : train::LearnedLayers::winq;
}

}  // namespace

Graph export_checkpoint(const std::string& run_dir, const std::string& which, ExportTarget target) {
  fs::path dir = run_dir;
  TrainConfig cfg = load_run_config(dir.string());
  train::ResNet net = make_net(cfg);
  train::load_checkpoint((dir / (which + ".pt")).string(), net, nullptr);
  net->eval();
  return train::graph_from_resnet(net, cfg, learned_layers(target));
}

ExportCheck check_export(const std::string& run_dir, const std::string& which, int threads, ExportTarget target) {
  const fs::path dir = run_dir;
  // The export is the float network (fake quantizers are training-time only):
  // compare it with LibTorch's float network of the same weights — and, in a
  // quantization-aware flex run, of the same (fake-quantized) transforms.
  const TrainConfig trained = load_run_config(dir.string());
  TrainConfig cfg = trained;
  cfg.bits = 32;
  train::ResNet net = make_net(cfg);
  const std::string ckpt = (dir / (which + ".pt")).string();
  train::load_checkpoint(ckpt, net, nullptr);
  net->eval();
  if (trained.mode == "flex" && trained.bits != 32) {
    train::ResNet qnet = make_net(trained);
    train::load_checkpoint(ckpt, qnet, nullptr);
    qnet->eval();
    torch::NoGradGuard no_grad;
    auto copy = [](train::WinogradConv2d& from, train::WinogradConv2d& to) {
      const winograd::TileMatrices t = train::effective_transforms(from);
      auto put = [](torch::Tensor& dst, const std::vector<double>& v) {
        dst.copy_(torch::tensor(v, torch::kDouble).reshape(dst.sizes()).to(dst.dtype()));
      };
      put(to->AT, t.AT);
      put(to->G, t.G);
      put(to->BT, t.BT);
    };
    for (size_t i = 0; i < net->blocks.size(); ++i) {
      copy(qnet->blocks[i]->wconv1, net->blocks[i]->wconv1);
      copy(qnet->blocks[i]->wconv2, net->blocks[i]->wconv2);
    }
  }
  TrainConfig all = cfg;
  all.test_limit = 0;  // the whole test split
  const Split te = load_split(all, false);
  at::set_num_threads(threads > 0 ? threads : default_threads());
  ExportCheck r;
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < te.x.size(0); i += 500) parts.push_back(net->forward(te.x.narrow(0, i, std::min<int64_t>(500, te.x.size(0) - i))));
    logits = torch::cat(parts);
  }
  const auto pred = logits.argmax(1).contiguous();
  const Graph g = train::graph_from_resnet(net, cfg, learned_layers(target));
  Dataset d;
  d.images = train::to_winq(te.x);
  for (int64_t i = 0; i < te.y.size(0); ++i) d.labels.push_back(static_cast<int>(te.y[i].item<int64_t>()));
  EvalOptions eo;
  eo.threads = threads > 0 ? threads : default_threads();
  const EvalResult ev = evaluate_float(g, d, eo);
  int64_t ok = 0;
  for (int64_t i = 0; i < pred.size(0); ++i) {
    const int p = static_cast<int>(pred[i].item<int64_t>());
    ok += p == d.labels[static_cast<size_t>(i)];
    if (p != ev.predictions[static_cast<size_t>(i)]) r.differing.push_back(i);
  }
  r.images = pred.size(0);
  r.libtorch_top1 = 100.0 * static_cast<double>(ok) / static_cast<double>(std::max<int64_t>(1, r.images));
  r.winq_top1 = ev.top1();
  return r;
}

Int8DeployCheck check_int8_deployment(const std::string& run_dir, const std::string& which, int threads,
                                      bool trained_ranges) {
  const fs::path dir = run_dir;
  const TrainConfig cfg = load_run_config(dir.string());
  if (cfg.bits == 32)
    throw Error(run_dir + ": not a quantization-aware run (--Q): there is no fake-quantized network to compare with");
  train::ResNet net = make_net(cfg);
  train::load_checkpoint((dir / (which + ".pt")).string(), net, nullptr);
  net->eval();
  const int nthreads = threads > 0 ? threads : default_threads();
  at::set_num_threads(nthreads);
  TrainConfig all = cfg;
  all.test_limit = 0;
  all.train_limit = 0;
  const Split te = load_split(all, false);
  Int8DeployCheck r;
  r.images = te.x.size(0);
  torch::Tensor pred;
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> parts;
    for (int64_t i = 0; i < r.images; i += 500)
      parts.push_back(net->forward(te.x.narrow(0, i, std::min<int64_t>(500, r.images - i))).argmax(1));
    pred = torch::cat(parts).contiguous();
  }
  // The engine's side: the exported network (learned transforms on their
  // Conv), calibrated on 500 training images spread over the split, W8A8.
  const Graph g = train::graph_from_resnet(net, cfg, train::LearnedLayers::winq);
  const Split tr = load_split(all, true);
  const int64_t step = std::max<int64_t>(1, tr.x.size(0) / 500);
  Dataset calib;
  calib.images = train::to_winq(tr.x.slice(0, 0, tr.x.size(0), step).narrow(0, 0, std::min<int64_t>(500, tr.x.size(0))).contiguous());
  calib.labels.assign(static_cast<size_t>(calib.images.dim(0)), 0);
  CalibrateOptions co;
  co.threads = nthreads;
  const CalibrationStats stats = collect_stats(g, calib, co);
  // A static run's blocks were trained as Winograd F(m, 3) with the exact
  // transforms: the engine runs them so (the stem stays direct, as trained).
  QuantizeOptions qopt;
  qopt.trained_ranges = trained_ranges;
  qopt.wbits = qopt.abits = cfg.bits;  // every layer at the run's bits (training rounded only the blocks' 3×3 convs)
  if (cfg.mode == "static")
    for (const Node& n : g.nodes)
      if (n.op == "Conv" && n.name.rfind("layer", 0) == 0 && n.name.find(".proj") == std::string::npos)
        qopt.winograd_layers[n.name] = WinogradTile{cfg.winograd};
  const Graph q = quantize_model(g, stats, qopt).qdq;
  Dataset d;
  d.images = train::to_winq(te.x);
  for (int64_t i = 0; i < r.images; ++i) d.labels.push_back(static_cast<int>(te.y[i].item<int64_t>()));
  QuantEvalOptions qo;
  qo.eval.threads = nthreads;
  const EvalResult ev = evaluate_quantized(q, nullptr, d, qo).quantized;
  std::vector<int> libtorch(static_cast<size_t>(r.images));
  int64_t ok = 0;
  for (int64_t i = 0; i < r.images; ++i) {
    libtorch[static_cast<size_t>(i)] = static_cast<int>(pred[i].item<int64_t>());
    ok += libtorch[static_cast<size_t>(i)] == d.labels[static_cast<size_t>(i)];
  }
  const PairedComparison pc = compare_predictions(ev.predictions, libtorch, d.labels);
  r.differing = pc.differing;
  r.engine_only = pc.a_only;
  r.libtorch_only = pc.b_only;
  r.p_value = pc.p_value;
  r.libtorch_top1 = 100.0 * static_cast<double>(ok) / static_cast<double>(std::max<int64_t>(1, r.images));
  r.engine_top1 = ev.top1();
  return r;
}

}  // namespace winq
