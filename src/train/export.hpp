// The trained network as a winq graph (ONNX operators), built from the
// module's weights: LibTorch has no ONNX exporter.
#pragma once
#include "resnet.hpp"
#include "winq/train.hpp"
#include "winq/winograd.hpp"

namespace winq::train {

// How a flex layer (learned transforms: not the conv of its weights) is written.
enum class LearnedLayers {
  winq,      // a Conv carrying its transforms (winograd::attr::kLearnedAT…): winq's engines
             // run it as that Winograd, in float and in int8
  standard,  // the Winograd computation in standard operators, for any ONNX runtime
};

// The transforms written are those the network computes with: after their
// fake quantizers (frozen ranges) in a quantization-aware run, so that the
// int8 engine starts from the matrices training adapted to.
Graph graph_from_resnet(ResNet& net, const TrainConfig& cfg, LearnedLayers learned = LearnedLayers::winq);

// The export read backwards: fills `net` (an ordinary network built for `cfg`)
// with the initializers of `g`, a graph that graph_from_resnet wrote for the
// same configuration (the ONNX file of winq train / export-run). The names and
// shapes must all match; a layer with learned transforms is refused (the file
// holds no quantizer ranges or optimizer state: adapt such runs from their
// directory). `source` names the file in errors.
void read_exported_network(const Graph& g, const std::string& source, ResNet& net, const TrainConfig& cfg);

// The transforms a flex layer computes with (fake-quantized in a
// quantization-aware run; the module is evaluated in eval mode).
winograd::TileMatrices effective_transforms(WinogradConv2d& layer);

}  // namespace winq::train
