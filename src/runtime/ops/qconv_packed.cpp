// The packed int8 convolution and fully connected layers. A convolution runs
// as one of two GEMM forms over blocks of output rows:
//  - implicit GEMM (stride 1): the input is copied once into a padded layout
//    with 4 channels per 32-bit word; every (channel group, ky, kx) row of the
//    GEMM is then a shifted window of that copy, read in place;
//  - im2col (strides, few channels, depthwise): the block's input windows are
//    gathered into a dense buffer first;
//  - channels in lanes (small stride-1 images, AVX-512 VNNI and AVX2): the same padded
//    input, read in place by the k4c kernel (16 output channels per vector,
//    positions broadcast one by one) output row by output row, so that no
//    padding column is computed; rows whose kernel rows reach only zero
//    padding leave those taps out, and so do a row's first and last
//    positions for the kernel columns that fall in zero padding.
// Blocks keep their activations in L2 while every weight panel passes over
// them, and are the unit of parallel work.
#include "qconv_packed.hpp"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "../../kernels/qgemm.hpp"
#include "../thread_pool.hpp"
#include "pad_c4.hpp"
#include "qconv_epilogue.hpp"
#include "scratch.hpp"
#include "winq/cpu.hpp"

namespace winq::ops {

int32_t activation_offset(DataType x, int64_t zp) { return static_cast<int32_t>(zp) + (x == DataType::s8 ? 128 : 0); }

namespace {

constexpr const char* kPackedLayout = "winq_packed_layout";  // "implicit", "im2col" or "wide"

// Rows of output positions that read the same taps: a group of consecutive
// output rows [oy0, oy1) reduces over k-groups [k0, k0 + k4s) only. The wide
// layout orders k by (ky, kx, c4), so a tap row ky that falls entirely in the
// zero padding for these output rows is a range of k-groups left out — exact
// when padding contributes nothing (activation offset 0: a uint8 input with
// zero point 0, every ReLU output).
struct RowGroup {
  int64_t oy0, oy1, k0, k4s;
};
std::vector<RowGroup> wide_row_groups(const Window& win, int64_t C4, bool padding_is_zero) {
  const int64_t OH = win.out[0], KH = win.k[0], KW = win.k[1], H = win.in[0], d = win.d[0], pt = win.pad_begin[0];
  std::vector<RowGroup> groups;
  for (int64_t oy = 0; oy < OH; ++oy) {
    int64_t lo = 0, hi = KH;
    if (padding_is_zero) {
      while (lo < KH && oy - pt + lo * d < 0) ++lo;
      while (hi > lo && oy - pt + (hi - 1) * d >= H) --hi;
    }
    const int64_t k0 = lo * KW * C4, k4s = (hi - lo) * KW * C4;
    if (!groups.empty() && groups.back().k0 == k0 && groups.back().k4s == k4s)
      groups.back().oy1 = oy + 1;
    else
      groups.push_back({oy, oy + 1, k0, k4s});
  }
  return groups;
}


// What a packed conv reads on every run besides its input: the geometry, the
// epilogue and the offsets of the kernel's k-groups. qconv_prepare computes it
// once per node when an executor is built; without that (constant folding, a
// caller that runs the op directly, another input shape) every run builds
// its own. Parsing the attributes, the row offsets and the allocations cost
// about 1 µs per conv per run, a few per cent of the shipped network.
struct PackedConvPlan {
  enum class Layout { im2col, implicit, wide };
  Shape x_shape;
  DataType x_type;
  Window win;
  Epilogue epi;
  Layout layout = Layout::im2col;
  int64_t group = 1;
  uint8_t offset = 0;  // activation_offset of x
  const Tensor* packed = nullptr;
  const int32_t* bias = nullptr;
  // implicit and wide: per k-group, the byte offset of its window in the padded input.
  std::vector<int64_t> row_off;
  std::vector<RowGroup> row_groups;  // wide
  kernels::EdgeTaps edges;           // wide
  bool any_edge = false;             // wide

