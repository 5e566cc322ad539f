// winq.QConv and winq.QGemm: integer convolution and fully connected layers
// (see qlinear.hpp for the contract). Conv lowers each (image, group) to one
// integer GEMM over an im2col buffer of zero-point-corrected activations.
#include <algorithm>
#include <vector>

#include "../../kernels/qgemm.hpp"
#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "qlinear.hpp"
#include "window.hpp"
#include "winq/cpu.hpp"
#include "winq/requantize.hpp"

namespace winq::ops {

constexpr const char* kPackedW = "winq_packed_w";
constexpr const char* kPackedBias = "winq_packed_bias";
constexpr const char* kPackedKernel = "winq_packed_kernel";

// The u8 value that stands for a real 0: activations enter the kernels as
// u8 = x (uint8) or x + 128 (int8), so Σ W·(x − zp) = Σ W·u − offset·Σ W.
int32_t activation_offset(DataType x, int64_t zp) { return static_cast<int32_t>(zp) + (x == DataType::s8 ? 128 : 0); }

namespace {

DataType y_type(const Node& n, const std::string& where) {
  const std::string t = n.attrs.get_string(qattr::kYType, "");
  if (t == "uint8") return DataType::u8;
  if (t == "int8") return DataType::s8;
  if (t == "float") return DataType::f32;
  throw Error(where + ": y_type must be uint8, int8 or float");
}

// The per-output-channel epilogue: requantize (or scale to float) one row of accumulators.
struct Epilogue {
  DataType type;
  std::vector<Requant> rq;
  std::vector<float> scale;
  int32_t zp = 0, qmin = 0, qmax = 0;
  const Attributes* attrs = nullptr;

  Epilogue(const Node& n, int64_t channels, const std::string& where) : type(y_type(n, where)), attrs(&n.attrs) {
    if (type == DataType::f32) {
      scale = n.attrs.get_floats(qattr::kYScale);
      if (static_cast<int64_t>(scale.size()) != channels) throw Error(where + ": y_scale needs one value per channel");
      return;
    }
    auto m = n.attrs.get_ints(qattr::kMultiplier), s = n.attrs.get_ints(qattr::kShift);
    if (static_cast<int64_t>(m.size()) != channels || s.size() != m.size())
      throw Error(where + ": multiplier and shift need one value per channel");
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] < 0 || m[i] >= (int64_t{1} << 31) || s[i] < 1 || s[i] > 62)
        throw Error(where + ": requantization multiplier or shift out of range");
      rq.push_back({static_cast<int32_t>(m[i]), static_cast<int>(s[i])});
    }
    zp = static_cast<int32_t>(n.attrs.get_int(qattr::kYZeroPoint, 0));
    qmin = static_cast<int32_t>(n.attrs.get_int(qattr::kQMin, type == DataType::u8 ? 0 : -128));
    qmax = static_cast<int32_t>(n.attrs.get_int(qattr::kQMax, type == DataType::u8 ? 255 : 127));
  }

  // Row `channel` of `count` accumulators into y (element offset `at`).
  void apply(const int32_t* acc, int64_t channel, int64_t count, Tensor& y, int64_t at, int64_t stride) const {
    if (type == DataType::f32) {
      float* o = y.data<float>() + at;
      for (int64_t i = 0; i < count; ++i)
        o[i * stride] = static_cast<float>(static_cast<double>(acc[i]) * scale[channel]);
      if (stride == 1) apply_fused_activation(*attrs, o, count);
      return;
    }
    const Requant r = rq[channel];
    if (type == DataType::u8) {
      uint8_t* o = y.data<uint8_t>() + at;
      for (int64_t i = 0; i < count; ++i) o[i * stride] = static_cast<uint8_t>(requantize_with_zp(acc[i], r));
    } else {
      int8_t* o = y.data<int8_t>() + at;
      for (int64_t i = 0; i < count; ++i) o[i * stride] = static_cast<int8_t>(requantize_with_zp(acc[i], r));
    }
  }
  // A row of packed-kernel accumulators plus the folded bias (modulo 2^32: see requantize_row).
  void apply_packed(int32_t* acc, int32_t bias, int64_t channel, int64_t count, Tensor& y, int64_t at) const {
    if (type == DataType::f32) {
      for (int64_t i = 0; i < count; ++i)
        acc[i] = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) + static_cast<uint32_t>(bias));
      apply(acc, channel, count, y, at, 1);
      return;
    }
    const kernels::RowRequant p{bias, rq[channel], zp, qmin, qmax, type == DataType::u8};
    kernel_table().requantize_row(acc, count, p, type == DataType::u8 ? static_cast<void*>(y.data<uint8_t>() + at)
                                                                     : static_cast<void*>(y.data<int8_t>() + at));
  }
  int32_t requantize_with_zp(int32_t acc, Requant r) const {
    return std::clamp(requantize(acc, r, INT32_MIN / 2, INT32_MAX / 2) + zp, qmin, qmax);
  }
};

