// Register-blocked float GEMM, written with GCC vector extensions so that one
// source serves every x86 level: the including file defines WINQ_GEMM_F32_NAME
// and is compiled with that ISA's flags. Tile: MR=6 rows of A × NR=16 columns
// of B held in 12 accumulators of 8 floats; B is packed per K-block so the
// inner loop reads it contiguously.
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm_f32.hpp"

namespace winq::kernels {
namespace {

// Vectors are passed only between inline functions; -Wpsabi about their ABI
// without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
constexpr int64_t MR = 6, NR = 16, KC = 256;

inline v8f load8(const float* p) { return *reinterpret_cast<const v8f*>(p); }
inline void store8(float* p, v8f v) { *reinterpret_cast<v8f*>(p) = v; }

// acc[6×16] = Ablock[6×kc] · Bpanel[kc×16]; writes (or adds into) C for the
// valid mr×nr part.
void micro_6x16(int64_t kc, const float* A, int64_t lda, const float* Bp, float* C, int64_t ldc, int64_t mr,
                int64_t nr, bool accumulate) {
  v8f acc[MR][2] = {};
  const float* a[MR];
  for (int64_t r = 0; r < MR; ++r) a[r] = A + std::min(r, mr - 1) * lda;  // duplicate last row when mr < 6
  for (int64_t k = 0; k < kc; ++k) {
    v8f b0 = load8(Bp + k * NR), b1 = load8(Bp + k * NR + 8);
    for (int64_t r = 0; r < MR; ++r) {
      float av = a[r][k];
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
    }
  }
  if (mr == MR && nr == NR) {
    for (int64_t r = 0; r < MR; ++r) {
      float* c = C + r * ldc;
      if (accumulate) {
        store8(c, load8(c) + acc[r][0]);
        store8(c + 8, load8(c + 8) + acc[r][1]);
      } else {
        store8(c, acc[r][0]);
        store8(c + 8, acc[r][1]);
      }
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  for (int64_t r = 0; r < MR; ++r) {
    store8(tile[r], acc[r][0]);
    store8(tile[r] + 8, acc[r][1]);
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t j = 0; j < nr; ++j) C[r * ldc + j] = accumulate ? C[r * ldc + j] + tile[r][j] : tile[r][j];
}

}  // namespace

void WINQ_GEMM_F32_NAME(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                        float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  thread_local std::vector<float> packed;
  packed.resize(static_cast<size_t>(KC * NR));
  for (int64_t k0 = 0; k0 < K; k0 += KC) {
    const int64_t kc = std::min(KC, K - k0);
    for (int64_t j0 = 0; j0 < N; j0 += NR) {
      const int64_t nr = std::min(NR, N - j0);
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0;
        float* dst = packed.data() + k * NR;
        std::memcpy(dst, src, nr * sizeof(float));
        std::fill(dst + nr, dst + NR, 0.0f);
      }
      for (int64_t i0 = 0; i0 < M; i0 += MR)
        micro_6x16(kc, A + i0 * lda + k0, lda, packed.data(), C + i0 * ldc + j0, ldc, std::min(MR, M - i0), nr,
                   accumulate || k0 > 0);
    }
  }
}

}  // namespace winq::kernels
