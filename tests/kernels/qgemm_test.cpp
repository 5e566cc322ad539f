// Every packed int8 GEMM variant against the definition (qgemm_s8s16__ref on
// unpacked data) at tolerance 0: K below/equal/above/multiples of the group of
// four, odd M and N around the tile sizes, deep K at the extremes of the
// ranges. A variant the CPU lacks is skipped visibly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "../../src/kernels/qgemm.hpp"
#include "winq/cpu.hpp"

using namespace winq;

namespace {

struct Variant {
  const char* name;
  kernels::QGemmK4Fn fn;
  Isa needs;
  bool s16;
  kernels::QGemmK4cFn wide = nullptr;  // channels in lanes: weights in panels of 16 (pack_weights_k4_wide)
};

const Variant kVariants[] = {
    {"qgemm_u8s8_k4__ref", kernels::qgemm_u8s8_k4__ref, Isa::scalar, false},
    {"qgemm_u8s8_k4__avx2", kernels::qgemm_u8s8_k4__avx2, Isa::avx2, true},
    {"qgemm_u8s8_k4__avx512vnni", kernels::qgemm_u8s8_k4__avx512vnni, Isa::avx512vnni, false},
    {"qgemm_u8s8_k4c__ref", nullptr, Isa::scalar, false, kernels::qgemm_u8s8_k4c__ref},
    {"qgemm_u8s8_k4c__avx2", nullptr, Isa::avx2, false, kernels::qgemm_u8s8_k4c__avx2},
    {"qgemm_u8s8_k4c__avx512vnni", nullptr, Isa::avx512vnni, false, kernels::qgemm_u8s8_k4c__avx512vnni},
};

enum class Fill { random, extremes };

// With k0/k4s (channels in lanes only): the reduction over groups [k0, k0 + k4s)
// of the packed matrix, as the direct conv runs a row of output positions
// whose top or bottom taps fall in zero padding. With cols < N (channels in
// lanes only): the positions as rows of `cols` read from rows 3 words apart
// more than that (an image's output rows on its padded input).
void check(const Variant& v, int64_t M, int64_t N, int64_t K, Fill fill, uint32_t seed, int64_t k0 = 0,
           int64_t k4s = -1, int64_t cols = 0) {
  if (cols <= 0) cols = N;
  const int64_t pitch = cols == N ? N : cols + 3, rows = N / cols;
  SCOPED_TRACE(testing::Message() << v.name << " M=" << M << " N=" << N << " K=" << K << " seed=" << seed
                                  << " k-groups from " << k0 << " count " << k4s << " rows of " << cols);
  std::mt19937 rng(seed);
  std::vector<int8_t> W(static_cast<size_t>(M * K));
  std::vector<uint8_t> A(static_cast<size_t>(K * N));  // A[k][n]
  for (auto& w : W) w = fill == Fill::extremes ? (rng() & 1 ? 127 : -128) : static_cast<int8_t>(rng());
  for (auto& a : A) a = fill == Fill::extremes ? 255 : static_cast<uint8_t>(rng());
  // The definition.
  const int64_t K4 = kernels::k4_of(K);
  if (k4s < 0) k4s = K4 - k0;
  const int64_t klo = std::min(K, 4 * k0), khi = std::min(K, 4 * (k0 + k4s));
  std::vector<int16_t> A16(A.begin() + klo * N, A.begin() + khi * N);
  std::vector<int32_t> want(static_cast<size_t>(M * N), 0);
  if (khi > klo) kernels::qgemm_s8s16__ref(M, N, khi - klo, W.data() + klo, K, A16.data(), N, want.data(), N);
  // Packed.
  std::vector<uint8_t> a(static_cast<size_t>(K4 * N * 4), 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) a[((k / 4) * N + n) * 4 + k % 4] = A[k * N + n];
  const size_t packed = static_cast<size_t>(kernels::panels_of(M) * K4 * kernels::kQPanel * 4);
  std::vector<int8_t> w8(v.wide ? static_cast<size_t>(kernels::wide_panels_of(M) * K4 * kernels::kQPanelWide * 4)
                                : packed);
  std::vector<int16_t> w16(packed);
  if (v.wide)
    kernels::pack_weights_k4_wide(W.data(), M, K, w8.data());
  else
    kernels::pack_weights_k4(W.data(), M, K, w8.data());
  kernels::pack_weights_k4_s16(W.data(), M, K, w16.data());
  const int64_t ldc = N + 3;
  std::vector<int32_t> got(static_cast<size_t>(M * ldc), -7);
  // Row k4 placed at a shifted, gapped offset (as the implicit-GEMM conv reads its input).
  const int64_t gap = 4 * (rows * pitch + 5) + 4;
  std::vector<uint8_t> spread(static_cast<size_t>(K4 * gap + 4), 0xAB);
  std::vector<int64_t> row_off(static_cast<size_t>(K4));
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    row_off[k4] = (K4 - 1 - k4) * gap + 4;  // reversed order, gaps filled with 0xAB
    for (int64_t n = 0; n < N; ++n)
      std::copy_n(a.begin() + (k4 * N + n) * 4, 4, spread.begin() + row_off[k4] + 4 * ((n / cols) * pitch + n % cols));
  }
  if (v.wide)
    v.wide(M, N, k4s, w8.data() + 64 * k0, K4 * 64, spread.data(), row_off.data() + k0, cols, pitch, got.data(), ldc, nullptr);
  else
    v.fn(M, N, K4, v.s16 ? static_cast<const void*>(w16.data()) : w8.data(), spread.data(), row_off.data(),
         got.data(), ldc);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) ASSERT_EQ(got[m * ldc + n], want[m * N + n]) << "at m=" << m << " n=" << n;
    for (int64_t n = N; n < ldc; ++n) ASSERT_EQ(got[m * ldc + n], -7) << "wrote past the row at m=" << m;
  }
}

}  // namespace

