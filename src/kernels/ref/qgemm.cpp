// The definition of the integer GEMM: exact int32 sums in k order.
#include "../qgemm.hpp"

namespace winq::kernels {

void qgemm_s8s16__ref(int64_t M, int64_t N, int64_t K, const int8_t* A, int64_t lda, const int16_t* B,
                      int64_t ldb, int32_t* C, int64_t ldc) {
  for (int64_t m = 0; m < M; ++m) {
    int32_t* c = C + m * ldc;
    for (int64_t n = 0; n < N; ++n) c[n] = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int32_t a = A[m * lda + k];
      const int16_t* b = B + k * ldb;
      for (int64_t n = 0; n < N; ++n) c[n] += a * b[n];
    }
  }
}

}  // namespace winq::kernels
