#include "winq/requantize.hpp"

#include <fmt/format.h>

#include <cmath>

#include "winq/error.hpp"

namespace winq {

Requant make_requant(double m) {
  if (!std::isfinite(m) || m < 0 || m >= 0x1p29)
    throw Error(fmt::format("requantization multiplier {} is outside [0, 2^29)", m));
  if (m < 0x1p-32) return {0, 31};  // |acc|·M < 0.5 for every int32 accumulator
  // From here e is in [-31, 29], so the shift is in [2, 62].
  int e = 0;
  const double frac = std::frexp(m, &e);  // m = frac · 2^e, frac in [0.5, 1)
  auto q = static_cast<int64_t>(std::llround(frac * 0x1p31));
  int shift = 31 - e;
  if (q == (int64_t{1} << 31)) {  // frac rounded up to 1.0
    q >>= 1;
    --shift;
  }
  return {static_cast<int32_t>(q), shift};
}

double requant_value(Requant r) { return std::ldexp(static_cast<double>(r.multiplier), -r.shift); }

}  // namespace winq
