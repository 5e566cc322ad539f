// ONNX model files <-> winq Graph.
#pragma once
#include <string>

#include "winq/graph.hpp"

namespace winq {

// Reads an ONNX model (opset 1-17 of the default domain; winq is
// tested on 9-17, older legacy attribute forms are refused where they change meaning). Initializers become
// constant values; graph inputs keep their dynamic dimensions (-1, with the
// dim_param name) until the graph is prepared for an input size. Throws Error
// for a missing, truncated or non-ONNX file and for data winq cannot represent.
Graph load_onnx(const std::string& path);
Graph parse_onnx(const void* data, size_t size, const std::string& origin = "<memory>");

// A serialized onnx.TensorProto (the backend test suite's .pb files).
Tensor parse_onnx_tensor(const void* data, size_t size, const std::string& origin = "<memory>");

}  // namespace winq
