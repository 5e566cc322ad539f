// Every float GEMM variant against a float64 reference. Tolerance: relative
// error per element ≤ 1e-5·sqrt(K) of the sum of |products| (float rounding
// grows with the reduction length).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../../src/kernels/gemm_f32.hpp"
#include "winq/cpu.hpp"

using namespace winq;

namespace {

struct Variant {
  const char* name;
  kernels::GemmF32Fn fn;
  bool needs_avx2;
};

const Variant kVariants[] = {
    {"gemm_f32__ref", kernels::gemm_f32__ref, false},
    {"gemm_f32_6x16__generic", kernels::gemm_f32_6x16__generic, false},
    {"gemm_f32_6x16__avx2", kernels::gemm_f32_6x16__avx2, true},
};

void check(const Variant& v, int64_t M, int64_t N, int64_t K, bool accumulate, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << v.name << " M=" << M << " N=" << N << " K=" << K << " acc=" << accumulate
                                  << " seed=" << seed);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  const int64_t lda = K + 3, ldb = N + 5, ldc = N + 2;  // strided on purpose
  std::vector<float> A(M * lda), B(K * ldb), C(M * ldc);
  for (auto& x : A) x = d(rng);
  for (auto& x : B) x = d(rng);
  for (auto& x : C) x = d(rng);
  std::vector<float> C0 = C;
  v.fn(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, accumulate);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double ref = accumulate ? C0[i * ldc + j] : 0.0, mag = std::abs(ref);
      for (int64_t k = 0; k < K; ++k) {
        ref += static_cast<double>(A[i * lda + k]) * B[k * ldb + j];
        mag += std::abs(static_cast<double>(A[i * lda + k]) * B[k * ldb + j]);
      }
      ASSERT_NEAR(C[i * ldc + j], ref, 1e-6 * std::sqrt(static_cast<double>(K) + 1) * (mag + 1))
          << "at i=" << i << " j=" << j;
    }
    for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], C0[i * ldc + j]) << "wrote past N at i=" << i;
  }
}

}  // namespace

TEST(GemmF32, AllVariantsMatchFloat64OnTileDerivedShapes) {
  // MR = 6, NR = 16, KC = 256: below, equal, above and multiples of each.
  const int64_t Ms[] = {1, 5, 6, 7, 12, 13};
  const int64_t Ns[] = {1, 15, 16, 17, 33};
  const int64_t Ks[] = {1, 7, 255, 256, 257, 600};
  uint32_t seed = 1;
  for (const auto& v : kVariants) {
    if (v.needs_avx2 && static_cast<int>(best_isa()) < static_cast<int>(Isa::avx2)) {
      std::printf("[ not run  ] %s: this CPU has no AVX2\n", v.name);
      continue;
    }
    for (auto M : Ms)
      for (auto N : Ns)
        for (auto K : Ks) {
          check(v, M, N, K, (seed % 2) == 0, seed);
          ++seed;
        }
  }
}

TEST(GemmF32, ZeroKWritesZerosOrKeepsC) {
  std::vector<float> C(12, 5.0f);
  kernels::gemm_f32_6x16__generic(3, 4, 0, nullptr, 0, nullptr, 4, C.data(), 4, true);
  for (float c : C) EXPECT_EQ(c, 5.0f);
  kernels::gemm_f32_6x16__generic(3, 4, 0, nullptr, 0, nullptr, 4, C.data(), 4, false);
  for (float c : C) EXPECT_EQ(c, 0.0f);
}
