#include "winq/paired_comparison.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "winq/error.hpp"

namespace winq {
namespace {

// 2·Σ_{k ≤ min} C(n, k) / 2^n with exact integer binomials (n ≤ 60 fits 64 bits).
double exact_p(int64_t a, int64_t b) {
  const int64_t n = a + b, k_max = std::min(a, b);
  if (n == 0 || 2 * k_max == n) return 1.0;
  uint64_t c = 1, sum = 0;  // C(n, k), running
  for (int64_t k = 0; k <= k_max; ++k) {
    sum += c;
    c = c * static_cast<uint64_t>(n - k) / static_cast<uint64_t>(k + 1);
  }
  return std::min(1.0, 2.0 * std::ldexp(static_cast<double>(sum), static_cast<int>(-n)));
}

TEST(PairedComparison, McNemarExactMatchesIntegerBinomials) {
  // lgamma is accurate to a few units in the last place, not exact.
  EXPECT_NEAR(mcnemar_exact_p(5, 0), 2.0 / 32, 1e-14);
  EXPECT_NEAR(mcnemar_exact_p(10, 2), 2.0 * 79 / 4096, 1e-14);  // 1 + 12 + 66
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(mcnemar_exact_p(7, 7), 1.0);
  for (int64_t a = 0; a <= 30; ++a)
    for (int64_t b = 0; b <= 30; ++b) {
      EXPECT_NEAR(mcnemar_exact_p(a, b), exact_p(a, b), 1e-12 * exact_p(a, b)) << a << " " << b;
      EXPECT_EQ(mcnemar_exact_p(a, b), mcnemar_exact_p(b, a));
    }
}

TEST(PairedComparison, McNemarExactForThousandsOfImages) {
  // 1,100 discordant images: 2^−1100 is below double's range, so a direct
  // sum of C(n, k)/2^n terms would give 0. Reference: the same sum in exact
  // integers (Python's math.comb), 0.0028195449914364275.
  EXPECT_NEAR(mcnemar_exact_p(600, 500), 0.0028195449914364275, 1e-12);
  EXPECT_NEAR(mcnemar_exact_p(130, 104), 0.10199143403277038, 1e-12);
  EXPECT_THROW(mcnemar_exact_p(-1, 3), Error);
}

TEST(PairedComparison, CountsTheDiscordantImages) {
  const std::vector<int> labels = {0, 1, 2, 3, 4, 5};
  const std::vector<int> a = {0, 1, 9, 9, 4, 8};  // right on 0, 1, 4
  const std::vector<int> b = {0, 7, 2, 8, 4, 9};  // right on 0, 2, 4
  const PairedComparison c = compare_predictions(a, b, labels);
  EXPECT_EQ(c.images, 6);
  EXPECT_EQ(c.differing, 4);  // images 1, 2, 3 and 5 (3 and 5: both wrong, differently)
  EXPECT_EQ(c.a_only, 1);
  EXPECT_EQ(c.b_only, 1);
  EXPECT_DOUBLE_EQ(c.p_value, 1.0);
  EXPECT_DOUBLE_EQ(c.difference_points(), 0.0);
  const PairedComparison d = compare_predictions(a, labels, labels);
  EXPECT_EQ(d.b_only, 3);
  EXPECT_EQ(d.a_only, 0);
  EXPECT_DOUBLE_EQ(d.difference_points(), -50.0);
  EXPECT_NEAR(d.p_value, 2.0 / 8, 1e-14);
  EXPECT_THROW(compare_predictions(a, {0, 1}, labels), Error);
}

}  // namespace
}  // namespace winq
