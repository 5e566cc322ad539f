// The generated Winograd transforms compute exact correlations (1-D, 2-D and
// the 1-D-along-one-axis variants F(m×1, r×r)) on random integer data, in
// rationals, for the default tiles and for other point lists; the published
// F(2,3) and F(4,3) matrices are reproduced up to the per-point scaling
// freedom; bad point lists are clear errors.
#include <gtest/gtest.h>

#include <random>

#include "winq/error.hpp"
#include "winq/winograd.hpp"

using namespace winq;
using namespace winq::winograd;

namespace {

using Vec = std::vector<Rational>;
using Mat = RationalMatrix;

Mat random_ints(size_t rows, size_t cols, std::mt19937& rng) {
  Mat a(rows, Vec(cols));
  for (auto& row : a)
    for (auto& v : row) v = static_cast<int>(rng() % 201) - 100;
  return a;
}

Mat mul(const Mat& a, const Mat& b) {
  Mat c(a.size(), Vec(b[0].size(), Rational(0)));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t k = 0; k < b.size(); ++k)
      for (size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}

Mat transpose(const Mat& a) {
  Mat t(a[0].size(), Vec(a.size()));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[0].size(); ++j) t[j][i] = a[i][j];
  return t;
}

Mat hadamard(Mat a, const Mat& b) {
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < a[0].size(); ++j) a[i][j] *= b[i][j];
  return a;
}

// 1-D: y = Aᵀ[(G g) ⊙ (Bᵀ d)] against y_i = Σ_k g_k d_{i+k}.
void check_1d(const Transforms& t, std::mt19937& rng) {
  const Mat g = random_ints(t.r, 1, rng), d = random_ints(t.n(), 1, rng);
  const Mat y = mul(t.AT, hadamard(mul(t.G, g), mul(t.BT, d)));
  for (int i = 0; i < t.m; ++i) {
    Rational want = 0;
    for (int k = 0; k < t.r; ++k) want += g[k][0] * d[i + k][0];
    ASSERT_EQ(y[i][0], want) << "F(" << t.m << "," << t.r << ") output " << i;
  }
}

// 2-D: Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A against the 2-D correlation.
void check_2d(const Transforms& t, std::mt19937& rng) {
  const Mat g = random_ints(t.r, t.r, rng), d = random_ints(t.n(), t.n(), rng);
  const Mat U = mul(mul(t.G, g), transpose(t.G)), V = mul(mul(t.BT, d), transpose(t.BT));
  const Mat Y = mul(mul(t.AT, hadamard(U, V)), transpose(t.AT));
  for (int i = 0; i < t.m; ++i)
    for (int j = 0; j < t.m; ++j) {
      Rational want = 0;
      for (int ky = 0; ky < t.r; ++ky)
        for (int kx = 0; kx < t.r; ++kx) want += g[ky][kx] * d[i + ky][j + kx];
      ASSERT_EQ(Y[i][j], want) << "F(" << t.m << "x" << t.m << "," << t.r << "x" << t.r << ") at " << i << "," << j;
    }
}

// F(m×1, r×r): Winograd along x (tile of n columns), direct along y (r rows per output row).
void check_1d_variant(const Transforms& t, std::mt19937& rng) {
  const Mat g = random_ints(t.r, t.r, rng), d = random_ints(t.r, t.n(), rng);  // one output row
  const Mat U = mul(g, transpose(t.G));     // r × n: each kernel row transformed
  const Mat V = mul(d, transpose(t.BT));    // r × n: each input row transformed
  Mat M(1, Vec(t.n(), Rational(0)));        // Σ over ky in the Winograd domain
  for (int ky = 0; ky < t.r; ++ky)
    for (int j = 0; j < t.n(); ++j) M[0][j] += U[ky][j] * V[ky][j];
  const Mat Y = mul(M, transpose(t.AT));    // 1 × m
  for (int j = 0; j < t.m; ++j) {
    Rational want = 0;
    for (int ky = 0; ky < t.r; ++ky)
      for (int kx = 0; kx < t.r; ++kx) want += g[ky][kx] * d[ky][j + kx];
    ASSERT_EQ(Y[0][j], want) << "F(" << t.m << "x1," << t.r << "x" << t.r << ") output " << j;
  }
}

