#include "fake_quant.hpp"

#include "winq/error.hpp"

namespace winq::train {

FakeQuantImpl::FakeQuantImpl(int b, int64_t components, double mom)
    : bits(b), per_component(components > 0), momentum(mom) {
  if (bits < 2 || bits > 8) throw Error("fake quantization needs 2 to 8 bits");
  max_abs = register_buffer("max_abs", per_component ? torch::zeros({components, components}) : torch::zeros({}));
}

torch::Tensor FakeQuantImpl::forward(const torch::Tensor& x) {
  const auto a = x.detach().abs();
  // Batch statistic: max |x| over everything, or over all but the last two dimensions.
  torch::Tensor now = per_component ? a.reshape({-1, x.size(-2), x.size(-1)}).amax(0) : a.max();
  if (now.sizes() != max_abs.sizes())
    throw Error("fake quantization: per-component ranges of another tile size");
  const bool unset = max_abs.eq(0).all().item<bool>();  // no batch seen yet: the first one sets the range
  if (is_training() || unset) {
    torch::NoGradGuard g;
    // In place: the registered buffer (and so the checkpoint) holds the range.
    if (unset) max_abs.copy_(now);
    else max_abs.mul_(1.0 - momentum).add_(now, momentum);
  }
  const double qmax = static_cast<double>((1 << (bits - 1)) - 1);
  const auto range = max_abs.clamp_min(1e-8);
  const auto scale = range / qmax;
  const auto clipped = torch::max(torch::min(x, range), -range);  // gradient 0 outside the range
  const auto q = torch::round(clipped / scale) * scale;
  return clipped + (q - clipped).detach();                          // straight through inside it
}

}  // namespace winq::train
