// winq.QWinogradConv: int8 Winograd F(m, 3) convolution (stages and bounds in
// src/winograd/lower_int8.cpp). Per block of tile rows: the input transform
// (kernels/winograd_int8.hpp) writes every component's bytes straight into the
// packed GEMM's activation layout; one int8 GEMM per component sums over the
// channels; the output transform turns each output channel's products into
// output bytes. Every stage is exact or a fixed sequence of float32
// operations, so all ISA paths and thread counts give the same bytes.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "../../kernels/qgemm.hpp"
#include "../../kernels/winograd_int8.hpp"
#include "winq/cpu.hpp"
#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "pad_c4.hpp"
#include "scratch.hpp"
#include "qlinear.hpp"
#include "window.hpp"

namespace winq::ops {

namespace {

constexpr const char* kPackedUAttr = "winq_packed_u";         // per component, pack_weights_k4 layout
constexpr const char* kPackedUSumAttr = "winq_packed_u_sum";   // int32 [n·n, M]: Σ_c U
constexpr const char* kPackedKernelAttr = "winq_packed_kernel";
constexpr const char* kPackedWideAttr = "winq_packed_wide";  // 1: packed for the channels-in-lanes kernel
// Images of fewer tiles than one 16-tile position vector run their
// per-component GEMMs with channels in lanes (F4 at 7×7 has 4 tiles). Measured
// at 1 thread (bench/RESULTS.md): F4 512@7² 472 → 878 effective GOP/s, 256@4²
// 144 → 247; but 16 and 64 tiles (whole vectors) ran 5–15% slower so.
constexpr int64_t kWideTiles = 15;
constexpr int64_t kBlockTiles = 96;  // tiles per block: two widths of the GEMM kernel (48 positions)
constexpr int64_t kOChunk = 32;      // output channels per GEMM/output-transform pass (a multiple of kQPanel)

struct PackedU {
  Tensor weights, sums;
};

// wide: for the channels-in-lanes kernel (panels of 16 output channels).
PackedU pack_u(const Tensor& u, bool wide = false) {
  const KernelTable& kt = kernel_table();
  const int64_t nn = u.dim(0), M = u.dim(1), C = u.dim(2);
  const int64_t per = wide ? kernels::wide_panels_of(M) * kernels::k4_of(C) * kernels::kQPanelWide * 4
                           : kernels::panels_of(M) * kernels::k4_of(C) * kernels::kQPanel * 4;
  PackedU r{Tensor(DataType::u8, {nn * per * (kt.qgemm_k4_s16 && !wide ? 2 : 1)}), Tensor(DataType::s32, {nn, M})};
  for (int64_t k = 0; k < nn; ++k) {
    const int8_t* src = u.data<int8_t>() + k * M * C;
    if (wide)
      kernels::pack_weights_k4_wide(src, M, C, reinterpret_cast<int8_t*>(r.weights.raw()) + k * per);
    else if (kt.qgemm_k4_s16)
      kernels::pack_weights_k4_s16(src, M, C, reinterpret_cast<int16_t*>(r.weights.raw()) + k * per);
    else
      kernels::pack_weights_k4(src, M, C, reinterpret_cast<int8_t*>(r.weights.raw()) + k * per);
    for (int64_t o = 0; o < M; ++o) {
      int32_t s = 0;
      for (int64_t c = 0; c < C; ++c) s += src[o * C + c];
      r.sums.data<int32_t>()[k * M + o] = s;
    }
  }
  return r;
}

// The 1-D variant's U [n, M, 3·C] (index ky·C + c) widened to 3 blocks of
// 4·⌈C/4⌉ (zeros for the padding channels), so that each kernel row starts on
// a word of the activation layout, then packed like the 2-D components.
PackedU pack_u_1d(const Tensor& u) {
  const int64_t n = u.dim(0), M = u.dim(1), C = u.dim(2) / 3, C4 = 4 * kernels::k4_of(C);
  Tensor wide(DataType::s8, {n, M, 3 * C4});
  for (int64_t j = 0; j < n; ++j)
    for (int64_t o = 0; o < M; ++o)
      for (int64_t ky = 0; ky < 3; ++ky)
        std::copy_n(u.data<int8_t>() + (j * M + o) * 3 * C + ky * C, C,
                    wide.data<int8_t>() + (j * M + o) * 3 * C4 + ky * C4);
  return pack_u(wide);
}

bool is_1d(const Attributes& a) { return a.get_int("one_d", 0) != 0; }

// clamp(nearbyint(v), lo, hi) for integer-valued lo ≤ hi with |lo|, |hi| < 2^21,
// without a libm call (baseline x86-64 has no rounding instruction): clamping
// to [lo − 1, hi + 1] first changes no result (nearbyint is monotonic), and
// then adding and subtracting 1.5·2^23 rounds to the nearest integer, ties to
// even, exactly as nearbyint in the default rounding mode.
inline float round_clamped(float v, float lo, float hi) {
  const float c = std::min(std::max(v, lo - 1.0f), hi + 1.0f);
  const float r = (c + 12582912.0f) - 12582912.0f;
  return std::min(std::max(r, lo), hi);
}

// Tile rows per block (at most ~kBlockTiles tiles): the fewest GEMM vectors
// (`vec` tiles each: 16 with AVX-512, 8 with AVX2, where counting 16 cost F4
// 64@56×56 4% in masked tails; a block's last vector may be part empty), then the fewest
// kernel calls (up to 3 vectors each), then the largest blocks. With fewer
// blocks than threads the threads split each block's output channels (run
// below), which splits the Winograd-domain weights between them but repeats
// the input transform or adds barriers:
// when the weights are small (≤ 256 KiB) and an even split of the tile rows
// costs no GEMM vector, a block per thread is faster (measured 2026-11-24:
// 32@32×32 F4 at 2 threads 603 vs 429 effective GOP/s; 128@28×28 F4 with its
// 590 KB of weights the other way, 2158 shared vs 1443).
int64_t winograd_rows_per_block(int64_t TH, int64_t TW, int threads, int64_t weight_bytes, int64_t vec) {
  const auto cost = [&](int64_t rb) {
    int64_t vectors = 0, calls = 0;
    for (int64_t r0 = 0; r0 < TH; r0 += rb) {
      const int64_t v = (std::min(rb, TH - r0) * TW + vec - 1) / vec;
      vectors += v;
      calls += (v + 2) / 3;
    }
    return std::pair{vectors, calls};
  };
  const int64_t max_rows = std::clamp<int64_t>((kBlockTiles + TW - 1) / TW, 1, TH);
  int64_t best = 1;
  for (int64_t rb = 2; rb <= max_rows; ++rb)
    if (cost(rb) <= cost(best)) best = rb;
  const int64_t even = (TH + threads - 1) / threads;
  if ((TH + best - 1) / best < threads && weight_bytes <= (int64_t{256} << 10) &&
      cost(even).first <= cost(best).first)
    return even;
  return best;
}

void qwinograd_infer(InferContext& c) {
  const DataType xt = c.in(0).dtype;
  if (xt != DataType::u8 && xt != DataType::s8) throw Error(c.where() + ": x must be uint8 or int8");
  const Shape& x = c.in_shape(0);
  const Shape& u = c.in_shape(1);
  if (x.size() != 4 || u.size() != 3 || u[2] != (is_1d(c.node.attrs) ? 3 : 1) * x[1])
    throw Error(fmt::format("{}: input {} does not fit the Winograd weights {}", c.where(), shape_str(x), shape_str(u)));
  Window win = make_window(c.node.attrs, x, {3, 3}, false, c.where());
  const std::string t = c.node.attrs.get_string(qattr::kYType, "");
  if (t != "uint8" && t != "int8") throw Error(c.where() + ": y_type must be uint8 or int8");
  c.set_output(0, t == "uint8" ? DataType::u8 : DataType::s8, window_output_shape(win, x[0], u[1]));
}

template <typename T>
std::vector<float> as_floats(const std::vector<T>& v) {
  return std::vector<float>(v.begin(), v.end());
}

// The component bounds of a well-formed layer: uint8 ([0, 255], stored as is)
// or int8 ([−128, 127], stored + 128), lo ≤ hi. The tile kernels rely on it
// (winograd_int8.hpp); a file that says otherwise is malformed.
bool component_bounds_fit(const std::vector<float>& lo, const std::vector<float>& hi) {
  for (size_t k = 0; k < lo.size(); ++k) {
    const bool fits = lo[k] < 0 ? lo[k] >= -128 && hi[k] <= 127 : hi[k] <= 255;
    if (!fits || lo[k] > hi[k]) return false;
  }
  return true;
}

// The output transform's contract (kernels/winograd_int8.hpp): every z_scale
// and bias is 0 or of magnitude in [2^−60, 2^60], so that the default
// transforms' products by powers of two are exact. Real plans are far inside
// (z_scale = s_U·s_V/s_y); a bias below 2^−60 output steps is taken as 0 (it
// could move a rounded output only from an exact tie).
// Input factors: one per component, or one per component and input channel
// ([k·C + c], the channel's factor folded into U when the plan was made);
// each finite and positive (a NaN would reach the byte conversion, which SIMD
// and scalar code resolve differently).
bool input_scales_fit(const std::vector<float>& v, int64_t components, int64_t C) {
  return (static_cast<int64_t>(v.size()) == components || static_cast<int64_t>(v.size()) == components * C) &&
         std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x) && x > 0; });
}

