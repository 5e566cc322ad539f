// Tensor: a shape, an element type and 64-byte aligned storage shared between
// copies (copying a Tensor is cheap; clone() makes an independent copy).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "winq/error.hpp"

namespace winq {

// s64 exists for ONNX shape arithmetic (Shape/Gather/Slice/... work on int64).
enum class DataType : uint8_t { f32, s8, u8, s32, s64 };

size_t dtype_size(DataType t);
const char* dtype_name(DataType t);

template <class T> constexpr DataType dtype_of();
template <> constexpr DataType dtype_of<float>() { return DataType::f32; }
template <> constexpr DataType dtype_of<int8_t>() { return DataType::s8; }
template <> constexpr DataType dtype_of<uint8_t>() { return DataType::u8; }
template <> constexpr DataType dtype_of<int32_t>() { return DataType::s32; }
template <> constexpr DataType dtype_of<int64_t>() { return DataType::s64; }

using Shape = std::vector<int64_t>;

// Number of elements; throws Error when a dimension is negative (unknown) or
// the product exceeds kMaxTensorElements.
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// Largest tensor winq will allocate (2^32 elements, 16 GiB of f32): a model that
// declares more is refused with a clear error instead of exhausting memory.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 32;

// Largest single allocation a Tensor may make, in bytes: the default is the
// environment's WINQ_MAX_TENSOR_MB when set, else 16 GiB. A tensor above it is
// a clear Error, never an attempt (fuzz targets lower it so that a file which
// declares a huge constant is refused instead of exhausting memory).
size_t max_tensor_bytes();
void set_max_tensor_bytes(size_t bytes);

// Affine quantization parameters: real = scale * (q - zero_point).
// Per tensor when axis < 0 (one scale), otherwise one scale per index of `axis`.
struct QuantParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int axis = -1;
  bool per_axis() const { return axis >= 0; }
};

class Tensor {
 public:
  Tensor() = default;
  // Zero-initialised storage.
  Tensor(DataType dtype, Shape shape);
  // Storage left as the allocator gives it: for a kernel's output that it
  // writes in full (zero-filling it cost as much as writing it twice).
  static Tensor uninitialized(DataType dtype, Shape shape) { return Tensor(dtype, std::move(shape), false); }

  template <class T>
  static Tensor from(Shape shape, const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), std::move(shape));
    if (static_cast<int64_t>(values.size()) != t.numel())
      throw Error("Tensor::from: " + std::to_string(values.size()) + " values for shape " +
                  shape_str(t.shape()));
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <class T>
  static Tensor scalar(T v) { return from<T>({}, {v}); }

  bool defined() const { return storage_ != nullptr; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(i < 0 ? i + rank() : i); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  template <class T> T* data() {
    check_type(dtype_of<T>());
    return reinterpret_cast<T*>(storage_.get());
  }
  template <class T> const T* data() const {
    check_type(dtype_of<T>());
    return reinterpret_cast<const T*>(storage_.get());
  }
  std::byte* raw() { return storage_.get(); }
  const std::byte* raw() const { return storage_.get(); }

  Tensor clone() const;
  // Same storage, new shape with the same number of elements.
  Tensor reshaped(Shape shape) const;
  // Values converted to double / int64 (any dtype), for small tensors such as shapes.
  std::vector<double> to_doubles() const;
  std::vector<int64_t> to_int64s() const;

 private:
  Tensor(DataType dtype, Shape shape, bool zero_fill);
  void check_type(DataType t) const;
  DataType dtype_ = DataType::f32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<std::byte[]> storage_;
};

}  // namespace winq
