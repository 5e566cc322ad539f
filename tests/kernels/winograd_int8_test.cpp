// The int8 Winograd tile transforms: the AVX-512 and AVX2 variants of
// wino_input_rows / wino_output_rows against the definitions (__ref) at tolerance 0, for
// F(2,3), F(4,3), F(6,3) and their 1-D variants F(m×1, 3×3): random transforms with zero entries, signed and
// unsigned inputs and outputs, zero points, rounding ties (scales of 1/2 and
// 1/4), clamping, partial groups of tiles, partial last tiles and rows. Whole
// buffers are compared, so a write outside the described region also fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "../../src/kernels/winograd_int8.hpp"
#include "winq/cpu.hpp"
#include "winq/winograd.hpp"

using namespace winq;

namespace {

std::vector<float> random_bt(int n, std::mt19937& rng) {  // integer entries, |row| ≤ 5n: |V| < 2^24
  std::vector<float> bt(static_cast<size_t>(n * n));
  for (auto& v : bt) v = rng() % 3 == 0 ? 0.0f : static_cast<float>(static_cast<int>(rng() % 11) - 5);
  return bt;
}

// The default transforms as the lowering passes them: Bᵀ rows scaled to
// integers by the lcm of their denominators, Aᵀ as floats.
void default_transforms(int m, std::vector<float>& bt, std::vector<float>& at) {
  const winograd::Transforms t = winograd::generate(m, 3, winograd::default_points(m, 3));
  bt.clear();
  at.clear();
  for (const auto& row : t.BT) {
    mpz_class beta = 1;
    for (const auto& v : row) beta = lcm(beta, mpz_class(v.get_den()));
    for (const auto& v : row) bt.push_back(static_cast<float>(mpq_class(v * beta).get_d()));
  }
  for (const auto& row : t.AT)
    for (const auto& v : row) at.push_back(static_cast<float>(v.get_d()));
}

// The input transform's arguments over these tables (they must outlive it).
kernels::WinoInputArgs input_args(int m, const std::vector<float>& bt, const std::vector<float>& vs,
                                  const std::vector<float>& lo, const std::vector<float>& hi,
                                  const std::vector<int32_t>& off) {
  kernels::WinoInputArgs p;
  p.m = m;
  p.bt = bt.data();
  p.v_scale = vs.data();
  p.v_lo = lo.data();
  p.v_hi = hi.data();
  p.v_off = off.data();
  return p;
}

// Per component: signed (−127 … 127, stored + 128) or unsigned (0 … 255)
// bounds, and a factor per component and channel of the word, 2^−min_exp …
// 2^−(min_exp + spread − 1) times 1 … 1000, or on every fourth trial a
// rounding tie (1/2, 1/4, 1).
void random_components(int count, int trial, int min_exp, int spread, std::mt19937& rng, std::vector<float>& vs,
                       std::vector<float>& lo, std::vector<float>& hi, std::vector<int32_t>& off) {
  vs.assign(static_cast<size_t>(4 * count), 0.0f);
  lo.assign(static_cast<size_t>(count), 0.0f);
  hi = lo;
  off.assign(static_cast<size_t>(count), 0);
  for (int k = 0; k < count; ++k) {
    const bool u = rng() % 2;
    lo[k] = u ? 0.0f : -127.0f;
    hi[k] = u ? 255.0f : 127.0f;
    off[k] = u ? 0 : 128;
    const float ties[] = {0.5f, 0.25f, 1.0f};
    for (int ch = 0; ch < 4; ++ch)
      vs[4 * k + ch] = trial % 4 == 0 ? ties[rng() % 3]
                                      : std::ldexp(static_cast<float>(1 + rng() % 1000), -min_exp - static_cast<int>(rng() % spread));
  }
}

// Products, corrections and factors for an output transform: small products
// at factor 1/2 (exact .5 results) on every fourth trial, int32's extremes on
// every seventh, factors 2^−min_exp … 2^−(min_exp + 3) times 1 … 1000.
void random_products(int trial, int min_exp, std::mt19937& rng, std::vector<int32_t>& P, std::vector<int32_t>& corr,
                     std::vector<float>& zs) {
  const bool ties = trial % 4 == 0;
  for (auto& v : P)
    v = trial % 7 == 0 ? (rng() % 2 ? INT32_MAX : INT32_MIN)
                       : ties ? static_cast<int32_t>(rng() % 9) - 4 : static_cast<int32_t>(rng() % 2000001) - 1000000;
  for (auto& v : corr) v = ties ? 0 : static_cast<int32_t>(rng() % 200001) - 100000;
  for (auto& v : zs) v = ties ? 0.5f : std::ldexp(static_cast<float>(1 + rng() % 1000), -min_exp - static_cast<int>(rng() % 4));
}

struct Variant {
  const char* name;
  Isa isa;
  kernels::WinoInputFn input;
  kernels::WinoOutputFn output;
};
const Variant kVariants[] = {
    {"avx512", Isa::avx512vnni, kernels::wino_input_rows__avx512, kernels::wino_output_rows__avx512},
    {"avx2", Isa::avx2, kernels::wino_input_rows__avx2, kernels::wino_output_rows__avx2},
};

// The variants this CPU can run; the others are reported as skipped.
std::vector<Variant> runnable_variants() {
  std::vector<Variant> v;
  for (const Variant& x : kVariants)
    if (best_isa() >= x.isa) v.push_back(x);
    else std::printf("[ not run  ] %s: this CPU lacks it\n", x.name);
  return v;
}

}  // namespace

