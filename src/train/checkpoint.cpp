#include "checkpoint.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "winq/error.hpp"
#include "winq/file.hpp"

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

// The file is a 24-byte header — "WINQCKPT", format version (u32), CRC-32 of
// the archive (u32), archive length (u64), little endian — then LibTorch's
// archive. Truncated or corrupted files are refused before LibTorch parses
// them: its unpickler trusts the lengths inside the archive (fuzz/checkpoint
// made it allocate 10 GB from a flipped byte). A checkpoint is a file winq
// wrote; a hand-crafted one with a valid CRC is as trusted as torch.load's.
constexpr char kMagic[8] = {'W', 'I', 'N', 'Q', 'C', 'K', 'P', 'T'};
constexpr uint32_t kFormat = 1;
constexpr size_t kHeader = 24;

uint32_t crc_of(const std::string& b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t off = 0; off < b.size(); off += 1u << 30) {
    const size_t n = std::min<size_t>(b.size() - off, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data() + off), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

template <class T>
void put_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
template <class T>
T get_le(const std::string& in, size_t at) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

std::string checkpoint_header(const std::string& body) {
  std::string h(kMagic, sizeof kMagic);
  put_le<uint32_t>(h, kFormat);
  put_le<uint32_t>(h, crc_of(body));
  put_le<uint64_t>(h, body.size());
  return h;
}

std::string checked_body(const std::string& file, const std::string& path) {
  if (file.size() < kHeader || file.compare(0, sizeof kMagic, kMagic, sizeof kMagic) != 0)
    throw Error(path + ": not a winq checkpoint (no WINQCKPT header; written by another program or an older winq?)");
  if (get_le<uint32_t>(file, 8) != kFormat)
    throw Error(fmt::format("{}: checkpoint format {} is not supported (this winq reads {})", path,
                            get_le<uint32_t>(file, 8), kFormat));
  const uint64_t len = get_le<uint64_t>(file, 16);
  if (len != file.size() - kHeader)
    throw Error(fmt::format("{}: checkpoint is truncated or padded ({} bytes of archive, header says {})", path,
                            file.size() - kHeader, len));
  std::string body = file.substr(kHeader);
  if (crc_of(body) != get_le<uint32_t>(file, 12)) throw Error(path + ": checkpoint is corrupt (CRC mismatch)");
  return body;
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
  std::ostringstream archive;
  try {
    ar.save_to(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot write checkpoint: " + e.what_without_backtrace());
  }
  const std::string body = archive.str();
  write_file_atomic(path, checkpoint_header(body) + body);
}

TrainState load_checkpoint(const std::string& path, ResNet& net, torch::optim::Optimizer* opt) {
  if (!std::filesystem::exists(path)) throw Error(path + ": checkpoint not found");
  const std::string file = read_file(path);
  std::istringstream body(checked_body(file, path));
  torch::serialize::InputArchive ar;
  // LibTorch reports a malformed archive with c10::Error but also with standard
  // exceptions (std::out_of_range from its unpickler, found by fuzz/): every one
  // of them is a corrupt file to the user.
  try {
    ar.load_from(body);
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
