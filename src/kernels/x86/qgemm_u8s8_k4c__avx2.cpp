// Packed int8 GEMM with channels in lanes, AVX2 (compiled with -mavx2). For
// small images and Winograd layers of few tiles: a position vector of the
// row-panel kernel (8 positions) would be part empty — a 4×4 map's rows hold
// 4 positions, an F(4,3) layer at 7×7 has 4 tiles — while output channels
// come in multiples of 16.
//
// The weights are the int8 wide panels of the AVX-512 kernel (16 channels ×
// 4 k per k-group, pack_weights_k4_wide), sign-extended here: 16 bytes give
// one vector of 4 channels × 4 k as int16. A position's activation word
// [a0 a1 a2 a3] is zero-extended to int16 and repeated in every 64-bit lane,
// so vpmaddwd yields per channel two exact 32-bit partial sums (k0,k1 and
// k2,k3): no 16-bit saturation, unlike vpmaddubsw (255·127·2 > 32767). A
// tile is 8 channels (two such vectors) × NB ≤ 6 positions: 2·NB
// accumulators; each k-group loads 2 weight vectors and NB words. At the end
// the partial pairs are added and the 8 × NB block is written to rows of C.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../qgemm.hpp"

namespace winq::kernels {

namespace {

constexpr int kMaxNB = 5;  // 12 accumulators + 2 weight vectors + the word + the widening control: 16 registers

// Channels [0, valid) of a half panel (8 rows, k-group stride 64 bytes) × positions n0 … n0 + NB − 1.
// first / last: the tile starts / ends a row whose edge products EdgeTaps names (left out).
template <int NB>
void tile(int64_t valid, int64_t n0, int64_t K4, const int8_t* w, const uint8_t* a, const int64_t* row_off,
          int32_t* C, int64_t ldc, const EdgeTaps* edges, bool first, bool last) {
  // Bytes 0–3 of each dword of the broadcast word to int16 a0 a1 a2 a3, in both 64-bit halves of a lane.
  const __m256i widen = _mm256_setr_epi8(0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1,  //
                                         0, -1, 1, -1, 2, -1, 3, -1, 0, -1, 1, -1, 2, -1, 3, -1);
  // Named accumulators, not arrays: with arrays GCC 12 kept 9 of the 12 in memory.
  typedef int32_t v8si __attribute__((vector_size(32)));
  v8si l0 = {}, h0 = {}, l1 = {}, h1 = {}, l2 = {}, h2 = {}, l3 = {}, h3 = {}, l4 = {}, h4 = {}, l5 = {}, h5 = {};
  const uint8_t* an = a + 4 * n0;
  // k-groups [k0, k1); SF / SL leave out the first / last position (one loop
  // per case, all in this function, so the accumulators stay in registers).
#define WINQ_POSITION(i, SF, SL)                                              \
  if constexpr (NB > (i) && !((SF) && (i) == 0) && !((SL) && (i) == NB - 1)) { \
    int32_t word;                                                             \
    std::memcpy(&word, ak + 4 * (i), 4);                                      \
    const __m256i x = _mm256_shuffle_epi8(_mm256_set1_epi32(word), widen);   \
    l##i += (v8si)_mm256_madd_epi16(w_lo, x);                                 \
    h##i += (v8si)_mm256_madd_epi16(w_hi, x);                                 \
  }
#define WINQ_KLOOP(SF, SL)                                                                                  \
  for (int64_t k4 = k0; k4 < k1; ++k4) {                                                                    \
    const int8_t* wk = w + k4 * kQPanelWide * 4;                                                            \
    const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wk)));      \
    const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wk + 16))); \
    const uint8_t* ak = an + row_off[k4];                                                                   \
    WINQ_POSITION(0, SF, SL) WINQ_POSITION(1, SF, SL) WINQ_POSITION(2, SF, SL)                              \
    WINQ_POSITION(3, SF, SL) WINQ_POSITION(4, SF, SL) WINQ_POSITION(5, SF, SL)                              \
  }
  if (!edges || (!first && !last)) {
    const int64_t k0 = 0, k1 = K4;
    WINQ_KLOOP(false, false)
  } else {
    // Runs of k-groups with the same kernel column, merged while the edge positions' flags agree.
    auto flags = [&](int64_t k) {
      const int64_t kx = (k / edges->run) % edges->kw;
      return (first && edges->left[kx] ? 1 : 0) | (last && edges->right[kx] ? 2 : 0);
    };
    for (int64_t k0 = 0; k0 < K4;) {
      const int f = flags(k0);
      int64_t k1 = std::min(K4, (k0 / edges->run + 1) * edges->run);
      while (k1 < K4 && flags(k1) == f) k1 = std::min(K4, k1 + edges->run);
      switch (f) {
        case 0: WINQ_KLOOP(false, false) break;
        case 1: WINQ_KLOOP(true, false) break;
        case 2: WINQ_KLOOP(false, true) break;
        default: WINQ_KLOOP(true, true) break;
      }
      k0 = k1;
    }
  }
