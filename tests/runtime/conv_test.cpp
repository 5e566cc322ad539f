// Float Conv against a float64 direct convolution. Tolerance: |y − ref| ≤
// 1e-5·(1 + Σ|x·w|) per output (float accumulation over K = C/g·KH·KW terms).
#include <gtest/gtest.h>

#include <cmath>

#include "../test_util.hpp"
#include "winq/runtime.hpp"

using namespace winq;
using winq::test::GraphBuilder;
using winq::test::random_tensor;

namespace {

struct ConvCase {
  int64_t n, c, h, w, m, k, stride, pad, dil, group;
  int threads;
};

void check_conv(const ConvCase& p, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "N" << p.n << " C" << p.c << " " << p.h << "x" << p.w << " M" << p.m << " k"
                                  << p.k << " s" << p.stride << " p" << p.pad << " d" << p.dil << " g" << p.group
                                  << " threads " << p.threads << " seed " << seed);
  GraphBuilder b;
  ValueId x = b.input("x", {p.n, p.c, p.h, p.w});
  Tensor w = random_tensor({p.m, p.c / p.group, p.k, p.k}, seed);
  Tensor bias = random_tensor({p.m}, seed + 1);
  Attributes a;
  a.set("strides", std::vector<int64_t>{p.stride, p.stride});
  a.set("pads", std::vector<int64_t>{p.pad, p.pad, p.pad, p.pad});
  a.set("dilations", std::vector<int64_t>{p.dil, p.dil});
  a.set("group", p.group);
  b.output(b.node("Conv", {x, b.constant("w", w), b.constant("b", bias)}, "y", a));
  Tensor xin = random_tensor({p.n, p.c, p.h, p.w}, seed + 2);
  Tensor y = FloatExecutor(prepare(b.g), p.threads).run({xin})[0];
  const int64_t OH = (p.h + 2 * p.pad - (p.k - 1) * p.dil - 1) / p.stride + 1;
  const int64_t OW = (p.w + 2 * p.pad - (p.k - 1) * p.dil - 1) / p.stride + 1;
  ASSERT_EQ(y.shape(), (Shape{p.n, p.m, OH, OW}));
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double ref = bias.data<float>()[m], mag = std::abs(ref);
          const int64_t g = m / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < p.k; ++ky)
              for (int64_t kx = 0; kx < p.k; ++kx) {
                const int64_t iy = oy * p.stride - p.pad + ky * p.dil, ix = ox * p.stride - p.pad + kx * p.dil;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                const double t = static_cast<double>(xin.data<float>()[((n * p.c + g * cg + ci) * p.h + iy) * p.w + ix]) *
                                 w.data<float>()[((m * cg + ci) * p.k + ky) * p.k + kx];
                ref += t;
                mag += std::abs(t);
              }
          const float got = y.data<float>()[((n * p.m + m) * OH + oy) * OW + ox];
          ASSERT_NEAR(got, ref, 1e-5 * (1 + mag)) << "at n=" << n << " m=" << m << " y=" << oy << " x=" << ox;
        }
}

}  // namespace

TEST(FloatConv, MatchesFloat64DirectConvolution) {
  const ConvCase cases[] = {
      {1, 3, 8, 8, 4, 3, 1, 1, 1, 1, 1},    {2, 4, 7, 9, 6, 3, 2, 1, 1, 1, 2},   {1, 8, 6, 6, 8, 3, 1, 1, 1, 8, 1},
      {1, 8, 10, 10, 16, 3, 1, 2, 2, 2, 2}, {3, 5, 5, 5, 7, 1, 1, 0, 1, 1, 2},   {1, 16, 9, 9, 40, 3, 1, 1, 1, 1, 2},
      {1, 6, 11, 11, 6, 5, 3, 2, 1, 3, 1},  {1, 64, 8, 8, 64, 3, 1, 1, 1, 1, 2},
  };
  uint32_t seed = 100;
  for (const auto& c : cases) check_conv(c, seed += 10);
}

// MaxPool on 8-bit integers equals MaxPool on the same values in float, for
// the 2×2 stride-2 fast path (odd sizes leave a row and a column unread; rows
// shorter and longer than its 8-output step) and the general walk (3×3 with
// padding), for uint8 and int8 at the ends of their ranges.
TEST(IntMaxPool, EqualsFloatMaxPool) {
  std::mt19937 rng(31);
  struct Case {
    int64_t h, w;
    std::vector<int64_t> k, s, pads;
  };
  const Case cases[] = {{8, 8, {2, 2}, {2, 2}, {0, 0, 0, 0}}, {7, 35, {2, 2}, {2, 2}, {0, 0, 0, 0}},
                        {32, 32, {2, 2}, {2, 2}, {0, 0, 0, 0}}, {3, 3, {2, 2}, {2, 2}, {0, 0, 0, 0}},
                        {9, 11, {3, 3}, {2, 2}, {1, 1, 1, 1}}};
  for (const DataType t : {DataType::u8, DataType::s8})
    for (const Case& cs : cases) {
      SCOPED_TRACE(testing::Message() << (t == DataType::u8 ? "uint8 " : "int8 ") << cs.h << "×" << cs.w << " k" << cs.k[0]);
      Attributes a;
      a.set("kernel_shape", cs.k);
      a.set("strides", cs.s);
      a.set("pads", cs.pads);
      auto run = [&](DataType dt, const Tensor& x) {
        GraphBuilder b;
        const ValueId in = b.input("x", x.shape());
        b.g.values[in].dtype = dt;
        b.output(b.node("MaxPool", {in}, "y", a));
        return FloatExecutor(prepare(b.g), 2).run({x})[0];
      };
      Tensor xq(t, {2, 3, cs.h, cs.w});
      Tensor xf(DataType::f32, xq.shape());
      for (int64_t i = 0; i < xq.numel(); ++i) {
        const uint32_t r = rng();
        const uint8_t byte = r % 5 == 0 ? (r & 8 ? 0x80 : 0x7F) : r % 7 == 0 ? (r & 8 ? 0x00 : 0xFF) : static_cast<uint8_t>(r >> 8);
        reinterpret_cast<uint8_t*>(xq.raw())[i] = byte;
        xf.data<float>()[i] = t == DataType::u8 ? static_cast<float>(byte) : static_cast<float>(static_cast<int8_t>(byte));
      }
      const Tensor yq = run(t, xq), yf = run(DataType::f32, xf);
      ASSERT_EQ(yq.shape(), yf.shape());
      for (int64_t i = 0; i < yq.numel(); ++i) {
        const uint8_t byte = reinterpret_cast<const uint8_t*>(yq.raw())[i];
        const float v = t == DataType::u8 ? static_cast<float>(byte) : static_cast<float>(static_cast<int8_t>(byte));
        ASSERT_EQ(v, yf.data<float>()[i]) << "at " << i;
      }
    }
}