class QGemmK4 : public testing::TestWithParam<int> {};

TEST_P(QGemmK4, EqualsTheDefinitionExactly) {
  const Variant& v = kVariants[GetParam()];
  if (best_isa() < v.needs) GTEST_SKIP() << v.name << ": this CPU lacks " << isa_name(v.needs);
  uint32_t seed = 1000;
  for (int64_t M : {1, 7, 8, 9, 17, 33, 48, 64})
    for (int64_t N : {1, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 100})
      for (int64_t K : {1, 3, 4, 5, 8, 27, 64, 72, 289}) check(v, M, N, K, Fill::random, seed++);
  // Deep reductions at the extremes: 4608 products of 255 · ±128 stay exact in int32.
  check(v, 9, 33, 4608, Fill::extremes, seed++);
  check(v, 16, 48, 4608, Fill::random, seed++);
  if (v.wide)  // a range of k-groups of the packed matrix: the first, a middle, the last, one group
    for (int64_t M : {16, 33, 64})
      for (int64_t N : {4, 8, 12, 13})
        for (const auto& [k0, k4s] : {std::pair<int64_t, int64_t>{0, 24}, {24, 24}, {48, 24}, {71, 1}, {10, 37}})
          check(v, M, N, 288, Fill::random, seed++, k0, k4s);
  if (v.wide)  // output rows of 1, 4, 7, 8, 14 and 16 positions read in place from a wider padded input
    for (int64_t M : {16, 32, 48, 64, 112})  // 64, 112: rows of ≤ 6 positions take 4 panels at a time, then 2, 1
      // rows of 4 and 8: tiles of several rows, and the rows left over (6 × 4, 5 × 4, 3 × 8)
      for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{4, 4}, {3, 7}, {2, 8}, {5, 1}, {2, 14}, {3, 16},
                                       {6, 4}, {5, 4}, {3, 8}, {1, 4}})
        check(v, M, rows * cols, 72, Fill::random, seed++, 0, -1, cols);
}

INSTANTIATE_TEST_SUITE_P(Variants, QGemmK4, testing::Range(0, 6),
                         [](const testing::TestParamInfo<int>& i) { return std::string(kVariants[i.param].name); });

