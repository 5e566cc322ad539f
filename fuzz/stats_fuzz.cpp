// Fuzz target: the calibration-statistics JSON reader.
#include "fuzz_util.hpp"
#include "winq/calib.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = winq::fuzz::write_scratch("stats.json", data, size);
  winq::fuzz::expect_clear_error([&] { winq::load_stats(path); });
  return 0;
}
