// Cook–Toom construction of Winograd transforms, exact in rationals.
//
// Linear convolution s = g ∗ x (g: r taps, x: m values, s: n = m + r − 1) is
// polynomial multiplication: evaluate both polynomials at n points, multiply
// pointwise, interpolate. With the evaluation matrices E_r (n × r) and E_m
// (n × m), rows [1, p, p², …] (for ∞: [0, …, 0, 1], the leading coefficient),
// and V the n × n such matrix, s = V⁻¹ diag(E_r g) E_m x = T_g x.
// The correlation we want, y_i = Σ_k g_k d_{i+k}, is the transpose of that map:
// y = T_gᵀ d = E_mᵀ [(E_r g) ⊙ (V⁻ᵀ d)], hence
//     Aᵀ = E_mᵀ,   G = E_r,   Bᵀ = V⁻ᵀ.
// Row i of Bᵀ and row i of G may trade a factor; we multiply row i of Bᵀ by
// |N_i|, N_i = Π_{j≠i, p_j finite} (p_i − p_j), and divide row i of G by it,
// which makes Bᵀ integral for integer points (as in the published matrices;
// F(2,3) comes out exactly as Lavin & Gray print it).
#include <algorithm>
#include <sstream>

#include "winq/error.hpp"
#include "winq/winograd.hpp"

namespace winq::winograd {

namespace {

// Row [1, p, …, p^(len−1)] of an evaluation matrix; [0, …, 0, 1] for ∞.
std::vector<Rational> eval_row(const Point& p, int len) {
  std::vector<Rational> row(static_cast<size_t>(len), Rational(0));
  if (!p) {
    row.back() = 1;
    return row;
  }
  Rational v = 1;
  for (int k = 0; k < len; ++k, v *= *p) row[k] = v;
  return row;
}

// Inverse by Gauss–Jordan elimination, exact.
RationalMatrix inverse(RationalMatrix a) {
  const size_t n = a.size();
  RationalMatrix inv(n, std::vector<Rational>(n, Rational(0)));
  for (size_t i = 0; i < n; ++i) inv[i][i] = 1;
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    while (pivot < n && a[pivot][col] == 0) ++pivot;
    if (pivot == n) throw Error("Winograd points give a singular interpolation matrix (repeated points?)");
    std::swap(a[col], a[pivot]);
    std::swap(inv[col], inv[pivot]);
    const Rational d = a[col][col];
    for (size_t k = 0; k < n; ++k) {
      a[col][k] /= d;
      inv[col][k] /= d;
    }
    for (size_t row = 0; row < n; ++row) {
      if (row == col || a[row][col] == 0) continue;
      const Rational f = a[row][col];
      for (size_t k = 0; k < n; ++k) {
        a[row][k] -= f * a[col][k];
        inv[row][k] -= f * inv[col][k];
      }
    }
  }
  return inv;
}

Rational parse_rational(const std::string& s) {
  // mpq_class accepts "p/q"; canonicalize() removes common factors. Reject anything else.
  if (s.empty() || s.find_first_not_of("+-0123456789/") != std::string::npos ||
      s.find('/') != s.rfind('/'))
    throw Error("Winograd point '" + s + "' is not an integer, a fraction p/q or inf");
  const size_t slash = s.find('/');
  if (slash != std::string::npos && s.find_first_not_of('0', slash + 1) == std::string::npos)
    throw Error("Winograd point '" + s + "' divides by zero");
  try {
    Rational q(s[0] == '+' ? s.substr(1) : s, 10);
    q.canonicalize();
    return q;
  } catch (const std::invalid_argument&) {
    throw Error("Winograd point '" + s + "' is not an integer, a fraction p/q or inf");
  }
}

}  // namespace

std::string point_str(const Point& p) { return p ? p->get_str() : "inf"; }

std::vector<Point> default_points(int m, int r) {
  if (m < 1 || r < 1) throw Error("Winograd F(m, r) needs m ≥ 1 and r ≥ 1");
  const int n = m + r - 1;
  std::vector<Point> pts;
  if (n >= 1) pts.push_back(Rational(0));
  // 1, −1, 2, −2, 1/2, −1/2, 3, −3, 1/3, −1/3, …
  for (int k = 1; static_cast<int>(pts.size()) < n - 1; ++k) {
    for (int sign : {1, -1})
      if (static_cast<int>(pts.size()) < n - 1) pts.push_back(Rational(sign * k));
    if (k > 1)
      for (int sign : {1, -1})
        if (static_cast<int>(pts.size()) < n - 1) pts.push_back(Rational(sign, k));
  }
  if (n == 1) return {Point{}};  // F(1, 1): one point, ∞
  pts.resize(static_cast<size_t>(n - 1));
  pts.push_back(Point{});
  return pts;
}

std::vector<Point> parse_points(const std::string& text, int m, int r) {
  std::vector<Point> pts;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(std::remove_if(item.begin(), item.end(), [](unsigned char c) { return std::isspace(c); }), item.end());
    if (item == "inf" || item == "∞" || item == "+inf")
      pts.push_back(Point{});
    else
      pts.push_back(parse_rational(item));
  }
  const int n = m + r - 1;
  const bool has_inf = std::any_of(pts.begin(), pts.end(), [](const Point& p) { return !p; });
  if (static_cast<int>(pts.size()) == n - 1 && !has_inf) pts.push_back(Point{});
  if (static_cast<int>(pts.size()) != n)
    throw Error("F(" + std::to_string(m) + "," + std::to_string(r) + ") needs " + std::to_string(n) +
                " interpolation points (or " + std::to_string(n - 1) + " and ∞ is added), got " +
                std::to_string(pts.size()));
  return pts;
}

Transforms generate(int m, int r, const std::vector<Point>& points) {
  if (m < 1 || r < 1) throw Error("Winograd F(m, r) needs m ≥ 1 and r ≥ 1");
  const int n = m + r - 1;
  if (static_cast<int>(points.size()) != n)
    throw Error("F(" + std::to_string(m) + "," + std::to_string(r) + ") needs " + std::to_string(n) + " points");
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (points[i] == points[j])
        throw Error("Winograd points must be distinct: " + point_str(points[i]) + " appears twice");
  Transforms t;
  t.m = m;
  t.r = r;
  t.points = points;
  RationalMatrix V(n), Em(n);
  t.G.resize(n);
  for (int i = 0; i < n; ++i) {
    V[i] = eval_row(points[i], n);
    Em[i] = eval_row(points[i], m);
    t.G[i] = eval_row(points[i], r);
  }
  const RationalMatrix Vinv = inverse(V);
  t.AT.assign(m, std::vector<Rational>(n));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) t.AT[i][j] = Em[j][i];
  t.BT.assign(n, std::vector<Rational>(n));
  for (int i = 0; i < n; ++i) {
    Rational scale = 1;  // N_i
    if (points[i])
      for (int j = 0; j < n; ++j)
        if (j != i && points[j]) scale *= *points[i] - *points[j];
    scale = abs(scale);
    for (int j = 0; j < n; ++j) t.BT[i][j] = Vinv[j][i] * scale;  // (V⁻ᵀ)[i][j] = V⁻¹[j][i]
    for (auto& g : t.G[i]) g /= scale;
  }
  return t;
}

std::vector<std::vector<double>> to_double(const RationalMatrix& a) {
  std::vector<std::vector<double>> out;
  for (const auto& row : a) {
    out.emplace_back();
    for (const auto& v : row) out.back().push_back(v.get_d());
  }
  return out;
}

}  // namespace winq::winograd
