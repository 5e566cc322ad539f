// Integer GEMM kernels for quantized Conv/Gemm. Naming: <what>__<isa>.
#pragma once
#include <cstdint>

namespace winq::kernels {

// C[M×N] = A[M×K] · B[K×N] in int32: A are int8 weights, B holds the
// zero-point-corrected activations (x − zero_point, in [−255, 255]).
// The caller guarantees by its accumulator bound that no sum leaves int32.
void qgemm_s8s16__ref(int64_t M, int64_t N, int64_t K, const int8_t* A, int64_t lda, const int16_t* B,
                      int64_t ldb, int32_t* C, int64_t ldc);

}  // namespace winq::kernels