// The SIMD kernels compile the default transforms with constant
// coefficients; the trials below with default transforms test that path.
TEST(WinogradInt8, DefaultTransformsTakeTheConstantPath) {
  for (int m : {2, 4, 6}) {
    std::vector<float> bt, at;
    default_transforms(m, bt, at);
    EXPECT_TRUE(kernels::wino_default_transforms__avx512(m, bt.data(), at.data())) << "F(" << m << ",3)";
    bt[1] += 1;
    EXPECT_FALSE(kernels::wino_default_transforms__avx512(m, bt.data(), at.data()));
  }
}

TEST(WinogradInt8, InputTransformSimdEqualsTheDefinition) {
  const auto variants = runnable_variants();
  if (variants.empty()) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
  for (const Variant& var : variants) {
  SCOPED_TRACE(var.name);
  std::mt19937 rng(777);
  int64_t inside = 0, total = 0;  // results strictly between the clamp bounds
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 777)");
    const int m = 2 + 2 * (trial % 3), n = m + 2, nn = n * n;
    std::vector<float> bt = random_bt(n, rng), unused;
    if (trial % 2) default_transforms(m, bt, unused);
    // A factor per component and channel of the word (a wrong lane order or
    // channel offset in a kernel picks another channel's factor).
    std::vector<float> vs, lo, hi;
    std::vector<int32_t> off;
    random_components(nn, trial, 17, 6, rng, vs, lo, hi, off);
    kernels::WinoInputArgs p = input_args(m, bt, vs, lo, hi, off);
    p.x_signed = rng() % 2;
    p.x_zp = p.x_signed ? static_cast<int32_t>(rng() % 256) - 128 : static_cast<int32_t>(rng() % 256);
    if ((trial / 3) % 3 == 1) p.x_zp = 0;  // ReLU outputs: the kernels have a path without the subtraction
    // Tile rows m input rows apart (overlapping by 2), odd and even tiles per row.
    const int64_t tiles = 1 + rng() % 13, tile_rows = 1 + rng() % 3, ws = m * ((tiles + 3) / 4) * 4 + 32 + rng() % 3;
    std::vector<uint8_t> xp(static_cast<size_t>(((tile_rows - 1) * m + n) * ws * 4));
    for (auto& b : xp) b = trial % 5 == 0 ? (rng() % 2 ? 0x80 : 0x7F) : static_cast<uint8_t>(rng());
    const int64_t comp_stride = 4 * tiles * tile_rows + 8 + rng() % 8;
    std::vector<uint8_t> ref(static_cast<size_t>(nn * comp_stride), 0xA5), got = ref;
    kernels::wino_input_rows__ref(p, xp.data(), ws, tiles, tile_rows, ref.data(), comp_stride);
    var.input(p, xp.data(), ws, tiles, tile_rows, got.data(), comp_stride);
    ASSERT_EQ(got, ref) << "m=" << m << " tiles=" << tiles << " tile_rows=" << tile_rows << " signed=" << p.x_signed
                        << " zp=" << p.x_zp;
    for (int k = 0; k < nn; ++k)
      for (int64_t b = 0; b < 4 * tiles * tile_rows; ++b, ++total) {
        const int v = ref[k * comp_stride + b] - off[k];
        inside += v > lo[k] && v < hi[k];
      }
  }
  EXPECT_GT(inside, total / 2) << "most results must be rounded, not clamped";
  }
}

