#include "checkpoint.hpp"

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "winq/error.hpp"

namespace winq::train {

namespace {

torch::Tensor string_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}
std::string tensor_string(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

void read_into(torch::serialize::InputArchive& ar, const std::string& key, torch::Tensor& dst, const std::string& path) {
  torch::Tensor t;
  if (!ar.try_read(key, t)) throw Error(fmt::format("{}: checkpoint has no tensor '{}' (another network?)", path, key));
  if (t.sizes() != dst.sizes())
    throw Error(fmt::format("{}: '{}' has shape {} in the checkpoint but {} in the model (different --mult or data?)",
                            path, key, c10::str(t.sizes()), c10::str(dst.sizes())));
  dst.detach().copy_(t);
}

}  // namespace

void save_checkpoint(const std::string& path, ResNet& net, torch::optim::Optimizer& opt, const TrainState& st) {
  torch::serialize::OutputArchive ar;
  for (auto& p : net->named_parameters()) ar.write("model." + p.key(), p.value().detach());
  for (auto& b : net->named_buffers()) ar.write("model." + b.key(), b.value(), /*is_buffer=*/true);
  torch::serialize::OutputArchive oa;
  opt.save(oa);
  ar.write("optimizer", oa);
  ar.write("state.epoch", torch::tensor(st.epoch));
  ar.write("state.batch", torch::tensor(st.batch));
  ar.write("state.step", torch::tensor(st.step));
  ar.write("state.best_top1", torch::tensor(st.best_top1, torch::kDouble));
  ar.write("state.seconds", torch::tensor(st.seconds, torch::kDouble));
  ar.write("state.history", string_tensor(st.history));
  ar.write("state.config", string_tensor(st.config_json));
  const std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
  std::filesystem::rename(tmp, path);
}

TrainState load_checkpoint(const std::string& path, ResNet& net, torch::optim::Optimizer* opt) {
  if (!std::filesystem::exists(path)) throw Error(path + ": checkpoint not found");
  torch::serialize::InputArchive ar;
  // LibTorch reports a malformed archive with c10::Error but also with standard
  // exceptions (std::out_of_range from its unpickler, found by fuzz/): every one
  // of them is a corrupt file to the user.
  try {
    ar.load_from(path);
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable winq checkpoint (corrupt or truncated)");
  }
  try {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters()) read_into(ar, "model." + p.key(), p.value(), path);
    for (auto& b : net->named_buffers()) read_into(ar, "model." + b.key(), b.value(), path);
    if (opt) {
      torch::serialize::InputArchive oa;
      if (!ar.try_read("optimizer", oa)) throw Error(path + ": checkpoint has no optimizer state");
      opt->load(oa);
    }
    TrainState st;
    torch::Tensor t;
    auto get = [&](const char* key) -> torch::Tensor {
      torch::Tensor v;
      if (!ar.try_read(key, v)) throw Error(fmt::format("{}: checkpoint has no '{}'", path, key));
      return v;
    };
    st.epoch = get("state.epoch").item<int64_t>();
    st.batch = get("state.batch").item<int64_t>();
    st.step = get("state.step").item<int64_t>();
    st.best_top1 = get("state.best_top1").item<double>();
    st.seconds = get("state.seconds").item<double>();
    st.history = tensor_string(get("state.history"));
    st.config_json = tensor_string(get("state.config"));
    return st;
  } catch (const c10::Error& e) {
    throw Error(path + ": checkpoint does not match this network or optimizer: " + e.what_without_backtrace());
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint is corrupt (" + std::string(e.what()).substr(0, 200) + ")");
  }
}

}  // namespace winq::train
