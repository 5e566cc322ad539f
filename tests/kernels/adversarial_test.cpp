// Worst-case inputs for the integer kernels, every available ISA variant
// against the scalar definition and against exact 64-bit arithmetic:
//  - packed int8 GEMM at the longest reduction the int32 accumulator allows
//    for u8 × s8 (K·255·128 ≤ 2^31 − 1), with all-qmax, all-qmin, alternating
//    signs in phase and out of phase with the activations;
//  - the int8 Winograd input transform on the tile that drives each component
//    to its largest and smallest value (the bound the lowering checks, < 2^24),
//    for F(2,3), F(4,3), F(6,3), unsigned and signed inputs with extreme zero
//    points;
//  - quantized Add with the largest multipliers and operands at both ends.
// A variant the CPU lacks is skipped visibly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "../../src/kernels/qadd.hpp"
#include "../../src/kernels/qgemm.hpp"
#include "../../src/kernels/winograd_int8.hpp"
#include "winq/cpu.hpp"
#include "winq/winograd.hpp"

using namespace winq;

namespace {

struct GemmVariant {
  const char* name;
  kernels::QGemmK4Fn fn;
  Isa needs;
  bool s16;
};
const GemmVariant kGemms[] = {
    {"ref", kernels::qgemm_u8s8_k4__ref, Isa::scalar, false},
    {"avx2", kernels::qgemm_u8s8_k4__avx2, Isa::avx2, true},
    {"avx512vnni", kernels::qgemm_u8s8_k4__avx512vnni, Isa::avx512vnni, false},
};

// The longest reduction whose worst case fits int32, in whole groups of four.
constexpr int64_t kMaxK = (std::numeric_limits<int32_t>::max() / (255 * 128)) / 4 * 4;
static_assert(kMaxK * 255 * 128 <= std::numeric_limits<int32_t>::max());

}  // namespace

TEST(Adversarial, QGemmAtTheLongestReductionInt32Allows) {
  const int64_t M = 9, N = 49, K = kMaxK, K4 = K / 4;
  enum Pattern { all_qmax, all_qmin, alternating_in_phase, alternating_out_of_phase };
  for (Pattern pat : {all_qmax, all_qmin, alternating_in_phase, alternating_out_of_phase}) {
    std::vector<int8_t> W(static_cast<size_t>(M * K));
    std::vector<uint8_t> a(static_cast<size_t>(K4 * N * 4));  // dense rows: a[(k4·N + n)·4 + j]
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < K; ++k) {
        int8_t w = pat == all_qmax ? 127 : pat == all_qmin ? -128 : (k % 2 ? -128 : 127);
        if (m % 3 == 2) w = static_cast<int8_t>(w == 127 ? -128 : 127);  // rows of both signs
        W[m * K + k] = w;
      }
    auto act = [&](int64_t k, int64_t n) -> uint8_t {
      if (pat == alternating_in_phase) return k % 2 ? 0 : 255;  // pairs with the +127s
      if (pat == alternating_out_of_phase) return (k + n) % 2 ? 255 : 0;
      return 255;
    };
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) a[((k / 4) * N + n) * 4 + k % 4] = act(k, n);
    // Exact sums in 64 bits, and the bound the lowering checks.
    std::vector<int32_t> want(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k) s += int64_t{W[m * K + k]} * act(k, n);
        ASSERT_LE(std::abs(s), K * 255 * 128);
        ASSERT_LE(std::abs(s), int64_t{std::numeric_limits<int32_t>::max()});
        want[m * N + n] = static_cast<int32_t>(s);
      }
    if (pat == all_qmin) {
      EXPECT_EQ(want[0], -128 * 255 * K);  // the extreme is reached, not just approached
    }
    const size_t packed = static_cast<size_t>(kernels::panels_of(M) * K4 * kernels::kQPanel * 4);
    std::vector<int8_t> w8(packed);
    std::vector<int16_t> w16(packed);
    kernels::pack_weights_k4(W.data(), M, K, w8.data());
    kernels::pack_weights_k4_s16(W.data(), M, K, w16.data());
    const std::vector<int64_t> rows = kernels::dense_row_offsets(K4, N);
    for (const GemmVariant& v : kGemms) {
      if (best_isa() < v.needs) {
        std::cout << "[ not run  ] qgemm_u8s8_k4__" << v.name << ": this CPU lacks " << isa_name(v.needs) << "\n";
        continue;
      }
      std::vector<int32_t> got(static_cast<size_t>(M * N), 0);
      v.fn(M, N, K4, v.s16 ? static_cast<const void*>(w16.data()) : w8.data(), a.data(), rows.data(), got.data(), N);
      ASSERT_EQ(got, want) << "qgemm_u8s8_k4__" << v.name << " K=" << K << " pattern " << pat;
    }
  }
}

