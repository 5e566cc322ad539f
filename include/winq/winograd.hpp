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

namespace winq {
class Graph;
}

namespace winq::winograd {

// F(m, 3) with the default points, as float64 row-major matrices.
struct TileMatrices {
  int m = 0, r = 3, n = 0;
  std::vector<double> AT, G, BT;  // m×n, n×r, n×n
};
TileMatrices tile_matrices(int m);

// The layers Winograd can run: Conv with 3×3 constant weights, stride 1,
// dilation 1, group 1.
bool winograd_eligible(const Graph& g, size_t node);

// Turns every eligible Conv of a prepared float graph into winq.WinogradConv
// with tile F(m, 3) (m ∈ {2, 4, 6}): U = G g Gᵀ is computed once in float64
// and stored as float, component-major [n·n, M, C]. Returns the layers changed.
int plan_float_winograd(Graph& g, int m);

// "F2" / "F4" / "F6" (or "2", "4", "6") → m; "off" → 0. Throws on anything else.
int parse_tile(const std::string& s);

}  // namespace winq::winograd