  PackedConvPlan(const Node& n, const Shape& x, DataType xt, const Shape& w, const std::string& where);
};

PackedConvPlan::PackedConvPlan(const Node& n, const Shape& x, DataType xt, const Shape& w, const std::string& where)
    : x_shape(x), x_type(xt), win(make_window(n.attrs, x, {w.at(2), w.at(3)}, false, where)), epi(n, w[0], where) {
  group = n.attrs.get_int("group", 1);
  offset = static_cast<uint8_t>(activation_offset(xt, n.attrs.get_int(qattr::kXZeroPoint, 0)));
  packed = n.attrs.get_tensor(kPackedW);
  const Tensor* b = n.attrs.get_tensor(kPackedBias);
  if (!packed || !b || b->dtype() != DataType::s32 || b->numel() != w[0])
    throw Error(where + ": packed weights or packed bias missing or malformed");
  bias = b->data<int32_t>();
  layout = n.attrs.string_is(kPackedLayout, "implicit") ? Layout::implicit
           : n.attrs.string_is(kPackedLayout, "wide")   ? Layout::wide
                                                        : Layout::im2col;
  if (layout == Layout::im2col) return;
  const char* what = layout == Layout::implicit ? "implicit GEMM" : "channels in lanes";
  for (int j = 0; j < 2; ++j)
    if (win.pad_begin[j] < 0 || win.pad_end[j] < 0 || win.s[j] != 1)
      throw Error(where + ": packed for " + what + " but has a negative pad or a stride");
  if (layout == Layout::wide && !kernel_table().qgemm_k4c)
    throw Error(where + ": packed for channels in lanes, which this CPU's kernels lack");
  const int64_t C4 = (x[1] / group + 3) / 4, KH = win.k[0], KW = win.k[1], K4 = C4 * KH * KW;
  const int64_t Hp = win.in[0] + win.pad_begin[0] + win.pad_end[0], Wp = win.in[1] + win.pad_begin[1] + win.pad_end[1];
  row_off.resize(static_cast<size_t>(K4));
  for (int64_t c4 = 0; c4 < C4; ++c4)
    for (int64_t ky = 0; ky < KH; ++ky)
      for (int64_t kx = 0; kx < KW; ++kx) {
        // Implicit GEMM: k-group (c4·KH + ky)·KW + kx; channels in lanes:
        // (ky·KW + kx)·C4 + c4 (a kernel row's taps are one range). Either
        // reads word-plane c4 shifted by (ky·d, kx·d).
        const int64_t k = layout == Layout::implicit ? (c4 * KH + ky) * KW + kx : (ky * KW + kx) * C4 + c4;
        row_off[k] = 4 * (c4 * Hp * Wp + ky * win.d[0] * Wp + kx * win.d[1]);
      }
  if (layout == Layout::implicit) return;
  row_groups = wide_row_groups(win, C4, offset == 0);
  // Likewise the kernel columns that put the first or last output column in
  // the zero padding: the kernel leaves those products out.
  edges.run = C4;
  edges.kw = KW;
  if (offset == 0 && KW <= kernels::EdgeTaps::kMaxKw)
    for (int64_t kx = 0; kx < KW; ++kx) {
      edges.left[kx] = kx * win.d[1] - win.pad_begin[1] < 0;
      edges.right[kx] = (win.out[1] - 1) + kx * win.d[1] - win.pad_begin[1] >= win.in[1];
      any_edge = any_edge || edges.left[kx] || edges.right[kx];
    }
}


// Implicit GEMM needs stride 1 (so a GEMM row is a contiguous window of the
// padded input) and enough channels that rounding them up to a multiple of
// four wastes little (a 1-channel or depthwise conv would do 4× the work).
bool implicit_gemm_fits(const Node& n, int64_t Cg) {
  for (int64_t s : n.attrs.get_ints("strides", {}))
    if (s != 1) return false;
  return Cg % 4 == 0 || Cg >= 16;
}

// Channels in lanes pays where position vectors would be part empty or the
// padding columns a large share, with whole panels of 16 output channels. The
// spatial size must be known when the plan is packed. Measured limits
// (bench/RESULTS.md): with AVX-512 VNNI, images of at most 256 output
// positions (4×4 … 16×16); with AVX2, whose channels-in-lanes tile reads no
// padding column and no tap row in the padding, every ResNet-18 shape up to
// 56×56 (1.04–1.10× the row-panel kernel at 32×32 … 56×56, one thread), so up
// to 64×64 there (its accumulators hold a whole image: 1 MiB at 64 channels).
constexpr int64_t kWidePositionsVnni = 256, kWidePositionsAvx2 = 64 * 64;
bool wide_fits(const Graph& g, const Node& n, const Tensor& w) {
  const Value& xv = g.values[n.inputs[0]];
  if (!kernel_table().qgemm_k4c || !spatial_size_known(xv)) return false;
  const int64_t group = n.attrs.get_int("group", 1), Mg = w.dim(0) / group;
  if (Mg % kernels::kQPanelWide != 0 || !implicit_gemm_fits(n, w.dim(1))) return false;
  const Window win = make_window(n.attrs, xv.shape, {w.dim(2), w.dim(3)}, false, n.name);
  for (int j = 0; j < 2; ++j)
    if (win.pad_begin[j] < 0 || win.pad_end[j] < 0) return false;
  const int64_t limit = active_isa() == Isa::avx2 ? kWidePositionsAvx2 : kWidePositionsVnni;
  return win.out[0] * win.out[1] <= limit;
}

const uint8_t* as_u8(const Tensor& x) { return reinterpret_cast<const uint8_t*>(x.raw()); }
uint8_t to_u8(uint8_t v, bool flip) { return flip ? static_cast<uint8_t>(v ^ 0x80) : v; }  // int8 + 128 == bit flip

// One block of output rows [oy0, oy1): a[(k4·B + b)·4 + j] for position
// b = (oy − oy0)·OW + ox, B = (oy1 − oy0)·OW and k = 4·k4 + j = (ci·KH + ky)·KW + kx;
// padding = offset. Rows of k beyond K meet zero weights, so their content
// does not matter. Per output row, the four input rows of a k-group are
// gathered into bytes and then interleaved into one 32-bit word per position
// (4× fewer stores than a byte-wise im2col, and no branch in the inner loops).
void im2col_k4(const uint8_t* x, bool flip, int64_t channels, const Window& w, uint8_t offset, int64_t oy0,
               int64_t oy1, uint8_t* a) {
  const int64_t OW = w.out[1], H = w.in[0], W = w.in[1], B = (oy1 - oy0) * OW;
  const int64_t KK = w.k[0] * w.k[1], K = channels * KK, K4 = kernels::k4_of(K);
  const uint8_t raw_pad = flip ? static_cast<uint8_t>(offset ^ 0x80) : offset;  // padding before the flip
  const uint32_t flip_mask = flip ? 0x80808080u : 0u;
  std::vector<uint8_t> rows(static_cast<size_t>(4 * OW));
  // Valid output columns for each kx: ox in [lo, hi) reads inside the image.
  std::vector<int64_t> lo(static_cast<size_t>(w.k[1])), hi(static_cast<size_t>(w.k[1]));
  for (int64_t kx = 0; kx < w.k[1]; ++kx) {
    const int64_t off = kx * w.d[1] - w.pad_begin[1];
    int64_t l = 0, h = OW;
    while (l < OW && l * w.s[1] + off < 0) ++l;
    while (h > l && (h - 1) * w.s[1] + off >= W) --h;
    lo[kx] = l;
    hi[kx] = h;
  }
  for (int64_t k4 = 0; k4 < K4; ++k4) {
    uint32_t* dst = reinterpret_cast<uint32_t*>(a + k4 * B * 4);
    for (int64_t oy = oy0; oy < oy1; ++oy) {
      for (int64_t j = 0; j < 4; ++j) {
        uint8_t* r = rows.data() + j * OW;
        const int64_t k = 4 * k4 + j;
        if (k >= K) {
          std::fill(r, r + OW, uint8_t{0});
          continue;
        }
        const int64_t ci = k / KK, ky = (k / w.k[1]) % w.k[0], kx = k % w.k[1];
        const int64_t iy = oy * w.s[0] - w.pad_begin[0] + ky * w.d[0];
        if (iy < 0 || iy >= H) {
          std::fill(r, r + OW, raw_pad);
          continue;
        }
        const uint8_t* src = x + (ci * H + iy) * W + kx * w.d[1] - w.pad_begin[1];
        std::fill(r, r + lo[kx], raw_pad);
        if (w.s[1] == 1)
          std::copy(src + lo[kx], src + hi[kx], r + lo[kx]);
        else
          for (int64_t ox = lo[kx]; ox < hi[kx]; ++ox) r[ox] = src[ox * w.s[1]];
        std::fill(r + hi[kx], r + OW, raw_pad);
      }
      const uint8_t *r0 = rows.data(), *r1 = r0 + OW, *r2 = r1 + OW, *r3 = r2 + OW;
      uint32_t* d = dst + (oy - oy0) * OW;
      for (int64_t ox = 0; ox < OW; ++ox)
        d[ox] = (r0[ox] | (uint32_t{r1[ox]} << 8) | (uint32_t{r2[ox]} << 16) | (uint32_t{r3[ox]} << 24)) ^ flip_mask;
    }
  }
}

// Output rows per block. A block's im2col stays in L2 while every panel of
// weights passes over it, and blocks are the unit of parallel work. Among
// blocks of at most kMaxBlock positions, pick the row count that wastes the
// fewest 16-lane vector slots over the whole image (then the larger block).
int64_t rows_per_block(int64_t OH, int64_t OW) {
  constexpr int64_t kMaxBlock = 192;
  int64_t best = 1, best_vectors = INT64_MAX;
  for (int64_t rb = 1; rb <= OH && (rb == 1 || rb * OW <= kMaxBlock); ++rb) {
    int64_t vectors = 0;
    for (int64_t oy = 0; oy < OH; oy += rb) vectors += (std::min(rb, OH - oy) * OW + 15) / 16;
    if (vectors <= best_vectors) {
      best = rb;
      best_vectors = vectors;
    }
  }
  return best;
}

// Image-group x (Cg channels of H×W) into xp[ci4][Hp][Wp][4] (pad_c4.hpp).
void pad_c4(const uint8_t* x, bool flip, int64_t Cg, const Window& w, uint8_t offset, uint8_t* xp) {
  const int64_t H = w.in[0], W = w.in[1], pt = w.pad_begin[0], pl = w.pad_begin[1];
  const int64_t Hp = H + pt + w.pad_end[0], Wp = W + pl + w.pad_end[1], C4 = (Cg + 3) / 4;
  for (int64_t c4 = 0; c4 < C4; ++c4)
    pad_c4_plane(x, Cg, c4, H, W, pt, pl, Hp, Wp, offset, flip, reinterpret_cast<uint32_t*>(xp) + c4 * Hp * Wp);
}

// Rows per block for the implicit GEMM, whose block of r rows spans
// (r − 1)·Wp + OW positions of the padded grid (the Wp − OW positions between
// rows are computed and dropped). Same rule as rows_per_block, with blocks of
// up to 288 positions: measured against 192/240/336/400 (bench/RESULTS.md),
// 128@28² gains 5–10% over 192 and no shape loses.
int64_t implicit_rows_per_block(int64_t OH, int64_t OW, int64_t Wp) {
  constexpr int64_t kMaxBlock = 288;
  auto span = [&](int64_t r) { return (r - 1) * Wp + OW; };
  int64_t best = 1, best_vectors = INT64_MAX;
  for (int64_t rb = 1; rb <= OH && (rb == 1 || span(rb) <= kMaxBlock); ++rb) {
    int64_t vectors = 0;
    for (int64_t oy = 0; oy < OH; oy += rb) vectors += (span(std::min(rb, OH - oy)) + 15) / 16;
    if (vectors <= best_vectors) {
      best = rb;
      best_vectors = vectors;
    }
  }
  return best;
}

// When the best span is a single output row (a width that fills whole
// vectors, 32 or 64), its block of 16·k positions gets one epilogue call per
// channel: 32 outputs per call at 32×32, where the calls' fixed cost was a
// tenth of the layer. Dense rows keep the per-row GEMM (no padding column)
// but write the rows of a block next to each other, so that one epilogue
// call covers up to kMaxBlock positions (blocks as even as possible).
// Measured at 32×32 (bench/RESULTS.md): +7% at 1 thread, +16% at 2.
struct DenseRows {
  bool on = false;
  int64_t rows = 1;
};
DenseRows dense_rows_of(int64_t span_rows, int64_t OH, int64_t OW) {
  constexpr int64_t kMaxBlock = 288;
  if (span_rows != 1 || OH < 2 || 2 * OW > kMaxBlock) return {false, span_rows};
  const int64_t per_block = kMaxBlock / OW, blocks = (OH + per_block - 1) / per_block;
  return {true, (OH + blocks - 1) / blocks};
}

void qconv_run_implicit(RunContext& c, const PackedConvPlan& plan) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const Window& win = plan.win;
  const Epilogue& epi = plan.epi;
  const int64_t group = plan.group;
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t KH = win.k[0], KW = win.k[1], C4 = (Cg + 3) / 4, K4 = C4 * KH * KW;
  const int64_t OH = win.out[0], OW = win.out[1], P = OH * OW, HW = win.in[0] * win.in[1];
  const int64_t Hp = win.in[0] + win.pad_begin[0] + win.pad_end[0], Wp = win.in[1] + win.pad_begin[1] + win.pad_end[1];
  Tensor y = Tensor::uninitialized(epi.type, window_output_shape(win, N, M));  // every output is written
  const bool flip = x.dtype() == DataType::s8;
  const uint8_t offset = plan.offset;
  const Tensor& packed = *plan.packed;
  const int32_t* bias = plan.bias;
  const int64_t esize = kernel_table().qgemm_k4_s16 ? 2 : 1;
  const int64_t panel_bytes = K4 * kernels::kQPanel * 4 * esize;
  const int64_t panels = kernels::panels_of(Mg), group_bytes = panels * panel_bytes;
  const auto gemm = kernel_table().qgemm_k4;
  const std::vector<int64_t>& row_off = plan.row_off;
  const int64_t span_rb = implicit_rows_per_block(OH, OW, Wp);
  const DenseRows dense = dense_rows_of(span_rb, OH, OW);
  const int64_t rb = dense.rows, blocks = (OH + rb - 1) / rb;
  const int64_t span_max = dense.on ? rb * OW : (rb - 1) * Wp + OW;
  const size_t xp_size = static_cast<size_t>(C4 * Hp * Wp * 4);
  // Block b, panels [p0, p1) of image-group t, whose padded input is xp.
  auto run = [&](int64_t t, const uint8_t* xp, int64_t b, int64_t p0, int64_t p1, int32_t* acc) {
    const int64_t n = t / group, g = t % group, oy0 = b * rb, oy1 = std::min(OH, oy0 + rb);
    const int64_t m0 = g * Mg + p0 * kernels::kQPanel, m1 = std::min(g * Mg + p1 * kernels::kQPanel, (g + 1) * Mg);
    const auto* wpanels = packed.raw() + g * group_bytes + p0 * panel_bytes;
    if (dense.on) {  // one GEMM per output row into dense rows of acc, one epilogue call for the block
      const int64_t B = (oy1 - oy0) * OW;
      for (int64_t oy = oy0; oy < oy1; ++oy)
        gemm(m1 - m0, OW, K4, wpanels, xp + 4 * oy * Wp, row_off.data(), acc + (oy - oy0) * OW, B);
      for (int64_t m = m0; m < m1; ++m)
        epi.apply_packed_rows(acc + (m - m0) * B, 1, B, B, bias[m], m, y, (n * M + m) * P + oy0 * OW, B);
      return;
    }
    const int64_t B = (oy1 - oy0 - 1) * Wp + OW;
    gemm(m1 - m0, B, K4, wpanels, xp + 4 * oy0 * Wp, row_off.data(), acc, B);
    for (int64_t m = m0; m < m1; ++m)
      epi.apply_packed_rows(acc + (m - m0) * B, oy1 - oy0, OW, Wp, bias[m], m, y, (n * M + m) * P + oy0 * OW, OW);
  };
  auto pad = [&](int64_t t, uint8_t* xp) {
    const int64_t n = t / group, g = t % group;
    pad_c4(as_u8(x) + (n * C + g * Cg) * HW, flip, Cg, win, offset, xp);
  };
  const int64_t tasks = N * group;
  if (tasks >= c.threads) {
    parallel_for(tasks, c.threads, [&](int64_t b0, int64_t e0) {
      auto xp = scratch<uint8_t>(static_cast<int64_t>(xp_size));
      auto acc = scratch<int32_t>(panels * kernels::kQPanel * span_max);
      for (int64_t t = b0; t < e0; ++t) {
        pad(t, xp.get());
        for (int64_t b = 0; b < blocks; ++b) run(t, xp.get(), b, 0, panels, acc.get());
      }
    });
  } else {  // batch 1: the threads share the image, each its own output channels
    // Items are (panel range, block), panel-range-major: a thread's contiguous
    // share covers every block of its panels, so unequal blocks do not unbalance it.
    const int64_t chunks = std::min(panels, 2 * static_cast<int64_t>(c.threads));
    const int64_t per_chunk = (panels + chunks - 1) / chunks;
    for (int64_t t = 0; t < tasks; ++t) {
      parallel_for(blocks * chunks, c.threads, [&](int64_t b0, int64_t e0) {
        // Each thread pads its own copy: one copy written by one core and
        // read by the other crossed between the caches on every layer, which
        // cost as much as the second thread saved (bench/RESULTS.md).
        auto xs = scratch<uint8_t>(static_cast<int64_t>(xp_size));
        pad(t, xs.get());
        auto acc = scratch<int32_t>(per_chunk * kernels::kQPanel * span_max);
        for (int64_t i = b0; i < e0; ++i) {
          const int64_t p0 = (i / blocks) * per_chunk, p1 = std::min(panels, p0 + per_chunk);
          if (p0 < p1) run(t, xs.get(), i % blocks, p0, p1, acc.get());
        }
      });
    }
  }
  c.out[0] = std::move(y);
}

// Channels in lanes, for images of few positions (layout "wide"). The k4c
// kernel broadcasts positions one by one, so it reads the padded input
// xp[c4][Hp][Wp][4] in place output row by output row (OW positions, input
// rows Wp words apart): N = OH·OW positions exactly, none wasted on padding
// columns, and no copy of the input beyond the padded one.
void qconv_run_wide(RunContext& c, const PackedConvPlan& plan) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const Window& win = plan.win;
  const Epilogue& epi = plan.epi;
  const int64_t group = plan.group;
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t KH = win.k[0], KW = win.k[1], C4 = (Cg + 3) / 4, K4 = C4 * KH * KW;
  const int64_t OH = win.out[0], OW = win.out[1], P = OH * OW, HW = win.in[0] * win.in[1];
  const int64_t Hp = win.in[0] + win.pad_begin[0] + win.pad_end[0], Wp = win.in[1] + win.pad_begin[1] + win.pad_end[1];
  const auto gemm = kernel_table().qgemm_k4c;
  Tensor y = Tensor::uninitialized(epi.type, window_output_shape(win, N, M));  // every output is written
  const bool flip = x.dtype() == DataType::s8;
  const uint8_t offset = plan.offset;
  const Tensor& packed = *plan.packed;
  const int32_t* bias = plan.bias;
  const int64_t panels = kernels::wide_panels_of(Mg), panel_bytes = K4 * kernels::kQPanelWide * 4;
  const std::vector<int64_t>& row_off = plan.row_off;
  const std::vector<RowGroup>& row_groups = plan.row_groups;
  const kernels::EdgeTaps& edges = plan.edges;
  const bool any_edge = plan.any_edge;
  const int64_t xp_words = C4 * Hp * Wp;
  auto pad = [&](int64_t t, uint32_t* xp) {
    const int64_t n = t / group, g = t % group;
    pad_c4(as_u8(x) + (n * C + g * Cg) * HW, flip, Cg, win, offset, reinterpret_cast<uint8_t*>(xp));
  };
  // Panels [p0, p1) × output rows [r0, r1) of image-group t, row group by row
  // group; acc is Mg × P.
  auto run = [&](int64_t t, const uint32_t* xp, int64_t p0, int64_t p1, int64_t r0, int64_t r1, int32_t* acc) {
    const int64_t n = t / group, g = t % group;
    const int64_t m0 = p0 * kernels::kQPanelWide, m1 = std::min(p1 * kernels::kQPanelWide, Mg);
    const auto* wg = reinterpret_cast<const uint8_t*>(packed.raw()) + (g * panels + p0) * panel_bytes;
    for (const RowGroup& rg : row_groups) {
      const int64_t b = std::max(r0, rg.oy0), e = std::min(r1, rg.oy1);
      if (b < e)
        gemm(m1 - m0, (e - b) * OW, rg.k4s, wg + 64 * rg.k0, panel_bytes,
             reinterpret_cast<const uint8_t*>(xp + b * Wp), row_off.data() + rg.k0, OW, Wp, acc + m0 * P + b * OW, P,
             any_edge ? &edges : nullptr);
    }
    for (int64_t m = m0; m < m1; ++m)
      epi.apply_packed(acc + m * P + r0 * OW, bias[g * Mg + m], g * Mg + m, (r1 - r0) * OW, y,
                       (n * M + g * Mg + m) * P + r0 * OW);
  };
  const int64_t tasks = N * group;
  if (tasks >= c.threads) {
    parallel_for(tasks, c.threads, [&](int64_t b, int64_t e) {
      auto xp = scratch<uint32_t>(xp_words);
      auto acc = scratch<int32_t>(Mg * P);
      for (int64_t t = b; t < e; ++t) {
        pad(t, xp.get());
        run(t, xp.get(), 0, panels, 0, OH, acc.get());
      }
    });
  } else {  // batch 1: the threads share the image — pairs of panels, else blocks of output rows
    auto acc = scratch<int32_t>(Mg * P);
    const int64_t pairs = (panels + 1) / 2;
    const int64_t row_chunks = pairs >= c.threads ? 1 : std::min<int64_t>(OH, c.threads);
    const int64_t per_chunk = (OH + row_chunks - 1) / row_chunks;
    for (int64_t t = 0; t < tasks; ++t)
      parallel_for(pairs * row_chunks, c.threads, [&](int64_t b, int64_t e) {
        auto xs = scratch<uint32_t>(xp_words);  // per thread, as in qconv_run_implicit
        pad(t, xs.get());
        for (int64_t i = b; i < e; ++i) {
          const int64_t p0 = 2 * (i / row_chunks), r0 = (i % row_chunks) * per_chunk;
          if (r0 < OH) run(t, xs.get(), p0, std::min(panels, p0 + 2), r0, std::min(OH, r0 + per_chunk), acc.get());
        }
      });
  }
  c.out[0] = std::move(y);
}

}  // namespace

