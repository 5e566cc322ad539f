// Winograd minimal filtering F(m, r): Y = Aᵀ[(G g) ⊙ (Bᵀ d)] computes the m
// outputs of an r-tap correlation y_i = Σ_k g_k d_{i+k} from a tile of
// n = m + r − 1 inputs with n multiplications (2-D: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A).
// The matrices come from n interpolation points (Cook–Toom), computed in exact
// rational arithmetic (GMP). See src/winograd/transforms.cpp for the derivation.
#pragma once
#include <gmpxx.h>

#include <optional>
#include <string>
#include <vector>

namespace winq::winograd {

using Rational = mpq_class;
using RationalMatrix = std::vector<std::vector<Rational>>;  // row-major

// An interpolation point: a rational number, or infinity (nullopt).
using Point = std::optional<Rational>;

struct Transforms {
  int m = 0, r = 0;             // outputs per tile and taps; the tile has n = m + r − 1 inputs
  std::vector<Point> points;    // n points
  RationalMatrix AT;            // m × n  output transform
  RationalMatrix G;             // n × r  weight transform
  RationalMatrix BT;            // n × n  input transform
  int n() const { return m + r - 1; }
};

// F(2,3) {0, 1, −1, ∞}; F(4,3) {0, 1, −1, 2, −2, ∞}; F(6,3) {0, ±1, ±2, ±1/2, ∞};
// other sizes continue 3, −3, 1/3, −1/3, 4, … and end with ∞.
std::vector<Point> default_points(int m, int r);

// "0,1,-1,2,-2" or "0, 1/2, -1/2, inf": rationals and at most one "inf" (or "∞").
// With n − 1 points given, ∞ is appended. Throws winq::Error on bad input.
std::vector<Point> parse_points(const std::string& text, int m, int r);

// The transforms of F(m, r) from n distinct points. Throws winq::Error when the
// points are not n distinct values (at most one ∞) or m, r < 1.
Transforms generate(int m, int r, const std::vector<Point>& points);

std::string point_str(const Point& p);
std::vector<std::vector<double>> to_double(const RationalMatrix& a);

}  // namespace winq::winograd

#include "winq/graph.hpp"

namespace winq::winograd {

// F(m, 3) with the default points, as float64 row-major matrices.
struct TileMatrices {
  int m = 0, r = 3, n = 0;
  std::vector<double> AT, G, BT;  // m×n, n×r, n×n
};
TileMatrices tile_matrices(int m);

// A 3×3 stride-1 pad-1 convolution (weights [K, C, 3, 3], no bias) of an
// H×W input computed as Winograd F(t.m, 3) with the given transforms — learned
// ones need not be exact — in standard ONNX operators (grouped Conv for Bᵀ d B,
// grouped 1×1 Conv for the per-component channel sums with U = G g Gᵀ
// precomputed in float64, grouped ConvTranspose for Aᵀ M A, Slice for the
// border). Appends the nodes to `g`; returns the output [N, K, H, W].
ValueId add_winograd_conv_standard(Graph& g, ValueId x, const Tensor& weight, const TileMatrices& t, int64_t H,
                                   int64_t W, const std::string& name);

// U = G g Gᵀ of 3×3 weights w [M, C, 3, 3] with the transforms t, computed in
// float64 and stored as float, component-major [n·n, M, C].
Tensor transform_weights(const Tensor& w, const TileMatrices& t);
std::vector<double> transform_weights_f64(const Tensor& w, const TileMatrices& t);  // the same, unrounded

// Learned transforms. A layer trained with trainable (flex) transforms is no
// longer the convolution of its weights: it computes Winograd F(m, 3) with its
// own Aᵀ, G, Bᵀ. Such a layer is a Conv (3×3, stride 1, dilation 1, group 1)
// that carries them as attributes (float32, row-major; m from Aᵀ's size);
// every engine path runs it as that Winograd computation, never as a plain conv.
namespace attr {
inline constexpr const char* kLearnedAT = "winq_winograd_at";  // floats m×n
inline constexpr const char* kLearnedG = "winq_winograd_g";    // floats n×3
inline constexpr const char* kLearnedBT = "winq_winograd_bt";  // floats n×n
// Ranges a quantization-aware run learned for a Winograd-aware layer (its
// fake quantizers' max |x|), exported with the network; `winq quantize
// --trained-ranges` uses them instead of the calibrator's clip.
inline constexpr const char* kTrainedTile = "winq_trained_tile";    // int m the ranges were trained at
inline constexpr const char* kTrainedXMax = "winq_trained_x_max";   // float: the layer's input
inline constexpr const char* kTrainedVMax = "winq_trained_v_max";   // floats [n·n]: V = Bᵀ d B per component
}  // namespace attr
bool has_learned_transforms(const Node& n);
// The node's transforms (m ∈ {2, 4, 6}); throws Error when they are malformed or
// the conv is not one Winograd can compute.
TileMatrices learned_transforms(const Node& n);
void set_learned_transforms(Node& n, const TileMatrices& t);

// The layers Winograd can run: Conv with 3×3 constant weights, stride 1,
// dilation 1, group 1, and at least kMinWinogradChannels input channels.
inline constexpr int64_t kMinWinogradChannels = 8;
bool winograd_eligible(const Graph& g, size_t node);

// Turns every eligible Conv of a prepared float graph into winq.WinogradConv
// with tile F(m, 3) (m ∈ {2, 4, 6}; a Conv with learned transforms keeps its own): U = G g Gᵀ is computed once in float64
// and stored as float, component-major [n·n, M, C]. Returns the layers changed.
// one_d: the 1-D variant F(m×1, 3×3) instead — Winograd along the rows only
// (tiles of 3 × (m+2) inputs give 1 × m outputs; n GEMMs over 3·C; 3(m+2)/m
// multiplications per output instead of 9), U stored [n, M, 3·C].
int plan_float_winograd(Graph& g, int m, bool one_d = false);

// "F2" / "F4" / "F6" (or "2", "4", "6") → m; "off" → 0. Throws on anything else.
int parse_tile(const std::string& s);

}  // namespace winq::winograd