// Channels in lanes with EdgeTaps, as a 3×3 conv with one column of padding
// on each side reads its padded input: the padding columns hold garbage here,
// so a kernel that leaves the edge products out (AVX-512 VNNI, AVX2) must
// equal the definition on the input with those columns zeroed — which fails
// if it left out any other product or kept one of them — and a kernel that
// computes them (the reference) the definition on the input as it is.
TEST(QGemmK4c, EdgeTapsLeaveOutOnlyTheEdgeProducts) {
  struct WideVariant {
    const char* name;
    kernels::QGemmK4cFn fn;
    Isa needs;
    bool skips;
  };
  const WideVariant variants[] = {{"qgemm_u8s8_k4c__ref", kernels::qgemm_u8s8_k4c__ref, Isa::scalar, false},
                                  {"qgemm_u8s8_k4c__avx2", kernels::qgemm_u8s8_k4c__avx2, Isa::avx2, true},
                                  {"qgemm_u8s8_k4c__avx512vnni", kernels::qgemm_u8s8_k4c__avx512vnni,
                                   Isa::avx512vnni, true}};
  uint32_t seed = 3000;
  for (const WideVariant& v : variants) {
    if (best_isa() < v.needs) {
      std::printf("[ not run  ] %s: this CPU lacks %s\n", v.name, isa_name(v.needs));
      continue;
    }
    for (int64_t M : {16, 32, 64, 112})
      for (int64_t C4 : {1, 3, 8})
        for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{4, 4}, {3, 7}, {2, 8}, {2, 14}, {2, 16},
                                         {3, 1}, {2, 2}, {1, 13}}) {
          SCOPED_TRACE(testing::Message() << v.name << " M=" << M << " C4=" << C4 << " rows=" << rows
                                          << " cols=" << cols << " seed=" << seed);
          std::mt19937 rng(seed++);
          const int64_t Hp = rows + 2, Wp = cols + 2, K4 = 9 * C4, K = 4 * K4, N = rows * cols;
          std::vector<uint8_t> xp(static_cast<size_t>(C4 * Hp * Wp * 4)), zeroed;
          for (auto& b : xp) b = static_cast<uint8_t>(rng());
          zeroed = xp;
          for (int64_t c4 = 0; c4 < C4; ++c4)
            for (int64_t y = 0; y < Hp; ++y)
              for (int64_t x : {int64_t{0}, Wp - 1})
                std::fill_n(zeroed.begin() + ((c4 * Hp + y) * Wp + x) * 4, 4, uint8_t{0});
          std::vector<int8_t> W(static_cast<size_t>(M * K));
          for (auto& w : W) w = static_cast<int8_t>(rng());
          std::vector<int8_t> packed(static_cast<size_t>(kernels::wide_panels_of(M) * K4 * 64));
          kernels::pack_weights_k4_wide(W.data(), M, K, packed.data());
          // k-group (ky·3 + kx)·C4 + c4, as the wide conv orders them.
          std::vector<int64_t> row_off(static_cast<size_t>(K4));
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx)
              for (int64_t c4 = 0; c4 < C4; ++c4) row_off[(ky * 3 + kx) * C4 + c4] = 4 * (c4 * Hp * Wp + ky * Wp + kx);
          kernels::EdgeTaps edges;
          edges.run = C4;
          edges.kw = 3;
          edges.left[0] = edges.right[2] = true;
          auto run = [&](kernels::QGemmK4cFn fn, const std::vector<uint8_t>& in, const kernels::EdgeTaps* e) {
            std::vector<int32_t> c(static_cast<size_t>(M * N), -7);
            fn(M, N, K4, packed.data(), K4 * 64, in.data(), row_off.data(), cols, Wp, c.data(), N, e);
            return c;
          };
          const auto want = run(kernels::qgemm_u8s8_k4c__ref, v.skips ? zeroed : xp, nullptr);
          ASSERT_EQ(run(v.fn, xp, &edges), want);
          ASSERT_EQ(run(v.fn, zeroed, &edges), run(kernels::qgemm_u8s8_k4c__ref, zeroed, nullptr));
          if (v.skips) ASSERT_NE(run(v.fn, xp, nullptr), want) << "the garbage did not reach the products";
        }
  }
}

#include "../../src/kernels/requantize_row.hpp"

// The epilogue variants against requantize() at tolerance 0: random and
// extreme accumulators, every shift, both output types, ties included.
namespace {
struct RequantVariant {
  const char* name;
  Isa isa;
  kernels::RequantRowFn fn;
};
// The SIMD epilogues this CPU has (the others reported as skipped).
std::vector<RequantVariant> requant_variants() {
  std::vector<RequantVariant> have;
  for (const RequantVariant& v : {RequantVariant{"requantize_row__avx512", Isa::avx512vnni, kernels::requantize_row__avx512},
                                  RequantVariant{"requantize_row__avx2", Isa::avx2, kernels::requantize_row__avx2}}) {
    if (best_isa() < v.isa) std::printf("[ not run  ] %s: this CPU lacks it\n", v.name);
    else have.push_back(v);
  }
  return have;
}
}  // namespace