// The factor of component k for channel c, from either form.
float input_scale(const std::vector<float>& v, int64_t components, int64_t C, int64_t k, int64_t c) {
  return static_cast<int64_t>(v.size()) == components ? v[static_cast<size_t>(k)] : v[static_cast<size_t>(k * C + c)];
}

// The factors as the tile kernels take them, one word of 4 channels per call:
// [word][component][channel of the word] (WinoInputArgs::v_scale).
std::vector<float> input_scale_words(const std::vector<float>& v, int64_t components, int64_t C) {
  const int64_t K4 = kernels::k4_of(C);
  std::vector<float> words(static_cast<size_t>(K4 * components * 4));
  for (int64_t w = 0; w < K4; ++w)
    for (int64_t k = 0; k < components; ++k)
      for (int64_t ch = 0; ch < 4; ++ch)  // channels past C hold zero: any factor
        words[static_cast<size_t>((w * components + k) * 4 + ch)] = input_scale(v, components, C, k, std::min(4 * w + ch, C - 1));
  return words;
}

bool output_values_fit(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(),
                     [](float x) { return x == 0.0f || (std::fabs(x) >= 0x1p-60f && std::fabs(x) <= 0x1p60f); });
}
std::vector<float> flush_tiny(std::vector<float> v) {
  for (float& x : v)
    if (std::fabs(x) < 0x1p-60f) x = 0.0f;
  return v;
}

