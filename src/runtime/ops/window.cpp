#include "window.hpp"

namespace winq::ops {

Window make_window(const Attributes& a, const Shape& x, const std::vector<int64_t>& kernel, bool ceil_mode,
                   const std::string& where) {
  const int sp = static_cast<int>(x.size()) - 2;
  if (sp < 1 || sp > 2)
    throw Unsupported(fmt::format("{}: {}-D windows are not supported (only 1-D and 2-D)", where, sp));
  if (static_cast<int>(kernel.size()) != sp)
    throw Error(fmt::format("{}: kernel has {} dims but the input has {} spatial dims", where, kernel.size(), sp));
  auto strides = a.get_ints("strides", std::vector<int64_t>(sp, 1));
  auto dil = a.get_ints("dilations", std::vector<int64_t>(sp, 1));
  auto pads = a.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
  if (static_cast<int>(strides.size()) != sp || static_cast<int>(dil.size()) != sp ||
      static_cast<int>(pads.size()) != 2 * sp)
    throw Error(where + ": strides/dilations/pads do not match the number of spatial dims");
  const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
  Window w;
  w.spatial = sp;
  const int off = 2 - sp;  // 1-D lives in the second slot
  for (int i = 0; i < sp; ++i) {
    int j = i + off;
    w.in[j] = x[2 + i];
    w.k[j] = kernel[i];
    w.s[j] = strides[i];
    w.d[j] = dil[i];
    if (w.k[j] < 1 || w.s[j] < 1 || w.d[j] < 1)
      throw Error(where + ": kernel sizes, strides and dilations must be positive");
    const int64_t span = (w.k[j] - 1) * w.d[j] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      w.out[j] = (w.in[j] + w.s[j] - 1) / w.s[j];
      int64_t total = std::max<int64_t>(0, (w.out[j] - 1) * w.s[j] + span - w.in[j]);
      w.pad_begin[j] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[j] = total - w.pad_begin[j];
      continue;
    }
    if (auto_pad == "VALID") {
      w.pad_begin[j] = w.pad_end[j] = 0;
    } else if (auto_pad == "NOTSET") {
      w.pad_begin[j] = pads[i];
      w.pad_end[j] = pads[i + sp];
      if (w.pad_begin[j] < 0 || w.pad_end[j] < 0) throw Error(where + ": negative pads are not supported");
    } else {
      throw Error(where + ": unknown auto_pad '" + auto_pad + "'");
    }
    int64_t avail = w.in[j] + w.pad_begin[j] + w.pad_end[j] - span;
    if (avail < 0)
      throw Error(fmt::format("{}: the window ({}) is larger than the padded input ({})", where, span,
                              w.in[j] + w.pad_begin[j] + w.pad_end[j]));
    w.out[j] = ceil_mode ? (avail + w.s[j] - 1) / w.s[j] + 1 : avail / w.s[j] + 1;
    // ceil_mode: the last window must start inside the input or left padding.
    if (ceil_mode && (w.out[j] - 1) * w.s[j] >= w.in[j] + w.pad_begin[j]) --w.out[j];
  }
  return w;
}

Shape window_output_shape(const Window& w, int64_t n, int64_t channels) {
  if (w.spatial == 1) return {n, channels, w.out[1]};
  return {n, channels, w.out[0], w.out[1]};
}

}  // namespace winq::ops
