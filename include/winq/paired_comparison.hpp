// Two classifiers on the same labelled images: where they disagree, and
// whether the difference in their accuracy is more than the luck of which
// borderline images flip. The images both get right or both get wrong say
// nothing about which is better; only the discordant ones do (McNemar's test).
#pragma once
#include <cstdint>
#include <vector>

namespace winq {

struct PairedComparison {
  int64_t images = 0;
  int64_t differing = 0;  // predictions that differ (including both wrong)
  int64_t a_only = 0;     // a right, b wrong
  int64_t b_only = 0;     // b right, a wrong
  // Exact two-sided McNemar p-value: the chance, if a and b were equally
  // accurate, of a split of the a_only + b_only discordant images at least as
  // uneven as this one (binomial, p = 1/2).
  double p_value = 1;
  // top-1 of a minus top-1 of b, in percentage points.
  double difference_points() const { return images ? 100.0 * static_cast<double>(a_only - b_only) / images : 0; }
};

// a, b: predicted classes; labels: the truth; all of one length (else Error).
PairedComparison compare_predictions(const std::vector<int>& a, const std::vector<int>& b,
                                     const std::vector<int>& labels);

// The exact two-sided McNemar p-value for a_only and b_only discordant pairs.
double mcnemar_exact_p(int64_t a_only, int64_t b_only);

}  // namespace winq