// A stride of an odd number of cache lines, for the component planes of the
// Winograd-domain input and of the products: the output transform loads one
// vector from each of the n² planes per tile group (the input transform
// stores to each), and planes a multiple of 4 KiB apart all fall in the same
// L1 set, 8 ways for 36 or 64 streams. 256@14² F4 has 64 words × 16 tiles,
// exactly 4 KiB; an odd number of lines spreads the planes over the 64 sets.
int64_t odd_lines(int64_t bytes) { return ((bytes + 63) / 64 | 1) * 64; }

// F(m×1, 3×3) (attribute one_d): tiles of 1 output row × m columns. For each
// block of output rows and each column component j: the row transform of every
// (kernel row ky, channel c, tile) — V = Σ_i B'ᵀ[j][i]·(x − x_zp), exact in
// int32 and float32 — requantized to a byte as in the 2-D kernels
// (q = clamp(nearbyint(fl(V·v_scale[j])), lo, hi) + v_off[j]); one int8 GEMM
// per j over 3·C; then per output channel and tile, in float32 in this order
// (this file is compiled with -ffp-contract=off):
//   z[j] = fl(float(P[j] − corr[j]) · z_scale[j·M + o])
//   Y[s] = bias + Σ_j Aᵀ[s][j] · z[j]          (j ascending)
//   y    = clamp(nearbyint(Y) + y_zp, qmin, qmax)
// Both transforms are the dispatched tile kernels with one_d set (their
// definition: kernels/ref/winograd_int8.cpp), the GEMM the dispatched int8
// kernel; all are exact against their definitions, so every ISA path gives
// the same bytes.
void qwinograd_1d_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& uq = c.input(1);
  const Attributes& at = c.node.attrs;
  const int m = static_cast<int>(at.get_int("tile", 0)), n = m + 2;
  const std::vector<int64_t> bt = at.get_ints("bt");
  const std::vector<float> a_t = at.get_floats("at_f"), vscale = at.get_floats("v_scale"),
                           zscale = at.get_floats("z_scale"), bias = at.get_floats("bias_y");
  const std::vector<float> vlo = as_floats(at.get_ints("v_qmin")), vhi = as_floats(at.get_ints("v_qmax"));
  const int64_t M = uq.dim(1), C = x.dim(1), K4 = kernels::k4_of(C), K4p = 3 * K4;
  const int32_t xzp = static_cast<int32_t>(at.get_int(qattr::kXZeroPoint, 0));
  if ((m != 2 && m != 4 && m != 6) || uq.dim(0) != n || uq.dim(2) != 3 * C ||
      static_cast<int>(bt.size()) != n * n || static_cast<int>(a_t.size()) != m * n ||
      !input_scales_fit(vscale, n, C) || static_cast<int>(vlo.size()) != n || static_cast<int>(vhi.size()) != n ||
      static_cast<int64_t>(zscale.size()) != n * M || static_cast<int64_t>(bias.size()) != M ||
      !component_bounds_fit(vlo, vhi))
    throw Error(c.where() + ": malformed Winograd attributes");
  Window win = make_window(at, x.shape(), {3, 3}, false, c.where());
  const int64_t N = x.dim(0), H = win.in[0], W = win.in[1], OH = win.out[0], OW = win.out[1];
  const int64_t TW = (OW + m - 1) / m;
  const bool yu = at.get_string(qattr::kYType, "") == "uint8";
  const bool xs = x.dtype() == DataType::s8;
  const int32_t yzp = static_cast<int32_t>(at.get_int(qattr::kYZeroPoint, 0));
  const int32_t qmin = static_cast<int32_t>(at.get_int(qattr::kQMin, yu ? 0 : -128));
  const int32_t qmax = static_cast<int32_t>(at.get_int(qattr::kQMax, yu ? 255 : 127));
  Tensor y(yu ? DataType::u8 : DataType::s8, window_output_shape(win, N, M));
  const KernelTable& kt = kernel_table();

  PackedU local;
  const Tensor* packed = at.get_tensor(kPackedUAttr);
  const Tensor* usum = at.get_tensor(kPackedUSumAttr);
  if (!packed || !usum || at.get_string(kPackedKernelAttr, "") != kt.qgemm_k4_name) {
    local = pack_u_1d(uq);
    packed = &local.weights;
    usum = &local.sums;
  }
  const int64_t comp_bytes = kernels::panels_of(M) * K4p * kernels::kQPanel * 4 * (kt.qgemm_k4_s16 ? 2 : 1);
  // corr and z_scale by output channel ([o·n + j], coef_stride 1, as the 2-D layers).
  std::vector<int32_t> voff(static_cast<size_t>(n)), corr(static_cast<size_t>(n * M));
  std::vector<float> zscale_o(static_cast<size_t>(n * M));
  for (int j = 0; j < n; ++j) {
    voff[j] = vlo[j] < 0 ? 128 : 0;
    for (int64_t o = 0; o < M; ++o) {
      corr[o * n + j] = static_cast<int32_t>(static_cast<uint32_t>(voff[j]) *
                                             static_cast<uint32_t>(usum->data<int32_t>()[j * M + o]));
      zscale_o[o * n + j] = zscale[j * M + o];
    }
  }

  // The padded input as 4-channel words (pad_c4_plane; padding is a real 0,
  // x = x_zp), Hp rows of ws words per channel word, plus the slack the SIMD
  // loads read past a row's end.
  constexpr int64_t kSlack = 64;
  const int64_t Hp = OH + 2, ws = TW * m + 2, pt = win.pad_begin[0], pl = win.pad_begin[1];
  const auto pad_byte = static_cast<uint8_t>(xzp);
  std::vector<uint8_t> xp(static_cast<size_t>((K4 * Hp * ws + kSlack) * 4), pad_byte);
  // Blocks of output rows as for the 2-D layers, and one per thread where
  // each still fills a GEMM vector: a block's threads do not share its
  // work here, so a 14×14 F4 map in one block ran on one thread (A/B, 2
  // threads, 256@14²: 890–970 → 1,600–1,660 GOP/s); 7×7 and 8×8 maps, halved,
  // left half-empty vectors and ran no faster or slower.
  const int64_t vec = active_isa() == Isa::avx2 ? 8 : 16;
  int64_t rows_per_block = winograd_rows_per_block(OH, TW, c.threads, n * M * 3 * C, vec);
  const int64_t even = (OH + c.threads - 1) / c.threads;
  if ((OH + rows_per_block - 1) / rows_per_block < c.threads && even * TW >= vec) rows_per_block = even;
  const int64_t blocks = (OH + rows_per_block - 1) / rows_per_block, Tb_max = rows_per_block * TW;

  kernels::WinoInputArgs ip;
  ip.m = m;
  const std::vector<float> btf(bt.begin(), bt.end());
  ip.bt = btf.data();
  const std::vector<float> vscale_words = input_scale_words(vscale, n, C);
  ip.v_lo = vlo.data();
  ip.v_hi = vhi.data();
  ip.v_off = voff.data();
  ip.x_signed = xs;
  ip.x_zp = xzp;
  ip.one_d = true;
  kernels::WinoOutputArgs op;
  op.m = m;
  op.at = a_t.data();
  op.y_unsigned = yu;
  op.y_zp = yzp;
  op.qmin = qmin;
  op.qmax = qmax;
  op.one_d = true;

  // V of rows_per_block + 2 padded rows: kernel row ky of output row oy
  // reads transformed row oy + ky, so each row is transformed once and the
  // GEMM reads it three times through row_off (rows may overlap).
  struct Scratch {
    std::vector<uint8_t> vb;
    std::vector<int32_t> P;
    std::vector<int64_t> row_off;
  };
  const auto scratch_of = [&] {
    return Scratch{std::vector<uint8_t>(static_cast<size_t>(n * odd_lines(K4 * (rows_per_block + 2) * TW * 4))),
                   std::vector<int32_t>(static_cast<size_t>(n * M * Tb_max)), std::vector<int64_t>(static_cast<size_t>(K4p))};
  };
  // With fewer blocks than threads and weights past L2's share (512 KiB),
  // the threads share each block: the input transform by channel words, the
  // GEMMs and the output transform by panels of output channels, so each
  // thread streams half the weights. A/B, F4×1, 2 threads: 512@7² (4.7 MB of
  // weights) 750–840 → 1,280–1,360 GOP/s, 256@4² 230–250 → 310; 128@8²
  // (295 KB) lost 8% to the extra synchronization.
  const bool shared = blocks < c.threads && n * M * 3 * C > (int64_t{512} << 10);
  // Otherwise, with fewer blocks than threads, each thread transforms the
  // block's whole input itself and runs its share of the panels: a 1-block
  // map used one thread (A/B, F4×1, 2 threads, 128@8²: 678–714 → 961–1,000
  // GOP/s; sharing as above measured the same as this on 512@7² and 256@4²).
  const bool redundant = blocks < c.threads && !shared;
  const int64_t panels = kernels::panels_of(M), panel_bytes = comp_bytes / panels;
  // Block blk: its input transform split by channel words between
  // `threads`, then output panels [pb, pe) (split between `threads` too).
  const auto run_block = [&](int64_t img, int64_t blk, int threads, int64_t pb_all, int64_t pe_all, Scratch& sc) {
    const int64_t r0 = blk * rows_per_block, r1 = std::min(OH, r0 + rows_per_block), Tb = (r1 - r0) * TW;
    const int64_t rows_v = r1 - r0 + 2, Tv = rows_v * TW;  // the block's transformed rows
    const int64_t comp_stride = odd_lines(K4 * Tv * 4);
    uint8_t* const vb = sc.vb.data();
    parallel_for(K4, threads, [&](int64_t wb, int64_t we) {
      for (int64_t w = wb; w < we; ++w) {
        kernels::WinoInputArgs word = ip;
        word.v_scale = vscale_words.data() + w * n * 4;
        kt.wino_input(word, xp.data() + (w * Hp + r0) * ws * 4, ws, TW, rows_v, vb + w * Tv * 4, comp_stride);
      }
    });
    for (int ky = 0; ky < 3; ++ky)
      for (int64_t w = 0; w < K4; ++w) sc.row_off[static_cast<size_t>(ky * K4 + w)] = (w * Tv + ky * TW) * 4;
    parallel_for(pe_all - pb_all, threads, [&](int64_t b, int64_t e) {
      const int64_t pb = pb_all + b, pe = pb_all + e;
      const int64_t o0 = pb * kernels::kQPanel, o1 = std::min(M, pe * kernels::kQPanel);
      for (int j = 0; j < n; ++j)
        kt.qgemm_k4(o1 - o0, Tb, K4p, packed->raw() + j * comp_bytes + pb * panel_bytes, vb + j * comp_stride,
                    sc.row_off.data(), sc.P.data() + (j * M + o0) * Tb, Tb);
      for (int64_t o = o0; o < o1; ++o)
        kt.wino_output(op, sc.P.data() + o * Tb, M * Tb, corr.data() + o * n, zscale_o.data() + o * n, 1, bias[o], TW, r1 - r0,
                       reinterpret_cast<uint8_t*>(y.raw()) + ((img * M + o) * OH + r0) * OW, OW, OH - r0);
    });
  };

  for (int64_t img = 0; img < N; ++img) {
    const uint8_t* src = reinterpret_cast<const uint8_t*>(x.raw()) + img * C * H * W;
    parallel_for(K4, c.threads, [&](int64_t cb, int64_t ce) {
      for (int64_t c4 = cb; c4 < ce; ++c4)
        pad_c4_plane(src, C, c4, H, W, pt, pl, Hp, ws, pad_byte, false, reinterpret_cast<uint32_t*>(xp.data()) + c4 * Hp * ws);
    });
    if (redundant) {
      parallel_for(c.threads, c.threads, [&](int64_t t, int64_t) {
        Scratch sc = scratch_of();
        for (int64_t blk = 0; blk < blocks; ++blk)
          run_block(img, blk, 1, panels * t / c.threads, panels * (t + 1) / c.threads, sc);
      });
    } else if (shared) {
      Scratch sc = scratch_of();
      for (int64_t blk = 0; blk < blocks; ++blk) run_block(img, blk, c.threads, 0, panels, sc);
    } else {
      parallel_for(blocks, c.threads, [&](int64_t b0, int64_t e0) {
        Scratch sc = scratch_of();
        for (int64_t blk = b0; blk < e0; ++blk) run_block(img, blk, 1, 0, panels, sc);
      });
    }
  }
  c.out[0] = std::move(y);
}

