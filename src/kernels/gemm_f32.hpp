// Float GEMM kernels: C[M×N] = A[M×K]·B[K×N] (+ C when accumulate), row-major
// with leading dimensions. Naming: <what>_<tile>__<isa>.
#pragma once
#include <cstdint>

namespace winq::kernels {

using GemmF32Fn = void (*)(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                           int64_t ldb, float* C, int64_t ldc, bool accumulate);

// The definition: a plain triple loop with float accumulation in k order.
void gemm_f32__ref(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                   float* C, int64_t ldc, bool accumulate);
// Register-blocked 6×16 tiles, B packed in K-blocks; same source compiled for
// any target (generic) and for AVX2+FMA.
void gemm_f32_6x16__generic(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                         int64_t ldb, float* C, int64_t ldc, bool accumulate);
void gemm_f32_6x16__avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                         int64_t ldb, float* C, int64_t ldc, bool accumulate);

}  // namespace winq::kernels
