// Integer GEMM kernels for quantized Conv/Gemm. Naming: <what>__<isa>.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace winq::kernels {

// C[M×N] = A[M×K] · B[K×N] in int32: A are int8 weights, B holds the
// zero-point-corrected activations (x − zero_point, in [−255, 255]).
// The caller guarantees by its accumulator bound that no sum leaves int32.
void qgemm_s8s16__ref(int64_t M, int64_t N, int64_t K, const int8_t* A, int64_t lda, const int16_t* B,
                      int64_t ldb, int32_t* C, int64_t ldc);

}  // namespace winq::kernels

namespace winq::kernels {

// ---- packed int8 GEMM: C[M×N] (int32) = W[M×K] (int8) · A[K×N] (uint8), exact ----
// K is taken in groups of four (the VNNI dot product), zero-padded.
//   packed weights  wp[((p·K4 + k4)·kQPanel + r)·4 + j] = W[p·kQPanel + r][4·k4 + j]   (0 outside W)
//   activations     a[row_off[k4] + 4·n + j] = A[4·k4 + j][n]        (row k4: N words of 4 bytes)
// The row offsets let a convolution read its input in place (implicit GEMM:
// a row is a shifted window of the padded input) or a dense im2col buffer
// (row_off[k4] = 4·N·k4, see dense_row_offsets). Rows may overlap.
// AVX2 uses the same layout with the weights widened to int16 (vpmaddwd: no
// 16-bit saturation, unlike vpmaddubsw).
inline constexpr int64_t kQPanel = 8;
inline int64_t k4_of(int64_t K) { return (K + 3) / 4; }
inline int64_t panels_of(int64_t M) { return (M + kQPanel - 1) / kQPanel; }

void pack_weights_k4(const int8_t* W, int64_t M, int64_t K, int8_t* out);    // panels_of(M)·K4·kQPanel·4 bytes
void pack_weights_k4_s16(const int8_t* W, int64_t M, int64_t K, int16_t* out);  // same, as int16

// ---- channels in lanes (k4c): the same GEMM with the roles of the operands
// swapped, for small images whose few positions would leave position vectors
// part empty: a vector holds 16 output channels (one panel of kQPanelWide
// rows, same K4 × panel × 4 layout), each position's 4-byte word is
// broadcast, and the accumulators are transposed to rows of C at the end.
inline constexpr int64_t kQPanelWide = 16;
inline int64_t wide_panels_of(int64_t M) { return (M + kQPanelWide - 1) / kQPanelWide; }
void pack_weights_k4_wide(const int8_t* W, int64_t M, int64_t K, int8_t* out);  // wide_panels_of(M)·K4·16·4 bytes

#define WINQ_QGEMM_K4_ARGS                                                                                \
  int64_t M, int64_t N, int64_t K4, const void *wp, const uint8_t *a, const int64_t *row_off, int32_t *C, \
      int64_t ldc
using QGemmK4Fn = void (*)(WINQ_QGEMM_K4_ARGS);
void qgemm_u8s8_k4__ref(WINQ_QGEMM_K4_ARGS);
void qgemm_u8s8_k4__avx2(WINQ_QGEMM_K4_ARGS);
void qgemm_u8s8_k4__avx512vnni(WINQ_QGEMM_K4_ARGS);
// Channels in lanes: wp packed by pack_weights_k4_wide, panel p (rows
// 16p … 16p + 15) at wp + p·wstride bytes. wstride = K4·64 for a whole
// packed matrix; a caller that reduces over a range [k0, k0 + K4) of a
// matrix packed with K4' groups passes wp + 64·k0, wstride = K4'·64 and
// row_off + k0 (the direct conv skips the taps that fall in zero padding).
// The N positions come in rows of `cols` (N a multiple of cols): position
// n = r·cols + c reads a[row_off[k4] + 4·(r·pitch + c) + j] and writes
// C[m·ldc + n] — a conv reads its output rows in place from the padded
// input (pitch = padded width); pitch = cols is one dense row of N.
// edges (may be null): products a conv's edge columns take from zero words
// of the padding, which a kernel may leave out (the definition is the same
// with or without them; the caller guarantees that the words are zero).
struct EdgeTaps {
  static constexpr int kMaxKw = 8;
  int64_t run = 0;  // consecutive k-groups sharing a kernel column (the conv's C4)
  int64_t kw = 0;   // k-group k of the range (its start a multiple of run·kw) has column (k / run) % kw
  bool left[kMaxKw] = {}, right[kMaxKw] = {};  // position column 0 / cols − 1 reads a zero word there
};
#define WINQ_QGEMM_K4C_ARGS                                                                                \
  int64_t M, int64_t N, int64_t K4, const void *wp, int64_t wstride, const uint8_t *a, const int64_t *row_off, \
      int64_t cols, int64_t pitch, int32_t *C, int64_t ldc, const EdgeTaps *edges
using QGemmK4cFn = void (*)(WINQ_QGEMM_K4C_ARGS);
void qgemm_u8s8_k4c__ref(WINQ_QGEMM_K4C_ARGS);
void qgemm_u8s8_k4c__avx2(WINQ_QGEMM_K4C_ARGS);  // the same int8 panels, sign-extended for vpmaddwd
void qgemm_u8s8_k4c__avx512vnni(WINQ_QGEMM_K4C_ARGS);

// row_off for a dense buffer a[(k4·N + n)·4 + j].
std::vector<int64_t> dense_row_offsets(int64_t K4, int64_t N);

}  // namespace winq::kernels