// What every run of a 2-D layer shares, computed once per node when the
// executor is built (OpDef::prepare), or by a run without one: the checked
// attributes, the GEMM weights, the per-component corrections and the
// kernels' arguments (which point into this object: it does not move).
struct WinoPlan {
  Shape x_shape;
  DataType x_type;
  int m = 0, n = 0, nn = 0;
  std::vector<float> bt, a_t, vscale, zscale, bias, vlo, vhi;
  std::vector<float> vscale_words;  // [word][k][channel of the word] (WinoInputArgs::v_scale, one word per call)
  std::vector<int32_t> voff;
  // The output stage's coefficients by output channel, [o·nn + k]: the
  // output kernels load a channel's from one pointer (coef_stride 1).
  std::vector<int32_t> corr_o;
  std::vector<float> zscale_o;
  int64_t M = 0, C = 0, K4 = 0, xzp = 0;
  Window win;
  int64_t N = 0, H = 0, W = 0, OH = 0, OW = 0, TH = 0, TW = 0;
  bool yu = false, wide = false;
  PackedU local;  // the weights packed here when the node carries none for the active kernel
  const Tensor* packed = nullptr;
  const Tensor* usum = nullptr;
  int64_t panel = 0, panel_bytes = 0, comp_bytes = 0;
  kernels::WinoInputArgs ip;
  kernels::WinoOutputArgs op;

