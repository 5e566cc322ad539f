#include "winq/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <numeric>

#include "winq/runtime.hpp"

namespace winq {

Tensor slice_batch(const Tensor& images, int64_t begin, int64_t count) {
  Shape s = images.shape();
  s[0] = count;
  Tensor t(DataType::f32, s);
  const int64_t per = images.numel() / images.dim(0);
  std::memcpy(t.raw(), images.data<float>() + begin * per, static_cast<size_t>(count * per) * sizeof(float));
  return t;
}

BatchedExecutor::BatchedExecutor(Graph model, int threads, PrepareFn prepare_fn)
    : model_(std::move(model)), threads_(threads), prepare_fn_(std::move(prepare_fn)) {
  if (model_.inputs.empty()) throw Error("the model has no input");
  if (!prepare_fn_) prepare_fn_ = [](const Graph& g, const InputShapes& s) { return prepare(g, s); };
}

FloatExecutor& BatchedExecutor::for_input(const Shape& shape) {
  for (auto& [s, ex] : cache_)
    if (s == shape) return *ex;
  if (cache_.size() >= 2) cache_.erase(cache_.begin());
  const std::string name = model_.values[model_.inputs[0]].name;
  cache_.emplace_back(shape, std::make_unique<FloatExecutor>(prepare_fn_(model_, {{name, shape}}), threads_));
  return *cache_.back().second;
}

EvalResult evaluate_float(const Graph& model, const Dataset& data, const EvalOptions& opt) {
  if (model.inputs.size() != 1) throw Error("evaluation needs a model with exactly one input");
  const Value& in = model.values[model.inputs[0]];
  int64_t batch = std::max<int64_t>(1, opt.batch);
  if (in.has_shape && !in.shape.empty() && in.shape[0] > 0) batch = in.shape[0];  // fixed batch size
  const int64_t N = data.size();
  EvalResult r;
  r.predictions.resize(static_cast<size_t>(N));
  BatchedExecutor runner(model, opt.threads, opt.prepare_fn);
  if (in.has_shape && in.shape[0] > 0 && N % batch != 0)
    throw Error(fmt::format("the model's batch size is fixed to {}, which does not divide {} images", batch, N));
  for (int64_t b = 0; b < N; b += batch) {
    const int64_t n = std::min(batch, N - b);
    Tensor x = slice_batch(data.images, b, n);
    FloatExecutor& ex = runner.for_input(x.shape());
    auto t0 = std::chrono::steady_clock::now();
    auto outs = ex.run({x});
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Tensor& scores = outs.at(0);
    if (scores.dtype() != DataType::f32 || scores.numel() % n != 0)
      throw Error("the model's first output is not float class scores");
    const int64_t classes = scores.numel() / n;
    for (int64_t i = 0; i < n; ++i) {
      const float* s = scores.data<float>() + i * classes;
      std::vector<int> order(static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      const int64_t k = std::min<int64_t>(5, classes);
      // Ties go to the lower class index, as argmax does.
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int a, int c) { return s[a] > s[c] || (s[a] == s[c] && a < c); });
      const int label = data.labels[static_cast<size_t>(b + i)];
      r.predictions[static_cast<size_t>(b + i)] = order[0];
      if (label >= 0) {
        r.correct_top1 += order[0] == label;
        r.correct_top5 += std::find(order.begin(), order.begin() + k, label) != order.begin() + k;
      }
    }
    r.images += n;
    if (opt.progress) opt.progress(r.images, N);
  }
  return r;
}

Preprocess preprocess_for(const Graph& model, const RawImages& raw, const std::string& user_spec) {
  Preprocess p;
  auto it = model.metadata.find("winq.preprocess");
  if (!user_spec.empty()) p = parse_preprocess(user_spec);
  else if (it != model.metadata.end()) p = parse_preprocess(it->second);
  if (model.inputs.size() != 1) throw Error("the model must have exactly one input");
  const Value& in = model.values[model.inputs[0]];
  if (!in.has_shape || in.shape.size() != 4)
    throw Error("the model's input '" + in.name + "' is not an image batch [N,C,H,W]");
  const bool nhwc = p.layout == "NHWC";
  const int64_t C = nhwc ? in.shape[3] : in.shape[1], H = nhwc ? in.shape[1] : in.shape[2],
                W = nhwc ? in.shape[2] : in.shape[3];
  if (C > 0 && p.channels == 0 && C != raw.pixels.dim(3)) p.channels = C;
  const int64_t h = (p.resize_h ? p.resize_h : raw.pixels.dim(1)) + 2 * p.pad;
  const int64_t w = (p.resize_w ? p.resize_w : raw.pixels.dim(2)) + 2 * p.pad;
  if ((H > 0 && H != h) || (W > 0 && W != w))
    throw Error(fmt::format("the model takes {}x{} images but the data gives {}x{} after preprocessing; pass "
                            "--preprocess with resize=HxW or pad=P",
                            H, W, h, w));
  return p;
}

}  // namespace winq
