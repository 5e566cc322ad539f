// SVG plots for the report: lines, horizontal bars, histograms. Hand-written
// SVG (no plotting library): axes with "nice" ticks, a legend whose entries the
// page's script can toggle (data-series), and a <title> on every mark so a
// hover shows its value without any script.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "winq/report.hpp"

namespace winq::report {

namespace {

// A colour-blind-friendly categorical palette (Okabe–Ito, then greys/darks).
const char* colour(size_t i) {
  static const char* k[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                            "#56B4E9", "#000000", "#F0E442", "#7F7F7F", "#8C564B"};
  return k[i % (sizeof k / sizeof k[0])];
}

std::string num(double v) {
  if (!std::isfinite(v)) return "–";
  const double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.3g}", v);
  return fmt::format("{:.4g}", v);
}

// Tick positions covering [lo, hi] at a 1/2/5 × 10^k step, about `target` of them.
std::vector<double> nice_ticks(double& lo, double& hi, int target = 6) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  std::vector<double> t;
  for (double v = lo; v <= hi + step * 1e-9; v += step) t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

struct Frame {
  double w, h, left, right, top, bottom;
  double x0, x1, y0, y1;  // data ranges
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
  double py(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }
};

std::string open_svg(double w, double h, const std::string& title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
      "font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"{2}\">\n"
      "<text x=\"{3}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{2}</text>\n",
      w, h, escape(title), w / 2);
}

std::string y_axis(const Frame& f, const std::vector<double>& ticks, const std::string& label) {
  std::string s;
  for (double t : ticks) {
    const double y = f.py(t);
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e3e3e3\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                     f.left, f.w - f.right, y, y, f.left - 6, y + 4, num(t));
  }
  s += fmt::format("<text transform=\"translate(14,{:.1f}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                   (f.top + f.h - f.bottom) / 2, escape(label));
  s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#444\"/>\n", f.left,
                   f.top, f.h - f.bottom);
  return s;
}

std::string legend(const std::vector<Series>& series, double x, double y) {
  std::string s;
  for (size_t i = 0; i < series.size(); ++i) {
    const double yy = y + 16.0 * static_cast<double>(i);
    s += fmt::format(
        "<g class=\"legend\" data-series=\"{0}\" style=\"cursor:pointer\"><rect x=\"{1:.1f}\" y=\"{2:.1f}\" "
        "width=\"12\" height=\"12\" fill=\"{3}\"/><text x=\"{4:.1f}\" y=\"{5:.1f}\">{6}</text></g>\n",
        i, x, yy, colour(i), x + 16, yy + 10, escape(series[i].name));
  }
  return s;
}

void data_range(const std::vector<Series>& series, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series)
    for (double v : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
}

size_t legend_width(const std::vector<Series>& series) {
  size_t n = 0;
  for (const Series& s : series) n = std::max(n, s.name.size());
  return std::min<size_t>(n, 40) * 7 + 30;
}

}  // namespace