bool packed_for_active_kernel(const Node& n) {
  return n.attrs.has(kPackedW) && n.attrs.string_is(kPackedKernel, kernel_table().qgemm_k4_name);
}

static void qconv_run_im2col(RunContext& c, const PackedConvPlan& plan) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const Window& win = plan.win;
  const Epilogue& epi = plan.epi;
  const int64_t group = plan.group;
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t K = Cg * win.k[0] * win.k[1], K4 = kernels::k4_of(K), OH = win.out[0], OW = win.out[1];
  const int64_t P = OH * OW, HW = win.in[0] * win.in[1];
  Tensor y = Tensor::uninitialized(epi.type, window_output_shape(win, N, M));  // every output is written
  const bool flip = x.dtype() == DataType::s8;
  const uint8_t offset = plan.offset;
  const Tensor& packed = *plan.packed;
  const int32_t* bias = plan.bias;
  const int64_t esize = kernel_table().qgemm_k4_s16 ? 2 : 1;
  const int64_t group_bytes = kernels::panels_of(Mg) * K4 * kernels::kQPanel * 4 * esize;
  const int64_t panel_bytes = K4 * kernels::kQPanel * 4 * esize;
  const auto gemm = kernel_table().qgemm_k4;
  const int64_t rb = rows_per_block(OH, OW), blocks = (OH + rb - 1) / rb, panels = kernels::panels_of(Mg);
  const int64_t units = N * group * blocks;  // (image, group, block of output rows)
  const size_t a_size = static_cast<size_t>(K4 * rb * OW * 4);
  auto im2col = [&](int64_t u, uint8_t* a) {
    const int64_t t = u / blocks, oy0 = (u % blocks) * rb;
    const int64_t n = t / group, g = t % group;
    im2col_k4(as_u8(x) + (n * C + g * Cg) * HW, flip, Cg, win, offset, oy0, std::min(OH, oy0 + rb), a);
  };
  // Panels [p0, p1) of unit u over its im2col block a; acc holds (p1 − p0)·8 rows.
  auto run_panels = [&](int64_t u, const uint8_t* a, int32_t* acc, int64_t p0, int64_t p1) {
    const int64_t t = u / blocks, oy0 = (u % blocks) * rb, B = (std::min(OH, oy0 + rb) - oy0) * OW;
    const int64_t n = t / group, g = t % group;
    const int64_t m0 = g * Mg + p0 * kernels::kQPanel, m1 = std::min(g * Mg + p1 * kernels::kQPanel, (g + 1) * Mg);
    const std::vector<int64_t> row_off = kernels::dense_row_offsets(K4, B);
    gemm(m1 - m0, B, K4, packed.raw() + g * group_bytes + p0 * panel_bytes, a, row_off.data(), acc, B);
    for (int64_t m = m0; m < m1; ++m)
      epi.apply_packed(acc + (m - m0) * B, bias[m], m, B, y, (n * M + m) * P + oy0 * OW);
  };
  if (units >= c.threads || panels < 2) {
    parallel_for(units, c.threads, [&](int64_t b, int64_t e) {
      auto a = scratch<uint8_t>(static_cast<int64_t>(a_size));
      auto acc = scratch<int32_t>(panels * kernels::kQPanel * rb * OW);
      for (int64_t u = b; u < e; ++u) {
        im2col(u, a.get());
        run_panels(u, a.get(), acc.get(), 0, panels);
      }
    });
  } else {  // fewer blocks than threads (batch 1, small image): split the output channels
    // The im2col copy is the caller's alone, and the other thread reads it
    // from the caller's cache: with less than 2 Mi multiply-adds per thread
    // that cost more than it saved (the shipped network's 1×1 stride-2
    // projections, 0.5 Mi each: 7.4–10.6 µs on 1 thread, 12.1–15.8 on 2).
    constexpr int64_t kMinMacsPerThread = int64_t{2} << 20;
    const int threads = threads_for(M * K * P, c.threads, kMinMacsPerThread);
    auto a = scratch<uint8_t>(static_cast<int64_t>(a_size));
    for (int64_t u = 0; u < units; ++u) {
      im2col(u, a.get());
      parallel_for(panels, threads, [&](int64_t p0, int64_t p1) {
        auto acc = scratch<int32_t>((p1 - p0) * kernels::kQPanel * rb * OW);
        run_panels(u, a.get(), acc.get(), p0, p1);
      });
    }
  }
  c.out[0] = std::move(y);
}

