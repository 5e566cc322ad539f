#include "adapt.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <string>

#include "winq/error.hpp"

namespace winq::train {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The ordinary and the Winograd-aware conv of a block are registered under the
// same name (conv1, conv2) with the same 3×3 `weight`; these are the tensors
// only a Winograd-aware layer has: its transforms and its fake quantizers.
bool is_transform(const std::string& name) {
  return ends_with(name, ".AT") || ends_with(name, ".G") || ends_with(name, ".BT");
}
// ... and the fake quantizers of quantization-aware training (the layers', the
// blocks' and, with --q-all-layers, the network's own: q_image, …).
bool starts_fresh(const std::string& name) {
  return is_transform(name) || name.rfind("q_", 0) == 0 || name.find(".q_") != std::string::npos ||
         name.find(".fq") != std::string::npos;
}

}  // namespace

TransferReport transfer_weights(ResNet& from, ResNet& to) {
  std::map<std::string, torch::Tensor> src;
  for (auto& p : from->named_parameters()) src[p.key()] = p.value();
  for (auto& b : from->named_buffers()) src[b.key()] = b.value();
  TransferReport rep;
  torch::NoGradGuard no_grad;
  auto copy = [&](const std::string& name, torch::Tensor& dst, bool trainable) {
    auto it = src.find(name);
    const bool found = it != src.end() && it->second.sizes().equals(dst.sizes());
    // a static target keeps the exact matrices; a tile change keeps the new shape's
    if (found && !(is_transform(name) && !trainable)) {
      dst.copy_(it->second);
      ++rep.copied;
    } else if (starts_fresh(name)) {
      rep.fresh.push_back(name);
    } else {
      throw Error(fmt::format("cannot adapt: the trained network has no tensor for '{}' of shape {} (a different "
                              "width or number of classes?)",
                              name, fmt::join(dst.sizes().begin(), dst.sizes().end(), "×")));
    }
  };
  for (auto& p : to->named_parameters()) copy(p.key(), p.value(), true);
  for (auto& b : to->named_buffers()) copy(b.key(), b.value(), false);
  return rep;
}

}  // namespace winq::train