#undef WINQ_KLOOP
#undef WINQ_POSITION
  // hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7]; the permute restores channel order.
  alignas(32) int32_t block[NB][8];
#define WINQ_STORE(i)                                                                     \
  if constexpr (NB > (i))                                                                 \
    _mm256_store_si256(reinterpret_cast<__m256i*>(block[i]),                              \
                       _mm256_permute4x64_epi64(_mm256_hadd_epi32((__m256i)l##i, (__m256i)h##i), _MM_SHUFFLE(3, 1, 2, 0)));
  WINQ_STORE(0) WINQ_STORE(1) WINQ_STORE(2) WINQ_STORE(3) WINQ_STORE(4) WINQ_STORE(5)
#undef WINQ_STORE
  for (int64_t c = 0; c < valid; ++c)
#pragma GCC unroll 6
    for (int i = 0; i < NB; ++i) C[c * ldc + n0 + i] = block[i][c];
}

void tile_of(int nb, int64_t valid, int64_t n0, int64_t K4, const int8_t* w, const uint8_t* a,
             const int64_t* row_off, int32_t* C, int64_t ldc, const EdgeTaps* edges, bool first, bool last) {
  switch (nb) {
    case 1: return tile<1>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    case 2: return tile<2>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    case 3: return tile<3>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    case 4: return tile<4>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    case 5: return tile<5>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    case 6: return tile<6>(valid, n0, K4, w, a, row_off, C, ldc, edges, first, last);
    default: return;
  }
}

}  // namespace

void qgemm_u8s8_k4c__avx2(WINQ_QGEMM_K4C_ARGS) {
  const auto* w = static_cast<const int8_t*>(wp);
  if (N <= 0) return;
  if (pitch == cols) cols = N, edges = nullptr;  // one dense row: tiles may cross the row ends
  if (edges && (edges->run <= 0 || edges->kw <= 0 || edges->kw > EdgeTaps::kMaxKw)) edges = nullptr;
  // A row of `cols` positions in tiles of at most kMaxNB, as even as possible
  // (8 positions as 4 + 4, not 6 + 2).
  const int64_t tiles = (cols + kMaxNB - 1) / kMaxNB, base = cols / tiles, longer = cols % tiles;
  for (int64_t r0 = 0; r0 < N; r0 += cols) {
    const uint8_t* ar = a + 4 * (r0 / cols) * pitch;  // the row's input; its outputs start at C + r0
    for (int64_t m0 = 0; m0 < M; m0 += 8) {  // half panels: rows m0 … m0 + 7
      const int8_t* wh = w + (m0 / kQPanelWide) * wstride + (m0 % kQPanelWide) * 4;
      const int64_t valid = std::min<int64_t>(8, M - m0);
      int64_t n0 = 0;
      for (int64_t t = 0; t < tiles; ++t) {
        const int nb = static_cast<int>(base + (t < longer ? 1 : 0));
        tile_of(nb, valid, n0, K4, wh, ar, row_off, C + m0 * ldc + r0, ldc, edges, t == 0, t == tiles - 1);
        n0 += nb;
      }
    }
  }
}

}  // namespace winq::kernels
