#include "fake_quant.hpp"

#include "winq/error.hpp"

namespace winq::train {

FakeQuantImpl::FakeQuantImpl(int b, int64_t components, double mom, bool u, int64_t channels)
    : bits(b), per_component(components > 0), is_unsigned(u), momentum(mom) {
  if (bits < 2 || bits > 8) throw Error("fake quantization needs 2 to 8 bits");
  if (is_unsigned && per_component) throw Error("fake quantization: unsigned grids are per tensor");
  if (channels > 0 && !per_component) throw Error("fake quantization: per-channel steps need per-component ranges");
  max_abs = register_buffer("max_abs", per_component ? torch::zeros({components, components}) : torch::zeros({}));
  if (channels > 0) channel_max = register_buffer("channel_max", torch::zeros({channels, components, components}));
}

torch::Tensor FakeQuantImpl::channel_factors() const {
  if (!channel_max.defined()) throw Error("fake quantization: no per-channel steps");
  if (max_abs.eq(0).all().item<bool>()) return torch::ones_like(channel_max);
  // As src/winograd/quant_plan.cpp: min(r, 1), clamped to [2^−8, 1], a float.
  const auto r = channel_max.to(torch::kDouble) / max_abs.to(torch::kDouble).clamp_min(1e-30).unsqueeze(0);
  return r.clamp(0x1p-8, 1.0).to(torch::kFloat);
}

torch::Tensor FakeQuantImpl::forward(const torch::Tensor& x, int64_t dim) {
  const auto a = x.detach().abs();
  // Batch statistic: max |x| over everything, or per component over all other
  // dimensions (per channel: and per channel and component).
  torch::Tensor now, now_channel;
  if (per_component) {
    const int64_t d = dim < 0 ? x.dim() + dim : dim;
    if (d < 0 || d + 1 >= x.dim()) throw Error("fake quantization: component dimensions outside the tensor");
    std::vector<int64_t> others;
    for (int64_t i = 0; i < x.dim(); ++i)
      if (i != d && i != d + 1) others.push_back(i);
    now = others.empty() ? a : a.amax(others);
    if (channel_max.defined()) {
      if (d < 1 || x.size(d - 1) != channel_max.size(0))
        throw Error("fake quantization: the channel axis before the components does not match the ranges");
      std::vector<int64_t> rest;
      for (int64_t i = 0; i < x.dim(); ++i)
        if (i < d - 1 || i > d + 1) rest.push_back(i);
      now_channel = rest.empty() ? a : a.amax(rest);
    }
  } else {
    now = a.max();
  }
  if (now.sizes() != max_abs.sizes())
    throw Error("fake quantization: per-component ranges of another tile size");
  const bool unset = max_abs.eq(0).all().item<bool>();  // no batch seen yet: the first one sets the range
  if (is_training() || unset) {
    torch::NoGradGuard g;
    // In place: the registered buffer (and so the checkpoint) holds the range.
    if (unset) max_abs.copy_(now);
    else max_abs.mul_(1.0 - momentum).add_(now, momentum);
    if (now_channel.defined()) {
      if (unset) channel_max.copy_(now_channel);
      else channel_max.mul_(1.0 - momentum).add_(now_channel, momentum);
    }
  }
  // LibTorch's fused fake quantization: round half to even on the grid of
  // range/qmax, saturate at ±qmax, gradient straight through where the value
  // lands inside the grid and 0 where it saturates (the clipped STE).
  const int64_t qmax = is_unsigned ? (int64_t{1} << bits) - 1 : (int64_t{1} << (bits - 1)) - 1;
  const auto scale = (max_abs.clamp_min(1e-8) / static_cast<double>(qmax)).to(torch::kFloat);
  if (is_unsigned)
    return torch::fake_quantize_per_tensor_affine(x, scale.reshape({1}), torch::zeros({1}, torch::kInt), 0, qmax);
  if (!per_component)
    return torch::fake_quantize_per_tensor_affine(x, scale.reshape({1}), torch::zeros({1}, torch::kInt), -qmax, qmax);
  const int64_t d = dim < 0 ? x.dim() + dim : dim;
  if (channel_max.defined()) {  // channel and component dimensions merged into one axis, steps scale_k · f_ck
    std::vector<int64_t> merged(x.sizes().begin(), x.sizes().end());
    merged[static_cast<size_t>(d - 1)] *= merged[static_cast<size_t>(d)] * merged[static_cast<size_t>(d + 1)];
    merged.erase(merged.begin() + d, merged.begin() + d + 2);
    const auto steps = (scale.unsqueeze(0) * channel_factors()).reshape({-1}).contiguous();
    return torch::fake_quantize_per_channel_affine(x.reshape(merged), steps, torch::zeros_like(steps, torch::kInt),
                                                    d - 1, -qmax, qmax)
        .view(x.sizes());
  }
  // The two component dimensions merged into one channel axis.
  std::vector<int64_t> merged(x.sizes().begin(), x.sizes().end());
  merged[static_cast<size_t>(d)] *= merged[static_cast<size_t>(d + 1)];
  merged.erase(merged.begin() + d + 1);
  const auto flat = scale.reshape({-1});
  return torch::fake_quantize_per_channel_affine(x.reshape(merged), flat, torch::zeros_like(flat, torch::kInt), d,
                                                  -qmax, qmax)
      .view(x.sizes());
}

torch::Tensor fake_quant_rows(const torch::Tensor& rows, int bits) {
  const int64_t R = rows.size(0), qmax = (int64_t{1} << (bits - 1)) - 1;
  const auto scale = (rows.detach().abs().amax(1).clamp_min(1e-12) / static_cast<double>(qmax)).to(torch::kFloat);
  return torch::fake_quantize_per_channel_affine(rows, scale, torch::zeros({R}, torch::kInt), 0, -qmax, qmax);
}

torch::Tensor fake_quant_per_channel(const torch::Tensor& w, int bits) {
  return fake_quant_rows(w.reshape({w.size(0), -1}), bits).view(w.sizes());
}

}  // namespace winq::train