// Activations minus their zero point, as int16, for any input type.
void widen(const Tensor& x, int64_t zp, std::vector<int16_t>& out) {
  out.resize(static_cast<size_t>(x.numel()));
  if (x.dtype() == DataType::u8) {
    const uint8_t* d = x.data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<int16_t>(d[i] - zp);
  } else {
    const int8_t* d = x.data<int8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<int16_t>(d[i] - zp);
  }
}

void check_quantized_inputs(InferContext& c) {
  const DataType xt = c.in(0).dtype;
  if (xt != DataType::u8 && xt != DataType::s8) throw Error(c.where() + ": x must be uint8 or int8");
  if (c.in(1).dtype != DataType::s8) throw Error(c.where() + ": weights must be int8");
  if (c.has_input(2) && c.in(2).dtype != DataType::s32) throw Error(c.where() + ": bias must be int32");
}

void qconv_infer(InferContext& c) {
  check_quantized_inputs(c);
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  if (x.size() != 4 || w.size() != 4 || x[1] != w[1] * group || w[0] % group != 0)
    throw Error(fmt::format("{}: input {} does not fit weight {} with group {}", c.where(), shape_str(x),
                            shape_str(w), group));
  Window win = make_window(c.node.attrs, x, {w[2], w[3]}, false, c.where());
  c.set_output(0, y_type(c.node, c.where()), window_output_shape(win, x[0], w[0]));
}

// col[(ci·KH + ky)·KW + kx][oy·OW + ox]; padding contributes x − zp = 0.
void im2col_s16(const int16_t* x, int64_t channels, const Window& w, int16_t* col) {
  const int64_t OH = w.out[0], OW = w.out[1], H = w.in[0], W = w.in[1];
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t ky = 0; ky < w.k[0]; ++ky)
      for (int64_t kx = 0; kx < w.k[1]; ++kx) {
        int16_t* dst = col + ((ci * w.k[0] + ky) * w.k[1] + kx) * OH * OW;
        for (int64_t oy = 0; oy < OH; ++oy) {
          const int64_t iy = oy * w.s[0] - w.pad_begin[0] + ky * w.d[0];
          for (int64_t ox = 0; ox < OW; ++ox) {
            const int64_t ix = ox * w.s[1] - w.pad_begin[1] + kx * w.d[1];
            dst[oy * OW + ox] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? x[(ci * H + iy) * W + ix] : int16_t{0};
          }
        }
      }
}

// ---- the packed path (pack_int8_weights prepared the node for the active kernel) ----

const uint8_t* as_u8(const Tensor& x) { return reinterpret_cast<const uint8_t*>(x.raw()); }
uint8_t to_u8(uint8_t v, bool flip) { return flip ? static_cast<uint8_t>(v ^ 0x80) : v; }  // int8 + 128 == bit flip

// a[(k4·P + p)·4 + j] for k = 4·k4 + j = (ci·KH + ky)·KW + kx; padding = offset.
// Rows of k beyond K meet zero weights, so their content does not matter.
// Per output row, the four input rows of a k-group are gathered into bytes and
// then interleaved into one 32-bit word per position (4× fewer stores than a
// byte-wise im2col, and no branch in the inner loops).
void im2col_k4(const uint8_t* x, bool flip, int64_t channels, const Window& w, uint8_t offset, uint8_t* a) {
  const int64_t OH = w.out[0], OW = w.out[1], H = w.in[0], W = w.in[1], P = OH * OW;
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
    uint32_t* dst = reinterpret_cast<uint32_t*>(a + k4 * P * 4);
    for (int64_t oy = 0; oy < OH; ++oy) {
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
      uint32_t* d = dst + oy * OW;
      for (int64_t ox = 0; ox < OW; ++ox)
        d[ox] = (r0[ox] | (uint32_t{r1[ox]} << 8) | (uint32_t{r2[ox]} << 16) | (uint32_t{r3[ox]} << 24)) ^ flip_mask;
    }
  }
}

