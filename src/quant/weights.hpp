// Weight quantization (internal to src/quant): symmetric, per output channel or
// per tensor, optional bit allocation across channels.
#pragma once
#include <vector>

#include "winq/calib.hpp"
#include "winq/tensor.hpp"

namespace winq::quant {

struct QuantizedWeights {
  Tensor q;            // int8, the shape of the weights
  Tensor dequantized;  // float: q · scale, what the quantized layer computes with
  std::vector<float> scale;    // one per channel (or one)
  std::vector<int32_t> qmax;   // levels above zero, per channel
  double sqnr_db = 0;          // of `dequantized` against the float weights
  double mean_bits = 0;        // average over channels of log2(qmax + 1) + 1
};

struct WeightQuantOptions {
  int bits = 8;
  bool per_channel = true;
  int axis = 0;  // the output-channel axis
  Calibrator calibrator = Calibrator::max;
  bool bit_alloc = false;
};

QuantizedWeights quantize_weights(const Tensor& w, const WeightQuantOptions& o);

// Statistics of a set of values (for calibrating weights with the activation calibrators).
TensorStats stats_of(const std::vector<float>& values, int bins);

// Banner et al.'s allocation: levels per channel ∝ range^(2/3) with the total
// number of levels of `bits` per channel kept; returns qmax per channel in [1, 127].
std::vector<int32_t> allocate_levels(const std::vector<double>& ranges, int bits);

}  // namespace winq::quant
