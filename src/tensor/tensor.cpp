#include "winq/tensor.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

namespace winq {

size_t dtype_size(DataType t) {
  switch (t) {
    case DataType::f32: return 4;
    case DataType::s8: return 1;
    case DataType::u8: return 1;
    case DataType::s32: return 4;
    case DataType::s64: return 8;
  }
  return 0;
}

const char* dtype_name(DataType t) {
  switch (t) {
    case DataType::f32: return "f32";
    case DataType::s8: return "s8";
    case DataType::u8: return "u8";
    case DataType::s32: return "s32";
    case DataType::s64: return "s64";
  }
  return "?";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("shape " + shape_str(s) + " has an unknown or negative dimension");
    if (d != 0 && n > kMaxTensorElements / d)
      throw Error(fmt::format("shape {} has more than {} elements (limit)", shape_str(s),
                              kMaxTensorElements));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ",";
    r += s[i] < 0 ? std::string("?") : std::to_string(s[i]);
  }
  return r + "]";
}

namespace {
size_t default_max_tensor_bytes() {
  if (const char* env = std::getenv("WINQ_MAX_TENSOR_MB")) {
    char* end = nullptr;
    const unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && mb > 0 && mb < (1ull << 40)) return static_cast<size_t>(mb) << 20;
  }
  return static_cast<size_t>(kMaxTensorElements) * 4;
}
std::atomic<size_t> g_max_tensor_bytes{default_max_tensor_bytes()};
}  // namespace

size_t max_tensor_bytes() { return g_max_tensor_bytes.load(std::memory_order_relaxed); }
void set_max_tensor_bytes(size_t bytes) { g_max_tensor_bytes.store(bytes, std::memory_order_relaxed); }

Tensor::Tensor(DataType dtype, Shape shape) : Tensor(dtype, std::move(shape), true) {}

Tensor::Tensor(DataType dtype, Shape shape, bool zero_fill) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  if (nbytes() > max_tensor_bytes())
    throw Error(fmt::format("a tensor of shape {} needs {} MiB, more than the limit of {} MiB (WINQ_MAX_TENSOR_MB)",
                            shape_str(shape_), nbytes() >> 20, max_tensor_bytes() >> 20));
  // Round up to a whole number of cache lines so that SIMD tails may read (never
  // write) a little past the end without leaving the allocation.
  size_t bytes = (nbytes() + 64 + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (!p) throw Error(fmt::format("out of memory allocating a tensor of {} bytes", bytes));
  // The tail past the data is zeroed either way, so what a SIMD tail reads there is defined.
  if (zero_fill) std::memset(p, 0, bytes);
  else std::memset(static_cast<std::byte*>(p) + nbytes(), 0, bytes - nbytes());
  storage_ = std::shared_ptr<std::byte[]>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(dtype_, shape_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel_)
    throw Error("cannot reshape " + shape_str(shape_) + " to " + shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

template <class Out>
static std::vector<Out> convert_all(const Tensor& t) {
  std::vector<Out> r(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DataType::f32: r[i] = static_cast<Out>(t.data<float>()[i]); break;
      case DataType::s8: r[i] = static_cast<Out>(t.data<int8_t>()[i]); break;
      case DataType::u8: r[i] = static_cast<Out>(t.data<uint8_t>()[i]); break;
      case DataType::s32: r[i] = static_cast<Out>(t.data<int32_t>()[i]); break;
      case DataType::s64: r[i] = static_cast<Out>(t.data<int64_t>()[i]); break;
    }
  }
  return r;
}

std::vector<double> Tensor::to_doubles() const { return convert_all<double>(*this); }
std::vector<int64_t> Tensor::to_int64s() const { return convert_all<int64_t>(*this); }

void Tensor::check_type(DataType t) const {
  if (t != dtype_)
    throw Error(fmt::format("tensor holds {} but was read as {}", dtype_name(dtype_), dtype_name(t)));
}

}  // namespace winq
