// Conv and ConvTranspose in float. Conv lowers each (image, group) to one GEMM
// over an im2col buffer: Y[M/g × OH·OW] = W[M/g × C/g·KH·KW] · col.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "window.hpp"
#include "winq/winograd.hpp"

namespace winq::ops {

void apply_fused_activation(const Attributes& a, float* y, int64_t n) {
  const std::string act = a.get_string(kFusedActivation, "");
  if (act.empty()) return;
  float lo = 0.0f, hi = std::numeric_limits<float>::infinity();
  if (act == "Clip") {
    lo = a.get_float(kFusedMin, -std::numeric_limits<float>::infinity());
    hi = a.get_float(kFusedMax, std::numeric_limits<float>::infinity());
  }
  for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], lo), hi);
}

namespace {

std::vector<int64_t> kernel_of(const Attributes& a, const Shape& w, const std::string& where) {
  std::vector<int64_t> k(w.begin() + 2, w.end());
  auto declared = a.get_ints("kernel_shape", k);
  if (declared != k) throw Error(where + ": kernel_shape does not match the weight shape");
  return k;
}

void conv_infer(InferContext& c) {
  if (winograd::has_learned_transforms(c.node)) return learned_winograd_conv_infer(c);
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  if (x.size() != w.size() || x.size() < 3)
    throw Error(fmt::format("{}: input {} and weight {} ranks do not fit", c.where(), shape_str(x), shape_str(w)));
  const int64_t group = c.node.attrs.get_int("group", 1);
  if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1])
    throw Error(fmt::format("{}: input channels {} do not fit weight {} with group {}", c.where(), x[1],
                            shape_str(w), group));
  if (c.has_input(2) && c.in_shape(2) != Shape{w[0]})
    throw Error(fmt::format("{}: bias shape {} should be [{}]", c.where(), shape_str(c.in_shape(2)), w[0]));
  Window win = make_window(c.node.attrs, x, kernel_of(c.node.attrs, w, c.where()), false, c.where());
  c.set_output(0, DataType::f32, window_output_shape(win, x[0], w[0]));
}

// col[(ci·KH + ky)·KW + kx][oy·OW + ox] for one image and one group.
void im2col(const float* x, int64_t channels, const Window& w, float* col) {
  const int64_t OH = w.out[0], OW = w.out[1], H = w.in[0], W = w.in[1];
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t ky = 0; ky < w.k[0]; ++ky)
      for (int64_t kx = 0; kx < w.k[1]; ++kx) {
        float* dst = col + ((ci * w.k[0] + ky) * w.k[1] + kx) * OH * OW;
        const float* src = x + ci * H * W;
        for (int64_t oy = 0; oy < OH; ++oy) {
          const int64_t iy = oy * w.s[0] - w.pad_begin[0] + ky * w.d[0];
          float* row = dst + oy * OW;
          if (iy < 0 || iy >= H) {
            std::fill(row, row + OW, 0.0f);
            continue;
          }
          for (int64_t ox = 0; ox < OW; ++ox) {
            const int64_t ix = ox * w.s[1] - w.pad_begin[1] + kx * w.d[1];
            row[ox] = (ix >= 0 && ix < W) ? src[iy * W + ix] : 0.0f;
          }
        }
      }
}

