#include "winq/paired_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "winq/error.hpp"

namespace winq {

PairedComparison compare_predictions(const std::vector<int>& a, const std::vector<int>& b,
                                     const std::vector<int>& labels) {
  if (a.size() != labels.size() || b.size() != labels.size())
    throw Error("compare_predictions: " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                " predictions for " + std::to_string(labels.size()) + " labels");
  PairedComparison r;
  r.images = static_cast<int64_t>(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    r.differing += a[i] != b[i];
    r.a_only += a[i] == labels[i] && b[i] != labels[i];
    r.b_only += b[i] == labels[i] && a[i] != labels[i];
  }
  r.p_value = mcnemar_exact_p(r.a_only, r.b_only);
  return r;
}

// 2·P(X ≤ min) for X ~ Binomial(n, 1/2), capped at 1. Each term in logs
// (lgamma) so that n in the thousands neither overflows nor underflows before
// the sum: the terms grow towards k = min, so they are summed relative to the
// largest.
double mcnemar_exact_p(int64_t a_only, int64_t b_only) {
  if (a_only < 0 || b_only < 0) throw Error("mcnemar_exact_p: negative counts");
  const int64_t n = a_only + b_only, k_max = std::min(a_only, b_only);
  if (n == 0 || 2 * k_max == n) return 1.0;
  const auto log_term = [&](int64_t k) {
    return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(k) + 1) -
           std::lgamma(static_cast<double>(n - k) + 1) - static_cast<double>(n) * std::log(2.0);
  };
  const double top = log_term(k_max);
  double sum = 0;
  for (int64_t k = 0; k <= k_max; ++k) sum += std::exp(log_term(k) - top);
  return std::min(1.0, 2.0 * std::exp(top) * sum);
}

}  // namespace winq
