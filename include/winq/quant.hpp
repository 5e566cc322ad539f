// Post-training quantization: from a float model and its calibration
// statistics to a QDQ plan (standard ONNX QuantizeLinear/DequantizeLinear,
// per-axis int8 weights, int32 bias), and the lowering of such a plan to the
// integer operators that define the engine's results.
//
// Scheme: real = scale · (q − zero_point). Weights symmetric (zero point 0),
// per output channel or per tensor. Activations per tensor, zero point 0:
// unsigned (0..2^b−1) when calibration never saw a negative value, else signed
// (−(2^(b−1)−1)..2^(b−1)−1). Below 8 bits a Clip before each QuantizeLinear
// bounds the values, so the ONNX graph itself says how many levels are used.
// Bias: int32 with scale s_in · s_w[c]. Rounding: half to even everywhere.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "winq/calib.hpp"
#include "winq/graph.hpp"
#include "winq/runtime.hpp"

namespace winq {

// How one 3×3 stride-1 Conv runs: direct (m = 0), as int8 Winograd F(m, 3),
// or as its 1-D variant F(m×1, 3×3).
struct WinogradTile {
  int m = 0;           // 2, 4, 6; 0 = direct
  bool one_d = false;  // the 1-D variant
  WinogradTile(int m_ = 0, bool one_d_ = false) : m(m_), one_d(one_d_) {}  // NOLINT: a tile from its m
  bool operator==(const WinogradTile&) const = default;
};
// "direct", "F4", "F4x1": as --winograd takes them (with --winograd-1d for x1).
std::string winograd_tile_name(WinogradTile t);
WinogradTile parse_winograd_tile_name(const std::string& s);  // the inverse ("off" = direct); throws Error

struct QuantizeOptions {
  int wbits = 8, abits = 8;
  bool per_channel = true;                        // weights: per output channel (rows for Gemm)
  Calibrator calibrator = Calibrator::max;        // activations
  Calibrator weight_calibrator = Calibrator::max;  // weights, from the weights themselves
  double percentile = 99.99;
  bool bias_correction = false;  // compensate the mean shift that weight rounding causes
  bool bit_alloc = false;        // weights: levels per channel ∝ range^(2/3) under the same total budget
  int skip_first = 0;            // keep the first K Conv/Gemm layers in float
  std::vector<std::string> keep_float;  // node or output names kept in float
  int winograd = 0;                     // 2, 4, 6: 3×3 stride-1 convs as int8 Winograd F(m, 3); 0 = direct
  bool winograd_per_component = true;   // one scale per Winograd component (false: per tensor)
  // With winograd_per_component: also per input channel, folded into the
  // Winograd weights (winograd::Int8Options::channel_scales, channel_alpha).
  bool winograd_channel_scales = true;
  double winograd_channel_alpha = 1.0;
  Calibrator winograd_calibrator = Calibrator::mse;  // clipping of the Winograd-domain input components
  bool winograd_1d = false;  // the Winograd layers use the 1-D variant F(m×1, 3×3)
  // Per Conv node: its tile, overriding `winograd` and `winograd_1d`.
  std::map<std::string, WinogradTile> winograd_layers;
  // Ranges a quantization-aware run exported with the model (Conv attributes
  // winograd::attr::kTrainedXMax / kTrainedVMax) replace the calibrator's clip
  // for those layers' inputs and Winograd components.
  bool trained_ranges = false;
};

// What happened to one Conv/Gemm layer.
struct LayerQuantInfo {
  std::string node, op;
  bool quantized = false;
  std::string input, output;   // value names
  double input_scale = 0;
  double weight_bits = 0;      // average over channels of log2(qmax + 1) + 1
  double weight_sqnr_db = 0;   // of the quantized weights vs float
  double max_bias_shift = 0;   // largest |bias correction| applied
  int winograd = 0;            // m of the int8 Winograd F(m, 3) it runs as (0: direct)
  bool winograd_1d = false;    // as the 1-D variant F(m×1, 3×3)
  bool winograd_learned = false;  // with the layer's own learned transforms
};

struct QuantizeResult {
  Graph qdq;  // the plan, ready for save_onnx (opset ≥ 13)
  std::vector<LayerQuantInfo> layers;
};

// `model` as imported (unprepared). Statistics must come from collect_stats
// on the same model (value names are checked). Throws Error otherwise.
QuantizeResult quantize_model(const Graph& model, const CalibrationStats& stats, const QuantizeOptions& opt);

// True when the graph holds QuantizeLinear/DequantizeLinear nodes.
bool is_quantized_model(const Graph& g);

// A plan (or float model) as standard ONNX for other runtimes (ONNX Runtime):
// winq's private attributes are removed, and an int8 Winograd layer with the
// standard transforms becomes the ordinary quantized Conv it computes (named
// in `winograd_layers`). Throws Unsupported for nodes outside the standard
// domain (a lowered graph).
// A layer with learned transforms becomes the Winograd computation with them
// in standard operators (named in `learned_layers`).
struct StandardExport {
  Graph graph;
  std::vector<std::string> winograd_layers;
  std::vector<std::string> learned_layers;
};
StandardExport export_standard_onnx(const Graph& plan);

// A prepared QDQ graph with every Conv/Gemm/Add/GlobalAveragePool/MaxPool/
// Flatten/Reshape whose inputs and output are quantized replaced by its
// integer form (winq.QConv, winq.QGemm, winq.QAdd, ...); the rest stays
// dequantize → float → quantize. Throws Error when a layer's worst-case
// accumulator could leave int32.
Graph lower_qdq(Graph prepared);

// prepare() followed by lower_qdq(): what `winq eval` runs for a QDQ model.
Graph prepare_quantized(const Graph& qdq, const InputShapes& shapes);

}  // namespace winq

