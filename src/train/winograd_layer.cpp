#include "winograd_layer.hpp"

#include "winq/error.hpp"
#include "winq/winograd.hpp"

namespace winq::train {

namespace {
torch::Tensor matrix(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return torch::tensor(std::vector<float>(v.begin(), v.end())).reshape({rows, cols});
}
}  // namespace

WinogradConv2dImpl::WinogradConv2dImpl(int64_t in, int64_t out, int tile, bool flex_transforms,
                                       WinogradQuantOptions q)
    : m(tile), n(tile + 2), flex(flex_transforms), quant(q) {
  if (m != 2 && m != 4 && m != 6) throw Error("Winograd-aware convolution: tile must be F2, F4 or F6");
  weight = register_parameter("weight", torch::empty({out, in, 3, 3}));
  torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
  const winograd::TileMatrices t = winograd::tile_matrices(m);
  const auto at = matrix(t.AT, m, n), g = matrix(t.G, n, 3), bt = matrix(t.BT, n, n);
  if (flex) {
    AT = register_parameter("AT", at);
    G = register_parameter("G", g);
    BT = register_parameter("BT", bt);
  } else {
    AT = register_buffer("AT", at);
    G = register_buffer("G", g);
    BT = register_buffer("BT", bt);
  }
  if (quant.bits) {
    const int b = quant.bits;
    const int64_t pc = quant.per_component ? tile + 2 : 0;  // V, U, M: n × n components
    q_x = register_module("q_x", FakeQuant(b));
    q_w = register_module("q_w", FakeQuant(b));
    q_at = register_module("q_at", FakeQuant(b));
    q_g = register_module("q_g", FakeQuant(b));
    q_bt = register_module("q_bt", FakeQuant(b));
    q_v = register_module("q_v", FakeQuant(b, pc));
    q_u = register_module("q_u", FakeQuant(b, pc));
    q_m = register_module("q_m", FakeQuant(b, pc));
    q_y = register_module("q_y", FakeQuant(b));
  }
}

torch::Tensor WinogradConv2dImpl::forward(torch::Tensor x) {
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t TH = (H + m - 1) / m, TW = (W + m - 1) / m;
  // Pad 1 (the convolution's own padding) and up to whole tiles at the end.
  const bool q = quant.bits > 0;
  auto fq = [&](FakeQuant& f, const torch::Tensor& t) { return q ? f->forward(t) : t; };
  const int64_t N = x.size(0), C = x.size(1), O = weight.size(0), T = TH * TW, nn = n * n;
  const auto at = fq(q_at, AT), g = fq(q_g, G), bt = fq(q_bt, BT), w = fq(q_w, weight);
  // Each 2-D transform is one GEMM with a Kronecker product: vec(Bᵀ d B) =
  // (Bᵀ ⊗ Bᵀ) vec(d) for row-major vec, and likewise for G and Aᵀ; the channel
  // sum is one batched GEMM per Winograd component. (Tiny batched n×n matmuls
  // instead were 12–50× slower than conv2d.)
  const auto xp = torch::constant_pad_nd(fq(q_x, x), {1, TW * m + 1 - W, 1, TH * m + 1 - H});
  // Tiles through im2col (F.unfold: its backward is col2im, far faster than Tensor::unfold's).
  const auto d = torch::nn::functional::unfold(xp, torch::nn::functional::UnfoldFuncOptions({n, n}).stride(m))
                     .view({N, C, nn, T})
                     .transpose(2, 3);                                          // [N, C, T, n²]
  auto V = d.matmul(torch::kron(bt, bt).t());                                    // [N, C, T, n²]
  if (q) V = q_v->forward(V.view({N, C, T, n, n})).view({N, C, T, nn});
  auto U = w.reshape({O, C, 9}).matmul(torch::kron(g, g).t());                   // [O, C, n²]
  if (q) U = q_u->forward(U.view({O, C, n, n})).view({O, C, nn});
  auto M = torch::bmm(V.permute({3, 0, 2, 1}).reshape({nn, N * T, C}), U.permute({2, 1, 0}))  // [n², N·T, O]
               .view({nn, N, T, O})
               .permute({1, 3, 2, 0});                                           // [N, O, T, n²]
  if (q) M = q_m->forward(M.reshape({N, O, T, n, n})).view({N, O, T, nn});
  const auto Y = M.matmul(torch::kron(at, at).t());                              // [N, O, T, m²]
  return fq(q_y, Y.reshape({N, O, TH, TW, m, m})
                     .permute({0, 1, 2, 4, 3, 5})
                     .reshape({N, O, TH * m, TW * m})
                     .narrow(2, 0, H)
                     .narrow(3, 0, W));
}

}  // namespace winq::train
