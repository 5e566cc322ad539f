// Folders of images, one sub-folder per class (the ImageNet/torchvision layout).
// Decoding by stb_image (Debian's libstb).
#include <stb/stb_image.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "winq/data.hpp"
#include "winq/file.hpp"

namespace fs = std::filesystem;

namespace winq {

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// stb_image 2.27 (Debian 12's libstb) writes past its Huffman size table when
// a JPEG DHT segment declares more than 256 codes (found by fuzz/, fixed
// upstream in 2.28). Until Debian ships the fix, winq walks the segments the
// way stb reads them and refuses such a file before stb sees it.
bool jpeg_huffman_tables_fit(const std::string& b) {
  auto at = [&](size_t i) -> unsigned { return i < b.size() ? static_cast<unsigned char>(b[i]) : 0u; };
  // stb takes FF, any number of FF fill bytes, then D8 as the start of a JPEG.
  if (at(0) != 0xFF) return true;  // not a JPEG to stb
  size_t i = 1;
  while (i < b.size() && at(i) == 0xFF) ++i;
  if (at(i) != 0xD8) return true;
  ++i;  // after SOI
  while (i + 1 < b.size()) {
    if (at(i) != 0xFF) {  // entropy-coded data
      ++i;
      continue;
    }
    const unsigned m = at(i + 1);
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x00 || m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) {  // stuffing, TEM, SOI, RSTn
      i += 2;
      continue;
    }
    if (m == 0xD9) return true;  // EOI
    const long len = static_cast<long>(at(i + 2) << 8 | at(i + 3));
    if (m != 0xC4) {
      i += 2 + static_cast<size_t>(len);
      continue;
    }
    // DHT: tables of [class/id, 16 code counts, values] until the length is used.
    size_t p = i + 4;
    for (long left = len - 2; left > 0;) {
      long n = 0;
      for (size_t k = 1; k <= 16; ++k) n += at(p + k);
      if (n > 256) return false;
      p += 17 + static_cast<size_t>(n);
      left -= 17 + n;
    }
    i = p;
  }
  return true;
}

// Largest image the reader decodes (pixels): a corrupt header cannot make it
// allocate more than this per image.
constexpr int64_t kMaxImagePixels = int64_t{1} << 24;

RawImages read_image_folder_checked(const std::string& root) {
  RawImages r;
  r.source = root;
  std::vector<std::pair<fs::path, int>> files;
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  for (size_t c = 0; c < classes.size(); ++c) {
    r.class_names.push_back(classes[c].filename().string());
    std::vector<fs::path> imgs;
    for (const auto& e : fs::directory_iterator(classes[c]))
      if (e.is_regular_file() && is_image(e.path())) imgs.push_back(e.path());
    std::sort(imgs.begin(), imgs.end());
    for (auto& p : imgs) files.emplace_back(p, static_cast<int>(c));
  }
  if (files.empty()) throw Error(root + ": no images found (expected <root>/<class>/<image>.png|jpg)");
  int W = 0, H = 0, C = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string bytes = read_file(files[i].first.string());
    if (bytes.size() > static_cast<size_t>(INT32_MAX))
      throw Error(files[i].first.string() + ": image file is larger than 2 GiB");
    const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
    const int len = static_cast<int>(bytes.size());
    if (!jpeg_huffman_tables_fit(bytes))
      throw Error(files[i].first.string() + ": cannot decode image (corrupt JPEG: a Huffman table has more than 256 codes)");
    int w, h, c;
    if (!stbi_info_from_memory(data, len, &w, &h, &c))
      throw Error(fmt::format("{}: cannot decode image ({})", files[i].first.string(), stbi_failure_reason()));
    if (int64_t{w} * h > kMaxImagePixels)
      throw Error(fmt::format("{}: image is {}x{}, larger than winq reads ({} pixels)", files[i].first.string(), w, h,
                              kMaxImagePixels));
    unsigned char* px = stbi_load_from_memory(data, len, &w, &h, &c, 0);
    if (!px) throw Error(fmt::format("{}: cannot decode image ({})", files[i].first.string(), stbi_failure_reason()));
    std::unique_ptr<unsigned char, void (*)(void*)> guard(px, stbi_image_free);
    // Grey+alpha and RGBA lose alpha; every image must match the first one's size.
    const int keep = c >= 3 ? 3 : 1;
    if (i == 0) {
      W = w, H = h, C = keep;
      r.pixels = Tensor(DataType::u8, {static_cast<int64_t>(files.size()), H, W, C});
    } else if (w != W || h != H || keep != C) {
      throw Error(fmt::format("{}: image is {}x{}x{} but the first image is {}x{}x{} (resize the folder first)",
                              files[i].first.string(), w, h, keep, W, H, C));
    }
    uint8_t* dst = r.pixels.data<uint8_t>() + i * static_cast<size_t>(H) * W * C;
    for (int64_t p = 0; p < int64_t{H} * W; ++p)
      for (int k = 0; k < C; ++k) dst[p * C + k] = px[p * c + k];
    r.labels.push_back(files[i].second);
  }
  return r;
}

}  // namespace

RawImages read_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(root + ": not a directory");
  try {
    return read_image_folder_checked(root);
  } catch (const fs::filesystem_error& e) {
    throw Error(root + ": cannot read the image folder (" + e.code().message() + ": " + e.path1().string() + ")");
  }
}

}  // namespace winq
