// Folders of images, one sub-folder per class (the ImageNet/torchvision layout).
// Decoding by stb_image (Debian's libstb).
#include <stb/stb_image.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "winq/data.hpp"

namespace fs = std::filesystem;

namespace winq {

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

}  // namespace

RawImages read_image_folder(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw Error(root + ": not a directory");
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
    int w, h, c;
    unsigned char* px = stbi_load(files[i].first.c_str(), &w, &h, &c, 0);
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

}  // namespace winq