// The definition itself: component k of channel c of the word is rounded
// with factor v_scale[4k + c] (the per-channel steps of a plan), checked
// against V computed exactly in int64 for every channel, component and tile.
TEST(WinogradInt8, InputDefinitionTakesEachChannelsOwnFactor) {
  std::mt19937 rng(4242);
  for (int m : {2, 4, 6}) {
    const int n = m + 2, nn = n * n;
    std::vector<float> bt, unused;
    default_transforms(m, bt, unused);
    std::vector<float> vs(4 * nn), lo(nn, -127.0f), hi(nn, 127.0f);
    std::vector<int32_t> off(nn, 128);
    const int64_t tiles = 3, ws = m * tiles + 2;
    std::vector<uint8_t> xp(static_cast<size_t>(n * ws * 4 + 256));
    for (auto& b : xp) b = static_cast<uint8_t>(rng());
    const int32_t zp = 3;
    auto exact_v = [&](int64_t t, int ch, int k) {
      int64_t v = 0;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          v += static_cast<int64_t>(bt[(k / n) * n + i]) * static_cast<int64_t>(bt[(k % n) * n + j]) *
               (xp[(i * ws + t * m + j) * 4 + ch] - zp);
      return v;
    };
    // Factors that take this channel's largest |V| to 64 … 127 (distinct per channel).
    for (int k = 0; k < nn; ++k)
      for (int ch = 0; ch < 4; ++ch) {
        int64_t mx = 1;
        for (int64_t t = 0; t < tiles; ++t) mx = std::max<int64_t>(mx, std::llabs(exact_v(t, ch, k)));
        vs[4 * k + ch] = static_cast<float>(64 + rng() % 64) / static_cast<float>(mx);
      }
    kernels::WinoInputArgs p = input_args(m, bt, vs, lo, hi, off);
    p.x_zp = zp;
    const int64_t comp_stride = 4 * tiles;
    std::vector<uint8_t> got(static_cast<size_t>(nn * comp_stride));
    kernels::wino_input_rows__ref(p, xp.data(), ws, tiles, 1, got.data(), comp_stride);
    int64_t inside = 0;
    for (int64_t t = 0; t < tiles; ++t)
      for (int ch = 0; ch < 4; ++ch)
        for (int k = 0; k < nn; ++k) {
          const int64_t v = exact_v(t, ch, k);
          const float q = std::clamp(std::nearbyint(static_cast<float>(v) * vs[4 * k + ch]), -127.0f, 127.0f);
          inside += std::fabs(q) < 127;
          ASSERT_EQ(got[k * comp_stride + t * 4 + ch], static_cast<uint8_t>(static_cast<int>(q) + 128))
              << "F(" << m << ",3) tile " << t << " channel " << ch << " component " << k;
        }
    EXPECT_GT(inside, tiles * 4 * nn / 2) << "most results rounded, not clamped";
  }
}

// The default transforms' definition (shared sums, the bias in z[n + 1]) is
// Y = Aᵀ z A + bias: on data where every float32 step is exact (|z| ≤ 3/8 in
// steps of 1/8, |bias| ≤ 10 in steps of 1/8, Aᵀ entries down to 1/32: every
// partial sum below 2^11 in steps of 2^−13), the definition's bytes equal Aᵀ z A + bias computed term
// by term in double, rounded to nearest even and clamped.
TEST(WinogradInt8, DefaultOutputDefinitionIsATzAPlusBias) {
  std::mt19937 rng(4411);
  for (int trial = 0; trial < 600; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 4411)");
    const int m = 2 + 2 * (trial % 3), n = m + 2, nn = n * n;
    std::vector<float> bt, at;
    default_transforms(m, bt, at);
    const int64_t tiles = 1 + rng() % 5;
    std::vector<int32_t> P(static_cast<size_t>(nn * tiles), 0), corr(static_cast<size_t>(nn));
    for (auto& v : P)
      if (rng() % 6 == 0) v = static_cast<int32_t>(rng() % 5) - 2;
    for (auto& v : corr) v = static_cast<int32_t>(rng() % 3) - 1;
    const std::vector<float> zs(static_cast<size_t>(nn), 0.125f);
    const float bias = static_cast<float>(static_cast<int>(rng() % 161) - 80) / 8.0f;
    kernels::WinoOutputArgs p;
    p.m = m;
    p.at = at.data();
    p.y_unsigned = false;
    p.qmin = -128;
    p.qmax = 127;
    p.y_zp = static_cast<int32_t>(rng() % 21) - 10;
    std::vector<uint8_t> y(static_cast<size_t>(m * tiles * m));
    const int64_t OW = tiles * m;
    kernels::wino_output_rows__ref(p, P.data(), tiles, corr.data(), zs.data(), 1, bias, tiles, 1, y.data(), OW, m);
    for (int64_t t = 0; t < tiles; ++t)
      for (int r = 0; r < m; ++r)
        for (int s = 0; s < m; ++s) {
          double Y = bias;
          for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j)
              Y += double{at[r * n + i]} * ((P[(i * n + j) * tiles + t] - corr[i * n + j]) * 0.125) * at[s * n + j];
          const double want = std::clamp(std::nearbyint(Y) + p.y_zp, -128.0, 127.0);
          ASSERT_EQ(static_cast<int8_t>(y[r * OW + t * m + s]), want) << "m=" << m << " Y=" << Y;
        }
  }
}