std::string escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string svg(const LinePlot& p) {
  const bool cat = !p.categories.empty();
  const size_t n = cat ? p.categories.size() : p.x.size();
  size_t longest = 0;
  for (const auto& c : p.categories) longest = std::max(longest, c.size());
  const double label_room = cat ? 20 + 6.2 * static_cast<double>(std::min<size_t>(longest, 28)) * 0.72 : 40;
  // At most ~990 px wide (the page's content width): categories get narrower, not the page wider.
  const double room = static_cast<double>(legend_width(p.series));
  Frame f{std::clamp(160.0 + 26.0 * static_cast<double>(n), 560.0, 990.0 - room) + room,
          330 + label_room,
          60,
          static_cast<double>(legend_width(p.series)) + 20,
          34,
          label_room + 8,
          0,
          1,
          0,
          1};
  double lo, hi;
  data_range(p.series, lo, hi);
  if (p.reference) lo = std::min(lo, *p.reference), hi = std::max(hi, *p.reference);
  if (p.y_min) lo = *p.y_min;
  if (p.y_max) hi = *p.y_max;
  const auto yt = nice_ticks(lo, hi);
  f.y0 = lo, f.y1 = hi;
  std::vector<double> xs(n);
  for (size_t i = 0; i < n; ++i) xs[i] = cat ? static_cast<double>(i) : p.x[i];
  f.x0 = n ? *std::min_element(xs.begin(), xs.end()) : 0;
  f.x1 = n ? *std::max_element(xs.begin(), xs.end()) : 1;
  const double pad = f.x1 > f.x0 ? (f.x1 - f.x0) * 0.04 : 0.5;
  f.x0 -= pad, f.x1 += pad;

  std::string s = open_svg(f.w, f.h, p.title) + y_axis(f, yt, p.y_label);
  const double base = f.h - f.bottom;
  s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", f.left,
                   f.w - f.right, base, base);
  for (size_t i = 0; i < n; ++i) {
    const double x = f.px(xs[i]);
    if (cat)
      s += fmt::format("<text transform=\"translate({:.1f},{:.1f}) rotate(-40)\" text-anchor=\"end\" "
                       "font-size=\"10\">{}</text>\n",
                       x + 3, base + 12, escape(p.categories[i].substr(0, 28)));
    else
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", x, base + 16, num(xs[i]));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", (f.left + f.w - f.right) / 2,
                   f.h - 6, escape(p.x_label));
  if (p.reference) {
    const double y = f.py(*p.reference);
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\" "
                     "stroke-dasharray=\"5,4\"><title>{}: {}</title></line>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#444\">{}</text>\n",
                     f.left, f.w - f.right, y, y, escape(p.reference_label), num(*p.reference), f.w - f.right - 4,
                     y - 4, escape(p.reference_label));
  }
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& se = p.series[k];
    s += fmt::format("<g class=\"series\" data-series=\"{}\" stroke=\"{}\" fill=\"{}\">\n", k, colour(k), colour(k));
    std::string path;
    for (size_t i = 0; i < std::min(n, se.y.size()); ++i) {
      const double v = std::clamp(se.y[i], f.y0, f.y1);
      if (!std::isfinite(se.y[i])) {
        if (!path.empty()) s += "<polyline fill=\"none\" stroke-width=\"2\" points=\"" + path + "\"/>\n";
        path.clear();
        continue;
      }
      path += fmt::format("{:.1f},{:.1f} ", f.px(xs[i]), f.py(v));
    }
    if (!path.empty()) s += "<polyline fill=\"none\" stroke-width=\"2\" points=\"" + path + "\"/>\n";
    for (size_t i = 0; i < std::min(n, se.y.size()); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      const std::string where = cat ? p.categories[i] : num(xs[i]);
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\"><title>{} · {}: {}</title></circle>\n",
                       f.px(xs[i]), f.py(std::clamp(se.y[i], f.y0, f.y1)), escape(se.name), escape(where),
                       num(se.y[i]));
    }
    s += "</g>\n";
  }
  s += legend(p.series, f.w - f.right + 14, f.top + 4);
  return s + "</svg>\n";
}

std::string svg(const BarPlot& p) {
  const size_t n = p.categories.size(), k = std::max<size_t>(1, p.series.size());
  size_t longest = 0;
  for (const auto& c : p.categories) longest = std::max(longest, std::min<size_t>(c.size(), 36));
  const double bar = 11, group = bar * static_cast<double>(k) + 6;
  const double right = p.series.size() > 1 ? static_cast<double>(legend_width(p.series)) + 50 : 40;  // room for value labels
  Frame f{760, 60 + group * static_cast<double>(n) + 40, 20 + 6.6 * static_cast<double>(longest), right, 34, 40,
          0, 1, 0, 1};
  double lo, hi;
  data_range(p.series, lo, hi);
  lo = std::min(lo, 0.0);
  const auto xt = nice_ticks(lo, hi);
  f.x0 = lo, f.x1 = hi;
  std::string s = open_svg(f.w, f.h, p.title);
  const double top = f.top, base = f.h - f.bottom;
  for (double t : xt) {
    const double x = f.px(t);
    s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#e3e3e3\"/>"
                     "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\">{4}</text>\n",
                     x, top, base, base + 16, num(t));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", (f.left + f.w - f.right) / 2,
                   f.h - 6, escape(p.x_label));
  for (size_t i = 0; i < n; ++i) {
    const double gy = top + group * static_cast<double>(i) + 3;
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n", f.left - 6,
                     gy + group / 2, escape(p.categories[i].substr(0, 36)));
  }
  for (size_t j = 0; j < p.series.size(); ++j) {
    const Series& se = p.series[j];
    s += fmt::format("<g class=\"series\" data-series=\"{}\" fill=\"{}\">\n", j, colour(j));
    for (size_t i = 0; i < std::min(n, se.y.size()); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      const double x0 = f.px(0), x1 = f.px(se.y[i]);
      const double y = top + group * static_cast<double>(i) + 3 + bar * static_cast<double>(j);
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{} · {}: {}</title></rect>\n",
                       std::min(x0, x1), y, std::max(0.5, std::fabs(x1 - x0)), bar - 1, escape(p.categories[i]),
                       escape(se.name), num(se.y[i]));
      // the value at the bar's end, outside it (small bars stay readable)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" fill=\"#333\" text-anchor=\"{}\">{}</text>\n",
                       se.y[i] < 0 ? x1 - 3 : x1 + 3, y + bar - 3, se.y[i] < 0 ? "end" : "start", num(se.y[i]));
    }
    s += "</g>\n";
  }
  s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#444\"/>\n", f.px(0), top,
                   base);
  if (p.series.size() > 1) s += legend(p.series, f.w - f.right + 14, f.top + 4);
  return s + "</svg>\n";
}