bool packed_for_active_kernel(const Node& n) {
  return n.attrs.has(kPackedW) && n.attrs.get_string(kPackedKernel, "") == kernel_table().qgemm_k4_name;
}

void qconv_run_packed(RunContext& c, const Window& win) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t K = Cg * win.k[0] * win.k[1], K4 = kernels::k4_of(K), P = win.out[0] * win.out[1];
  const int64_t HW = win.in[0] * win.in[1];
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, window_output_shape(win, N, M));
  const bool flip = x.dtype() == DataType::s8;
  const auto offset = static_cast<uint8_t>(activation_offset(x.dtype(), c.node.attrs.get_int(qattr::kXZeroPoint, 0)));
  const Tensor& packed = *c.node.attrs.get_tensor(kPackedW);
  const int32_t* bias = c.node.attrs.get_tensor(kPackedBias)->data<int32_t>();
  const int64_t esize = kernel_table().qgemm_k4_s16 ? 2 : 1;
  const int64_t group_bytes = kernels::panels_of(Mg) * K4 * kernels::kQPanel * 4 * esize;
  const int64_t panel_bytes = K4 * kernels::kQPanel * 4 * esize;
  const auto gemm = kernel_table().qgemm_k4;
  const int64_t tasks = N * group;
  auto run_block = [&](int64_t t, uint8_t* a, int32_t* acc, int64_t p0, int64_t p1) {
    const int64_t n = t / group, g = t % group;
    const int64_t m0 = g * Mg + p0 * kernels::kQPanel, m1 = std::min(g * Mg + p1 * kernels::kQPanel, (g + 1) * Mg);
    gemm(m1 - m0, P, K4, packed.raw() + g * group_bytes + p0 * panel_bytes, a, acc, P);
    for (int64_t m = m0; m < m1; ++m) epi.apply_packed(acc + (m - m0) * P, bias[m], m, P, y, (n * M + m) * P);
  };
  const int64_t panels = kernels::panels_of(Mg);
  if (tasks >= c.threads || panels < 2) {
    parallel_for(tasks, c.threads, [&](int64_t b, int64_t e) {
      std::vector<uint8_t> a(static_cast<size_t>(K4 * P * 4));
      std::vector<int32_t> acc(static_cast<size_t>(panels * kernels::kQPanel * P));
      for (int64_t t = b; t < e; ++t) {
        const int64_t n = t / group, g = t % group;
        im2col_k4(as_u8(x) + (n * C + g * Cg) * HW, flip, Cg, win, offset, a.data());
        run_block(t, a.data(), acc.data(), 0, panels);
      }
    });
  } else {  // few images: split the output channels
    std::vector<uint8_t> a(static_cast<size_t>(K4 * P * 4));
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t n = t / group, g = t % group;
      im2col_k4(as_u8(x) + (n * C + g * Cg) * HW, flip, Cg, win, offset, a.data());
      parallel_for(panels, c.threads, [&](int64_t p0, int64_t p1) {
        std::vector<int32_t> acc(static_cast<size_t>((p1 - p0) * kernels::kQPanel * P));
        run_block(t, a.data(), acc.data(), p0, p1);
      });
    }
  }
  c.out[0] = std::move(y);
}

void qconv_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  Window win = make_window(c.node.attrs, x.shape(), {w.dim(2), w.dim(3)}, false, c.where());
  if (packed_for_active_kernel(c.node)) return qconv_run_packed(c, win);
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0), Cg = C / group, Mg = M / group;
  const int64_t K = Cg * win.k[0] * win.k[1], P = win.out[0] * win.out[1], HW = win.in[0] * win.in[1];
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, window_output_shape(win, N, M));
  std::vector<int16_t> xs;
  widen(x, c.node.attrs.get_int(qattr::kXZeroPoint, 0), xs);
  const int8_t* wd = w.data<int8_t>();
  const int32_t* bias = c.has_input(2) ? c.input(2).data<int32_t>() : nullptr;
  parallel_for(N * group, c.threads, [&](int64_t b, int64_t e) {
    std::vector<int16_t> col(static_cast<size_t>(K * P));
    std::vector<int32_t> acc(static_cast<size_t>(Mg * P));
    for (int64_t t = b; t < e; ++t) {
      const int64_t n = t / group, g = t % group;
      im2col_s16(xs.data() + (n * C + g * Cg) * HW, Cg, win, col.data());
      kernels::qgemm_s8s16__ref(Mg, P, K, wd + g * Mg * K, K, col.data(), P, acc.data(), P);
      for (int64_t m = 0; m < Mg; ++m) {
        int32_t* row = acc.data() + m * P;
        if (bias)
          for (int64_t p = 0; p < P; ++p) row[p] += bias[g * Mg + m];
        epi.apply(row, g * Mg + m, P, y, (n * M + g * Mg + m) * P, 1);
      }
    }
  });
  c.out[0] = std::move(y);
}

