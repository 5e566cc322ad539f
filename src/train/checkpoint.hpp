// Checkpoints: every parameter and buffer of the network, the optimizer state
// and the position in training (epoch, batch, step), written atomically
// (temporary file + rename). Loading checks every tensor's shape, so a
// checkpoint of another configuration is a clear error, not garbage.
#pragma once
#include <string>

#include "resnet.hpp"

namespace winq::train {

struct TrainState {
  int64_t epoch = 0;  // next epoch to run
  int64_t batch = 0;  // next batch within that epoch
  int64_t step = 0;   // optimizer steps done
  double best_top1 = 0;
  double seconds = 0;       // training time so far
  std::string history;      // JSON array of per-epoch records
  std::string config_json;  // the run's configuration
};

void save_checkpoint(const std::string& path, ResNet& net, torch::optim::Optimizer& opt, const TrainState& st);
// Loads into `net` (and `opt` if given). Throws winq::Error on a missing,
// corrupt or mismatched file.
TrainState load_checkpoint(const std::string& path, ResNet& net, torch::optim::Optimizer* opt);

}  // namespace winq::train