TEST(WinogradInt8, OutputTransformSimdEqualsTheDefinition) {
  const auto variants = runnable_variants();
  if (variants.empty()) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
  for (const Variant& var : variants) {
  SCOPED_TRACE(var.name);
  std::mt19937 rng(778);
  int64_t inside = 0, total = 0;
  const float coefs[] = {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 8.0f, 0.03125f, -32.0f};
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 778)");
    const int m = 2 + 2 * (trial % 3), n = m + 2, nn = n * n;
    std::vector<float> at(static_cast<size_t>(m * n)), unused;
    for (auto& v : at) v = coefs[rng() % 10];
    if (trial % 2) default_transforms(m, unused, at);
    // Several tile rows (tiles of one row follow the previous row's), the last
    // one with fewer output rows: a vector's lanes may span tile rows.
    const int64_t tiles = 1 + rng() % 40, tile_rows = 1 + rng() % 4, coef_stride = 1 + rng() % 3,
                  comp_stride = tiles * tile_rows + rng() % 5;
    std::vector<int32_t> P(static_cast<size_t>(nn * comp_stride)), corr(static_cast<size_t>(nn * coef_stride));
    std::vector<float> zs(static_cast<size_t>(nn * coef_stride));
    random_products(trial, 32, rng, P, corr, zs);
    kernels::WinoOutputArgs p;
    p.m = m;
    p.at = at.data();
    p.y_unsigned = rng() % 2;
    p.y_zp = p.y_unsigned ? static_cast<int32_t>(rng() % 256) : static_cast<int32_t>(rng() % 256) - 128;
    p.qmin = p.y_unsigned ? 0 : -128;
    p.qmax = p.y_unsigned ? 255 : 127;
    if (trial % 3 == 0) p.qmin += 7, p.qmax -= 11;
    const float bias = trial % 4 == 0 ? 0.5f : static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 7.0f;
    const int64_t OW = tiles * m - static_cast<int64_t>(rng() % m);
    const int64_t rows = (tile_rows - 1) * m + 1 + static_cast<int64_t>(rng() % m);
    // Rows are OW bytes apart; the guard bytes after the last row written must survive.
    std::vector<uint8_t> ref(static_cast<size_t>(tile_rows * m * OW + 64), 0x5A), got = ref;
    kernels::wino_output_rows__ref(p, P.data(), comp_stride, corr.data(), zs.data(), coef_stride, bias, tiles,
                                   tile_rows, ref.data(), OW, rows);
    var.output(p, P.data(), comp_stride, corr.data(), zs.data(), coef_stride, bias, tiles, tile_rows, got.data(), OW,
               rows);
    ASSERT_EQ(got, ref) << "m=" << m << " tiles=" << tiles << " tile_rows=" << tile_rows << " OW=" << OW
                        << " rows=" << rows;
    for (int64_t i = 0; i < rows * OW; ++i, ++total) {
      const int v = p.y_unsigned ? ref[i] : static_cast<int8_t>(ref[i]);
      inside += v > p.qmin && v < p.qmax;
    }
  }
  EXPECT_GT(inside, total / 2) << "most results must be rounded, not clamped";
  }
}

