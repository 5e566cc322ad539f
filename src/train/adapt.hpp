// winq adapt: a trained network carried into another configuration of the same
// network — ordinary 3×3 convs become Winograd-aware ones (or back), every
// tensor both have is copied, and what only the target has (its transforms,
// its quantizer ranges) keeps its initial value, so fine-tuning starts from
// the trained function.
#pragma once
#include <string>
#include <vector>

#include "resnet.hpp"

namespace winq::train {

struct TransferReport {
  int copied = 0;
  std::vector<std::string> fresh;  // target tensors left at their initial value
};

// Copies `from` into `to` by name (both kinds of conv are registered as conv1/conv2). Transform
// matrices are copied only into trainable (flex) ones of the same tile; a
// static target keeps the exact matrices. A weight, BatchNorm or classifier
// tensor with no counterpart of the same shape is an Error (different widths).
TransferReport transfer_weights(ResNet& from, ResNet& to);

}  // namespace winq::train