void conv_run(RunContext& c) {
  if (winograd::has_learned_transforms(c.node)) return learned_winograd_conv_run(c);
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  Window win = make_window(c.node.attrs, x.shape(), kernel_of(c.node.attrs, w.shape(), c.where()), false, c.where());
  const int64_t N = x.dim(0), C = x.dim(1), M = w.dim(0);
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t K = Cg * win.k[0] * win.k[1], P = win.out[0] * win.out[1], HW = win.in[0] * win.in[1];
  Tensor y(DataType::f32, window_output_shape(win, N, M));
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  const float* bias = c.has_input(2) ? c.input(2).data<float>() : nullptr;
  float* yd = y.data<float>();
  const bool direct = win.k[0] == 1 && win.k[1] == 1 && win.s[0] == 1 && win.s[1] == 1 && win.pad_begin[0] == 0 &&
                      win.pad_begin[1] == 0 && win.pad_end[0] == 0 && win.pad_end[1] == 0;
  const auto gemm = kernel_table().gemm_f32;

  auto finish = [&](float* out, int64_t m0, int64_t rows) {
    for (int64_t m = 0; m < rows; ++m) {
      float* o = out + m * P;
      if (bias) {
        const float b = bias[m0 + m];
        for (int64_t p = 0; p < P; ++p) o[p] += b;
      }
      apply_fused_activation(c.node.attrs, o, P);
    }
  };
  const int64_t tasks = N * group;
  if (tasks >= c.threads || M < 32) {
    parallel_for(tasks, c.threads, [&](int64_t b, int64_t e) {
      std::vector<float> col(direct ? 0 : K * P);
      for (int64_t t = b; t < e; ++t) {
        const int64_t n = t / group, g = t % group;
        const float* xin = xd + (n * C + g * Cg) * HW;
        if (!direct) im2col(xin, Cg, win, col.data());
        float* out = yd + (n * M + g * Mg) * P;
        gemm(Mg, P, K, wd + g * Mg * K, K, direct ? xin : col.data(), P, out, P, false);
        finish(out, g * Mg, Mg);
      }
    });
  } else {
    // Few images: split the output channels of each (image, group) instead.
    std::vector<float> col(direct ? 0 : K * P);
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t n = t / group, g = t % group;
      const float* xin = xd + (n * C + g * Cg) * HW;
      if (!direct) im2col(xin, Cg, win, col.data());
      const float* B = direct ? xin : col.data();
      parallel_for(Mg, c.threads, [&](int64_t m0, int64_t m1) {
        float* out = yd + (n * M + g * Mg + m0) * P;
        gemm(m1 - m0, P, K, wd + (g * Mg + m0) * K, K, B, P, out, P, false);
        finish(out, g * Mg + m0, m1 - m0);
      });
    }
  }
  c.out[0] = std::move(y);
}

// ConvTranspose geometry: out = s·(in−1) + output_padding + (k−1)·d + 1 − pads.
struct TransposeGeom {
  Window w;  // in/k/s/d/pads/out, as for Conv
};

TransposeGeom convtranspose_geometry(const Attributes& a, const Shape& x, const Shape& wshape,
                                     const std::string& where) {
  const int sp = static_cast<int>(x.size()) - 2;
  if (sp < 1 || sp > 2) throw Unsupported(fmt::format("{}: {}-D ConvTranspose is not supported", where, sp));
  std::vector<int64_t> k(wshape.begin() + 2, wshape.end());
  auto strides = a.get_ints("strides", std::vector<int64_t>(sp, 1));
  auto dil = a.get_ints("dilations", std::vector<int64_t>(sp, 1));
  auto pads = a.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
  auto out_pad = a.get_ints("output_padding", std::vector<int64_t>(sp, 0));
  auto out_shape = a.get_ints("output_shape", {});
  if (out_shape.size() == static_cast<size_t>(sp + 2)) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  // Every attribute must fit the rank (fuzz/onnx_import read past short ones).
  auto need = [&](const std::vector<int64_t>& v, size_t n, const char* name) {
    if (v.size() != n) throw Error(fmt::format("{}: '{}' has {} values, {} expected", where, name, v.size(), n));
  };
  need(k, static_cast<size_t>(sp), "kernel (weight rank)");
  need(strides, sp, "strides");
  need(dil, sp, "dilations");
  need(pads, 2 * sp, "pads");
  need(out_pad, sp, "output_padding");
  if (!out_shape.empty()) need(out_shape, sp, "output_shape");
  for (int i = 0; i < sp; ++i)
    if (strides[i] < 1 || dil[i] < 1 || k[i] < 1 || out_pad[i] < 0 || pads[i] < 0 || pads[i + sp] < 0)
      throw Error(where + ": strides, dilations and kernel sizes must be positive, pads non-negative");
  TransposeGeom g;
  g.w.spatial = sp;
  const int off = 2 - sp;
  for (int i = 0; i < sp; ++i) {
    int j = i + off;
    g.w.in[j] = x[2 + i];
    g.w.k[j] = k[i];
    g.w.s[j] = strides[i];
    g.w.d[j] = dil[i];
    const int64_t full = strides[i] * (x[2 + i] - 1) + out_pad[i] + (k[i] - 1) * dil[i] + 1;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t target = out_shape.empty() ? x[2 + i] * strides[i] : out_shape[i];
      const int64_t total = full - target;
      // ONNX: SAME_UPPER puts the extra pad at the end (begin = total/2). A
      // negative total (output_shape larger than the full result) extends the
      // end like output_padding: the extra positions receive only the bias.
      g.w.pad_begin[j] = total < 0 ? 0 : auto_pad == "SAME_LOWER" ? total - total / 2 : total / 2;
      g.w.pad_end[j] = total - g.w.pad_begin[j];
      g.w.out[j] = target;
    } else {
      g.w.pad_begin[j] = auto_pad == "VALID" ? 0 : pads[i];
      g.w.pad_end[j] = auto_pad == "VALID" ? 0 : pads[i + sp];
      g.w.out[j] = full - g.w.pad_begin[j] - g.w.pad_end[j];
    }
    if (g.w.out[j] <= 0) throw Error(where + ": the output would be empty");
  }
  return g;
}