void qconv_run_packed(RunContext& c) {
  const Tensor& x = c.input(0);
  const auto* plan = static_cast<const PackedConvPlan*>(c.prepared);
  std::optional<PackedConvPlan> local;  // not prepared, or prepared for another input
  if (!plan || plan->x_shape != x.shape() || plan->x_type != x.dtype())
    plan = &local.emplace(c.node, x.shape(), x.dtype(), c.input(1).shape(), c.where());
  switch (plan->layout) {
    case PackedConvPlan::Layout::implicit: return qconv_run_implicit(c, *plan);
    case PackedConvPlan::Layout::wide: return qconv_run_wide(c, *plan);
    case PackedConvPlan::Layout::im2col: return qconv_run_im2col(c, *plan);
  }
}

Prepared qconv_prepare(const Graph& g, const Node& n) {
  if (!packed_for_active_kernel(n) || n.inputs.size() < 2) return nullptr;
  const Value& xv = g.values[n.inputs[0]];
  const Value& wv = g.values[n.inputs[1]];
  if (!xv.shape_known() || xv.shape.size() != 4 || !wv.shape_known() || wv.shape.size() != 4) return nullptr;
  try {
    return std::make_shared<const PackedConvPlan>(n, xv.shape, xv.dtype, wv.shape,
                                                  fmt::format("node '{}' ({})", n.name, n.op));
  } catch (const Error&) {
    return nullptr;  // the run builds it again and reports the error where it always has
  }
}

