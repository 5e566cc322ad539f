// Dataset specs ("fashion-mnist", a folder, .npy files) and preprocessing.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <sstream>

#include "winq/data.hpp"

namespace fs = std::filesystem;

namespace winq {

namespace {

std::vector<float> parse_floats(const std::string& v, const std::string& key) {
  std::vector<float> r;
  std::stringstream ss(v);
  std::string item;
  while (std::getline(ss, item, '/')) {
    try {
      size_t used;
      r.push_back(std::stof(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error("preprocess: '" + key + "' needs numbers separated by '/', got '" + v + "'");
    }
  }
  return r;
}

int64_t parse_int(const std::string& v, const std::string& key) {
  try {
    size_t used;
    long long r = std::stoll(v, &used);
    if (used != v.size() || r < 0 || r > 100000) throw std::invalid_argument(v);
    return r;
  } catch (const std::exception&) {
    throw Error("preprocess: '" + key + "' needs a non-negative integer, got '" + v + "'");
  }
}

std::string first_existing(const std::string& dir, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    fs::path p = fs::path(dir) / n;
    if (fs::exists(p)) return p.string();
  }
  return {};
}

std::vector<std::string> fashion_classes() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

RawImages read_idx_dir(const std::string& dir, bool train) {
  std::string img = train ? first_existing(dir, {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"})
                          : first_existing(dir, {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"});
  std::string lab = train ? first_existing(dir, {"train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"})
                          : first_existing(dir, {"t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"});
  if (img.empty()) throw Error(dir + ": no IDX image file found");
  return read_idx(img, lab);
}

RawImages take_first(RawImages r, int64_t limit) {
  if (limit <= 0 || limit >= r.pixels.dim(0)) return r;
  Shape s = r.pixels.shape();
  s[0] = limit;
  Tensor t(DataType::u8, s);
  std::memcpy(t.raw(), r.pixels.raw(), t.nbytes());
  r.pixels = std::move(t);
  r.labels.resize(static_cast<size_t>(limit));
  return r;
}

}  // namespace

Preprocess parse_preprocess(const std::string& spec) {
  Preprocess p;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos) throw Error("preprocess: expected key=value, got '" + item + "'");
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "resize") {
      auto x = v.find('x');
      if (x == std::string::npos) throw Error("preprocess: resize needs HxW, got '" + v + "'");
      p.resize_h = parse_int(v.substr(0, x), k);
      p.resize_w = parse_int(v.substr(x + 1), k);
    } else if (k == "pad") {
      p.pad = parse_int(v, k);
    } else if (k == "scale") {
      p.scale = parse_floats(v, k).at(0);
    } else if (k == "mean") {
      p.mean = parse_floats(v, k);
    } else if (k == "std") {
      p.std = parse_floats(v, k);
      for (float s : p.std)
        if (!(s > 0)) throw Error("preprocess: std must be positive");
    } else if (k == "channels") {
      p.channels = parse_int(v, k);
      if (p.channels != 1 && p.channels != 3) throw Error("preprocess: channels must be 1 or 3");
    } else if (k == "layout") {
      if (v != "NCHW" && v != "NHWC") throw Error("preprocess: layout must be NCHW or NHWC");
      p.layout = v;
    } else {
      throw Error("preprocess: unknown key '" + k + "' (resize, pad, scale, mean, std, channels, layout)");
    }
  }
  return p;
}

std::string to_string(const Preprocess& p) {
  auto join = [](const std::vector<float>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "/" : "") + fmt::format("{:g}", v[i]);
    return s;
  };
  std::string s;
  if (p.resize_h) s += fmt::format("resize={}x{},", p.resize_h, p.resize_w);
  if (p.pad) s += fmt::format("pad={},", p.pad);
  s += fmt::format("scale={:g},mean={},std={},", p.scale, join(p.mean), join(p.std));
  if (p.channels) s += fmt::format("channels={},", p.channels);
  return s + "layout=" + p.layout;
}

RawImages read_images(const std::string& spec, int64_t limit) {
  if (spec == "fashion-mnist" || spec == "fashion-mnist:test" || spec == "fashion-mnist:train") {
    if (!fs::is_directory(kFashionMnistDir))
      throw Error(fmt::format("{} not found: install Debian's dataset-fashion-mnist (scripts/setup.sh does)",
                              kFashionMnistDir));
    RawImages r = read_idx_dir(kFashionMnistDir, spec == "fashion-mnist:train");
    r.class_names = fashion_classes();
    r.source = spec;
    return take_first(std::move(r), limit);
  }
  auto colon = spec.find(':');
  std::string first = spec.substr(0, colon);
  if (first.size() > 4 && first.substr(first.size() - 4) == ".npy") {
    RawImages r;
    r.source = spec;
    Tensor t = load_npy(first);
    if (t.dtype() != DataType::u8 || (t.rank() != 3 && t.rank() != 4))
      throw Error(first + ": expected uint8 images [N,H,W] or [N,H,W,C]");
    r.pixels = t.rank() == 3 ? t.reshaped({t.dim(0), t.dim(1), t.dim(2), 1}) : t;
    if (colon != std::string::npos) {
      Tensor l = load_npy(spec.substr(colon + 1));
      auto v = l.to_int64s();
      if (static_cast<int64_t>(v.size()) != r.pixels.dim(0))
        throw Error(fmt::format("{}: {} labels for {} images", spec.substr(colon + 1), v.size(), r.pixels.dim(0)));
      r.labels.assign(v.begin(), v.end());
    } else {
      r.labels.assign(static_cast<size_t>(r.pixels.dim(0)), -1);
    }
    return take_first(std::move(r), limit);
  }
  std::error_code ec;
  if (!fs::exists(spec, ec)) throw Error(spec + ": no such file or directory");
  if (fs::is_directory(spec)) {
    if (!first_existing(spec, {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"}).empty())
      return take_first(read_idx_dir(spec, false), limit);
    return take_first(read_image_folder(spec), limit);
  }
  throw Error(spec + ": not a dataset (expected fashion-mnist, a folder, or a .npy file)");
}

Dataset preprocess(const RawImages& raw, const Preprocess& p) {
  const int64_t N = raw.pixels.dim(0), H = raw.pixels.dim(1), W = raw.pixels.dim(2), Cs = raw.pixels.dim(3);
  const int64_t C = p.channels ? p.channels : Cs;
  const int64_t RH = p.resize_h ? p.resize_h : H, RW = p.resize_w ? p.resize_w : W;
  const int64_t OH = RH + 2 * p.pad, OW = RW + 2 * p.pad;
  if (p.mean.size() != 1 && static_cast<int64_t>(p.mean.size()) != C)
    throw Error(fmt::format("preprocess: {} mean values for {} channels", p.mean.size(), C));
  if (p.std.size() != 1 && static_cast<int64_t>(p.std.size()) != C)
    throw Error(fmt::format("preprocess: {} std values for {} channels", p.std.size(), C));
  Dataset d;
  d.labels = raw.labels;
  d.class_names = raw.class_names;
  d.source = raw.source;
  const bool nchw = p.layout == "NCHW";
  d.images = Tensor(DataType::f32, nchw ? Shape{N, C, OH, OW} : Shape{N, OH, OW, C});
  float* out = d.images.data<float>();
  const uint8_t* px = raw.pixels.data<uint8_t>();
  // Source channel for an output channel: gray→RGB repeats, RGB→gray averages.
  auto sample = [&](int64_t n, int64_t y, int64_t x, int64_t c) -> float {
    const uint8_t* q = px + ((n * H + y) * W + x) * Cs;
    if (C == Cs) return q[c];
    if (Cs == 1) return q[0];
    return (q[0] + q[1] + q[2]) / 3.0f;
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const float mean = p.mean.size() == 1 ? p.mean[0] : p.mean[c];
      const float sd = p.std.size() == 1 ? p.std[0] : p.std[c];
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          const int64_t ry = oy - p.pad, rx = ox - p.pad;
          float v = 0.0f;  // zero padding is zero in pixel space, before normalisation
          if (ry >= 0 && ry < RH && rx >= 0 && rx < RW) {
            if (RH == H && RW == W) {
              v = sample(n, ry, rx, c);
            } else {  // bilinear, half-pixel centres
              const float sy = std::clamp((ry + 0.5f) * H / RH - 0.5f, 0.0f, static_cast<float>(H - 1));
              const float sx = std::clamp((rx + 0.5f) * W / RW - 0.5f, 0.0f, static_cast<float>(W - 1));
              const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
              const int64_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
              const float fy = sy - y0, fx = sx - x0;
              v = (1 - fy) * ((1 - fx) * sample(n, y0, x0, c) + fx * sample(n, y0, x1, c)) +
                  fy * ((1 - fx) * sample(n, y1, x0, c) + fx * sample(n, y1, x1, c));
            }
          }
          const float val = (v * p.scale - mean) / sd;
          const int64_t idx = nchw ? ((n * C + c) * OH + oy) * OW + ox : ((n * OH + oy) * OW + ox) * C + c;
          out[idx] = val;
        }
    }
  return d;
}

}  // namespace winq
