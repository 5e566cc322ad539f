// ONNX model files <-> winq Graph.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "winq/graph.hpp"

namespace winq {

// Reads an ONNX model (opset 1-17 of the default domain; winq is
// tested on 9-17, older legacy attribute forms are refused where they change meaning). Initializers become
// constant values; graph inputs keep their dynamic dimensions (-1, with the
// dim_param name) until the graph is prepared for an input size. Throws Error
// for a missing, truncated or non-ONNX file and for data winq cannot represent.
// A graph with more than kMaxGraphNodes nodes is refused (Error), and so is an
// initializer whose data does not match its declared shape, before anything is
// allocated for it (tensors also obey max_tensor_bytes()).
inline constexpr int kMaxGraphNodes = 100000;
Graph load_onnx(const std::string& path);
Graph parse_onnx(const void* data, size_t size, const std::string& origin = "<memory>");

struct OnnxWriteOptions {
  std::string producer_version = "0.1.0";
  bool value_info = true;  // record the inferred shapes of intermediate values
  std::vector<std::pair<std::string, int64_t>> extra_domains;  // e.g. {"com.winq", 1}
};
// Writes `g` (opset g.opset) atomically: temporary file, then rename.
void save_onnx(const Graph& g, const std::string& path, const OnnxWriteOptions& opt = {});
std::string serialize_onnx(const Graph& g, const OnnxWriteOptions& opt = {});

// A serialized onnx.TensorProto (the backend test suite's .pb files).
Tensor parse_onnx_tensor(const void* data, size_t size, const std::string& origin = "<memory>");

}  // namespace winq