namespace {

// The lowering's integer-scaled Bᵀ (rows times the lcm of their denominators).
std::vector<float> integer_bt(int m) {
  const winograd::Transforms t = winograd::generate(m, 3, winograd::default_points(m, 3));
  std::vector<float> bt;
  for (const auto& row : t.BT) {
    mpz_class beta = 1;
    for (const auto& v : row) beta = lcm(beta, mpz_class(v.get_den()));
    for (const auto& v : row) bt.push_back(static_cast<float>(mpq_class(v * beta).get_d()));
  }
  return bt;
}

}  // namespace

TEST(Adversarial, WinogradInputTransformAtEachComponentsExtremes) {
  const bool simd = best_isa() >= Isa::avx512vnni;
  if (!simd) std::cout << "[ not run  ] wino_input_rows__avx512: this CPU lacks AVX-512 (the definition still runs)\n";
  struct Input {
    bool is_signed;
    int32_t zp;  // d = x − zp spans [0, 255] or [−255, 0]
  };
  for (int m : {2, 4, 6}) {
    const int n = m + 2, nn = n * n;
    const std::vector<float> bt = integer_bt(m);
    // Largest |V| any tile can produce: Σ_ij |B'[a][i]·B'[b][j]| · 255.
    double worst = 0;
    for (int k = 0; k < nn; ++k) {
      double s = 0;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) s += std::fabs(bt[(k / n) * n + i] * bt[(k % n) * n + j]);
      worst = std::max(worst, s * 255);
    }
    ASSERT_LT(worst, 16777216.0) << "F(" << m << ",3): the input transform must stay exact in float32";
    for (const Input in : {Input{false, 0}, Input{true, -128}, Input{true, 127}}) {
      for (int target = 0; target < nn; ++target)
        for (int sign : {+1, -1}) {
          SCOPED_TRACE(testing::Message() << "F(" << m << ",3) component " << target << " sign " << sign
                                          << " signed=" << in.is_signed << " zp=" << in.zp);
          // The tile that pushes component `target` to its extreme: each input
          // at the end of its range that agrees in sign with its coefficient.
          const int64_t tiles = 1, ws = m * 4 + 32;
          std::vector<uint8_t> xp(static_cast<size_t>(n * ws * 4), 0);
          std::vector<int64_t> d(static_cast<size_t>(n * n));
          const int lo = in.is_signed ? -128 : 0, hi = in.is_signed ? 127 : 255;
          for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
              const float c = bt[(target / n) * n + i] * bt[(target % n) * n + j] * static_cast<float>(sign);
              const int x = c > 0 ? hi : lo;
              d[i * n + j] = x - in.zp;
              for (int ch = 0; ch < 4; ++ch) xp[(i * ws + j) * 4 + ch] = static_cast<uint8_t>(x);
            }
          // Exact V for every component, and scales that map the extreme of the
          // target component to ±127 without clamping.
          std::vector<int64_t> V(static_cast<size_t>(nn));
          for (int k = 0; k < nn; ++k)
            for (int i = 0; i < n; ++i)
              for (int j = 0; j < n; ++j)
                V[k] += static_cast<int64_t>(bt[(k / n) * n + i]) * static_cast<int64_t>(bt[(k % n) * n + j]) *
                        d[i * n + j];
          ASSERT_LE(static_cast<double>(std::llabs(V[target])), worst);
          std::vector<float> vs(4 * nn, 127.0f / static_cast<float>(std::max<double>(1.0, worst))), vlo(nn, -127.0f),
              vhi(nn, 127.0f);
          std::vector<int32_t> off(nn, 128);
          kernels::WinoInputArgs p;
          p.m = m;
          p.bt = bt.data();
          p.v_scale = vs.data();
          p.v_lo = vlo.data();
          p.v_hi = vhi.data();
          p.v_off = off.data();
          p.x_signed = in.is_signed;
          p.x_zp = in.zp;
          const int64_t comp_stride = 4 * tiles + 12;
          std::vector<uint8_t> ref(static_cast<size_t>(nn * comp_stride), 0xA5);
          kernels::wino_input_rows__ref(p, xp.data(), ws, tiles, 1, ref.data(), comp_stride);
          for (int k = 0; k < nn; ++k) {  // the definition, from the exact V
            const float q = std::clamp(std::nearbyint(static_cast<float>(V[k]) * vs[4 * k]), -127.0f, 127.0f);
            ASSERT_EQ(ref[k * comp_stride], static_cast<uint8_t>(static_cast<int>(q) + 128)) << "component " << k;
          }
          if (simd) {
            std::vector<uint8_t> got(ref.size(), 0xA5);
            kernels::wino_input_rows__avx512(p, xp.data(), ws, tiles, 1, got.data(), comp_stride);
            ASSERT_EQ(got, ref);
          }
          if (best_isa() >= Isa::avx2) {
            std::vector<uint8_t> got(ref.size(), 0xA5);
            kernels::wino_input_rows__avx2(p, xp.data(), ws, tiles, 1, got.data(), comp_stride);
            ASSERT_EQ(got, ref) << "wino_input_rows__avx2";
          }
        }
    }
  }
}