// Equal up to the scaling freedom: for every point i there are a, b, c with
// a·b·c = 1 and column i of Aᵀ = a·col, row i of G = b·row, row i of Bᵀ = c·row.
void expect_equivalent(const Transforms& t, const Mat& AT, const Mat& G, const Mat& BT) {
  ASSERT_EQ(AT.size(), t.AT.size());
  ASSERT_EQ(G.size(), t.G.size());
  auto ratio = [](const std::vector<Rational>& ours, const std::vector<Rational>& theirs) {
    std::optional<Rational> f;
    for (size_t k = 0; k < ours.size(); ++k) {
      if ((ours[k] == 0) != (theirs[k] == 0)) return std::optional<Rational>{};
      if (ours[k] == 0) continue;
      const Rational q = theirs[k] / ours[k];
      if (f && *f != q) return std::optional<Rational>{};
      f = q;
    }
    return f;
  };
  for (int i = 0; i < t.n(); ++i) {
    std::vector<Rational> a_ours, a_theirs;
    for (int row = 0; row < t.m; ++row) {
      a_ours.push_back(t.AT[row][i]);
      a_theirs.push_back(AT[row][i]);
    }
    const auto a = ratio(a_ours, a_theirs), b = ratio(t.G[i], G[i]), c = ratio(t.BT[i], BT[i]);
    ASSERT_TRUE(a && b && c) << "point " << i << " is not a scaled copy of the published matrices";
    EXPECT_EQ(*a * *b * *c, 1) << "point " << i;
  }
}

Mat q(std::initializer_list<std::initializer_list<const char*>> rows) {
  Mat m;
  for (auto& row : rows) {
    m.emplace_back();
    for (const char* v : row) m.back().emplace_back(v);
    for (auto& v : m.back()) v.canonicalize();
  }
  return m;
}

}  // namespace

TEST(WinogradTransforms, ComputeExactCorrelations) {
  std::mt19937 rng(77);
  for (auto [m, r] : {std::pair{2, 3}, {4, 3}, {6, 3}, {2, 5}, {3, 2}, {1, 3}, {8, 3}}) {
    const Transforms t = generate(m, r, default_points(m, r));
    for (int trial = 0; trial < 5; ++trial) {
      check_1d(t, rng);
      check_2d(t, rng);
      check_1d_variant(t, rng);
    }
  }
  // Other point lists, incl. all finite points and fractions.
  for (const char* pts : {"0,1,-1,1/2,-1/2", "0,2,-2,1/2,-1/2,inf", "1,2,3,4,5,6", "0,-1/3,1/3,3,-3"}) {
    const Transforms t = generate(4, 3, parse_points(pts, 4, 3));
    check_1d(t, rng);
    check_2d(t, rng);
    check_1d_variant(t, rng);
  }
}

TEST(WinogradTransforms, DefaultPointsAreThoseOfTheDesign) {
  auto str = [](const std::vector<Point>& p) {
    std::string s;
    for (const auto& x : p) s += point_str(x) + " ";
    return s;
  };
  EXPECT_EQ(str(default_points(2, 3)), "0 1 -1 inf ");
  EXPECT_EQ(str(default_points(4, 3)), "0 1 -1 2 -2 inf ");
  EXPECT_EQ(str(default_points(6, 3)), "0 1 -1 2 -2 1/2 -1/2 inf ");
}

TEST(WinogradTransforms, ReproduceThePublishedMatrices) {
  // F(2,3) and F(4,3) as published by Lavin & Gray (2016).
  expect_equivalent(generate(2, 3, default_points(2, 3)), q({{"1", "1", "1", "0"}, {"0", "1", "-1", "-1"}}),
                    q({{"1", "0", "0"}, {"1/2", "1/2", "1/2"}, {"1/2", "-1/2", "1/2"}, {"0", "0", "1"}}),
                    q({{"1", "0", "-1", "0"}, {"0", "1", "1", "0"}, {"0", "-1", "1", "0"}, {"0", "1", "0", "-1"}}));
  expect_equivalent(
      generate(4, 3, default_points(4, 3)),
      q({{"1", "1", "1", "1", "1", "0"},
         {"0", "1", "-1", "2", "-2", "0"},
         {"0", "1", "1", "4", "4", "0"},
         {"0", "1", "-1", "8", "-8", "1"}}),
      q({{"1/4", "0", "0"},
         {"-1/6", "-1/6", "-1/6"},
         {"-1/6", "1/6", "-1/6"},
         {"1/24", "1/12", "1/6"},
         {"1/24", "-1/12", "1/6"},
         {"0", "0", "1"}}),
      q({{"4", "0", "-5", "0", "1", "0"},
         {"0", "-4", "-4", "1", "1", "0"},
         {"0", "4", "-4", "-1", "1", "0"},
         {"0", "-2", "-1", "2", "1", "0"},
         {"0", "2", "-1", "-2", "1", "0"},
         {"0", "4", "0", "-5", "0", "1"}}));
}

TEST(WinogradTransforms, BadPointListsAreClearErrors) {
  EXPECT_THROW(generate(2, 3, parse_points("0,1,1", 2, 3)), Error);
  EXPECT_THROW(parse_points("0,1", 4, 3), Error);            // too few
  EXPECT_THROW(parse_points("0,1,x", 2, 3), Error);          // not a number
  EXPECT_THROW(parse_points("0,1/0,1", 2, 3), Error);        // division by zero
  EXPECT_THROW(generate(2, 3, parse_points("0,inf,1,inf", 2, 3)), Error);  // two ∞
  EXPECT_THROW(generate(0, 3, {}), Error);
  EXPECT_NO_THROW(generate(2, 3, parse_points("0, 1, -1", 2, 3)));  // ∞ appended
}
