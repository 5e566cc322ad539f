// Helpers shared by the subcommands.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "winq/data.hpp"
#include "winq/graph.hpp"

namespace winq::cli {

// Progress on stderr: a bar redrawn in place on a terminal, a line every 25%
// otherwise (logs stay short). Finish with done().
class Progress {
 public:
  Progress(std::string label, int64_t total);
  void update(int64_t done);
  void done();

 private:
  std::string label_;
  int64_t total_;
  int last_quarter_ = -1;
  bool tty_;
  double start_;
};

// Directory of the models shipped with winq (compiled in; WINQ_MODELS_DIR overrides).
std::string models_dir();
// The shipped default model for `demo`.
std::string default_model_path();

void print_json(const nlohmann::json& j);
std::string fmt_shape(const Shape& s);

// Registration of each subcommand (one file each).
void add_info(CLI::App& app);
void add_summary(CLI::App& app);
void add_eval(CLI::App& app);
void add_demo(CLI::App& app);
void add_run(CLI::App& app);

}  // namespace winq::cli
