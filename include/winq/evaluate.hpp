// Classification accuracy of a model over a dataset, batch by batch.
#include <functional>
#include <map>
#include <string>

#include "winq/data.hpp"
#include "winq/graph.hpp"

#pragma once

namespace winq {

struct EvalOptions {
  int64_t batch = 64;  // images per run (1 if the model's batch dimension is fixed to 1)
  int threads = 1;
  // Called after every batch with (images done, images total).
  std::function<void(int64_t, int64_t)> progress;
  // How the model becomes executable for a batch shape (default: prepare()).
  std::function<Graph(const Graph&, const std::map<std::string, Shape>&)> prepare_fn;
};

struct EvalResult {
  int64_t images = 0;
  int64_t correct_top1 = 0, correct_top5 = 0;
  double seconds = 0;  // wall time of the runs (preprocessing excluded)
  std::vector<int> predictions;
  double top1() const { return images ? 100.0 * correct_top1 / images : 0; }
  double top5() const { return images ? 100.0 * correct_top5 / images : 0; }
  double images_per_second() const { return seconds > 0 ? images / seconds : 0; }
};

// Runs `model` (an imported, unprepared graph with one image input) with the
// float executor over `data`, whose images must already have the model's
// input layout. The first output is taken as class scores [N, classes].
EvalResult evaluate_float(const Graph& model, const Dataset& data, const EvalOptions& opt = {});

// The preprocessing a model wants: its "winq.preprocess" metadata if present,
// else scale to [0,1]; the channel count comes from the model's input. When the
// data's image size differs from the model's and the spec says nothing, the
// error says how to fix it.
Preprocess preprocess_for(const Graph& model, const RawImages& raw, const std::string& user_spec);

}  // namespace winq
