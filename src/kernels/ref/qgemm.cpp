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

namespace winq::kernels {

namespace {
template <class T>
void pack_k4(const int8_t* W, int64_t M, int64_t K, int64_t panel, T* out) {
  const int64_t K4 = k4_of(K), panels = (M + panel - 1) / panel;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t k4 = 0; k4 < K4; ++k4)
      for (int64_t r = 0; r < panel; ++r)
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t m = p * panel + r, k = 4 * k4 + j;
          out[((p * K4 + k4) * panel + r) * 4 + j] = static_cast<T>((m < M && k < K) ? W[m * K + k] : 0);
        }
}

// C = W·A for weights packed in panels of `panel` rows, panel p at wp + p·wstride
// bytes; position n in rows of `cols`, input rows `pitch` words apart.
void qgemm_panels(int64_t panel, int64_t wstride, int64_t cols, int64_t pitch, WINQ_QGEMM_K4_ARGS) {
  const auto* w = static_cast<const int8_t*>(wp);
  for (int64_t m = 0; m < M; ++m) {
    const int64_t p = m / panel, r = m % panel;
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = 4 * ((n / cols) * pitch + n % cols);
      int32_t acc = 0;
      for (int64_t k4 = 0; k4 < K4; ++k4)
        for (int64_t j = 0; j < 4; ++j)
          acc += static_cast<int32_t>(w[p * wstride + (k4 * panel + r) * 4 + j]) * a[row_off[k4] + at + j];
      C[m * ldc + n] = acc;
    }
  }
}
}  // namespace

void pack_weights_k4(const int8_t* W, int64_t M, int64_t K, int8_t* out) { pack_k4(W, M, K, kQPanel, out); }
void pack_weights_k4_s16(const int8_t* W, int64_t M, int64_t K, int16_t* out) { pack_k4(W, M, K, kQPanel, out); }
void pack_weights_k4_wide(const int8_t* W, int64_t M, int64_t K, int8_t* out) { pack_k4(W, M, K, kQPanelWide, out); }

// The packed layouts read back element by element (int8 weights).
std::vector<int64_t> dense_row_offsets(int64_t K4, int64_t N) {
  std::vector<int64_t> off(static_cast<size_t>(K4));
  for (int64_t k4 = 0; k4 < K4; ++k4) off[k4] = 4 * N * k4;
  return off;
}

void qgemm_u8s8_k4__ref(WINQ_QGEMM_K4_ARGS) {
  qgemm_panels(kQPanel, K4 * kQPanel * 4, N, N, M, N, K4, wp, a, row_off, C, ldc);
}
// edges only name products of zero words: the definition takes them all.
void qgemm_u8s8_k4c__ref(WINQ_QGEMM_K4C_ARGS) {
  (void)edges;
  if (N > 0) qgemm_panels(kQPanelWide, wstride, cols, pitch, M, N, K4, wp, a, row_off, C, ldc);
}

}  // namespace winq::kernels