#include "winq/evaluate.hpp"

namespace winq {

// ---- evaluation of a quantized plan against its float model ----------------

// One quantized activation, compared with the float model's value of the same name.
struct TensorQuantReport {
  std::string name;        // the float tensor
  std::string producer;    // op that computes it
  int bits = 8;            // ceil(log2(levels))
  bool is_unsigned = false;
  double scale = 0;
  double sqnr_db = 0;      // 10·log10(Σf² / Σ(f − dequantized)²) (inf when exact)
  double clip_rate = 0;    // fraction of float values outside the representable range
  double entropy_bits = 0; // average bits per value of a Huffman code of the quantized values
};

struct QuantEvalResult {
  EvalResult quantized;    // the plan as the integer engine computes it
  EvalResult reference;    // the float model (when given)
  double agreement = 0;    // fraction of images with the same top-1 class
  std::vector<TensorQuantReport> tensors;  // in graph order (with a float model)
};

struct QuantEvalOptions {
  EvalOptions eval;
  bool lower = true;  // false: plain ONNX QDQ semantics (dequantize → float op → quantize everywhere)
};

// Runs the QDQ plan (lowered to integer ops unless told otherwise) over `data`;
// with a float model also runs it and reports every quantized tensor.
QuantEvalResult evaluate_quantized(const Graph& qdq, const Graph* float_model, const Dataset& data,
                                   const QuantEvalOptions& opt);

// ---- --winograd auto: a tile per layer ---------------------------------------

// The per-tensor errors alone (what evaluate_quantized reports with a float
// model), on the first `max_images` images of `data`.
std::vector<TensorQuantReport> tensor_errors(const Graph& qdq, const Graph& float_model, const Dataset& data,
                                             int64_t max_images, const QuantEvalOptions& opt);

struct WinogradAutoOptions {
  double min_sqnr_db = 25;  // a layer's output SQNR with its Winograd tile must stay at or above this
  int threads = 1;          // latency is measured at batch 1 with this many threads
  int runs = 20;            // timed runs per candidate plan
  bool one_d = true;        // the 1-D variants are candidates too
  std::function<void(const std::string&)> progress;  // one line per step (optional)
};

// The candidates of --winograd auto, in this order: direct, F2, F4, F6,
// F2x1, F4x1, F6x1.
inline constexpr int kWinogradCandidates = 7;
WinogradTile winograd_candidate(int i);

// What auto measured for one eligible layer, per candidate (index as above).
struct WinogradLayerChoice {
  std::string node;
  WinogradTile tile;  // the choice: the fastest candidate whose SQNR ≥ min_sqnr_db (direct always qualifies)
  double sqnr_db[kWinogradCandidates] = {};  // the layer's output vs the float model, only this layer changed
  double ms[kWinogradCandidates] = {};       // its median latency in a plan where every eligible layer uses the tile
};

// Quantizes `model` with `base` once per candidate, measures every eligible
// layer on `images` (SQNR) and on the first image (latency), and returns the
// choices; put them in QuantizeOptions::winograd_layers.
std::vector<WinogradLayerChoice> choose_winograd_tiles(const Graph& model, const CalibrationStats& stats,
                                                       const QuantizeOptions& base, const Dataset& images,
                                                       const WinogradAutoOptions& ao);

// Average code length (bits per symbol) of an optimal prefix (Huffman) code
// for symbols with these counts; 0 for one symbol or none.
double huffman_bits(const std::vector<double>& counts);

}  // namespace winq
