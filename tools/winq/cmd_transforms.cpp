// winq transforms: the Winograd matrices Aᵀ, G, Bᵀ of F(m, r) from
// interpolation points, exactly (rationals) and as floats.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "common.hpp"
#include "winq/winograd.hpp"

namespace winq::cli {

namespace {

void print_matrix(const std::string& name, const winograd::RationalMatrix& a) {
  size_t width = 1;
  for (const auto& row : a)
    for (const auto& v : row) width = std::max(width, v.get_str().size());
  std::cout << fmt::format("{} ({}×{}), exact:\n", name, a.size(), a[0].size());
  for (const auto& row : a) {
    std::cout << "  [";
    for (size_t j = 0; j < row.size(); ++j) std::cout << fmt::format("{}{:>{}}", j ? " " : "", row[j].get_str(), width);
    std::cout << " ]\n";
  }
  std::cout << "  as floats:\n";
  for (const auto& row : a) {
    std::cout << "  [";
    for (size_t j = 0; j < row.size(); ++j) std::cout << fmt::format("{}{:>12.8g}", j ? " " : "", row[j].get_d());
    std::cout << " ]\n";
  }
}

nlohmann::json matrix_json(const winograd::RationalMatrix& a) {
  nlohmann::json exact = nlohmann::json::array(), floats = nlohmann::json::array();
  for (const auto& row : a) {
    exact.push_back(nlohmann::json::array());
    floats.push_back(nlohmann::json::array());
    for (const auto& v : row) {
      exact.back().push_back(v.get_str());
      floats.back().push_back(v.get_d());
    }
  }
  return {{"exact", exact}, {"float", floats}};
}

// The largest row sum of |Bᵀ|: how much the input transform can grow a value.
double input_growth(const winograd::RationalMatrix& bt) {
  double worst = 0;
  for (const auto& row : bt) {
    double s = 0;
    for (const auto& v : row) s += std::abs(v.get_d());
    worst = std::max(worst, s);
  }
  return worst;
}

}  // namespace

void add_transforms(CLI::App& app) {
  auto* cmd = app.add_subcommand("transforms", "Winograd transforms Aᵀ, G, Bᵀ of F(m, r) from interpolation points");
  static int m = 4, r = 3;
  static std::string points;
  static bool json = false, one_d = false;
  cmd->add_option("--m", m, "outputs per tile (F(m, r))")->check(CLI::Range(1, 16))->capture_default_str();
  cmd->add_option("--r", r, "filter taps")->check(CLI::Range(1, 16))->capture_default_str();
  cmd->add_option("--points", points,
                  "interpolation points, e.g. 0,1,-1,2,-2 or 0,1/2,-1/2,inf (m+r−1 of them, or one fewer and ∞ is "
                  "added; default: F(2,3) {0,±1,∞}, F(4,3) {0,±1,±2,∞}, F(6,3) {0,±1,±2,±1/2,∞})");
  cmd->add_flag("--1d", one_d,
                "the 1-D variant F(m×1, r×r): these matrices along the rows only, the r kernel rows summed directly");
  cmd->add_flag("--json", json, "print JSON");
  cmd->callback([] {
    const auto pts = points.empty() ? winograd::default_points(m, r) : winograd::parse_points(points, m, r);
    const winograd::Transforms t = winograd::generate(m, r, pts);
    std::string plist;
    for (const auto& p : t.points) plist += (plist.empty() ? "" : ", ") + winograd::point_str(p);
    const int n = t.n();
    // Multiplications per output: 2-D n²/m², 1-D variant r·n/m (direct: r²).
    const double per_output = one_d ? static_cast<double>(r * n) / m : static_cast<double>(n * n) / (m * m);
    const double saving = static_cast<double>(r * r) / per_output;
    if (json) {
      print_json({{"m", m},
                  {"r", r},
                  {"points", [&] {
                     nlohmann::json a = nlohmann::json::array();
                     for (const auto& p : t.points) a.push_back(winograd::point_str(p));
                     return a;
                   }()},
                  {"AT", matrix_json(t.AT)},
                  {"G", matrix_json(t.G)},
                  {"BT", matrix_json(t.BT)},
                  {"variant", one_d ? "1d" : "2d"},
                  {"multiplications_per_output", per_output},
                  {"multiplication_saving", saving},
                  {"input_growth_1d", input_growth(t.BT)}});
      return;
    }
    if (one_d)
      std::cout << fmt::format("F({}×1,{}×{}) from the points {{{}}}: tiles of {}×{} inputs give 1×{} outputs "
                               "(F({},{}) along each of the {} kernel rows, summed directly)\n",
                               m, r, r, plist, r, n, m, m, r, r);
    else
      std::cout << fmt::format("F({},{}) from the points {{{}}}: tiles of {}×{} inputs give {}×{} outputs\n", m, r,
                               plist, n, n, m, m);
    std::cout << fmt::format("multiplications per output: {:.3f} instead of {} ({:.2f}× fewer); input transform "
                             "grows values up to {:g}× per axis\n\n",
                             per_output, r * r, saving, input_growth(t.BT));
    print_matrix("AT", t.AT);
    print_matrix("G", t.G);
    print_matrix("BT", t.BT);
  });
}

}  // namespace winq::cli