void qgemm_run_packed(RunContext& c) {
  const Tensor& x = c.input(0);
  const int64_t N = x.dim(0), K = x.dim(1), M = c.input(1).dim(0), K4 = kernels::k4_of(K);
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, {N, M});
  const bool flip = x.dtype() == DataType::s8;
  std::vector<uint8_t> a(static_cast<size_t>(K4 * N * 4), 0);
  const uint8_t* xd = as_u8(x);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) a[((k / 4) * N + n) * 4 + k % 4] = to_u8(xd[n * K + k], flip);
  std::vector<int32_t> acc(static_cast<size_t>(M * N));
  kernel_table().qgemm_k4(M, N, K4, c.node.attrs.get_tensor(kPackedW)->raw(), a.data(),
                          kernels::dense_row_offsets(K4, N).data(), acc.data(), N);
  const int32_t* bias = c.node.attrs.get_tensor(kPackedBias)->data<int32_t>();
  for (int64_t m = 0; m < M; ++m) {
    int32_t* row = acc.data() + m * N;
    for (int64_t n = 0; n < N; ++n)  // modulo 2^32, as in apply_packed
      row[n] = static_cast<int32_t>(static_cast<uint32_t>(row[n]) + static_cast<uint32_t>(bias[m]));
    epi.apply(row, m, N, y, m, M);
  }
  if (epi.type == DataType::f32) apply_fused_activation(c.node.attrs, y.data<float>(), N * M);
  c.out[0] = std::move(y);
}

}  // namespace winq::ops