TEST(RequantizeRow, SimdEqualsTheDefinition) {
  const auto variants = requant_variants();
  if (variants.empty()) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
  for (const RequantVariant& var : variants) {
  SCOPED_TRACE(var.name);
  std::mt19937_64 rng(77);
  for (int trial = 0; trial < 400; ++trial) {
    SCOPED_TRACE(trial);
    const int64_t n = 1 + static_cast<int64_t>(rng() % 70);
    std::vector<int32_t> acc(static_cast<size_t>(n));
    for (auto& a : acc) {
      switch (rng() % 4) {
        case 0: a = static_cast<int32_t>(rng() % 2001) - 1000; break;
        case 1: a = static_cast<int32_t>(rng()) / 4; break;
        case 2: a = (rng() & 1) ? INT32_MAX / 2 - 5 : INT32_MIN / 2 + 5; break;
        default: a = static_cast<int32_t>((rng() % 64) << 10);  // exact multiples: ties after the shift
      }
    }
    kernels::RowRequant p;
    p.bias = static_cast<int32_t>(rng() % 20001) - 10000;
    p.rq = trial % 50 == 0 ? Requant{} : make_requant(std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, -static_cast<int>(rng() % 30)));
    if (trial % 7 == 0) p.rq = make_requant(0.5);  // multiplier 2^30: halves, many ties
    if (trial % 7 == 1) p.rq = make_requant(0.25);  // shift 32: quarters, ties at 2 mod 4
    if (trial % 7 == 2) {  // shift 41: ties at 2^10 mod 2^11 (the multiples of 2^10 above, bias a multiple of 2^11)
      p.rq = make_requant(std::ldexp(1.0, -10));
      p.bias = (p.bias / 2048) * 2048;
    }
    p.zp = static_cast<int32_t>(rng() % 11) - 5;
    p.out_unsigned = rng() & 1;
    p.qmin = p.out_unsigned ? 0 : -128;
    p.qmax = p.out_unsigned ? 255 : 127;
    if (trial % 3 == 0) p.qmin = p.out_unsigned ? 3 : -7, p.qmax = p.out_unsigned ? 15 : 7;
    // Two guard bytes after the row: the masked tail must not write them.
    std::vector<uint8_t> want(static_cast<size_t>(n + 2), 0xEE), got(static_cast<size_t>(n + 2), 0xEE);
    kernels::requantize_row__ref(acc.data(), 1, n, n, p, want.data(), n);
    var.fn(acc.data(), 1, n, n, p, got.data(), n);
    ASSERT_EQ(got, want) << "n=" << n;
    if (trial % 2) kernels::set_sum_bounds(p);  // the rest with the sum bounds the packed convs carry
    SCOPED_TRACE(p.has_sum_bounds ? "with sum bounds" : "without sum bounds");
    std::fill(got.begin(), got.end(), 0xEE);
    var.fn(acc.data(), 1, n, n, p, got.data(), n);
    ASSERT_EQ(got, want) << "n=" << n;
    // The same accumulators as rows of w < n with gaps between them (a block of
    // output rows spaced by padding columns), into rows spaced by 3 bytes more.
    const int64_t w = 1 + static_cast<int64_t>(rng() % std::min<uint64_t>(20, n)), gap = static_cast<int64_t>(rng() % 3);
    const int64_t rows = (n - w) / (w + gap) + 1, ostride = w + 3;
    std::vector<uint8_t> want2(static_cast<size_t>(rows * ostride), 0xEE), got2(want2);
    kernels::requantize_row__ref(acc.data(), rows, w, w + gap, p, want2.data(), ostride);
    var.fn(acc.data(), rows, w, w + gap, p, got2.data(), ostride);
    ASSERT_EQ(got2, want2) << "rows=" << rows << " w=" << w << " gap=" << gap;
    for (int64_t r = 0; r < rows; ++r)  // the reference itself: row r is the 1-D result at r·(w + gap)
      for (int64_t i = 0; i < w; ++i) ASSERT_EQ(want2[r * ostride + i], want[r * (w + gap) + i]);
  }
  }
}

// The sum bounds are the first and last sums whose outputs are not clamped.
TEST(RequantizeRow, SumBoundsAreTheUnclampedSums) {
  std::mt19937_64 rng(5);
  int with = 0;
  for (int trial = 0; trial < 300; ++trial) {
    kernels::RowRequant p;
    p.rq = make_requant(std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, -static_cast<int>(rng() % 34)));
    p.zp = static_cast<int32_t>(rng() % 21) - 10;
    p.qmin = rng() & 1 ? 0 : -128;
    p.qmax = p.qmin + 127 + static_cast<int32_t>(rng() % 129);
    kernels::set_sum_bounds(p);
    SCOPED_TRACE(testing::Message() << "multiplier " << requant_value(p.rq) << " zp " << p.zp);
    if (requant_value(p.rq) >= 1.0 || p.rq.multiplier == 0) {  // steps past 1, or every output 0
      EXPECT_FALSE(p.has_sum_bounds);
      continue;
    }
    // Tiny multipliers (shift > 53) keep the general route: 64 bits would not hold the lifted sums.
    if (p.rq.shift > 53) continue;
    ASSERT_TRUE(p.has_sum_bounds);
    ++with;
    const int64_t lo = int64_t{p.qmin} - p.zp, hi = int64_t{p.qmax} - p.zp;
    auto out = [&](int64_t v) { return shift_round_half_even(v * p.rq.multiplier, p.rq.shift); };
    EXPECT_GE(out(p.sum_lo), lo);
    if (p.sum_lo > INT32_MIN) EXPECT_LT(out(int64_t{p.sum_lo} - 1), lo);
    EXPECT_LE(out(p.sum_hi), hi);
    if (p.sum_hi < INT32_MAX) EXPECT_GT(out(int64_t{p.sum_hi} + 1), hi);
  }
  EXPECT_GT(with, 150);
}

