// The float Winograd tile transforms: the blocked AVX2 and AVX-512 variants
// against the definition (__ref) for F(2,3), F(4,3), F(6,3), on partial blocks
// of tiles, partial last tiles and rows; float results, so the comparison is
// at 1e-5 of the largest magnitude (the variants sum in another order and with
// FMA). Writes outside the described region fail (guard values survive).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "../../src/kernels/winograd_f32.hpp"
#include "winq/cpu.hpp"
#include "winq/winograd.hpp"

using namespace winq;

namespace {

struct Variant {
  const char* name;
  kernels::WinoF32InputFn in;
  kernels::WinoF32OutputFn out;
  Isa needs;
};
const Variant kVariants[] = {
    {"avx2", kernels::wino_f32_input_row__avx2, kernels::wino_f32_output_row__avx2, Isa::avx2},
    {"avx512", kernels::wino_f32_input_row__avx512, kernels::wino_f32_output_row__avx512, Isa::avx512vnni},
};

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  double mx = 0;
  for (float v : want) mx = std::max(mx, static_cast<double>(std::fabs(v)));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_LE(std::fabs(got[i] - want[i]), 1e-5 * mx + 1e-30) << what << " at " << i << ": " << got[i] << " vs " << want[i];
}

}  // namespace

TEST(WinogradF32, BlockedVariantsMatchTheDefinition) {
  std::mt19937 rng(4242);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (const Variant& v : kVariants) {
    if (best_isa() < v.needs) {
      std::cout << "[ not run  ] wino_f32_*__" << v.name << ": this CPU lacks " << isa_name(v.needs) << "\n";
      continue;
    }
    for (int m : {2, 4, 6}) {
      const winograd::TileMatrices tm = winograd::tile_matrices(m);
      const std::vector<float> bt(tm.BT.begin(), tm.BT.end()), at(tm.AT.begin(), tm.AT.end());
      const int n = m + 2;
      for (int64_t tiles : {1, 7, 16, 17, 40}) {
        SCOPED_TRACE(testing::Message() << v.name << " F(" << m << ",3) tiles=" << tiles);
        // Input: a padded plane of n rows; V with a component stride wider than the row.
        const int64_t ws = tiles * m + 2 + 3, vstride = tiles + 5;
        std::vector<float> xp(static_cast<size_t>(n * ws));
        for (auto& f : xp) f = u(rng);
        std::vector<float> ref(static_cast<size_t>(n * n * vstride), 7.0f), got = ref;
        kernels::wino_f32_input_row__ref(m, bt.data(), xp.data(), ws, tiles, ref.data(), vstride);
        v.in(m, bt.data(), xp.data(), ws, tiles, got.data(), vstride);
        expect_close(got, ref, "input");
        // Output: products per component; partial last tile and fewer rows.
        const int64_t OW = tiles * m - (tiles % m), pstride = tiles + 3;
        for (int rows = 1; rows <= m; rows += m - 1) {
          std::vector<float> P(static_cast<size_t>(n * n * pstride));
          for (auto& f : P) f = u(rng);
          std::vector<float> yr(static_cast<size_t>(m * OW + 16), -3.0f), yg = yr;
          kernels::wino_f32_output_row__ref(m, at.data(), P.data(), pstride, tiles, 0.25f, yr.data(), OW, rows);
          v.out(m, at.data(), P.data(), pstride, tiles, 0.25f, yg.data(), OW, rows);
          expect_close(yg, yr, "output rows=" + std::to_string(rows));
        }
      }
    }
  }
}
