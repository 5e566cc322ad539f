// Resize (opset 10, 11, 13) and Upsample (opset 7-9): nearest and (n-)linear
// interpolation with the ONNX coordinate transformation modes.
#include <algorithm>
#include <cmath>
#include <vector>

#include "op.hpp"

namespace winq::ops {

namespace {

struct ResizeSpec {
  Shape out;
  std::vector<float> scale;  // per axis, out/in
  std::string mode, coord, nearest_mode;
};

ResizeSpec resize_spec(const Node& n, int64_t opset, const Shape& x, const Tensor* scales, const Tensor* sizes,
                       const std::string& where) {
  ResizeSpec s;
  const size_t r = x.size();
  const bool upsample = n.op == "Upsample";
  s.mode = n.attrs.get_string("mode", "nearest");
  if (upsample || opset < 11) {
    s.coord = "asymmetric";
    s.nearest_mode = upsample || opset < 11 ? "floor" : "round_prefer_floor";
    if (s.mode == "bilinear") s.mode = "linear";
  } else {
    s.coord = n.attrs.get_string("coordinate_transformation_mode", "half_pixel");
    if (s.coord == "tf_half_pixel_for_nn") s.coord = "tf_half_pixel_for_nearest";  // opset-11 spelling
    s.nearest_mode = n.attrs.get_string("nearest_mode", "round_prefer_floor");
  }
  if (s.mode != "nearest" && s.mode != "linear")
    throw Unsupported(where + ": interpolation mode '" + s.mode + "' is not supported (nearest and linear are)");
  if (s.coord == "tf_crop_and_resize")
    throw Unsupported(where + ": coordinate_transformation_mode tf_crop_and_resize is not supported");
  if (n.attrs.has("antialias") || n.attrs.has("axes") || n.attrs.has("keep_aspect_ratio_policy"))
    throw Unsupported(where + ": Resize-18 attributes are not supported");
  std::vector<float> sc;
  if (upsample && opset < 7 && !n.attrs.has("scales"))
    throw Unsupported(where + ": Upsample with height_scale/width_scale (opset < 7) is not supported");
  if (upsample && opset < 9) sc = n.attrs.get_floats("scales");
  else if (scales && scales->numel() > 0) {
    auto d = scales->to_doubles();
    sc.assign(d.begin(), d.end());
  }
  s.out = x;
  s.scale.assign(r, 1.0f);
  if (sizes && sizes->numel() > 0) {
    auto sz = sizes->to_int64s();
    if (sz.size() != r) throw Error(where + ": sizes must have one entry per dimension");
    for (size_t i = 0; i < r; ++i) {
      s.out[i] = sz[i];
      s.scale[i] = static_cast<float>(sz[i]) / static_cast<float>(x[i]);
    }
  } else {
    if (sc.size() != r) throw Error(where + ": scales must have one entry per dimension (or give sizes)");
    for (size_t i = 0; i < r; ++i) {
      if (!(sc[i] > 0)) throw Error(where + ": scales must be positive");
      s.scale[i] = sc[i];
      s.out[i] = static_cast<int64_t>(std::floor(static_cast<double>(x[i]) * sc[i]));
    }
  }
  return s;
}

void resize_infer(InferContext& c) {
  const bool upsample = c.node.op == "Upsample";
  const size_t scales_at = upsample ? 1 : (c.g.opset < 11 ? 1 : 2);
  const Tensor* scales = c.const_input(scales_at);
  const Tensor* sizes = upsample || c.g.opset < 11 ? nullptr : c.const_input(3);
  if ((c.has_input(scales_at) && !scales) || (!upsample && c.g.opset >= 11 && c.has_input(3) && !sizes))
    throw Unsupported(c.where() + ": scales and sizes must be constant");
  if (c.in(0).dtype != DataType::f32) throw Unsupported(c.where() + ": only float input is supported");
  c.set_output(0, DataType::f32, resize_spec(c.node, c.g.opset, c.in_shape(0), scales, sizes, c.where()).out);
}

// ONNX uses the unrounded resized length in·scale in these formulas.
float source_coord(const std::string& mode, int64_t xo, float scale, int64_t in) {
  const float x = static_cast<float>(xo), len = static_cast<float>(in) * scale;
  if (mode == "half_pixel") return (x + 0.5f) / scale - 0.5f;
  if (mode == "pytorch_half_pixel") return len > 1 ? (x + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "align_corners") return len > 1 ? x * static_cast<float>(in - 1) / (len - 1) : 0.0f;
  if (mode == "tf_half_pixel_for_nearest") return (x + 0.5f) / scale;
  return x / scale;  // asymmetric
}

int64_t nearest_index(const std::string& mode, float v, int64_t in) {
  int64_t i;
  if (mode == "floor") i = static_cast<int64_t>(std::floor(v));
  else if (mode == "ceil") i = static_cast<int64_t>(std::ceil(v));
  else {
    const float f = v - std::floor(v);
    if (f == 0.5f) i = static_cast<int64_t>(mode == "round_prefer_ceil" ? std::ceil(v) : std::floor(v));
    else i = static_cast<int64_t>(std::round(v));
  }
  return std::clamp<int64_t>(i, 0, in - 1);
}

void resize_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const bool upsample = c.node.op == "Upsample";
  const size_t scales_at = upsample ? 1 : (c.opset < 11 ? 1 : 2);
  auto opt = [&](size_t i) { return c.has_input(i) ? &c.input(i) : nullptr; };
  auto s = resize_spec(c.node, c.opset, x.shape(), opt(scales_at), upsample || c.opset < 11 ? nullptr : opt(3),
                       c.where());
  const int r = x.rank();
  Tensor y(DataType::f32, s.out);
  // Per axis and output index: two source indices and their weights.
  std::vector<std::vector<int64_t>> i0(r), i1(r);
  std::vector<std::vector<float>> w1(r);
  for (int a = 0; a < r; ++a) {
    const int64_t in = x.dim(a);
    for (int64_t o = 0; o < s.out[a]; ++o) {
      const float src = source_coord(s.coord, o, s.scale[a], in);
      if (s.mode == "nearest") {
        const int64_t k = nearest_index(s.nearest_mode, src, in);
        i0[a].push_back(k);
        i1[a].push_back(k);
        w1[a].push_back(0.0f);
      } else {
        const float cl = std::clamp(src, 0.0f, static_cast<float>(in - 1));
        const int64_t lo = static_cast<int64_t>(std::floor(cl));
        i0[a].push_back(lo);
        i1[a].push_back(std::min(lo + 1, in - 1));
        w1[a].push_back(cl - static_cast<float>(lo));
      }
    }
  }
  std::vector<int64_t> stride(r, 1), idx(r, 0);
  for (int i = r - 1; i > 0; --i) stride[i - 1] = stride[i] * x.dim(i);
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
  const int corners = s.mode == "nearest" ? 1 : (1 << r);
  for (int64_t o = 0; o < y.numel(); ++o) {
    float acc = 0.0f;
    for (int m = 0; m < corners; ++m) {
      float w = 1.0f;
      int64_t off = 0;
      for (int a = 0; a < r; ++a) {
        const bool hi = (m >> a) & 1;
        const float wa = w1[a][idx[a]];
        w *= hi ? wa : 1.0f - wa;
        off += (hi ? i1[a][idx[a]] : i0[a][idx[a]]) * stride[a];
      }
      if (w != 0.0f || corners == 1) acc += (corners == 1 ? 1.0f : w) * xd[off];
    }
    yd[o] = acc;
    for (int a = r - 1; a >= 0; --a) {
      if (++idx[a] < s.out[a]) break;
      idx[a] = 0;
    }
  }
  c.out[0] = std::move(y);
}

}  // namespace

void register_resize_ops(OpTable& t) {
  t.push_back({"Resize", {resize_infer, resize_run}});
  t.push_back({"Upsample", {resize_infer, resize_run}});
}

}  // namespace winq::ops
