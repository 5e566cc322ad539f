// Copies between torch tensors and winq tensors (float only).
#pragma once
#include <torch/torch.h>

#include <cstring>

#include "winq/tensor.hpp"

namespace winq::train {

inline Tensor to_winq(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat).contiguous();
  Shape s(c.sizes().begin(), c.sizes().end());
  Tensor r(DataType::f32, s);
  if (r.numel()) std::memcpy(r.raw(), c.data_ptr<float>(), r.nbytes());
  return r;
}

inline torch::Tensor to_torch(const Tensor& t) {
  std::vector<int64_t> s(t.shape().begin(), t.shape().end());
  return torch::from_blob(const_cast<float*>(t.data<float>()), s, torch::kFloat).clone();
}

}  // namespace winq::train
