// The report's plots and page: marks land where the data says, missing values
// draw nothing, text is escaped, the JSON holds the plotted numbers, keys are
// unique, files are written whole or not at all.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "winq/error.hpp"
#include "winq/report.hpp"

namespace winq::report {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// (cx, cy) of every circle, in document order.
std::vector<std::pair<double, double>> circles(const std::string& svg_text) {
  std::vector<std::pair<double, double>> out;
  const std::regex re(R"re(<circle cx="([-0-9.]+)" cy="([-0-9.]+)")re");
  for (auto it = std::sregex_iterator(svg_text.begin(), svg_text.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  return out;
}

TEST(ReportSvg, EscapesTextEverywhere) {
  EXPECT_EQ(escape("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
  LinePlot p;
  p.title = "<script>alert(1)</script>";
  p.x = {1, 2};
  p.series = {{"x&y", {1, 2}}};
  const std::string s = svg(p);
  EXPECT_EQ(s.find("<script>"), std::string::npos);
  EXPECT_NE(s.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(s.find("x&amp;y"), std::string::npos);
}

TEST(ReportSvg, LinePointsFollowTheDataAndSkipMissingValues) {
  LinePlot p;
  p.x = {2, 4, 8};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  p.series = {{"a", {10, 30, 20}}, {"b", {nan, 5, 25}}};
  const std::string s = svg(p);
  const auto c = circles(s);
  ASSERT_EQ(c.size(), 5u);  // the NaN draws no point
  // series a: x grows left to right in proportion; larger y is higher up (smaller cy)
  EXPECT_LT(c[0].first, c[1].first);
  EXPECT_NEAR((c[2].first - c[1].first) / (c[1].first - c[0].first), 2.0, 1e-2);
  EXPECT_GT(c[0].second, c[2].second);
  EXPECT_GT(c[2].second, c[1].second);
  // equal values sit at equal heights across series: a=20 at x=8 vs b=25 at x=8 is higher
  EXPECT_GT(c[2].second, c[4].second);
  EXPECT_EQ(count(s, "class=\"legend\""), 2u);
  EXPECT_EQ(count(s, "<svg"), 1u);
  EXPECT_EQ(count(s, "</svg>"), 1u);
}

TEST(ReportSvg, CategoricalLinesAndReferenceLine) {
  LinePlot p;
  p.categories = {"conv1", "conv2", "conv3"};
  p.series = {{"W8A8", {40, 30, 35}}};
  p.reference = 45;
  p.reference_label = "float";
  const std::string s = svg(p);
  EXPECT_EQ(circles(s).size(), 3u);
  EXPECT_NE(s.find(">conv2<"), std::string::npos);
  EXPECT_NE(s.find("stroke-dasharray=\"5,4\""), std::string::npos);
  const auto j = to_json(p);
  EXPECT_EQ(j["categories"].size(), 3u);
  EXPECT_EQ(j["reference"]["value"], 45.0);
}

TEST(ReportSvg, BarLengthsAreProportional) {
  BarPlot p;
  p.categories = {"a", "b", "c"};
  p.series = {{"ms", {1, 2, std::numeric_limits<double>::quiet_NaN()}}};
  const std::string s = svg(p);
  const std::regex re(R"re(<rect x="([-0-9.]+)" y="[-0-9.]+" width="([-0-9.]+)")re");
  std::vector<double> w;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    w.push_back(std::stod((*it)[2]));
  ASSERT_EQ(w.size(), 2u);  // no bar for the NaN
  EXPECT_NEAR(w[1] / w[0], 2.0, 0.02);
  // negative values grow to the left of zero
  p.series = {{"drop", {-4, -1, 0.5}}};
  const std::string n = svg(p);
  std::vector<double> x;
  for (auto it = std::sregex_iterator(n.begin(), n.end(), re); it != std::sregex_iterator(); ++it)
    x.push_back(std::stod((*it)[1]));
  ASSERT_EQ(x.size(), 3u);
  EXPECT_LT(x[0], x[1]);
  EXPECT_LT(x[1], x[2]);
}

TEST(ReportFigures, CalibrationHistogramKeepsTheCountsAndMarksEveryCalibrator) {
  TensorStats s;
  s.count = 0;
  s.min = -3, s.max = 4;
  s.hist.assign(2048, 0.0);
  for (size_t i = 0; i < s.hist.size(); ++i) s.hist[i] = std::floor(1000 * std::exp(-static_cast<double>(i) / 200));
  double total = 0;
  for (double h : s.hist) total += h;
  s.count = static_cast<int64_t>(total);
  s.mean = 0, s.std = 1, s.mad = 0.8, s.abs_mean_nonzero = 0.8, s.rms_nonzero = 1;
  const HistogramPlot p = calibration_histogram("t", s, 4);
  EXPECT_LE(p.counts.size(), 256u);
  double sum = 0;
  for (double c : p.counts) sum += c;
  EXPECT_EQ(sum, total);
  EXPECT_NEAR(p.bin_width * static_cast<double>(p.counts.size()), 4.0, 1e-9);
  ASSERT_EQ(p.markers.size(), calibrator_names().size());
  ClipOptions o;
  o.bits = 4;
  for (const auto& [name, clip] : p.markers) EXPECT_EQ(clip, clip_value(s, parse_calibrator(name), o)) << name;
  const std::string text = svg(p);
  EXPECT_EQ(count(text, "<title>"), calibrator_names().size());
}

TEST(ReportPage, SectionsFiguresTablesAndJson) {
  Report r("title <1>", "sub");
  r.section("First", "intro");
  LinePlot p;
  p.x = {1, 2};
  p.series = {{"s", {1, 2}}};
  r.figure("lines", p, "caption & more");
  r.table("tab", {"name", "value"}, {{"a", "1.5"}, {"b<", "2"}});
  r.section("Second");
  BarPlot b;
  b.categories = {"x"};
  b.series = {{"v", {3}}};
  r.figure_choice<BarPlot>("pick", {{"one", b}, {"two", b}}, "choose", 1);
  r.data("extra", {{"k", 1}});
  EXPECT_THROW(r.figure("lines", p, "again"), Error);
  EXPECT_THROW(r.data("tab", 1), Error);

  const std::string h = r.html();
  EXPECT_EQ(count(h, "<svg"), 3u);
  EXPECT_EQ(count(h, "<section"), 2u);
  EXPECT_EQ(count(h, "</section>"), 2u);
  EXPECT_NE(h.find("title &lt;1&gt;"), std::string::npos);
  EXPECT_NE(h.find("<td>b&lt;</td>"), std::string::npos);
  EXPECT_NE(h.find("<td class=\"n\">1.5</td>"), std::string::npos);
  EXPECT_NE(h.find("<option value=\"two\" selected>"), std::string::npos);
  EXPECT_NE(h.find("href=\"#s1\""), std::string::npos);
  const auto j = r.json();
  EXPECT_EQ(j["figures"]["lines"]["series"][0]["y"][1], 2.0);
  EXPECT_EQ(j["figures"]["lines"]["caption"], "caption & more");
  EXPECT_EQ(j["figures"]["pick"]["choices"].size(), 2u);
  EXPECT_EQ(j["tables"]["tab"]["rows"][1][0], "b<");
  EXPECT_EQ(j["data"]["extra"]["k"], 1);
}

TEST(ReportPage, MissingValuesBecomeJsonNull) {
  LinePlot p;
  p.x = {1};
  p.series = {{"s", {std::numeric_limits<double>::infinity()}}};
  EXPECT_TRUE(to_json(p)["series"][0]["y"][0].is_null());
}

TEST(ReportPage, WritesBothFilesOrAClearError) {
  const auto dir = std::filesystem::temp_directory_path() / "winq_report_test";
  std::filesystem::remove_all(dir);
  Report r("t");
  r.section("s");
  r.write((dir / "nested").string());
  EXPECT_TRUE(std::filesystem::exists(dir / "nested" / "report.html"));
  std::ifstream js(dir / "nested" / "report.json");
  const auto j = nlohmann::json::parse(js);
  EXPECT_EQ(j["title"], "t");
  std::ofstream(dir / "file") << "x";
  try {
    r.write((dir / "file" / "sub").string());
    FAIL() << "writing under a regular file succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("report directory"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace winq::report