  WinoPlan(const Node& node, const Shape& xs, DataType xt, const Tensor& uq, const std::string& where);
  WinoPlan(const WinoPlan&) = delete;
  WinoPlan& operator=(const WinoPlan&) = delete;
};

WinoPlan::WinoPlan(const Node& node, const Shape& xs, DataType xt, const Tensor& uq, const std::string& where)
    : x_shape(xs), x_type(xt) {
  const Attributes& at = node.attrs;
  m = static_cast<int>(at.get_int("tile", 0)), n = m + 2, nn = n * n;
  bt = as_floats(at.get_ints("bt"));
  a_t = at.get_floats("at_f");
  vscale = at.get_floats("v_scale");
  zscale = at.get_floats("z_scale");
  bias = flush_tiny(at.get_floats("bias_y"));
  vlo = as_floats(at.get_ints("v_qmin"));
  vhi = as_floats(at.get_ints("v_qmax"));
  M = uq.dim(1), C = uq.dim(2), K4 = kernels::k4_of(C), xzp = at.get_int(qattr::kXZeroPoint, 0);
  if ((m != 2 && m != 4 && m != 6) || uq.dim(0) != nn || static_cast<int>(bt.size()) != nn ||
      static_cast<int>(a_t.size()) != m * n || !input_scales_fit(vscale, nn, C) ||
      static_cast<int>(vlo.size()) != nn || static_cast<int>(vhi.size()) != nn ||
      static_cast<int64_t>(zscale.size()) != nn * M || static_cast<int64_t>(bias.size()) != M ||
      !component_bounds_fit(vlo, vhi) || !output_values_fit(zscale) || !output_values_fit(bias))
    throw Error(where + ": malformed Winograd attributes");
  win = make_window(at, xs, {3, 3}, false, where);
  N = xs[0], H = win.in[0], W = win.in[1], OH = win.out[0], OW = win.out[1];
  TH = (OH + m - 1) / m, TW = (OW + m - 1) / m;
  yu = at.get_string(qattr::kYType, "") == "uint8";
  const KernelTable& kt = kernel_table();

  // Weights packed for the active GEMM kernel (pack_int8_weights), else packed here.
  packed = at.get_tensor(kPackedUAttr);
  usum = at.get_tensor(kPackedUSumAttr);
  wide = at.get_int(kPackedWideAttr, 0) != 0 && kt.qgemm_k4c;
  if (!packed || !usum || at.get_string(kPackedKernelAttr, "") != kt.qgemm_k4_name) {
    wide = false;
    local = pack_u(uq);
    packed = &local.weights;
    usum = &local.sums;
  }
  panel = wide ? kernels::kQPanelWide : kernels::kQPanel;
  panel_bytes = K4 * panel * 4 * (kt.qgemm_k4_s16 && !wide ? 2 : 1);
  comp_bytes = (M + panel - 1) / panel * panel_bytes;

  ip.m = m;
  ip.bt = bt.data();
  vscale_words = input_scale_words(vscale, nn, C);
  ip.v_scale = vscale_words.data();
  ip.v_lo = vlo.data();
  ip.v_hi = vhi.data();
  voff.resize(static_cast<size_t>(nn));
  corr_o.resize(static_cast<size_t>(nn * M));
  zscale_o.resize(static_cast<size_t>(nn * M));
  for (int k = 0; k < nn; ++k) {
    voff[k] = vlo[k] < 0 ? 128 : 0;  // signed components reach the u8×s8 GEMM shifted by 128
    for (int64_t o = 0; o < M; ++o) {  // Σ U·(v + 128) − 128·Σ U: modulo 2^32, as the kernel sums
      corr_o[o * nn + k] = static_cast<int32_t>(static_cast<uint32_t>(voff[k]) *
                                                static_cast<uint32_t>(usum->data<int32_t>()[k * M + o]));
      zscale_o[o * nn + k] = zscale[k * M + o];
    }
  }
  ip.v_off = voff.data();
  ip.x_signed = xt == DataType::s8;
  ip.x_zp = static_cast<int32_t>(xzp);
  op.m = m;
  op.at = a_t.data();
  op.y_unsigned = yu;
  op.y_zp = static_cast<int32_t>(at.get_int(qattr::kYZeroPoint, 0));
  op.qmin = static_cast<int32_t>(at.get_int(qattr::kQMin, yu ? 0 : -128));
  op.qmax = static_cast<int32_t>(at.get_int(qattr::kQMax, yu ? 255 : 127));
}

