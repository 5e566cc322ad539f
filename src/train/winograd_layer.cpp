#include "winograd_layer.hpp"

#include "winq/error.hpp"
#include "winq/winograd.hpp"

namespace winq::train {

namespace {
torch::Tensor matrix(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return torch::tensor(std::vector<float>(v.begin(), v.end())).reshape({rows, cols});
}
// U [O, C, n²] rounded per (output channel, component) on its own max, as
// winq quantize does (src/winograd/quant_plan.cpp).
torch::Tensor fake_quant_u(const torch::Tensor& U, int bits) {
  const int64_t O = U.size(0), C = U.size(1), nn = U.size(2);
  const auto q = fake_quant_rows(U.permute({0, 2, 1}).reshape({O * nn, C}), bits);
  return q.view({O, nn, C}).permute({0, 2, 1});
}
}  // namespace

torch::Tensor engine_input_transform(const torch::Tensor& BT, int64_t L) {
  const auto d = BT.detach().to(torch::kDouble).contiguous();
  const int n = static_cast<int>(BT.size(1));
  std::vector<double> beta(static_cast<size_t>(BT.size(0)));
  for (int64_t a = 0; a < BT.size(0); ++a)  // the engine's own choice (src/winograd/lower_int8.cpp)
    beta[static_cast<size_t>(a)] =
        winograd::input_transform_row_scale(d.data_ptr<double>() + a * n, n, static_cast<double>(L));
  const auto b = torch::tensor(beta, torch::kDouble).view({-1, 1});
  return BT + (torch::round(d * b) / b - d).to(BT.dtype());
}

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
  if (quant.bits && quant.scheme == QuantScheme::engine) {
    q_x = register_module("q_x", FakeQuant(quant.bits, 0, 0.05, /*is_unsigned=*/true));
    const bool per_channel = quant.per_component && quant.channel_scales;
    q_v = register_module("q_v", FakeQuant(quant.bits, quant.per_component ? tile + 2 : 0, 0.05, false,
                                           per_channel ? in : 0));
  } else if (quant.bits) {
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

// Three convolutions, no tile tensor ever materialised (measured 3–4× conv2d
// per training step against 18× for im2col + Kronecker GEMMs + bmm, see
// bench/RESULTS.md):
//   V = conv2d(x_padded, W_B, stride m, groups C)      W_B: C copies of the n² filters Bᵀ[ξ]ᵀ Bᵀ[ν]
//   M = conv2d(V component-major, W_U, 1×1, groups n²) W_U = U = G g Gᵀ per component: Σ_c U ⊙ V
//   Y = pixel_shuffle(conv2d(M channel-major, W_A, 1×1, groups O), m)   the m² outputs Aᵀ M A of a tile
// Autograd differentiates through W_B, W_U, W_A back to Bᵀ, G, Aᵀ (flex).
torch::Tensor WinogradConv2dImpl::forward(torch::Tensor x) {
  namespace F = torch::nn::functional;
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t TH = (H + m - 1) / m, TW = (W + m - 1) / m;
  const bool q = quant.bits > 0;
  const bool engine = q && quant.scheme == QuantScheme::engine;
  // Quantizers the scheme does not have are null: those stages stay float.
  auto fq = [&](FakeQuant& f, const torch::Tensor& t, int64_t dim = -2) { return f ? f->forward(t, dim) : t; };
  const int64_t N = x.size(0), C = x.size(1), O = weight.size(0), nn = n * n;
  const auto at = fq(q_at, AT), g = fq(q_g, G), w = fq(q_w, weight);
  const auto bt = engine ? engine_input_transform(BT) : fq(q_bt, BT);
  // Pad 1 (the convolution's own padding) and up to whole tiles at the end.
  const auto xp = torch::constant_pad_nd(quant.all_layers ? x : fq(q_x, x), {1, TW * m + 1 - W, 1, TH * m + 1 - H});
  const auto wb = torch::kron(bt, bt).view({nn, 1, n, n}).repeat({C, 1, 1, 1});
  auto V = F::conv2d(xp, wb, F::Conv2dFuncOptions().stride(m).groups(C));         // [N, C·n², TH, TW]
  if (q) V = q_v->forward(V.view({N, C, n, n, TH, TW}), 2).view({N, C * nn, TH, TW});
  auto U = w.reshape({O, C, 9}).matmul(torch::kron(g, g).t());                      // [O, C, n²]
  if (engine && q_v->channel_max.defined()) {  // the engine's folding of V's channel factors into U
    const auto f = q_v->channel_factors().view({1, C, nn});
    U = fake_quant_u(U * f, quant.bits) / f;
  } else if (engine) {
    U = fake_quant_u(U, quant.bits);
  } else if (q) {
    U = q_u->forward(U.view({O, C, n, n})).view({O, C, nn});
  }
  const auto Vc = V.view({N, C, nn, TH, TW}).transpose(1, 2).reshape({N, nn * C, TH, TW});
  auto M = F::conv2d(Vc, U.permute({2, 0, 1}).reshape({nn * O, C, 1, 1}), F::Conv2dFuncOptions().groups(nn));
  if (q_m) M = q_m->forward(M.view({N, n, n, O, TH, TW}), 1);                        // [N, n²·O, TH, TW]
  const auto Mo = M.reshape({N, nn, O, TH, TW}).transpose(1, 2).reshape({N, O * nn, TH, TW});
  const auto wa = torch::kron(at, at).view({1, m * m, nn, 1, 1}).expand({O, m * m, nn, 1, 1}).reshape({O * m * m, nn, 1, 1});
  const auto Y = torch::pixel_shuffle(F::conv2d(Mo, wa, F::Conv2dFuncOptions().groups(O)), m);  // [N, O, TH·m, TW·m]
  return fq(q_y, Y.narrow(2, 0, H).narrow(3, 0, W));
}

}  // namespace winq::train
