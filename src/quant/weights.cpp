#include "weights.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace winq::quant {

TensorStats stats_of(const std::vector<float>& values, int bins) {
  TensorStats s;
  double sum = 0, sumsq = 0, abs_nz = 0;
  s.min = INFINITY;
  s.max = -INFINITY;
  for (float v : values) {
    if (!std::isfinite(v)) {
      ++s.nonfinite;
      continue;
    }
    ++s.count;
    s.zeros += v == 0;
    s.min = std::min<double>(s.min, v);
    s.max = std::max<double>(s.max, v);
    sum += v;
    sumsq += static_cast<double>(v) * v;
    abs_nz += std::fabs(v);
  }
  if (s.nonfinite) throw Error("weights contain NaN or Inf");
  if (s.count == 0) {
    s.min = s.max = 0;
    return s;
  }
  s.mean = sum / s.count;
  s.std = std::sqrt(std::max(0.0, sumsq / s.count - s.mean * s.mean));
  const int64_t nz = s.count - s.zeros;
  s.abs_mean_nonzero = nz ? abs_nz / nz : 0;
  s.rms_nonzero = nz ? std::sqrt(sumsq / nz) : 0;
  const double amax = s.abs_max();
  s.hist.assign(static_cast<size_t>(bins), 0.0);
  double dev = 0;
  for (float v : values) {
    dev += std::fabs(v - s.mean);
    if (amax > 0) s.hist[std::min<size_t>(bins - 1, static_cast<size_t>(std::fabs(v) / amax * bins))] += 1;
  }
  s.mad = dev / s.count;
  return s;
}

std::vector<int32_t> allocate_levels(const std::vector<double>& ranges, int bits) {
  double norm = 0;
  for (double r : ranges) norm += std::cbrt(r * r);
  const double budget = static_cast<double>(ranges.size()) * std::exp2(bits);
  std::vector<int32_t> qmax(ranges.size(), (1 << (bits - 1)) - 1);
  if (norm <= 0) return qmax;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const double levels = budget * std::cbrt(ranges[i] * ranges[i]) / norm;
    qmax[i] = std::clamp(static_cast<int32_t>(std::floor((levels - 1) / 2)), 1, 127);
  }
  return qmax;
}

QuantizedWeights quantize_weights(const Tensor& w, const WeightQuantOptions& o) {
  if (w.dtype() != DataType::f32) throw Error("weights must be float");
  if (o.bit_alloc && !o.per_channel) throw Error("bit allocation needs per-channel weights (--per-channel)");
  const int64_t channels = o.per_channel ? w.dim(o.axis) : 1;
  int64_t inner = 1;
  for (int d = o.axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  auto channel_of = [&](int64_t i) { return o.per_channel ? (i / inner) % channels : 0; };

  const float* wd = w.data<float>();
  std::vector<std::vector<float>> per(static_cast<size_t>(channels));
  for (int64_t i = 0; i < w.numel(); ++i) per[static_cast<size_t>(channel_of(i))].push_back(wd[i]);

  QuantizedWeights r;
  std::vector<double> clip(static_cast<size_t>(channels));
  ClipOptions co;
  co.bits = o.bits;
  for (int64_t c = 0; c < channels; ++c)
    clip[c] = clip_value(stats_of(per[c], 512), o.calibrator, co);
  r.qmax = o.bit_alloc ? allocate_levels(clip, o.bits)
                       : std::vector<int32_t>(static_cast<size_t>(channels), quant_max(o.bits, false));
  for (int64_t c = 0; c < channels; ++c) r.scale.push_back(static_cast<float>(clip[c] / r.qmax[c]));

  r.q = Tensor(DataType::s8, w.shape());
  r.dequantized = Tensor(DataType::f32, w.shape());
  int8_t* q = r.q.data<int8_t>();
  float* dq = r.dequantized.data<float>();
  double sig = 0, err = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    const int64_t c = channel_of(i);
    const float v = std::nearbyint(wd[i] / r.scale[c]);
    q[i] = static_cast<int8_t>(std::clamp<float>(v, -r.qmax[c], r.qmax[c]));
    dq[i] = static_cast<float>(q[i]) * r.scale[c];
    sig += static_cast<double>(wd[i]) * wd[i];
    err += (static_cast<double>(wd[i]) - dq[i]) * (static_cast<double>(wd[i]) - dq[i]);
  }
  r.sqnr_db = err > 0 ? 10 * std::log10(sig / err) : INFINITY;
  // Bits of a signed container for each channel: log2(qmax + 1) + 1 (8 for qmax 127).
  for (int32_t m : r.qmax) r.mean_bits += (std::log2(m + 1.0) + 1) / static_cast<double>(channels);
  return r;
}

}  // namespace winq::quant