// ---- int8 Winograd (post-training quantization) ---------------------------
#include "winq/calib.hpp"

namespace winq::winograd {

// Attributes quantize_model puts on a Conv of the QDQ plan that is to run as
// int8 Winograd; lower_qdq turns them into winq.QWinogradConv.
namespace attr {
inline constexpr const char* kTile = "winq_winograd_tile";          // int m
inline constexpr const char* kU = "winq_winograd_u";                // int8 [n·n, M, C]: U = G g Gᵀ quantized
inline constexpr const char* kUScale = "winq_winograd_u_scale";     // floats [n·n · M]
inline constexpr const char* kVScale = "winq_winograd_v_scale";     // floats [n·n]: real V = Bᵀ d B per level
inline constexpr const char* kVUnsigned = "winq_winograd_v_unsigned";  // ints [n·n]
inline constexpr const char* kBias = "winq_winograd_bias";          // floats [M], real
// Optional, floats [n·n · C] (1-D: [n · C]): component k of input channel c at
// k·C + c has its own step kVScale[k]·f, f in [2^−8, 1]; U's entries of
// channel c were multiplied by f before they were quantized.
inline constexpr const char* kVChannel = "winq_winograd_v_channel";
// 1 for the 1-D variant F(m×1, 3×3): then U is int8 [n, M, 3·C] (index ky·C + c),
// its scales [n · M], and V has n components (one per column of the row transform).
inline constexpr const char* kOneD = "winq_winograd_1d";
}  // namespace attr

struct Int8Options {
  int m = 4;
  bool one_d = false;  // the 1-D variant F(m×1, 3×3)
  int wbits = 8, abits = 8;
  bool per_component = true;  // false: one scale for all components (V) and per channel only (U)
  // With per_component: V's steps also per input channel, folded into U
  // (attr::kVChannel); needs WinogradStats::channel_max. channel_alpha: the
  // exponent of the channel's share of the clip, in [0, 1].
  bool channel_scales = false;
  double channel_alpha = 1.0;
  Calibrator calibrator = Calibrator::max;  // for the components of V
  double percentile = 99.99;
  bool trained_ranges = false;  // V's clips from attr::kTrainedVMax when the node has them for this tile
};

// Quantizes the Winograd-domain weights of Conv `n` (float weights w [M, C, 3, 3],
// real bias) and chooses the component scales of its input from `st`; stores
// them as attributes of n. input_unsigned: the conv input is quantized unsigned
// (zero point 0), so components whose transform rows are non-negative stay unsigned.
void attach_int8_plan(Node& n, const Tensor& w, const std::vector<double>& bias, const WinogradStats& st,
                      bool input_unsigned, const Int8Options& opt);

// The integer form winq.QWinogradConv of a planned Conv, given its input and
// output quantization. Adds its constants to g. Throws Error when a stage could
// overflow (the analysis is in the comments of lower_int8.cpp).
struct QuantIO {
  double x_scale = 1;
  int64_t x_zp = 0;
  DataType x_type = DataType::u8;
  double y_scale = 1;
  int64_t y_zp = 0, qmin = 0, qmax = 255;
  DataType y_type = DataType::u8;
};
Node lower_int8(Graph& g, const Node& conv, ValueId x, const QuantIO& io);

// The integer grid of one row of a learned input transform Bᵀ (n entries): the
// engine computes with round(β·row)/β. β is the integer in [0.75·βmax, βmax],
// βmax = (L − n/2)/Σ|row| (so that Σ|round(β·row)| ≤ L), whose grid lies
// closest to the row (smallest largest rounding error; ties: the larger β).
// A row with small denominators, such as every row of the default F2/F4/F6
// transforms, is then represented exactly, and a flex run that starts from
// them starts from the exact convolution. Training's engine scheme rounds Bᵀ
// with this same function, so the engine computes what training optimised.
double input_transform_row_scale(const double* row, int n, double L);

}  // namespace winq::winograd
