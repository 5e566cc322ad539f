// ACIQ (Banner et al.): the clipping value that minimises the expected
// quantization noise of a Laplace or Gaussian variable, found numerically.
//   Laplace(0, b), clip α, 2^M levels over [−α, α]:
//     clipping 2b²·e^(−α/b)  +  rounding α²/(3·4^M)
//   Gaussian(0, σ):
//     clipping (α² + σ²)·(1 − erf(α/(√2σ))) − √(2/π)·α·σ·e^(−α²/(2σ²))  +  rounding α²/(3·4^M)
// With b = 1 (σ = 1) the minimiser is the multiplier.
#include <cmath>

#include "winq/calib.hpp"

namespace winq {

namespace {

double laplace_noise(double a, int bits) { return 2.0 * std::exp(-a) + a * a / (3.0 * std::pow(4.0, bits)); }

double gauss_noise(double a, int bits) {
  const double clip = (a * a + 1.0) * std::erfc(a / std::sqrt(2.0)) - std::sqrt(2.0 / M_PI) * a * std::exp(-a * a / 2.0);
  return clip + a * a / (3.0 * std::pow(4.0, bits));
}

// Golden-section search for the minimum of a unimodal f on [lo, hi].
template <class F>
double argmin(F f, double lo, double hi) {
  const double r = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = lo, b = hi, c = b - r * (b - a), d = a + r * (b - a);
  for (int i = 0; i < 200 && b - a > 1e-12; ++i) {
    if (f(c) < f(d))
      b = d;
    else
      a = c;
    c = b - r * (b - a);
    d = a + r * (b - a);
  }
  return (a + b) / 2.0;
}

void check_bits(int bits) {
  if (bits < 1 || bits > 16) throw Error("ACIQ: bits must be in 1..16");
}

}  // namespace

double aciq_alpha_laplace(int bits) {
  check_bits(bits);
  return argmin([bits](double a) { return laplace_noise(a, bits); }, 0.01, 40.0);
}

double aciq_alpha_gauss(int bits) {
  check_bits(bits);
  return argmin([bits](double a) { return gauss_noise(a, bits); }, 0.01, 20.0);
}

}  // namespace winq
