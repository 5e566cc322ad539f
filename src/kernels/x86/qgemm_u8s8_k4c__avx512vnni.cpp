// Packed int8 GEMM with channels in lanes (AVX-512 VNNI; compiled with
// -mavx512f -mavx512bw -mavx512vnni). For small images: a position vector of
// the row-panel kernel would be part empty (a 4×4 map has 16 positions),
// while output channels come in multiples of 16. A tile is MB panels of 16
// output channels × NB positions: MB·NB accumulators, each k-group loads MB
// weight vectors and broadcasts NB activation words (vpdpbusd's unsigned
// operand). At the end each panel's NB vectors (position-major) are
// transposed in registers into 16 rows of C.
#include <immintrin.h>

#include <algorithm>

#include "../qgemm.hpp"

namespace winq::kernels {

namespace {

// r[0..15] (row i = position i, lanes = 16 channels) → r[c] = channel c across the 16 positions.
inline void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4j + q], 128-bit lane L = column 4L + q of rows 4j … 4j + 3.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    u[4 * j + 0] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
    u[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
    u[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
    u[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
  }
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) {
    const __m512i s0 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x44), s1 = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xEE);
    const __m512i s2 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x44);
    const __m512i s3 = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xEE);
    r[q] = _mm512_shuffle_i32x4(s0, s2, 0x88);
    r[4 + q] = _mm512_shuffle_i32x4(s0, s2, 0xDD);
    r[8 + q] = _mm512_shuffle_i32x4(s1, s3, 0x88);
    r[12 + q] = _mm512_shuffle_i32x4(s1, s3, 0xDD);
  }
}

// k-groups [k_begin, k_end) into acc; SF / SL: the first / last position
// takes no products (its words there are zero padding: EdgeTaps).
template <int MB, int NB, bool SF, bool SL>
__attribute__((always_inline)) inline void reduce(__m512i (&acc)[MB][NB], int64_t k_begin, int64_t k_end,
                                                  const int8_t* w, int64_t wstride, const uint8_t* an,
                                                  const int64_t* row_off) {
  for (int64_t k4 = k_begin; k4 < k_end; ++k4) {
    __m512i wv[MB];
#pragma GCC unroll 4
    for (int b = 0; b < MB; ++b) {
      __m512i v = _mm512_loadu_si512(w + b * wstride + k4 * kQPanelWide * 4);
      // In a register: GCC would otherwise fold the load into every vpdpbusd
      // of the skipping variants (NB − 1 loads of 64 bytes per vector, which
      // saturate the load ports: a 4×4 map ran 1.5× slower).
      if constexpr (SF || SL) asm("" : "+v"(v));  // on a local: on wv[b] it kept wv in memory
      wv[b] = v;
    }
    const uint8_t* ak = an + row_off[k4];
#pragma GCC unroll 16
    for (int i = 0; i < NB; ++i) {
      if ((SF && i == 0) || (SL && i == NB - 1)) continue;
      int32_t word;
      __builtin_memcpy(&word, ak + 4 * i, 4);
      const __m512i x = _mm512_set1_epi32(word);
#pragma GCC unroll 4
      for (int b = 0; b < MB; ++b) acc[b][i] = _mm512_dpbusd_epi32(acc[b][i], x, wv[b]);
    }
  }
}

// Panels p0 … p0 + MB − 1 (rows m0 … m0 + rows − 1 of C) × positions n0 … n0 + NB − 1.
// first / last: the tile starts / ends a row of a conv with edge taps to leave out.
template <int MB, int NB>
void tile(int64_t rows, int64_t n0, int64_t K4, const int8_t* w, int64_t wstride, const uint8_t* a,
          const int64_t* row_off, int32_t* C, int64_t ldc, const EdgeTaps* edges, bool first, bool last) {
  __m512i acc[MB][NB];
#pragma GCC unroll 4
  for (int b = 0; b < MB; ++b)
#pragma GCC unroll 16
    for (int i = 0; i < NB; ++i) acc[b][i] = _mm512_setzero_si512();
  const uint8_t* an = a + 4 * n0;
  if (!edges || (!first && !last)) {
    reduce<MB, NB, false, false>(acc, 0, K4, w, wstride, an, row_off);
  } else {
    // Runs of k-groups with the same kernel column, merged while the edge positions' flags agree.
    auto flags = [&](int64_t k) {
      const int64_t kx = (k / edges->run) % edges->kw;
      return (first && edges->left[kx] ? 1 : 0) | (last && edges->right[kx] ? 2 : 0);
    };
    for (int64_t k = 0; k < K4;) {
      const int f = flags(k);
      int64_t end = std::min(K4, (k / edges->run + 1) * edges->run);
      while (end < K4 && flags(end) == f) end = std::min(K4, end + edges->run);
      switch (f) {
        case 0: reduce<MB, NB, false, false>(acc, k, end, w, wstride, an, row_off); break;
        case 1: reduce<MB, NB, true, false>(acc, k, end, w, wstride, an, row_off); break;
        case 2: reduce<MB, NB, false, true>(acc, k, end, w, wstride, an, row_off); break;
        default: reduce<MB, NB, true, true>(acc, k, end, w, wstride, an, row_off); break;
      }
      k = end;
    }
  }
  const __mmask16 lanes = static_cast<__mmask16>((1u << NB) - 1);
#pragma GCC unroll 4
  for (int b = 0; b < MB; ++b) {
    __m512i r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < NB ? acc[b][i] : _mm512_setzero_si512();
    transpose16(r);
    const int64_t valid = std::min<int64_t>(kQPanelWide, rows - b * kQPanelWide);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      if (c >= valid) break;
      _mm512_mask_storeu_epi32(C + (b * kQPanelWide + c) * ldc + n0, lanes, r[c]);
    }
  }
}

