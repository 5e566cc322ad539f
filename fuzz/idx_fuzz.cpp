// Fuzz target: the IDX reader (images + labels, plain or gzip). The first two
// bytes (little endian) are the length of the images file; the rest after it
// is the labels file.
#include <algorithm>

#include "fuzz_util.hpp"
#include "winq/data.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  winq::set_max_tensor_bytes(winq::fuzz::kFuzzTensorBytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n_images = std::min<size_t>(size - 2, data[0] | (data[1] << 8));
  const std::string images = winq::fuzz::write_scratch("images-idx3-ubyte", data + 2, n_images);
  const std::string labels = winq::fuzz::write_scratch("labels-idx1-ubyte", data + 2 + n_images, size - 2 - n_images);
  winq::fuzz::expect_clear_error([&] { winq::read_idx(images, labels); });
  winq::fuzz::expect_clear_error([&] { winq::read_idx(images, ""); });
  return 0;
}