void qgemm_infer(InferContext& c) {
  check_quantized_inputs(c);
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  if (x.size() != 2 || w.size() != 2 || x[1] != w[1])
    throw Error(fmt::format("{}: input {} does not fit weight {}", c.where(), shape_str(x), shape_str(w)));
  c.set_output(0, y_type(c.node, c.where()), {x[0], w[0]});
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
  kernel_table().qgemm_k4(M, N, K4, c.node.attrs.get_tensor(kPackedW)->raw(), a.data(), acc.data(), N);
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

void qgemm_run(RunContext& c) {
  if (packed_for_active_kernel(c.node)) return qgemm_run_packed(c);
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  const Epilogue epi(c.node, M, c.where());
  Tensor y(epi.type, {N, M});
  std::vector<int16_t> xs, xt(static_cast<size_t>(K * N));
  widen(x, c.node.attrs.get_int(qattr::kXZeroPoint, 0), xs);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) xt[k * N + n] = xs[n * K + k];
  std::vector<int32_t> acc(static_cast<size_t>(M * N));
  kernels::qgemm_s8s16__ref(M, N, K, w.data<int8_t>(), K, xt.data(), N, acc.data(), N);
  const int32_t* bias = c.has_input(2) ? c.input(2).data<int32_t>() : nullptr;
  for (int64_t m = 0; m < M; ++m) {
    int32_t* row = acc.data() + m * N;
    if (bias)
      for (int64_t n = 0; n < N; ++n) row[n] += bias[m];
    epi.apply(row, m, N, y, m, M);  // column m of y
  }
  if (epi.type == DataType::f32) apply_fused_activation(c.node.attrs, y.data<float>(), N * M);
  c.out[0] = std::move(y);
}

}  // namespace

void register_qconv_ops(OpTable& t) {
  t.push_back({"winq.QConv", {qconv_infer, qconv_run}});
  t.push_back({"winq.QGemm", {qgemm_infer, qgemm_run}});
}

}  // namespace winq::ops

namespace winq {

void pack_int8_weights(Graph& g) {
  // Without SIMD the reference kernels run unpacked: they are the definition.
  if (active_isa() == Isa::scalar) return;
  const KernelTable& kt = kernel_table();
  for (Node& n : g.nodes) {
    if (n.domain != ops::qattr::kDomain || (n.op != "QConv" && n.op != "QGemm")) continue;
    const Value& wv = g.values[n.inputs.at(1)];
    if (!wv.is_constant()) continue;
    const Tensor& w = wv.constant;
    const int64_t group = n.op == "QConv" ? n.attrs.get_int("group", 1) : 1;
    const int64_t M = w.dim(0), Mg = M / group, K = w.numel() / M, K4 = kernels::k4_of(K);
    const int64_t per_group = kernels::panels_of(Mg) * K4 * kernels::kQPanel * 4;
    const int64_t esize = kt.qgemm_k4_s16 ? 2 : 1;
    Tensor packed(DataType::u8, {group * per_group * esize});
    for (int64_t gi = 0; gi < group; ++gi) {
      const int8_t* src = w.data<int8_t>() + gi * Mg * K;
      if (kt.qgemm_k4_s16)
        kernels::pack_weights_k4_s16(src, Mg, K, reinterpret_cast<int16_t*>(packed.raw()) + gi * per_group);
      else
        kernels::pack_weights_k4(src, Mg, K, reinterpret_cast<int8_t*>(packed.raw()) + gi * per_group);
    }
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
    n.attrs.set(ops::kPackedKernel, std::string(kt.qgemm_k4_name));
  }
}

}  // namespace winq