template <int MB>
void tile_of(int nb, int64_t rows, int64_t n0, int64_t K4, const int8_t* w, int64_t wstride, const uint8_t* a,
             const int64_t* row_off, int32_t* C, int64_t ldc, const EdgeTaps* edges, bool first, bool last) {
  switch (nb) {  // only the tiles of at most 24 accumulators exist (32 registers: + MB weights + 1 broadcast)
#define WINQ_NB(nb)                                                                  \
  case nb:                                                                           \
    if constexpr (MB * nb <= 24) return tile<MB, nb>(rows, n0, K4, w, wstride, a, row_off, C, ldc, edges, first, last); \
    return;
    WINQ_NB(1) WINQ_NB(2) WINQ_NB(3) WINQ_NB(4) WINQ_NB(5) WINQ_NB(6)
    WINQ_NB(7) WINQ_NB(8) WINQ_NB(9) WINQ_NB(10) WINQ_NB(11) WINQ_NB(12)
#undef WINQ_NB
    default: return;
  }
}

// A row of N positions in tiles of at most 24 / MB (MB = 2: 12 positions,
// 24 accumulators, 2 + 12 loads per 24 products), as even as possible: 16
// positions as 8 + 8, not 12 + a 4-position tile that would do 8 products
// per 6 loads.
template <int MB>
void positions(int64_t rows, int64_t N, int64_t K4, const int8_t* w, int64_t wstride, const uint8_t* a,
               const int64_t* row_off, int32_t* C, int64_t ldc, const EdgeTaps* edges) {
  constexpr int64_t kMaxNB = MB == 1 ? 12 : 24 / MB;
  const int64_t tiles = (N + kMaxNB - 1) / kMaxNB;
  if (tiles == 0) return;
  const int64_t base = N / tiles, longer = N % tiles;  // the first `longer` tiles take one more
  int64_t n0 = 0;
  for (int64_t t = 0; t < tiles; ++t) {
    const int nb = static_cast<int>(base + (t < longer ? 1 : 0));
    tile_of<MB>(nb, rows, n0, K4, w, wstride, a, row_off, C, ldc, edges, t == 0, t == tiles - 1);
    n0 += nb;
  }
}

}  // namespace

void qgemm_u8s8_k4c__avx512vnni(WINQ_QGEMM_K4C_ARGS) {
  const auto* w = static_cast<const int8_t*>(wp);
  const int64_t panels = wide_panels_of(M);
  if (N <= 0) return;
  if (pitch == cols) cols = N, edges = nullptr;  // one dense row: tiles may cross the row ends
  if (edges && (edges->run <= 0 || edges->kw <= 0 || edges->kw > EdgeTaps::kMaxKw)) edges = nullptr;
  for (int64_t r0 = 0; r0 < N; r0 += cols) {
    const uint8_t* ar = a + 4 * (r0 / cols) * pitch;  // the row's input; its outputs start at C + r0
    int64_t p = 0;
    // Rows of at most 6 positions (4×4 maps) take 4 panels at a time: with 2,
    // a tile would hold 8 accumulators, fewer than vpdpbusd's latency ×
    // throughput needs to keep both ports busy.
    if (cols <= 6)
      for (; p + 4 <= panels; p += 4)
        positions<4>(std::min<int64_t>(4 * kQPanelWide, M - p * kQPanelWide), cols, K4, w + p * wstride, wstride, ar,
                     row_off, C + p * kQPanelWide * ldc + r0, ldc, edges);
    for (; p + 2 <= panels; p += 2)
      positions<2>(std::min<int64_t>(2 * kQPanelWide, M - p * kQPanelWide), cols, K4, w + p * wstride, wstride,
                   ar, row_off, C + p * kQPanelWide * ldc + r0, ldc, edges);
    if (p < panels)
      positions<1>(M - p * kQPanelWide, cols, K4, w + p * wstride, wstride, ar, row_off,
                   C + p * kQPanelWide * ldc + r0, ldc, edges);
  }
}

}  // namespace winq::kernels
