// The trained network as a winq graph (ONNX operators), built from the
// module's weights: LibTorch has no ONNX exporter.
#pragma once
#include "resnet.hpp"
#include "winq/train.hpp"

namespace winq::train {

Graph graph_from_resnet(ResNet& net, const TrainConfig& cfg);

}  // namespace winq::train
