// Fuzz target: the image-folder reader (stb_image decoding PNG, JPEG, BMP).
// The input becomes root/a/img.<ext> (ext chosen by the first byte); a second
// class holds a copy so that the size-consistency checks run too.
#include "fuzz_util.hpp"
#include "winq/data.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  winq::set_max_tensor_bytes(winq::fuzz::kFuzzTensorBytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* kExt[] = {"png", "jpg", "bmp"};
  const std::string ext = kExt[data[0] % 3];
  static const std::filesystem::path root = winq::fuzz::scratch_dir() / "images";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "a");
  std::filesystem::create_directories(root / "b");
  const std::string first = winq::fuzz::write_scratch("img." + ext, data + 1, size - 1);
  std::filesystem::copy_file(first, root / "a" / ("img." + ext));
  if (data[0] & 0x80) std::filesystem::copy_file(first, root / "b" / ("img." + ext));
  winq::fuzz::expect_clear_error([&] { winq::read_image_folder(root.string()); });
  return 0;
}
