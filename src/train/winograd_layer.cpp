#include "winograd_layer.hpp"

#include "winq/error.hpp"
#include "winq/winograd.hpp"

namespace winq::train {

namespace {
torch::Tensor matrix(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return torch::tensor(std::vector<float>(v.begin(), v.end())).reshape({rows, cols});
}
}  // namespace

WinogradConv2dImpl::WinogradConv2dImpl(int64_t in, int64_t out, int tile, bool flex_transforms)
    : m(tile), n(tile + 2), flex(flex_transforms) {
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
}

torch::Tensor WinogradConv2dImpl::forward(torch::Tensor x) {
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t TH = (H + m - 1) / m, TW = (W + m - 1) / m;
  // Pad 1 (the convolution's own padding) and up to whole tiles at the end.
  const auto xp = torch::constant_pad_nd(x, {1, TW * m + 1 - W, 1, TH * m + 1 - H});
  const auto d = xp.unfold(2, n, m).unfold(3, n, m);                  // [N, C, TH, TW, n, n]
  const auto V = torch::matmul(torch::matmul(BT, d), BT.t());          // Bᵀ d B
  const auto U = torch::matmul(torch::matmul(G, weight), G.t());      // G g Gᵀ: [O, C, n, n]
  const auto M = torch::einsum("bcyxij,ocij->boyxij", {V, U});         // Σ over input channels
  const auto Y = torch::matmul(torch::matmul(AT, M), AT.t());         // Aᵀ M A: [N, O, TH, TW, m, m]
  return Y.permute({0, 1, 2, 4, 3, 5}).reshape({x.size(0), weight.size(0), TH * m, TW * m}).narrow(2, 0, H).narrow(3, 0, W);
}

}  // namespace winq::train