// F(m×1, 3×3) (one_d): the definitions checked against the row transform
// computed independently, then the SIMD variants against the definitions.
TEST(WinogradInt8, OneDimensionalDefinitionsAreTheRowTransform) {
  std::mt19937 rng(4343);
  for (int m : {2, 4, 6}) {
    SCOPED_TRACE(testing::Message() << "F(" << m << "x1)");
    const int n = m + 2;
    std::vector<float> bt, at;
    default_transforms(m, bt, at);
    // Input: 5 tiles on each of 3 rows, factor 1 (the bytes are V itself):
    // x ∈ {0, 1, 2} with x_zp = 1 gives |V| ≤ 50 (F6's largest row sum), no clamp.
    const int64_t tiles = 5, rows = 3, ws = tiles * m + 2 + 40;
    std::vector<uint8_t> xp(static_cast<size_t>(rows * ws * 4 + 256));
    for (auto& b : xp) b = static_cast<uint8_t>(rng() % 3);
    std::vector<float> vs(4 * n, 1.0f), lo(n, -127.0f), hi(n, 127.0f);
    std::vector<int32_t> off(n, 128);
    kernels::WinoInputArgs ip = input_args(m, bt, vs, lo, hi, off);
    ip.one_d = true;
    ip.x_zp = 1;
    const int64_t comp_stride = 4 * tiles * rows;
    std::vector<uint8_t> v(static_cast<size_t>(n * comp_stride));
    kernels::wino_input_rows__ref(ip, xp.data(), ws, tiles, rows, v.data(), comp_stride);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < tiles; ++t)
        for (int ch = 0; ch < 4; ++ch)
          for (int s = 0; s < n; ++s) {
            int64_t want = 0;
            for (int j = 0; j < n; ++j)
              want += static_cast<int64_t>(bt[s * n + j]) * (xp[(r * ws + t * m + j) * 4 + ch] - 1);
            want = std::clamp<int64_t>(want, -127, 127);
            ASSERT_EQ(v[s * comp_stride + (r * tiles + t) * 4 + ch] - 128, want) << "row " << r << " tile " << t << " s " << s;
          }
    // Output: Y[s] = bias + Σ_j Aᵀ[s][j]·(P_j − corr_j)·z_scale, in double on
    // values where every float step is exact; tile row r is output row r.
    const int64_t OW = tiles * m - 1;
    std::vector<int32_t> P(static_cast<size_t>(n * tiles * rows)), corr(n);
    std::vector<float> zs(n, 0.25f);
    for (auto& p : P) p = static_cast<int32_t>(rng() % 41) - 20;
    for (auto& c : corr) c = static_cast<int32_t>(rng() % 11) - 5;
    kernels::WinoOutputArgs op;
    op.m = m;
    op.at = at.data();
    op.one_d = true;
    op.y_unsigned = false;
    op.qmin = -128;
    op.qmax = 127;
    op.y_zp = 3;
    const float bias = 1.5f;
    std::vector<uint8_t> y(static_cast<size_t>(rows * OW + 16), 0x5A);
    kernels::wino_output_rows__ref(op, P.data(), tiles * rows, corr.data(), zs.data(), 1, bias, tiles, rows, y.data(), OW, rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t t = 0; t < tiles; ++t)
        for (int s = 0; s < m && t * m + s < OW; ++s) {
          double Y = bias;
          for (int j = 0; j < n; ++j) Y += double{at[s * n + j]} * ((P[j * tiles * rows + r * tiles + t] - corr[j]) * 0.25);
          const double want = std::clamp(std::nearbyint(Y) + 3, -128.0, 127.0);
          ASSERT_EQ(static_cast<int8_t>(y[r * OW + t * m + s]), want) << "row " << r << " tile " << t << " s " << s;
        }
    EXPECT_EQ(y[rows * OW], 0x5A) << "nothing past the last row";
  }
}

