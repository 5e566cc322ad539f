// winq.QWinogradConv: int8 Winograd F(m, 3) convolution, the definition (see
// src/winograd/lower_int8.cpp for the stages and their bounds). Per image:
// every tile's input transform in int32, requantized to 8 bits per component;
// per component one int32 GEMM over the channels; per tile and output channel
// the products scaled to a common fixed point (int64), the integer output
// transform, the bias, one rounding shift and the output clamp.
#include <algorithm>
#include <vector>

#include "../../kernels/qgemm.hpp"
#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "qlinear.hpp"
#include "window.hpp"
#include "winq/requantize.hpp"

namespace winq::ops {

namespace {

constexpr const char* kPackedUAttr = "winq_packed_u";         // per component, pack_weights_k4 layout
constexpr const char* kPackedUSumAttr = "winq_packed_u_sum";   // int32 [n·n, M]: Σ_c U
constexpr const char* kPackedKernelAttr = "winq_packed_kernel";

void qwinograd_infer(InferContext& c) {
  const DataType xt = c.in(0).dtype;
  if (xt != DataType::u8 && xt != DataType::s8) throw Error(c.where() + ": x must be uint8 or int8");
  const Shape& x = c.in_shape(0);
  const Shape& u = c.in_shape(1);
  if (x.size() != 4 || u.size() != 3 || u[2] != x[1])
    throw Error(fmt::format("{}: input {} does not fit the Winograd weights {}", c.where(), shape_str(x), shape_str(u)));
  Window win = make_window(c.node.attrs, x, {3, 3}, false, c.where());
  const std::string t = c.node.attrs.get_string(qattr::kYType, "");
  if (t != "uint8" && t != "int8") throw Error(c.where() + ": y_type must be uint8 or int8");
  c.set_output(0, t == "uint8" ? DataType::u8 : DataType::s8, window_output_shape(win, x[0], u[1]));
}

void qwinograd_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const Tensor& uq = c.input(1);
  const Attributes& at = c.node.attrs;
  const int m = static_cast<int>(at.get_int("tile", 0)), n = m + 2, nn = n * n;
  const auto bt = at.get_ints("bt"), at_int = at.get_ints("at");
  const auto vmul = at.get_ints("v_multiplier"), vsh = at.get_ints("v_shift");
  const auto vmin = at.get_ints("v_qmin"), vmax = at.get_ints("v_qmax");
  const auto zmul = at.get_ints("z_multiplier"), zsh = at.get_ints("z_shift"), bias = at.get_ints("bias_acc");
  const int out_shift = static_cast<int>(at.get_int("out_shift", 0));
  const int64_t M = uq.dim(1), C = uq.dim(2), xzp = at.get_int(qattr::kXZeroPoint, 0);
  if ((m != 2 && m != 4 && m != 6) || uq.dim(0) != nn || static_cast<int>(bt.size()) != nn ||
      static_cast<int>(at_int.size()) != m * n || static_cast<int>(vmul.size()) != nn ||
      static_cast<int64_t>(zmul.size()) != nn * M || static_cast<int64_t>(bias.size()) != M || out_shift < 1 ||
      out_shift > 62)
    throw Error(c.where() + ": malformed Winograd attributes");
  Window win = make_window(at, x.shape(), {3, 3}, false, c.where());
  const int64_t N = x.dim(0), H = win.in[0], W = win.in[1], OH = win.out[0], OW = win.out[1];
  const int64_t TW = (OW + m - 1) / m, T = ((OH + m - 1) / m) * TW;
  const bool yu = at.get_string(qattr::kYType, "") == "uint8";
  const int64_t yzp = at.get_int(qattr::kYZeroPoint, 0), qmin = at.get_int(qattr::kQMin, yu ? 0 : -128),
                qmax = at.get_int(qattr::kQMax, yu ? 255 : 127);
  Tensor y(yu ? DataType::u8 : DataType::s8, window_output_shape(win, N, M));
  const bool xu = x.dtype() == DataType::u8;
  // Weights packed for the active int8 GEMM kernel (pack_int8_weights), or the reference loops.
  const Tensor* packed = at.get_string(kPackedKernelAttr, "") == kernel_table().qgemm_k4_name
                             ? at.get_tensor(kPackedUAttr)
                             : nullptr;
  const Tensor* usum = packed ? at.get_tensor(kPackedUSumAttr) : nullptr;
  const int64_t comp_bytes = kernels::panels_of(M) * kernels::k4_of(C) * kernels::kQPanel * 4 *
                             (kernel_table().qgemm_k4_s16 ? 2 : 1);
  const auto gemm = kernel_table().qgemm_k4;
  const std::vector<int64_t> row_off = kernels::dense_row_offsets(kernels::k4_of(C), T);
  parallel_for(N, c.threads, [&](int64_t b0, int64_t e0) {
    std::vector<int32_t> V(static_cast<size_t>(nn * C * T));  // quantized components [k][c][tile]
    std::vector<int32_t> P(static_cast<size_t>(nn * M * T));  // products [k][o][tile]
    std::vector<uint8_t> vbytes(packed ? static_cast<size_t>(kernels::k4_of(C) * T * 4) : 0);
    int64_t d[64], tmp[64], z[64], ty[64];
    for (int64_t img = b0; img < e0; ++img) {
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t tile = 0; tile < T; ++tile) {
          const int64_t y0 = (tile / TW) * m - win.pad_begin[0], x0 = (tile % TW) * m - win.pad_begin[1];
          for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
              const int64_t iy = y0 + i, ix = x0 + j;
              int64_t v = 0;  // padding is a real 0, i.e. x = x_zp
              if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
                const int64_t at_i = ((img * C + ch) * H + iy) * W + ix;
                v = (xu ? int64_t{x.data<uint8_t>()[at_i]} : int64_t{x.data<int8_t>()[at_i]}) - xzp;
              }
              d[i * n + j] = v;
            }
          for (int r = 0; r < n; ++r)
            for (int j = 0; j < n; ++j) {
              int64_t s = 0;
              for (int i = 0; i < n; ++i) s += bt[r * n + i] * d[i * n + j];
              tmp[r * n + j] = s;
            }
          for (int r = 0; r < n; ++r)
            for (int s2 = 0; s2 < n; ++s2) {
              int64_t s = 0;
              for (int j = 0; j < n; ++j) s += tmp[r * n + j] * bt[s2 * n + j];
              const int k = r * n + s2;
              const Requant rq{static_cast<int32_t>(vmul[k]), static_cast<int>(vsh[k])};
              V[(static_cast<int64_t>(k) * C + ch) * T + tile] =
                  requantize(s, rq, static_cast<int32_t>(vmin[k]), static_cast<int32_t>(vmax[k]));
            }
        }
      // One exact int32 GEMM per component.
      if (packed) {
        // The dispatched u8×s8 kernel: components as u8 (signed ones + 128, the
        // offset taken back through the packed weight sums), 4 channels per word.
        const int64_t K4 = kernels::k4_of(C);
        for (int k = 0; k < nn; ++k) {
          const int32_t off = vmin[k] < 0 ? 128 : 0;
          std::fill(vbytes.begin(), vbytes.end(), uint8_t{0});
          for (int64_t ch = 0; ch < C; ++ch) {
            const int32_t* v = V.data() + (static_cast<int64_t>(k) * C + ch) * T;
            uint8_t* dst = vbytes.data() + (ch / 4) * T * 4 + ch % 4;
            for (int64_t tile = 0; tile < T; ++tile) dst[tile * 4] = static_cast<uint8_t>(v[tile] + off);
          }
          int32_t* p = P.data() + static_cast<int64_t>(k) * M * T;
          gemm(M, T, K4, packed->raw() + k * comp_bytes, vbytes.data(), row_off.data(), p, T);
          if (off)
            for (int64_t o = 0; o < M; ++o) {  // Σ U·(v + 128) − 128·Σ U, modulo 2^32 as the kernel sums
              const auto corr = static_cast<uint32_t>(off * usum->data<int32_t>()[k * M + o]);
              for (int64_t tile = 0; tile < T; ++tile)
                p[o * T + tile] = static_cast<int32_t>(static_cast<uint32_t>(p[o * T + tile]) - corr);
            }
        }
      } else {
        for (int k = 0; k < nn; ++k)
          for (int64_t o = 0; o < M; ++o) {
            int32_t* p = P.data() + (static_cast<int64_t>(k) * M + o) * T;
            std::fill(p, p + T, 0);
            const int8_t* u = uq.data<int8_t>() + (static_cast<int64_t>(k) * M + o) * C;
            for (int64_t ch = 0; ch < C; ++ch) {
              const int32_t w = u[ch];
              const int32_t* v = V.data() + (static_cast<int64_t>(k) * C + ch) * T;
              for (int64_t tile = 0; tile < T; ++tile) p[tile] += w * v[tile];
            }
          }
      }
      // Common fixed point, output transform, bias, rounding, clamp.
      for (int64_t o = 0; o < M; ++o)
        for (int64_t tile = 0; tile < T; ++tile) {
          for (int k = 0; k < nn; ++k) {
            const int64_t i = static_cast<int64_t>(k) * M + o;
            z[k] = shift_round_half_even(static_cast<int64_t>(P[i * T + tile]) * zmul[i], static_cast<int>(zsh[i]));
          }
          for (int r = 0; r < m; ++r)
            for (int j = 0; j < n; ++j) {
              int64_t s = 0;
              for (int i = 0; i < n; ++i) s += at_int[r * n + i] * z[i * n + j];
              ty[r * n + j] = s;
            }
          const int64_t oy0 = (tile / TW) * m, ox0 = (tile % TW) * m;
          for (int r = 0; r < m && oy0 + r < OH; ++r)
            for (int s2 = 0; s2 < m && ox0 + s2 < OW; ++s2) {
              int64_t s = bias[o];
              for (int j = 0; j < n; ++j) s += ty[r * n + j] * at_int[s2 * n + j];
              const int64_t v = std::clamp(shift_round_half_even(s, out_shift) + yzp, qmin, qmax);
              const int64_t idx = ((img * M + o) * OH + oy0 + r) * OW + ox0 + s2;
              if (yu)
                y.data<uint8_t>()[idx] = static_cast<uint8_t>(v);
              else
                y.data<int8_t>()[idx] = static_cast<int8_t>(v);
            }
        }
    }
  });
  c.out[0] = std::move(y);
}

}  // namespace

