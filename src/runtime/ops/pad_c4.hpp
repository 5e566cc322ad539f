// The padded input both int8 convolution paths read (the implicit GEMM of
// qconv_packed.cpp and the Winograd input transform of qwinograd_conv.cpp):
// 4 channels per 32-bit word (byte j = channel 4·c4 + j), on a grid of Hp × Wp
// words with the image at (pt, pl).
#pragma once
#include <cstdint>

namespace winq::ops {

// Word-plane c4 of x (C planes of H×W bytes): every grid word outside the
// image holds `border` in each real channel (the activation offset: a real
// zero); channels beyond C hold 0 (their weights are 0); flip XORs 0x80 into
// each image byte (int8 → uint8). Image rows or columns beyond the grid are
// not copied (no output reads them).
void pad_c4_plane(const uint8_t* x, int64_t C, int64_t c4, int64_t H, int64_t W, int64_t pt, int64_t pl, int64_t Hp,
                  int64_t Wp, uint8_t border, bool flip, uint32_t* plane);

}  // namespace winq::ops