TEST(WinogradInt8, OneDimensionalSimdEqualsTheDefinition) {
  const auto variants = runnable_variants();
  if (variants.empty()) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2";
  for (const Variant& var : variants) {
    SCOPED_TRACE(var.name);
    std::mt19937 rng(4444);
    int64_t inside = 0, total = 0;
    const float coefs[] = {0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 8.0f, 0.03125f, -32.0f};
    for (int trial = 0; trial < 300; ++trial) {
      SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 4444)");
      const int m = 2 + 2 * (trial % 3), n = m + 2;
      std::vector<float> bt = random_bt(n, rng), at(static_cast<size_t>(m * n));
      for (auto& v : at) v = coefs[rng() % 10];
      if (trial % 2) default_transforms(m, bt, at);
      // Input: rows 1 apart, odd and even tiles per row, a factor per component and channel.
      std::vector<float> vs, lo, hi;
      std::vector<int32_t> off;
      random_components(n, trial, 13, 4, rng, vs, lo, hi, off);
      kernels::WinoInputArgs ip = input_args(m, bt, vs, lo, hi, off);
      ip.one_d = true;
      ip.x_signed = rng() % 2;
      ip.x_zp = (trial / 3) % 3 == 1 ? 0 : ip.x_signed ? static_cast<int32_t>(rng() % 256) - 128 : static_cast<int32_t>(rng() % 256);
      const int64_t tiles = 1 + rng() % 13, rows = 1 + rng() % 4, ws = m * ((tiles + 3) / 4) * 4 + 32 + rng() % 3;
      std::vector<uint8_t> xp(static_cast<size_t>(rows * ws * 4));
      for (auto& b : xp) b = trial % 5 == 0 ? (rng() % 2 ? 0x80 : 0x7F) : static_cast<uint8_t>(rng());
      const int64_t cs = 4 * tiles * rows + 8 + rng() % 8;
      std::vector<uint8_t> vref(static_cast<size_t>(n * cs), 0xA5), vgot = vref;
      kernels::wino_input_rows__ref(ip, xp.data(), ws, tiles, rows, vref.data(), cs);
      var.input(ip, xp.data(), ws, tiles, rows, vgot.data(), cs);
      ASSERT_EQ(vgot, vref) << "input m=" << m << " tiles=" << tiles << " rows=" << rows;
      // Output: vectors of 16 tiles across rows; the last call may write fewer rows than it has tiles for.
      const int64_t otiles = 1 + rng() % 40, orows = 1 + rng() % 5, out_rows = orows - static_cast<int64_t>(rng() % 2 && orows > 1),
                    coef_stride = 1 + rng() % 3, comp_stride = otiles * orows + rng() % 5;
      std::vector<int32_t> P(static_cast<size_t>(n * comp_stride)), corr(static_cast<size_t>(n * coef_stride));
      std::vector<float> zs(static_cast<size_t>(n * coef_stride));
      random_products(trial, 26, rng, P, corr, zs);
      kernels::WinoOutputArgs op;
      op.m = m;
      op.at = at.data();
      op.one_d = true;
      op.y_unsigned = rng() % 2;
      op.y_zp = op.y_unsigned ? static_cast<int32_t>(rng() % 256) : static_cast<int32_t>(rng() % 256) - 128;
      op.qmin = op.y_unsigned ? 0 : -128;
      op.qmax = op.y_unsigned ? 255 : 127;
      if (trial % 3 == 0) op.qmin += 7, op.qmax -= 11;
      const float bias = trial % 4 == 0 ? 0.5f : static_cast<float>(static_cast<int>(rng() % 2001) - 1000) / 7.0f;
      const int64_t OW = otiles * m - static_cast<int64_t>(rng() % m);
      std::vector<uint8_t> yref(static_cast<size_t>(orows * OW + 64), 0x5A), ygot = yref;
      kernels::wino_output_rows__ref(op, P.data(), comp_stride, corr.data(), zs.data(), coef_stride, bias, otiles, orows,
                                     yref.data(), OW, out_rows);
      var.output(op, P.data(), comp_stride, corr.data(), zs.data(), coef_stride, bias, otiles, orows, ygot.data(), OW,
                 out_rows);
      ASSERT_EQ(ygot, yref) << "output m=" << m << " tiles=" << otiles << " rows=" << orows << " written=" << out_rows
                            << " OW=" << OW;
      for (int64_t i = 0; i < out_rows * OW; ++i, ++total) {
        const int v = op.y_unsigned ? yref[i] : static_cast<int8_t>(yref[i]);
        inside += v > op.qmin && v < op.qmax;
      }
      for (int64_t i = out_rows * OW; i < static_cast<int64_t>(yref.size()); ++i)
        ASSERT_EQ(yref[i], 0x5A) << "the definition wrote past its rows";
    }
    EXPECT_GT(inside, total / 2) << "most results must be rounded, not clamped";
  }
}