// Every sum near the edges of the output range and near rounding ties, for
// multipliers from 2^−20 to 3, against requantize() at tolerance 0. With the
// sum bounds, AVX-512 clamps the sum first and works in doubles where that is
// exact (here 0.0371 … 0.00017; 2^−16 and below take the integer route); an
// earlier version of that route had an off-by-one bound that this test caught
// and the random one missed.
TEST(RequantizeRow, SumsAtTheClampEdgesAndTies) {
  const auto variants = requant_variants();
  if (variants.empty()) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
  for (const RequantVariant& var : variants) {
    SCOPED_TRACE(var.name);
    for (double mult : {3.0, 1.0, 0.999, 0.5, 0.0371, 1.0 / 1024, 0.00017, std::ldexp(1.0, -16), std::ldexp(1.37, -20)})
      for (int type = 0; type < 3; ++type) {
        kernels::RowRequant p;
        p.rq = make_requant(mult);
        p.out_unsigned = type != 1;
        p.zp = type == 0 ? 0 : type == 1 ? -3 : 117;
        p.qmin = p.out_unsigned ? 0 : -128;
        p.qmax = p.out_unsigned ? 255 : 127;
        if (type == 2) p.qmin = 7, p.qmax = 200;
        p.bias = type == 1 ? -12345 : 0;
        SCOPED_TRACE(testing::Message() << "multiplier " << mult << " type " << type);
        // Centres: the sums whose value is v + ½ (ties) for outputs at and beyond both edges and inside.
        std::vector<int32_t> acc;
        const double per_unit = std::ldexp(1.0, p.rq.shift) / p.rq.multiplier;  // sum per output step
        for (int64_t v : {int64_t{p.qmin} - p.zp - 2, int64_t{p.qmin} - p.zp - 1, int64_t{p.qmin} - p.zp, int64_t{0},
                          int64_t{5}, int64_t{p.qmax} - p.zp - 1, int64_t{p.qmax} - p.zp, int64_t{p.qmax} - p.zp + 1})
          for (int64_t d = -6; d <= 6; ++d) {
            const double c = std::round((static_cast<double>(v) + 0.5) * per_unit) + static_cast<double>(d) - p.bias;
            if (c > INT32_MIN / 2 && c < INT32_MAX / 2) acc.push_back(static_cast<int32_t>(c));
          }
        for (int32_t a : {INT32_MIN / 2 + 1, -1, 0, 1, INT32_MAX / 2 - 1}) acc.push_back(a);
        const int64_t n = static_cast<int64_t>(acc.size());
        std::vector<uint8_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
        kernels::requantize_row__ref(acc.data(), 1, n, n, p, want.data(), n);
        var.fn(acc.data(), 1, n, n, p, got.data(), n);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], want[i]) << "sum " << acc[i] + p.bias;
        // Again with the sum bounds (set below 1 only), and with the sums right at them.
        kernels::set_sum_bounds(p);
        ASSERT_EQ(p.has_sum_bounds, mult < 1.0);
        if (!p.has_sum_bounds) continue;
        for (int64_t d = -2; d <= 2; ++d)
          for (int64_t edge : {int64_t{p.sum_lo}, int64_t{p.sum_hi}})
            if (edge + d - p.bias > INT32_MIN / 2 && edge + d - p.bias < INT32_MAX / 2)
              acc.push_back(static_cast<int32_t>(edge + d - p.bias));
        const int64_t n2 = static_cast<int64_t>(acc.size());
        want.assign(static_cast<size_t>(n2), 0);
        got.assign(static_cast<size_t>(n2), 0);
        kernels::requantize_row__ref(acc.data(), 1, n2, n2, p, want.data(), n2);
        var.fn(acc.data(), 1, n2, n2, p, got.data(), n2);
        for (int64_t i = 0; i < n2; ++i) ASSERT_EQ(got[i], want[i]) << "sum " << acc[i] + p.bias << " (sum bounds)";
      }
  }
}
