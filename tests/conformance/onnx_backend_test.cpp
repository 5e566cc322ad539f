// The ONNX backend conformance cases (Debian's libonnx-testdata) for every op
// winq supports, run on the float executor and compared with the expected
// outputs at the suite's tolerance (rtol 1e-3, atol 1e-7; integers exactly).
//
// Harness convention: graph input 0 is run-time data; the other inputs are
// bound as constants, as a real model's weights and parameters would be.
// A case that uses a feature winq does not implement counts as "unsupported"
// and is listed with the reason; any wrong result or crash fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "winq/onnx.hpp"
#include "winq/runtime.hpp"

using namespace winq;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<Tensor> read_set(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> r;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    std::string b = read_file(p);
    r.push_back(parse_onnx_tensor(b.data(), b.size(), p.string()));
  }
  return r;
}

// "" when equal within tolerance, else a description of the first mismatch.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + " vs expected " + shape_str(want.shape());
  if (got.dtype() != want.dtype())
    return std::string("type ") + dtype_name(got.dtype()) + " vs expected " + dtype_name(want.dtype());
  auto g = got.to_doubles(), w = want.to_doubles();
  const bool is_float = want.dtype() == DataType::f32;
  for (size_t i = 0; i < g.size(); ++i) {
    const bool ok = is_float ? (std::isnan(w[i]) ? std::isnan(g[i]) : std::abs(g[i] - w[i]) <= 1e-7 + 1e-3 * std::abs(w[i]))
                             : g[i] == w[i];
    if (!ok) {
      std::ostringstream m;
      m << "element " << i << ": " << g[i] << " vs expected " << w[i];
      return m.str();
    }
  }
  return "";
}

}  // namespace

TEST(OnnxBackendConformance, SupportedOpsMatchExpectedOutputs) {
  const char* env = std::getenv("WINQ_ONNX_TESTDATA");
  const fs::path root = env ? env : "/usr/share/libonnx-testdata/data/node";
  if (!fs::is_directory(root)) GTEST_SKIP() << root << " not found: install libonnx-testdata (scripts/setup.sh)";
  auto ops = supported_ops();
  std::set<std::string> supported(ops.begin(), ops.end());
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());

  int passed = 0, considered = 0;
  std::vector<std::string> unsupported, failed;
  std::set<std::string> ops_passed;
  for (const auto& dir : cases) {
    const std::string name = dir.filename().string();
    Graph g;
    try {
      g = load_onnx((dir / "model.onnx").string());
    } catch (const Error&) {
      continue;  // opset outside 7-17 or types winq never reads: not one of our ops' cases
    }
    // The op under test: the cases hold one node (expanded "function" cases hold several).
    bool ours = !g.nodes.empty();
    for (const Node& n : g.nodes) ours &= n.domain.empty() && supported.count(n.op);
    if (!ours || name.find("_expanded") != std::string::npos) continue;
    ++considered;
    try {
      fs::path data = dir / "test_data_set_0";
      auto inputs = read_set(data, "input");
      auto expected = read_set(data, "output");
      if (inputs.size() != g.inputs.size()) throw Error("input count differs from the model");
      for (size_t i = inputs.size(); i-- > 1;) {
        g.values[g.inputs[i]].constant = inputs[i];
        g.values[g.inputs[i]].shape = inputs[i].shape();
        g.values[g.inputs[i]].dtype = inputs[i].dtype();
        g.inputs.erase(g.inputs.begin() + static_cast<long>(i));
      }
      InputShapes shapes;
      if (!g.inputs.empty()) shapes[g.values[g.inputs[0]].name] = inputs[0].shape();
      Graph p = prepare(g, shapes);
      FloatExecutor ex(p);
      auto outs = ex.run(g.inputs.empty() ? std::vector<Tensor>{} : std::vector<Tensor>{inputs[0]});
      if (outs.size() != expected.size()) throw Error("output count differs");
      std::string diff;
      for (size_t i = 0; i < outs.size() && diff.empty(); ++i) {
        diff = compare(outs[i], expected[i]);
        if (!diff.empty()) diff = "output " + std::to_string(i) + ": " + diff;
      }
      if (diff.empty()) {
        ++passed;
        ops_passed.insert(g.nodes[0].op);
      } else {
        failed.push_back(name + ": " + diff);
      }
    } catch (const Unsupported& e) {
      unsupported.push_back(name + ": " + e.what());
    } catch (const std::exception& e) {
      failed.push_back(name + ": " + e.what());
    }
  }
  std::printf("ONNX backend conformance: %d cases of winq's ops; %d passed, %zu unsupported, %zu failed\n",
              considered, passed, unsupported.size(), failed.size());
  std::string op_list;
  for (const auto& o : ops_passed) op_list += o + " ";
  std::printf("ops with passing cases (%zu): %s\n", ops_passed.size(), op_list.c_str());
  for (const auto& u : unsupported) std::printf("  unsupported  %s\n", u.c_str());
  for (const auto& f : failed) std::printf("  FAILED       %s\n", f.c_str());
  EXPECT_TRUE(failed.empty()) << failed.size() << " conformance cases failed (listed above)";
  EXPECT_GT(passed, 100) << "suspiciously few cases ran";
}
