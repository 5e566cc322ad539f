// Fuzz target: the .npy reader.
#include "fuzz_util.hpp"
#include "winq/data.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  winq::set_max_tensor_bytes(winq::fuzz::kFuzzTensorBytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = winq::fuzz::write_scratch("array.npy", data, size);
  winq::fuzz::expect_clear_error([&] { winq::load_npy(path); });
  return 0;
}
