// winq: the command-line tool. One file per subcommand; this one parses the
// command line and turns every error into one clear line and a non-zero status.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"winq: low-precision (int8 and below) CNN inference and Winograd convolution on CPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "winq " WINQ_VERSION);
  winq::cli::add_info(app);
  winq::cli::add_summary(app);
  winq::cli::add_calibrate(app);
  winq::cli::add_quantize(app);
  winq::cli::add_eval(app);
  winq::cli::add_run(app);
  winq::cli::add_data(app);
  winq::cli::add_bench(app);
  winq::cli::add_transforms(app);
  winq::cli::add_export(app);
#ifdef WINQ_WITH_TORCH
  winq::cli::add_train(app);
  winq::cli::add_adapt(app);
  winq::cli::add_export_run(app);
#endif
  winq::cli::add_demo(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "winq: error: " << e.what() << " (see winq --help)\n";
    return 2;
  } catch (const winq::Error& e) {
    std::cerr << "winq: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "winq: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "winq: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
