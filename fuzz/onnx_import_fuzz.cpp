// Fuzz target: bytes → ONNX model → validation → prepare (shape inference,
// constant folding, passes) for a small input size.
#include "fuzz_util.hpp"
#include "winq/onnx.hpp"
#include "winq/runtime.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  winq::set_max_tensor_bytes(winq::fuzz::kFuzzTensorBytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  winq::fuzz::expect_clear_error([&] {
    winq::Graph g = winq::parse_onnx(data, size, "fuzz input");
    // Dynamic dimensions become 2 (batch) and 8 (everything else): small enough
    // that any folding the model asks for stays cheap.
    winq::InputShapes shapes;
    for (winq::ValueId in : g.inputs) {
      const winq::Value& v = g.values[in];
      if (!v.has_shape) continue;
      winq::Shape s = v.shape;
      for (size_t i = 0; i < s.size(); ++i)
        if (s[i] < 0) s[i] = i == 0 ? 2 : 8;
      shapes[v.name] = s;
    }
    winq::prepare(std::move(g), shapes);
  });
  return 0;
}