void convtranspose_infer(InferContext& c) {
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  if (x.size() != w.size() || x.size() < 3 || group < 1 || w[0] != x[1] || x[1] % group != 0)
    throw Error(fmt::format("{}: input {} does not fit weight {} with group {}", c.where(), shape_str(x),
                            shape_str(w), group));
  auto g = convtranspose_geometry(c.node.attrs, x, w, c.where());
  c.set_output(0, DataType::f32, window_output_shape(g.w, x[0], w[1] * group));
}

void convtranspose_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& w = c.input(1);
  const int64_t group = c.node.attrs.get_int("group", 1);
  auto g = convtranspose_geometry(c.node.attrs, x.shape(), w.shape(), c.where());
  const Window& win = g.w;
  const int64_t N = x.dim(0), C = x.dim(1), Cg = C / group, Mg = w.dim(1), M = Mg * group;
  const int64_t H = win.in[0], W = win.in[1], OH = win.out[0], OW = win.out[1];
  Tensor y(DataType::f32, window_output_shape(win, N, M));
  const float* xd = x.data<float>();
  const float* wd = w.data<float>();
  float* yd = y.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi)
      for (int64_t ci = 0; ci < Cg; ++ci)
        for (int64_t iy = 0; iy < H; ++iy)
          for (int64_t ix = 0; ix < W; ++ix) {
            const float v = xd[((n * C + gi * Cg + ci) * H + iy) * W + ix];
            for (int64_t m = 0; m < Mg; ++m) {
              const float* wk = wd + ((gi * Cg + ci) * Mg + m) * win.k[0] * win.k[1];
              float* out = yd + (n * M + gi * Mg + m) * OH * OW;
              for (int64_t ky = 0; ky < win.k[0]; ++ky) {
                const int64_t oy = iy * win.s[0] - win.pad_begin[0] + ky * win.d[0];
                if (oy < 0 || oy >= OH) continue;
                for (int64_t kx = 0; kx < win.k[1]; ++kx) {
                  const int64_t ox = ix * win.s[1] - win.pad_begin[1] + kx * win.d[1];
                  if (ox >= 0 && ox < OW) out[oy * OW + ox] += v * wk[ky * win.k[1] + kx];
                }
              }
            }
          }
  if (c.has_input(2)) {
    const float* b = c.input(2).data<float>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t p = 0; p < OH * OW; ++p) yd[(n * M + m) * OH * OW + p] += b[m];
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_conv_ops(OpTable& t) {
  t.push_back({"Conv", {conv_infer, conv_run}});
  t.push_back({"ConvTranspose", {convtranspose_infer, convtranspose_run}});
}

}  // namespace winq::ops
