// Time of one training step (forward + backward) of the Winograd-aware layer
// against LibTorch's conv2d on the same shape, float and with 8-bit fake
// quantization, static and flex transforms. Median of R runs after warm-up.
// Usage: winq_winograd_aware_bench [--batch B] [--channels C] [--size HW] [--runs R] [--threads T]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../src/train/winograd_layer.hpp"

namespace {

template <class F>
double median_ms(F&& step, int runs) {
  for (int i = 0; i < 2; ++i) step();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 32, channels = 64, size = 32;
  int runs = 5, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--batch") batch = std::atoll(argv[i + 1]);
    else if (a == "--channels") channels = std::atoll(argv[i + 1]);
    else if (a == "--size") size = std::atoll(argv[i + 1]);
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--batch B] [--channels C] [--size HW] [--runs R] [--threads T]\n", argv[0]);
      return 2;
    }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(0);
  const auto x = torch::randn({batch, channels, size, size}).requires_grad_(true);
  std::printf("forward+backward, %lld×%lld×%lld×%lld, %d threads, median of %d (ms)\n", (long long)batch,
              (long long)channels, (long long)size, (long long)size, threads, runs);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(false));
  const double base = median_ms([&] { conv->forward(x).sum().backward(); }, runs);
  std::printf("%-28s %9.1f  1.00×\n", "conv2d", base);
  for (int m : {2, 4, 6})
    for (int bits : {0, 8})
      for (bool flex : {false, true}) {
        winq::train::WinogradQuantOptions q;
        q.bits = bits;
        winq::train::WinogradConv2d layer(channels, channels, m, flex, q);
        const double ms = median_ms([&] { layer->forward(x).sum().backward(); }, runs);
        const std::string name = "F" + std::to_string(m) + (flex ? " flex" : " static") + (bits ? " Q8" : " float");
        std::printf("%-28s %9.1f  %.2f×\n", name.c_str(), ms, ms / base);
      }
  return 0;
}
