// Datasets for calibration and evaluation: Fashion-MNIST IDX files, folders of
// PNG/JPEG images (one sub-folder per class), and .npy arrays.
#pragma once
#include <string>
#include <vector>

#include "winq/tensor.hpp"

namespace winq {

// How raw 8-bit images become the float input of a model:
//   resize (bilinear) → zero-pad → ·scale → (x − mean[c]) / std[c] → layout.
// Text form: "resize=32x32,pad=2,scale=0.00392157,mean=0.286,std=0.353,channels=1,layout=NCHW".
struct Preprocess {
  int64_t resize_h = 0, resize_w = 0;  // 0 = keep
  int64_t pad = 0;                     // zero border, in pixels, on every side
  float scale = 1.0f / 255.0f;
  std::vector<float> mean{0.0f}, std{1.0f};  // one value, or one per channel
  int64_t channels = 0;                      // 0 = as stored; 1 = gray, 3 = RGB
  std::string layout = "NCHW";               // or NHWC
};
Preprocess parse_preprocess(const std::string& spec);
std::string to_string(const Preprocess& p);

// Raw images: uint8 [N, H, W, C] and labels (−1 when unknown).
struct RawImages {
  Tensor pixels;
  std::vector<int> labels;
  std::vector<std::string> class_names;
  std::string source;
};

// Preprocessed images (float, NCHW or NHWC) with their labels.
struct Dataset {
  Tensor images;
  std::vector<int> labels;
  std::vector<std::string> class_names;
  std::string source;
  int64_t size() const { return images.defined() ? images.dim(0) : 0; }
};

// Fashion-MNIST as Debian's dataset-fashion-mnist installs it.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// IDX files (optionally gzip-compressed): images idx3 (N×H×W u8), labels idx1.
RawImages read_idx(const std::string& images_path, const std::string& labels_path);
// root/<class>/<image>.{png,jpg,jpeg,bmp}; classes sorted by name.
RawImages read_image_folder(const std::string& root);

// `spec`: "fashion-mnist" (test split), "fashion-mnist:train", a directory of
// IDX files, an image folder, or "images.npy[:labels.npy]". At most `limit`
// images (0 = all).
RawImages read_images(const std::string& spec, int64_t limit = 0);
Dataset preprocess(const RawImages& raw, const Preprocess& p);

// .npy arrays (C order; f4, f8→f4, i1, u1, i4, i8).
Tensor load_npy(const std::string& path);
void save_npy(const std::string& path, const Tensor& t);

}  // namespace winq
