// Under load: many runs of the engine at once in one process give exactly the
// outputs of a single run — separate prepared models per thread, one prepared
// model shared by all threads (FloatExecutor::run keeps its state per call, so
// the API allows it), each with more worker threads than the machine has
// cores, float and integer (W8A8 direct and int8 Winograd F(4,3)) plans.
// Built and run under ThreadSanitizer too (scripts/test.sh, build-tsan/).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "../test_util.hpp"
#include "winq/calib.hpp"
#include "winq/quant.hpp"
#include "winq/runtime.hpp"

using namespace winq;
using namespace winq::test;

namespace {

Graph small_net() {
  GraphBuilder b;
  const ValueId x = b.input("x", {-1, 8, 12, 12});
  Attributes pad;
  pad.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ValueId y = b.node("Conv", {x, b.constant("w1", random_tensor({16, 8, 3, 3}, 31, -0.3f, 0.3f)),
                              b.constant("b1", random_tensor({16}, 32, -0.1f, 0.1f))},
                     "c1", pad);
  y = b.node("Relu", {y}, "r1");
  ValueId z = b.node("Conv", {y, b.constant("w2", random_tensor({16, 16, 3, 3}, 33, -0.3f, 0.3f)),
                              b.constant("b2", random_tensor({16}, 34, -0.1f, 0.1f))},
                     "c2", pad);
  z = b.node("Relu", {z}, "r2");
  z = b.node("Add", {y, z}, "add");
  z = b.node("Conv", {z, b.constant("w3", random_tensor({8, 16, 3, 3}, 35, -0.3f, 0.3f)),
                      b.constant("b3", random_tensor({8}, 36, -0.1f, 0.1f))},
             "c3", pad);
  b.output(z);
  return b.g;
}

struct Plan {
  const char* name;
  Graph graph;  // prepared for the input shape
};

std::vector<Plan> plans(const Graph& model, const Shape& shape) {
  Dataset calib;
  calib.images = random_tensor({32, 8, 12, 12}, 41, -1.0f, 1.0f);
  calib.labels.assign(32, 0);
  const CalibrationStats st = collect_stats(model, calib);
  std::vector<Plan> p;
  p.push_back({"float", prepare(model, {{"x", shape}})});
  QuantizeOptions direct;
  p.push_back({"w8a8", prepare_quantized(quantize_model(model, st, direct).qdq, {{"x", shape}})});
  QuantizeOptions f4;
  f4.winograd = 4;
  p.push_back({"int8 F4", prepare_quantized(quantize_model(model, st, f4).qdq, {{"x", shape}})});
  return p;
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]) << what << " at " << i;
}

constexpr int kCallers = 6;        // concurrent callers, on a 2-core machine
constexpr int kWorkers = 8;        // worker threads each caller asks for
constexpr int kRunsPerCaller = 4;

}  // namespace

TEST(Concurrency, SeparatePreparedModelsPerThread) {
  const Tensor x = random_tensor({3, 8, 12, 12}, 42, -1.0f, 1.0f);
  for (const Plan& p : plans(small_net(), x.shape())) {
    const Tensor want = FloatExecutor(p.graph, 1).run({x}).at(0);
    std::vector<Tensor> got(kCallers * kRunsPerCaller);
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c)
      callers.emplace_back([&, c] {
        FloatExecutor ex(p.graph, kWorkers);  // each thread its own copy of the plan
        for (int r = 0; r < kRunsPerCaller; ++r) got[c * kRunsPerCaller + r] = ex.run({x}).at(0);
      });
    for (auto& t : callers) t.join();
    for (size_t i = 0; i < got.size(); ++i) expect_same(want, got[i], std::string(p.name) + " run " + std::to_string(i));
  }
}

TEST(Concurrency, OneSharedPreparedModel) {
  const Tensor x = random_tensor({2, 8, 12, 12}, 43, -1.0f, 1.0f);
  const Tensor x2 = random_tensor({2, 8, 12, 12}, 44, -1.0f, 1.0f);
  for (const Plan& p : plans(small_net(), x.shape())) {
    FloatExecutor shared(p.graph, kWorkers);
    const Tensor want = FloatExecutor(p.graph, 1).run({x}).at(0);
    const Tensor want2 = FloatExecutor(p.graph, 1).run({x2}).at(0);
    std::vector<Tensor> got(kCallers * kRunsPerCaller);
    std::vector<std::thread> callers;
    for (int c = 0; c < kCallers; ++c)
      callers.emplace_back([&, c] {
        for (int r = 0; r < kRunsPerCaller; ++r)  // callers interleave two different inputs
          got[c * kRunsPerCaller + r] = shared.run({(c + r) % 2 ? x2 : x}).at(0);
      });
    for (auto& t : callers) t.join();
    for (int c = 0; c < kCallers; ++c)
      for (int r = 0; r < kRunsPerCaller; ++r)
        expect_same((c + r) % 2 ? want2 : want, got[c * kRunsPerCaller + r],
                    std::string(p.name) + " caller " + std::to_string(c) + " run " + std::to_string(r));
  }
}