namespace winq {

std::string kernel_description(const Node& n) {
  if (n.domain != ops::qattr::kDomain) return "";
  if (n.op == "QWinogradConv") return ops::winograd_kernel_description(n);
  if (n.op != "QConv" && n.op != "QGemm") return "";
  if (!ops::packed_for_active_kernel(n)) return "reference (unpacked)";
  if (n.op == "QGemm") return "GEMM";
  const std::string layout = n.attrs.get_string(ops::kPackedLayout, "");
  return layout == "wide" ? "direct, channels in lanes" : layout == "implicit" ? "direct, implicit GEMM" : "direct, im2col";
}

void pack_int8_weights(Graph& g) {
  // Without SIMD the reference kernels run unpacked: they are the definition.
  if (active_isa() == Isa::scalar) return;
  ops::pack_winograd_weights(g);
  const KernelTable& kt = kernel_table();
  for (Node& n : g.nodes) {
    if (n.domain != ops::qattr::kDomain || (n.op != "QConv" && n.op != "QGemm")) continue;
    const Value& wv = g.values[n.inputs.at(1)];
    if (!wv.is_constant()) continue;
    const Tensor& w = wv.constant;
    const int64_t group = n.op == "QConv" ? n.attrs.get_int("group", 1) : 1;
    const int64_t M = w.dim(0), Mg = M / group, K = w.numel() / M;
    const bool wide = n.op == "QConv" && ops::wide_fits(g, n, w);
    const bool implicit = wide || (n.op == "QConv" && ops::implicit_gemm_fits(n, w.dim(1)));
    // Implicit GEMM reduces over k' = ((c4·KH + ky)·KW + kx)·4 + j for channel
    // 4·c4 + j; channels in lanes over k' = ((ky·KW + kx)·C4 + c4)·4 + j (so
    // that the taps of a kernel row are one range of k-groups).
    const int64_t KK = n.op == "QConv" ? w.dim(2) * w.dim(3) : 1, C4 = (w.dim(1) + 3) / 4;
    const int64_t Kp = implicit ? C4 * KK * 4 : K, K4 = kernels::k4_of(Kp);
    std::vector<int8_t> reordered(static_cast<size_t>(Mg * Kp));
    const int64_t per_group = wide ? kernels::wide_panels_of(Mg) * K4 * kernels::kQPanelWide * 4
                                   : kernels::panels_of(Mg) * K4 * kernels::kQPanel * 4;
    const int64_t esize = kt.qgemm_k4_s16 && !wide ? 2 : 1;
    Tensor packed(DataType::u8, {group * per_group * esize});
    for (int64_t gi = 0; gi < group; ++gi) {
      const int8_t* src = w.data<int8_t>() + gi * Mg * K;
      if (implicit) {
        std::fill(reordered.begin(), reordered.end(), int8_t{0});
        for (int64_t m = 0; m < Mg; ++m)
          for (int64_t ci = 0; ci < w.dim(1); ++ci)
            for (int64_t kk = 0; kk < KK; ++kk)
              reordered[m * Kp + (wide ? kk * C4 + ci / 4 : (ci / 4) * KK + kk) * 4 + ci % 4] =
                  src[(m * w.dim(1) + ci) * KK + kk];
        src = reordered.data();
      }
      if (wide)
        kernels::pack_weights_k4_wide(src, Mg, Kp, reinterpret_cast<int8_t*>(packed.raw()) + gi * per_group);
      else if (kt.qgemm_k4_s16)
        kernels::pack_weights_k4_s16(src, Mg, Kp, reinterpret_cast<int16_t*>(packed.raw()) + gi * per_group);
      else
        kernels::pack_weights_k4(src, Mg, Kp, reinterpret_cast<int8_t*>(packed.raw()) + gi * per_group);
    }
    n.attrs.set(ops::kPackedLayout, std::string(wide ? "wide" : implicit ? "implicit" : "im2col"));
    // Bias with the activation offset folded in: bias − offset · Σ_k W[m][k].
    const int32_t offset = ops::activation_offset(g.values[n.inputs[0]].dtype, n.attrs.get_int(ops::qattr::kXZeroPoint, 0));
    Tensor bias(DataType::s32, {M});
    for (int64_t m = 0; m < M; ++m) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += w.data<int8_t>()[m * K + k];
      const int64_t b = (n.input(2) != kNoValue ? g.values[n.inputs[2]].constant.data<int32_t>()[m] : 0) - offset * sum;
      if (b < INT32_MIN || b > INT32_MAX) throw Error(n.name + ": the folded bias does not fit int32");
      bias.data<int32_t>()[m] = static_cast<int32_t>(b);
    }
    n.attrs.set(ops::kPackedW, packed);
    n.attrs.set(ops::kPackedBias, bias);
    if (n.op == "QConv" && ops::y_type(n, n.name) != DataType::f32) {
      const ops::Epilogue epi(n, M, n.name);
      Tensor bounds(DataType::s32, {M, 2});
      for (int64_t m = 0; m < M; ++m) {
        kernels::RowRequant p = epi.row_requant(0, m);
        kernels::set_sum_bounds(p);
        bounds.data<int32_t>()[2 * m] = p.has_sum_bounds ? p.sum_lo : 1;
        bounds.data<int32_t>()[2 * m + 1] = p.has_sum_bounds ? p.sum_hi : 0;
      }
      n.attrs.set(ops::kPackedSumBounds, bounds);
    }
    n.attrs.set(ops::kPackedKernel, std::string(kt.qgemm_k4_name));
  }
}

}  // namespace winq
