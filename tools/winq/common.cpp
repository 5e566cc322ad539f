#include "common.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "winq/report.hpp"

namespace winq::cli {

std::string models_dir() {
  if (const char* env = std::getenv("WINQ_MODELS_DIR")) return env;
  return WINQ_MODELS_DIR;
}

std::string default_model_path() { return (std::filesystem::path(models_dir()) / "fashion_resnet18_w0.5.onnx").string(); }

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << "\n"; }

void add_report_option(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--report", dir, "also write an HTML report with plots (DIR/report.html) and its data (DIR/report.json)");
}

void write_report(const report::Report& r, const std::string& dir) {
  r.write(dir);
  std::cerr << fmt::format("report: {}\n", (std::filesystem::path(dir) / "report.html").string());
}

std::string fmt_shape(const Shape& s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "×" : "") + (s[i] < 0 ? std::string("?") : std::to_string(s[i]));
  return r.empty() ? "scalar" : r;
}

}  // namespace winq::cli
