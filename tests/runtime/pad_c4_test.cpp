// pad_c4_plane (the padded 4-channel-word input of the int8 conv and Winograd
// paths) against its definition, word by word: every map width from 1 to 40
// (the narrow, short-row, 16-pixel and scalar paths), partial channel words,
// grids cut short or wider than the image, negative top offsets (a block of
// rows further down the image), flipped bytes. Guard words around the plane
// must survive.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "../../src/runtime/ops/pad_c4.hpp"

using namespace winq;

TEST(PadC4, EveryWordMatchesTheDefinition) {
  std::mt19937 rng(9182);
  for (int trial = 0; trial < 1500; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial << " (seed 9182)");
    const int64_t W = 1 + trial % 40, H = 1 + static_cast<int64_t>(rng() % 20), C = 1 + static_cast<int64_t>(rng() % 9);
    const int64_t c4 = static_cast<int64_t>(rng() % ((C + 3) / 4));
    const int64_t pt = static_cast<int64_t>(rng() % 7) - (trial % 3 == 0 ? 8 : 1) + 1;  // may be negative
    const int64_t pl = static_cast<int64_t>(rng() % 3);
    const int64_t Hp = 1 + static_cast<int64_t>(rng() % (H + 6)), Wp = std::max<int64_t>(1, W + pl + static_cast<int64_t>(rng() % 22) - 4);
    const auto border = static_cast<uint8_t>(rng());
    const bool flip = rng() % 2;
    std::vector<uint8_t> x(static_cast<size_t>(C * H * W));
    for (auto& v : x) v = static_cast<uint8_t>(rng());
    constexpr uint32_t kGuard = 0xDEADBEEF;
    std::vector<uint32_t> got(static_cast<size_t>(Hp * Wp + 32), kGuard);
    ops::pad_c4_plane(x.data(), C, c4, H, W, pt, pl, Hp, Wp, border, flip, got.data() + 16);
    const int64_t used = std::min<int64_t>(4, C - 4 * c4);
    for (int64_t iy = 0; iy < Hp; ++iy)
      for (int64_t ix = 0; ix < Wp; ++ix) {
        const int64_t y = iy - pt, xx = ix - pl;
        uint32_t want = 0;
        for (int64_t j = 0; j < used; ++j) {
          const bool inside = y >= 0 && y < H && xx >= 0 && xx < W;
          const uint8_t b = inside ? static_cast<uint8_t>(x[((4 * c4 + j) * H + y) * W + xx] ^ (flip ? 0x80 : 0)) : border;
          want |= uint32_t{b} << (8 * j);
        }
        ASSERT_EQ(got[16 + iy * Wp + ix], want) << "word (" << iy << ", " << ix << ") of " << Hp << "×" << Wp
                                                << ", image " << H << "×" << W << " at (" << pt << ", " << pl << ")";
      }
    for (int i = 0; i < 16; ++i) {
      ASSERT_EQ(got[i], kGuard) << "before the plane";
      ASSERT_EQ(got[16 + Hp * Wp + i], kGuard) << "after the plane";
    }
  }
}
