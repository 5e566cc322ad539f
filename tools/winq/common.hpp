// Helpers shared by the subcommands.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "winq/data.hpp"
#include "winq/graph.hpp"
#include "winq/progress.hpp"

namespace winq::report {
class Report;
}

namespace winq::cli {

// Directory of the models shipped with winq (compiled in; WINQ_MODELS_DIR overrides).
std::string models_dir();
// The shipped default model for `demo`.
std::string default_model_path();

void print_json(const nlohmann::json& j);

// --report DIR on a subcommand, and writing it (the path goes to stderr, so
// --json output stays machine-readable).
void add_report_option(CLI::App* cmd, std::string& dir);
void write_report(const report::Report& r, const std::string& dir);
std::string fmt_shape(const Shape& s);

// Registration of each subcommand (one file each).
void add_info(CLI::App& app);
void add_summary(CLI::App& app);
void add_eval(CLI::App& app);
void add_calibrate(CLI::App& app);
void add_quantize(CLI::App& app);
void add_data(CLI::App& app);
void add_bench(CLI::App& app);
void add_demo(CLI::App& app);
void add_run(CLI::App& app);
void add_transforms(CLI::App& app);
void add_export(CLI::App& app);
void add_train(CLI::App& app);       // only with LibTorch
void add_adapt(CLI::App& app);       // only with LibTorch
void add_export_run(CLI::App& app);  // only with LibTorch

}  // namespace winq::cli