std::string svg(const HistogramPlot& p) {
  Frame f{760, 340, 60, 150, 34, 46, 0, 1, 0, 1};
  const size_t n = p.counts.size();
  f.x1 = std::max(p.bin_width * static_cast<double>(n), 1e-30);
  for (const auto& m : p.markers)
    if (std::isfinite(m.second)) f.x1 = std::max(f.x1, m.second);
  double peak = 1;
  for (double c : p.counts) peak = std::max(peak, c);
  // log10(count + 1): empty bins sit on the axis, single values stay visible.
  double lo = 0, hi = std::ceil(std::log10(peak + 1));
  f.y0 = lo, f.y1 = std::max(1.0, hi);
  std::string s = open_svg(f.w, f.h, p.title);
  for (int e = 0; e <= static_cast<int>(f.y1); ++e) {
    const double y = f.py(e);
    s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#e3e3e3\"/>"
                     "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
                     f.left, f.w - f.right, y, y, f.left - 6, y + 4, e == 0 ? "0" : fmt::format("1e{}", e));
  }
  s += fmt::format("<text transform=\"translate(14,{:.1f}) rotate(-90)\" text-anchor=\"middle\">count (log)</text>\n",
                   (f.top + f.h - f.bottom) / 2);
  double xlo = 0, xhi = f.x1;
  const auto xt = nice_ticks(xlo, xhi);
  f.x1 = xhi;
  const double base = f.h - f.bottom;
  for (double t : xt)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", f.px(t), base + 16, num(t));
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", (f.left + f.w - f.right) / 2,
                   f.h - 8, escape(p.x_label));
  std::string path = fmt::format("M{:.1f},{:.1f}", f.px(0), base);
  for (size_t i = 0; i < n; ++i) {
    const double y = f.py(std::log10(p.counts[i] + 1));
    path += fmt::format(" L{:.1f},{:.1f} L{:.1f},{:.1f}", f.px(p.bin_width * static_cast<double>(i)), y,
                        f.px(p.bin_width * static_cast<double>(i + 1)), y);
  }
  path += fmt::format(" L{:.1f},{:.1f} Z", f.px(p.bin_width * static_cast<double>(n)), base);
  s += "<path d=\"" + path + "\" fill=\"#9ecae1\" stroke=\"#3182bd\" stroke-width=\"0.8\"/>\n";
  s += fmt::format("<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#444\"/>\n", f.left,
                   f.w - f.right, base, base);
  std::vector<Series> names;
  for (size_t i = 0; i < p.markers.size(); ++i) {
    const auto& [name, x] = p.markers[i];
    names.push_back({name, {}});
    if (!std::isfinite(x)) continue;
    s += fmt::format("<g class=\"series\" data-series=\"{0}\"><line x1=\"{1:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" "
                     "y2=\"{3:.1f}\" stroke=\"{4}\" stroke-width=\"2\" stroke-dasharray=\"{5}\"><title>{6}: clip {7}</title>"
                     "</line></g>\n",
                     i, f.px(x), f.top, base, colour(i), i % 2 ? "6,3" : "none", escape(name), num(x));
  }
  s += legend(names, f.w - f.right + 14, f.top + 4);
  return s + "</svg>\n";
}

namespace {
nlohmann::json series_json(const std::vector<Series>& ss) {
  nlohmann::json a = nlohmann::json::array();
  for (const Series& s : ss) {
    nlohmann::json y = nlohmann::json::array();
    for (double v : s.y) y.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json());
    a.push_back({{"name", s.name}, {"y", y}});
  }
  return a;
}
}  // namespace

nlohmann::json to_json(const LinePlot& p) {
  nlohmann::json j = {{"title", p.title}, {"x_label", p.x_label}, {"y_label", p.y_label},
                      {"series", series_json(p.series)}};
  if (p.categories.empty()) j["x"] = p.x;
  else j["categories"] = p.categories;
  if (p.reference) j["reference"] = {{"label", p.reference_label}, {"value", *p.reference}};
  return j;
}

nlohmann::json to_json(const BarPlot& p) {
  return {{"title", p.title}, {"x_label", p.x_label}, {"categories", p.categories}, {"series", series_json(p.series)}};
}

nlohmann::json to_json(const HistogramPlot& p) {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [name, x] : p.markers) m[name] = std::isfinite(x) ? nlohmann::json(x) : nlohmann::json();
  return {{"title", p.title}, {"x_label", p.x_label}, {"bin_width", p.bin_width}, {"counts", p.counts},
          {"markers", m}};
}

}  // namespace winq::report