TEST(Adversarial, QAddWithTheLargestMultipliersAndOperandsAtBothEnds) {
  const int64_t n = 77;  // a full vector and a masked tail
  for (bool u : {true, false}) {
    const int lo = u ? 0 : -128, hi = u ? 255 : 127;
    for (int shift : {31, 40, 62}) {
      kernels::QAddArgs p;
      p.a_unsigned = p.b_unsigned = p.y_unsigned = u;
      p.za = hi;
      p.zb = lo;
      p.ma = p.mb = std::numeric_limits<int32_t>::max();
      p.shift = shift;
      p.zy = u ? 128 : 0;
      p.qmin = lo;
      p.qmax = hi;
      for (int pat = 0; pat < 4; ++pat) {
        std::vector<uint8_t> a(n), b(n), ref(n + 16, 0x5A), got(n + 16, 0x5A);
        for (int64_t i = 0; i < n; ++i) {
          const bool odd = i % 2;
          const int av = pat == 0 ? hi : pat == 1 ? lo : (odd ? hi : lo);
          const int bv = pat == 0 ? hi : pat == 1 ? lo : pat == 2 ? (odd ? lo : hi) : (odd ? hi : lo);
          a[i] = static_cast<uint8_t>(av);
          b[i] = static_cast<uint8_t>(bv);
        }
        kernels::qadd__ref(a.data(), b.data(), ref.data(), n, p);
        for (int64_t i = 0; i < n; ++i) {  // exact: |(a − za)·ma + (b − zb)·mb| < 2^41
          auto val = [&](uint8_t x) { return u ? int64_t{x} : int64_t{static_cast<int8_t>(x)}; };
          const int64_t s = (val(a[i]) - p.za) * p.ma + (val(b[i]) - p.zb) * p.mb;
          const int64_t half = int64_t{1} << (shift - 1);
          int64_t q = s >> shift;  // floor, then round half to even
          const int64_t rem = s - (q << shift);
          if (rem > half || (rem == half && (q & 1))) ++q;
          const int64_t y = std::clamp<int64_t>(q + p.zy, lo, hi);
          ASSERT_EQ(val(ref[i]), y) << "i=" << i << " shift=" << shift << " pattern " << pat;
        }
        if (best_isa() >= Isa::avx512vnni) {
          kernels::qadd__avx512(a.data(), b.data(), got.data(), n, p);
          ASSERT_EQ(got, ref) << "qadd__avx512 shift=" << shift << " pattern " << pat;
        }
        if (best_isa() >= Isa::avx2) {
          std::fill(got.begin(), got.end(), uint8_t{0x5A});
          kernels::qadd__avx2(a.data(), b.data(), got.data(), n, p);
          ASSERT_EQ(got, ref) << "qadd__avx2 shift=" << shift << " pattern " << pat;
        }
      }
    }
  }
}
