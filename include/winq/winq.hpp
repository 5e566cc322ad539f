// The winq C++ API in one include: everything a program needs to load a float
// ONNX model, calibrate it, quantize it, and run the plan on the integer
// engine without the CLI. examples/quantize_and_run/ shows the whole path and
// builds against an installed winq (cmake --install + find_package(winq)).
//
//   Graph model = load_onnx(path);                          // winq/onnx.hpp
//   Dataset calib = preprocess(read_images(spec, n), pp);   // winq/data.hpp
//   CalibrationStats st = collect_stats(model, calib);      // winq/calib.hpp
//   QuantizeResult q = quantize_model(model, st, {});       // winq/quant.hpp
//   FloatExecutor engine(prepare_quantized(q.qdq, shapes), threads);  // winq/runtime.hpp
//   std::vector<Tensor> out = engine.run({batch});
//
// Errors are winq::Error (winq/error.hpp) with a one-line message. A prepared
// executor may be run from several threads at once (its run() keeps its state
// per call); see bench/RELIABILITY.md.
#pragma once

#include "winq/calib.hpp"
#include "winq/cpu.hpp"
#include "winq/data.hpp"
#include "winq/error.hpp"
#include "winq/evaluate.hpp"
#include "winq/graph.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/report.hpp"
#include "winq/runtime.hpp"
#include "winq/tensor.hpp"
#include "winq/winograd.hpp"
