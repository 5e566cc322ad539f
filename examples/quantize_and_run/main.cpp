// winq as a library: calibrate a float ONNX classifier on a few training
// images, quantize it to W8A8 (and int8 Winograd F(4,3) where it applies), and
// compare float and integer top-1 on test images — no CLI involved.
//
//   quantize_and_run MODEL.onnx [TEST_IMAGES] [THREADS]
//
// Data: Fashion-MNIST from Debian's dataset-fashion-mnist (winq's default).
#include <winq/winq.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// Top-1 of `run` (batch → class scores) over the test set, in batches of 100.
template <class Run>
double top1(const winq::Dataset& test, Run&& run) {
  int64_t correct = 0;
  for (int64_t b = 0; b < test.size(); b += 100) {
    const int64_t n = std::min<int64_t>(100, test.size() - b);
    const winq::Tensor scores = run(winq::slice_batch(test.images, b, n));
    const int64_t classes = scores.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = scores.data<float>() + i * classes;
      int64_t best = 0;
      for (int64_t k = 1; k < classes; ++k)
        if (row[k] > row[best]) best = k;
      correct += best == test.labels[static_cast<size_t>(b + i)];
    }
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(test.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [TEST_IMAGES=1000] [THREADS=2]\n", argv[0]);
    return 2;
  }
  const int64_t n_test = argc > 2 ? std::atoll(argv[2]) : 1000;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  try {
    const winq::Graph model = winq::load_onnx(argv[1]);
    const std::string input = model.values[model.inputs[0]].name;

    // Calibration images come from the training split, test images from the test split.
    const winq::RawImages train = winq::read_images("fashion-mnist:train", 256);
    const winq::Preprocess pp = winq::preprocess_for(model, train, "");
    winq::CalibrateOptions copt;
    copt.threads = threads;
    const winq::CalibrationStats stats = winq::collect_stats(model, winq::preprocess(train, pp), copt);
    const winq::Dataset test = winq::preprocess(winq::read_images("fashion-mnist", n_test), pp);

    // An engine prepares (and caches) one executable plan per batch shape.
    const auto quantized_plan = [](const winq::Graph& qdq, const winq::InputShapes& shapes) {
      return winq::prepare_quantized(qdq, shapes);
    };
    auto run_with = [](winq::BatchedExecutor& engine) {
      return [&engine](const winq::Tensor& batch) { return engine.for_input(batch.shape()).run({batch}).at(0); };
    };

    winq::BatchedExecutor float_engine(model, threads);
    const double float_top1 = top1(test, run_with(float_engine));

    winq::QuantizeOptions w8a8;  // per-channel weights, max calibration
    const winq::QuantizeResult q8 = winq::quantize_model(model, stats, w8a8);
    winq::BatchedExecutor int8_engine(q8.qdq, threads, quantized_plan);
    const double int8_top1 = top1(test, run_with(int8_engine));

    winq::QuantizeOptions f4 = w8a8;  // 3×3 stride-1 convs as int8 Winograd F(4,3)
    f4.winograd = 4;
    const winq::QuantizeResult qf4 = winq::quantize_model(model, stats, f4);
    int wino_layers = 0;
    for (const auto& l : qf4.layers) wino_layers += l.winograd == 4;
    winq::BatchedExecutor f4_engine(qf4.qdq, threads, quantized_plan);
    const double f4_top1 = top1(test, run_with(f4_engine));

    std::printf("%lld test images, %d threads, kernels: %s\n", static_cast<long long>(test.size()), threads,
                winq::isa_name(winq::active_isa()));
    std::printf("float          top-1 %6.2f%%\n", float_top1);
    std::printf("int8 W8A8      top-1 %6.2f%%  (%+.2f)\n", int8_top1, int8_top1 - float_top1);
    std::printf("int8 F(4,3)    top-1 %6.2f%%  (%+.2f; %d Winograd layers)\n", f4_top1, f4_top1 - float_top1,
                wino_layers);
    return 0;
  } catch (const winq::Error& e) {
    std::fprintf(stderr, "quantize_and_run: %s\n", e.what());
    return 1;
  }
}