Prepared qwinograd_prepare(const Graph& g, const Node& n) {
  if (is_1d(n.attrs) || n.inputs.size() < 2) return nullptr;
  const Value& xv = g.values[n.inputs[0]];
  const Value& uv = g.values[n.inputs[1]];
  if (!xv.shape_known() || xv.shape.size() != 4 || !uv.is_constant() || uv.constant.rank() != 3) return nullptr;
  try {
    return std::make_shared<const WinoPlan>(n, xv.shape, xv.dtype, uv.constant,
                                            fmt::format("node '{}' ({})", n.name, n.op));
  } catch (const Error&) {
    return nullptr;  // the run builds it again and reports the error where it always has
  }
}

void qwinograd_run(RunContext& c) {
  if (is_1d(c.node.attrs)) {
    qwinograd_1d_run(c);
    return;
  }
  const Tensor& x = c.input(0);
  const auto* plan = static_cast<const WinoPlan*>(c.prepared);
  std::optional<WinoPlan> local;  // not prepared, or prepared for another input
  if (!plan || plan->x_shape != x.shape() || plan->x_type != x.dtype())
    plan = &local.emplace(c.node, x.shape(), x.dtype(), c.input(1), c.where());
  const WinoPlan& wp = *plan;
  const int m = wp.m, nn = wp.nn;
  const int64_t M = wp.M, C = wp.C, K4 = wp.K4, xzp = wp.xzp;
  const Window& win = wp.win;
  const int64_t N = wp.N, H = wp.H, W = wp.W, OH = wp.OH, OW = wp.OW, TH = wp.TH, TW = wp.TW;
  const bool wide = wp.wide;
  const Tensor* const packed = wp.packed;
  const int64_t panel = wp.panel, panel_bytes = wp.panel_bytes, comp_bytes = wp.comp_bytes;
  const std::vector<int32_t>& corr_o = wp.corr_o;
  const std::vector<float>& zscale_o = wp.zscale_o;
  const std::vector<float>& bias = wp.bias;
  const kernels::WinoInputArgs& ip = wp.ip;
  const kernels::WinoOutputArgs& op = wp.op;
  Tensor y = Tensor::uninitialized(wp.yu ? DataType::u8 : DataType::s8, window_output_shape(win, N, M));
  const KernelTable& kt = kernel_table();

  // The padded input: 4-channel words on a grid that holds every tile, plus the
  // slack the SIMD loads read; padding is a real 0 (x = x_zp).
  // Rows are as wide as the tiles read (TW·m + 2 words); the SIMD loads run
  // past a row's end into the next row (lanes of no tile, never stored), and
  // past the last row into kSlack words at the end.
  constexpr int64_t kSlack = 64;
  const int64_t Hp = TH * m + 2, ws = TW * m + 2;
  const auto pad_byte = static_cast<uint8_t>(xzp);
  const int64_t pt = win.pad_begin[0], pl = win.pad_begin[1];
  // Grid rows [a, b) of image img, every channel word, to dst (plane c4 at
  // c4·(b − a)·ws words), then the slack.
  auto pad_rows = [&](int64_t img, int64_t a, int64_t b, uint8_t* dst, int threads) {
    const uint8_t* src = reinterpret_cast<const uint8_t*>(x.raw()) + img * C * H * W;
    parallel_for(K4, threads, [&](int64_t cb, int64_t ce) {
      for (int64_t c4 = cb; c4 < ce; ++c4)
        pad_c4_plane(src, C, c4, H, W, pt - a, pl, b - a, ws, pad_byte, false,
                     reinterpret_cast<uint32_t*>(dst) + c4 * (b - a) * ws);
    });
    std::fill_n(dst + K4 * (b - a) * ws * 4, kSlack * 4, pad_byte);
  };

  // Blocks of whole tile rows (about kBlockTiles tiles). Within a block, output
  // channels go in chunks: per chunk one GEMM per component, then the output
  // transform, while the chunk's products are still in cache. With fewer
  // blocks than threads, the threads split each block's output chunks
  // instead (each thread reads only its weights), each transforming the
  // input itself, or sharing that by channel words when the layer narrows.
  // Channels in lanes: the image's few tiles in one block.
  // Positions per vector of the row-panel kernel: a block whose tiles end part
  // way through a vector runs a masked tile as long as a full one.
  const int64_t vec = active_isa() == Isa::avx2 ? 8 : 16;
  const int64_t rows_per_block = wide ? TH : winograd_rows_per_block(TH, TW, c.threads, nn * M * C, vec);
  const int64_t blocks = (TH + rows_per_block - 1) / rows_per_block, Tb_max = rows_per_block * TW;
  // Shared blocks: chunks small enough that every thread gets output channels.
  const int64_t per_thread = (M + c.threads * panel - 1) / (c.threads * panel) * panel;
  const int64_t ochunk = blocks >= c.threads ? kOChunk : std::clamp<int64_t>(per_thread, panel, kOChunk);
  const int64_t chunks = (M + ochunk - 1) / ochunk;
  // Products of a chunk: per component, Mc rows of Tb (the GEMM's C), the
  // components odd_lines apart.
  const int64_t p_size = nn * odd_lines(ochunk * Tb_max * 4) / 4;
  // Fewer blocks than threads: each thread pads and transforms the whole
  // input itself and runs its share of the output chunks, so one fork and
  // join per image instead of three (pad, input transform, chunks). The
  // copies cost little where the GEMMs dominate, as they do unless the layer
  // narrows sharply (the input transform scales with C, the GEMMs with M·C;
  // it was 22% of a 1-thread 64 → 64 layer). A/B at 2 threads against the
  // three-barrier sharing (2026-12-07, Zen 5 VM, effective GOP/s): F4 64@16²
  // 676–680 → 1,072–1,152 (1 thread: 820), 128@8² 617–665 → 853, 256@14²
  // 1,780–1,794 → 2,187–2,223, 512@7² 1,421–1,488 → 1,662; F2 128@8²
  // 659–724 → 934–1,050.
  const bool redundant_input = blocks < c.threads && 2 * M >= C;
  // xb: the padded grid from tile row row0 on, planes of plane_rows rows.
  // The input transform of block blk into vb, the block's tiles split
  // between `threads` by (channel word, tile row).
  auto transform_block = [&](int64_t blk, int threads, uint8_t* vb, const uint8_t* xb, int64_t plane_rows,
                             int64_t row0) {
    const int64_t r0 = blk * rows_per_block, r1 = std::min(TH, r0 + rows_per_block), Tb = (r1 - r0) * TW;
    const int64_t comp_stride = odd_lines(K4 * Tb * 4);
    parallel_for(K4 * (r1 - r0), threads, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e;) {  // one call per channel word: its tile rows in [b, e)
        const int64_t c4 = i / (r1 - r0), tr = r0 + i % (r1 - r0), count = std::min(e - i, r1 - tr);
        kernels::WinoInputArgs word = ip;
        word.v_scale = ip.v_scale + c4 * nn * 4;
        kt.wino_input(word, xb + (c4 * plane_rows + (tr - row0) * m) * ws * 4, ws, TW, count,
                      vb + (c4 * Tb + (tr - r0) * TW) * 4, comp_stride);
        i += count;
      }
    });
  };
  // Output chunks [cb, ce) of block blk from its transformed input vb: per
  // chunk one GEMM per component into Pc, then the output transform.
  auto chunks_of_block = [&](int64_t img, int64_t blk, int64_t cb, int64_t ce, const uint8_t* vb, int32_t* Pc) {
    const int64_t r0 = blk * rows_per_block, r1 = std::min(TH, r0 + rows_per_block), Tb = (r1 - r0) * TW;
    const int64_t comp_stride = odd_lines(K4 * Tb * 4);
    const std::vector<int64_t> row_off = kernels::dense_row_offsets(K4, Tb);
    for (int64_t ch = cb; ch < ce; ++ch) {
      const int64_t o0 = ch * ochunk, Mc = std::min(ochunk, M - o0), pk = odd_lines(Mc * Tb * 4) / 4;
      for (int k = 0; k < nn; ++k) {
        const std::byte* wk = packed->raw() + k * comp_bytes + (o0 / panel) * panel_bytes;
        if (wide)
          kt.qgemm_k4c(Mc, Tb, K4, wk, panel_bytes, vb + k * comp_stride, row_off.data(), Tb, Tb, Pc + k * pk, Tb,
                       nullptr);
        else
          kt.qgemm_k4(Mc, Tb, K4, wk, vb + k * comp_stride, row_off.data(), Pc + k * pk, Tb);
      }
      for (int64_t o = o0; o < o0 + Mc; ++o)
        kt.wino_output(op, Pc + (o - o0) * Tb, pk, corr_o.data() + o * nn, zscale_o.data() + o * nn, 1, bias[o], TW, r1 - r0,
                       reinterpret_cast<uint8_t*>(y.raw()) + ((img * M + o) * OH + r0 * m) * OW, OW, OH - r0 * m);
    }
  };
  auto run_block = [&](int64_t img, int64_t blk, int threads, uint8_t* vb, int32_t* P, const uint8_t* xb,
                       int64_t plane_rows, int64_t row0) {
    transform_block(blk, threads, vb, xb, plane_rows, row0);
    parallel_for(chunks, threads, [&](int64_t b, int64_t e) {
      chunks_of_block(img, blk, b, e, vb, P + (threads > 1 ? b * p_size : 0));  // one region per thread
    });
  };
  const int64_t vb_size = nn * odd_lines(K4 * Tb_max * 4);
  if (blocks >= c.threads && c.threads > 1) {
    // A block per thread, each thread padding the rows its blocks read: a
    // copy padded by both threads crossed between their caches (as the
    // direct conv's did, bench/RESULTS.md "one padded copy per thread").
    const int64_t block_rows = rows_per_block * m + 2;
    for (int64_t img = 0; img < N; ++img)
      parallel_for(blocks, c.threads, [&](int64_t b, int64_t e) {
        // Scratch that every block overwrites before reading: no initialization.
        const auto xb = scratch<uint8_t>((K4 * block_rows * ws + kSlack) * 4);
        const auto vb = scratch<uint8_t>(vb_size);
        const auto P = scratch<int32_t>(p_size);
        for (int64_t blk = b; blk < e; ++blk) {
          const int64_t r0 = blk * rows_per_block, r1 = std::min(TH, r0 + rows_per_block);
          pad_rows(img, r0 * m, r1 * m + 2, xb.get(), 1);
          run_block(img, blk, 1, vb.get(), P.get(), xb.get(), (r1 - r0) * m + 2, r0);
        }
      });
  } else if (c.threads > 1 && redundant_input) {
    for (int64_t img = 0; img < N; ++img)
      parallel_for(c.threads, c.threads, [&](int64_t t, int64_t) {
        const auto xp = scratch<uint8_t>((K4 * Hp * ws + kSlack) * 4);
        const auto vb = scratch<uint8_t>(vb_size);
        const auto P = scratch<int32_t>(p_size);
        pad_rows(img, 0, Hp, xp.get(), 1);
        for (int64_t blk = 0; blk < blocks; ++blk) {
          transform_block(blk, 1, vb.get(), xp.get(), Hp, 0);
          chunks_of_block(img, blk, chunks * t / c.threads, chunks * (t + 1) / c.threads, vb.get(), P.get());
        }
      });
  } else {
    const auto xp = scratch<uint8_t>((K4 * Hp * ws + kSlack) * 4);
    const auto vb = scratch<uint8_t>(vb_size);
    const auto P = scratch<int32_t>(p_size * (blocks >= c.threads ? 1 : chunks));
    for (int64_t img = 0; img < N; ++img) {
      pad_rows(img, 0, Hp, xp.get(), c.threads);
      for (int64_t blk = 0; blk < blocks; ++blk) run_block(img, blk, blocks >= c.threads ? 1 : c.threads, vb.get(), P.get(), xp.get(), Hp, 0);
    }
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_qwinograd_ops(OpTable& t) { t.push_back({"winq.QWinogradConv", {qwinograd_infer, qwinograd_run, qwinograd_prepare}}); }

namespace {
// Channels in lanes for a 2-D layer: the kernel exists, whole panels of 16
// output channels, and an image of at most kWideTiles tiles (its size known
// when the plan is packed).
bool wide_winograd_fits(const Graph& g, const Node& n, int64_t M) {
  const Value& xv = g.values[n.inputs[0]];
  if (!kernel_table().qgemm_k4c || M % kernels::kQPanelWide != 0 || !spatial_size_known(xv))
    return false;
  const int64_t m = n.attrs.get_int("tile", 0);
  if (m < 1) return false;
  const Window win = make_window(n.attrs, xv.shape, {3, 3}, false, n.name);
  return ((win.out[0] + m - 1) / m) * ((win.out[1] + m - 1) / m) <= kWideTiles;
}
}  // namespace

std::string winograd_kernel_description(const Node& n) {
  const int64_t m = n.attrs.get_int("tile", 0);
  const std::string tile = is_1d(n.attrs) ? fmt::format("Winograd F({}×1,3×3)", m) : fmt::format("Winograd F({},3)", m);
  if (!n.attrs.has(kPackedUAttr) || n.attrs.get_string(kPackedKernelAttr, "") != kernel_table().qgemm_k4_name)
    return tile + ", packed at run time";
  return tile + (n.attrs.get_int(kPackedWideAttr, 0) && kernel_table().qgemm_k4c ? ", channels in lanes" : "");
}

// Packs U of every winq.QWinogradConv for the active int8 GEMM kernel.
void pack_winograd_weights(Graph& g) {
  for (Node& n : g.nodes) {
    if (n.domain != qattr::kDomain || n.op != "QWinogradConv") continue;
    const Value& uv = g.values[n.inputs.at(1)];
    if (!uv.is_constant()) continue;
    const bool wide = !is_1d(n.attrs) && wide_winograd_fits(g, n, uv.constant.dim(1));
    PackedU p = is_1d(n.attrs) ? pack_u_1d(uv.constant) : pack_u(uv.constant, wide);
    n.attrs.set(kPackedWideAttr, int64_t{wide});
    n.attrs.set(kPackedUAttr, p.weights);
    n.attrs.set(kPackedUSumAttr, p.sums);
    n.attrs.set(kPackedKernelAttr, std::string(kernel_table().qgemm_k4_name));
  }
}

}  // namespace winq::ops