void register_qwinograd_ops(OpTable& t) { t.push_back({"winq.QWinogradConv", {qwinograd_infer, qwinograd_run}}); }

// Packs U of every winq.QWinogradConv for the active int8 GEMM kernel.
void pack_winograd_weights(Graph& g) {
  const KernelTable& kt = kernel_table();
  for (Node& n : g.nodes) {
    if (n.domain != qattr::kDomain || n.op != "QWinogradConv") continue;
    const Value& uv = g.values[n.inputs.at(1)];
    if (!uv.is_constant()) continue;
    const Tensor& u = uv.constant;
    const int64_t nn = u.dim(0), M = u.dim(1), C = u.dim(2);
    const int64_t per = kernels::panels_of(M) * kernels::k4_of(C) * kernels::kQPanel * 4;
    const int64_t esize = kt.qgemm_k4_s16 ? 2 : 1;
    Tensor packed(DataType::u8, {nn * per * esize});
    Tensor sums(DataType::s32, {nn, M});
    for (int64_t k = 0; k < nn; ++k) {
      const int8_t* src = u.data<int8_t>() + k * M * C;
      if (kt.qgemm_k4_s16)
        kernels::pack_weights_k4_s16(src, M, C, reinterpret_cast<int16_t*>(packed.raw()) + k * per);
      else
        kernels::pack_weights_k4(src, M, C, reinterpret_cast<int8_t*>(packed.raw()) + k * per);
      for (int64_t o = 0; o < M; ++o) {
        int32_t s = 0;
        for (int64_t c = 0; c < C; ++c) s += src[o * C + c];
        sums.data<int32_t>()[k * M + o] = s;
      }
    }
    n.attrs.set(kPackedUAttr, packed);
    n.attrs.set(kPackedUSumAttr, sums);
    n.attrs.set(kPackedKernelAttr, std::string(kt.qgemm_k4_name));
  }
}

}  // namespace winq::ops
