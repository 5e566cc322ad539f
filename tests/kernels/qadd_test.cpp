// qadd__avx512 and qadd__avx2 against the definition qadd__ref at tolerance 0: every type
// combination, random lengths (masked tails), zero points, multipliers at the
// ends of their range, rounding ties and clamping; two guard bytes after the
// output must stay untouched.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "../../src/kernels/qadd.hpp"
#include "winq/cpu.hpp"

using namespace winq;

TEST(QAdd, SimdEqualsTheDefinitionExactly) {
  struct Variant {
    const char* name;
    Isa isa;
    kernels::QAddFn fn;
  };
  int ran = 0;
  for (const Variant& var : {Variant{"qadd__avx512", Isa::avx512vnni, kernels::qadd__avx512},
                             Variant{"qadd__avx2", Isa::avx2, kernels::qadd__avx2}}) {
  if (best_isa() < var.isa) {
    std::printf("[ not run  ] %s: this CPU lacks it\n", var.name);
    continue;
  }
  ++ran;
  SCOPED_TRACE(var.name);
  std::mt19937 rng(4242);
  for (int trial = 0; trial < 600; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 4242)");
    kernels::QAddArgs p;
    p.a_unsigned = trial & 1;
    p.b_unsigned = trial & 2;
    p.y_unsigned = trial & 4;
    p.za = static_cast<int32_t>(rng() % 256) - (p.a_unsigned ? 0 : 128);
    p.zb = static_cast<int32_t>(rng() % 256) - (p.b_unsigned ? 0 : 128);
    p.shift = 1 + static_cast<int>(rng() % 40);
    const int64_t top = (int64_t{1} << 31) - 1;
    p.ma = trial % 11 == 0 ? top : static_cast<int64_t>(rng() % (top + 1)) >> (rng() % 20);
    p.mb = trial % 13 == 0 ? 0 : static_cast<int64_t>(rng() % (top + 1)) >> (rng() % 20);
    if (trial % 5 == 0) {  // small multipliers and shifts: exact ties of the rounding
      p.ma = 1 + rng() % 4;
      p.mb = 1 + rng() % 4;
      p.shift = 1 + static_cast<int>(rng() % 3);
    }
    p.zy = static_cast<int32_t>(rng() % 256) - (p.y_unsigned ? 0 : 128);
    p.qmin = p.y_unsigned ? 0 : -128;
    p.qmax = p.y_unsigned ? 255 : 127;
    if (trial % 7 == 0) p.qmin += 5, p.qmax -= 9;  // a fused Relu6-like clamp
    const int64_t n = 1 + static_cast<int64_t>(rng() % 90);
    std::vector<uint8_t> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (auto& v : a) v = static_cast<uint8_t>(trial % 9 == 0 ? (rng() & 1 ? 0 : 255) : rng());
    for (auto& v : b) v = static_cast<uint8_t>(rng());
    std::vector<uint8_t> want(static_cast<size_t>(n + 2), 0xEE), got(static_cast<size_t>(n + 2), 0xEE);
    kernels::qadd__ref(a.data(), b.data(), want.data(), n, p);
    var.fn(a.data(), b.data(), got.data(), n, p);
    ASSERT_EQ(got, want) << "n=" << n;
  }
  }
  if (ran == 0) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
}
