// Calibrators on synthetic distributions, ACIQ's published multipliers, and
// degenerate statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../../src/quant/weights.hpp"
#include "winq/calib.hpp"

using namespace winq;

namespace {

std::vector<float> laplace(int n, double b, uint32_t seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> e(1.0 / b);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(sign(rng) ? e(rng) : -e(rng));
  return v;
}

std::vector<float> gauss(int n, double sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(0, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(d(rng));
  return v;
}

TensorStats stats(const std::vector<float>& v) { return quant::stats_of(v, 2048); }

}  // namespace

TEST(Aciq, ReproducesThePublishedMultipliers) {
  const double laplace_pub[] = {2.83, 3.89, 5.03, 6.20, 7.41, 8.64, 9.89};
  const double gauss_pub[] = {1.71, 2.15, 2.56, 2.94, 3.29, 3.62, 3.92};
  for (int bits = 2; bits <= 8; ++bits) {
    SCOPED_TRACE(bits);
    EXPECT_NEAR(aciq_alpha_laplace(bits), laplace_pub[bits - 2], 0.01);
    EXPECT_NEAR(aciq_alpha_gauss(bits), gauss_pub[bits - 2], 0.01);
  }
}

TEST(Calibrators, MaxAndPow2) {
  const TensorStats s = stats({-3.0f, 0.5f, 2.0f});
  ClipOptions o;
  EXPECT_DOUBLE_EQ(clip_value(s, Calibrator::max, o), 3.0);
  const double p = clip_value(s, Calibrator::pow2, o);
  const double scale = p / 127;
  EXPECT_DOUBLE_EQ(scale, std::exp2(std::round(std::log2(scale))));  // a power of two
  EXPECT_GE(p, 3.0);
  EXPECT_LT(p, 6.0);
}

TEST(Calibrators, PercentileOfAUniformDistribution) {
  std::vector<float> v;
  for (int i = 0; i < 100000; ++i) v.push_back(static_cast<float>(i) / 100000.0f);
  ClipOptions o;
  o.percentile = 90;
  o.is_unsigned = true;
  EXPECT_NEAR(clip_value(stats(v), Calibrator::percentile, o), 0.9, 0.002);
}

TEST(Calibrators, AciqOnLaplaceDataUsesTheFittedScale) {
  const TensorStats s = stats(laplace(200000, 0.5, 7));
  EXPECT_NEAR(s.mad, 0.5, 0.01);
  ClipOptions o;
  o.bits = 4;
  EXPECT_NEAR(clip_value(s, Calibrator::aciq_laplace, o), aciq_alpha_laplace(4) * 0.5, 0.05);
  o.bits = 3;
  const TensorStats g = stats(gauss(200000, 2.0, 8));
  EXPECT_NEAR(clip_value(g, Calibrator::aciq_gauss, o), aciq_alpha_gauss(3) * 2.0, 0.1);
}

TEST(Calibrators, MseMinimisesTheHistogramError) {
  const TensorStats s = stats(laplace(100000, 1.0, 3));
  const double bw = s.abs_max() / static_cast<double>(s.hist.size());
  for (int bits : {3, 4, 8}) {
    SCOPED_TRACE(bits);
    ClipOptions o;
    o.bits = bits;
    const double c = clip_value(s, Calibrator::mse, o);
    const double best = histogram_mse(s.hist, bw, c, quant_max(bits, false));
    for (double f : {0.5, 0.8, 0.95, 1.05, 1.25, 2.0})
      EXPECT_LE(best, histogram_mse(s.hist, bw, std::min(c * f, s.abs_max()), quant_max(bits, false)) * (1 + 1e-9));
    EXPECT_LT(c, s.abs_max());  // a Laplace tail is worth clipping
  }
}

TEST(Calibrators, KlClipsALaplaceTailButNotTheBulk) {
  const TensorStats s = stats(laplace(500000, 1.0, 5));
  ClipOptions o;
  const double c = clip_value(s, Calibrator::kl, o);
  EXPECT_GT(c, 5.0);            // keeps the bulk (the published 8-bit optimum is ~9.9 b)
  EXPECT_LT(c, s.abs_max());    // and clips the far tail
}

TEST(Calibrators, DegenerateInputGivesFiniteClipsOrErrors) {
  ClipOptions o;
  const TensorStats zero = stats(std::vector<float>(100, 0.0f));
  for (const auto& name : calibrator_names()) {
    SCOPED_TRACE(name);
    const double c = clip_value(zero, parse_calibrator(name), o);
    EXPECT_TRUE(std::isfinite(c));
    EXPECT_GT(c, 0);
  }
  const TensorStats constant = stats(std::vector<float>(100, 0.25f));
  for (const auto& name : calibrator_names()) {
    SCOPED_TRACE(name);
    const double c = clip_value(constant, parse_calibrator(name), o);
    EXPECT_TRUE(std::isfinite(c));
    EXPECT_GT(c, 0);
    if (name != "pow2") {  // pow2 rounds the scale up to a power of two
      EXPECT_LE(c, 0.25 + 1e-12);
    }
  }
  TensorStats bad;
  bad.count = 1;
  bad.max = NAN;
  EXPECT_THROW(clip_value(bad, Calibrator::max, o), Error);
  EXPECT_THROW(parse_calibrator("entropy2"), Error);
  o.bits = 9;
  EXPECT_THROW(clip_value(constant, Calibrator::max, o), Error);
}
