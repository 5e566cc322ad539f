// winq info: what this CPU offers and which kernels winq chose for it.
#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "winq/cpu.hpp"
#include "winq/runtime.hpp"

namespace winq::cli {

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "CPU features, instruction-set level and kernels chosen");
  static bool json = false;
  cmd->add_flag("--json", json, "print JSON");
  cmd->callback([] {
    const auto& f = cpu_features();
    auto choices = kernel_choices();
    if (json) {
      nlohmann::json j;
      j["cpu"] = {{"vendor", f.vendor}, {"brand", f.brand}};
      j["features"] = {{"sse4.1", f.sse41}, {"avx2", f.avx2}, {"fma", f.fma}, {"avx512f", f.avx512f},
                       {"avx512bw", f.avx512bw}, {"avx512vl", f.avx512vl}, {"avx512vnni", f.avx512vnni},
                       {"avxvnni", f.avxvnni}};
      j["isa"] = {{"best", isa_name(best_isa())}, {"active", isa_name(active_isa())}};
      j["threads"] = default_threads();
      for (auto& [role, name] : choices) j["kernels"][role] = name;
      print_json(j);
      return;
    }
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    std::cout << fmt::format("CPU        {} ({})\n", f.brand.empty() ? "unknown" : f.brand, f.vendor);
    std::cout << fmt::format("features   sse4.1 {}  avx2 {}  fma {}  avx512f {}  avx512bw {}  avx512vl {}  "
                             "avx512vnni {}  avx-vnni {}\n",
                             yn(f.sse41), yn(f.avx2), yn(f.fma), yn(f.avx512f), yn(f.avx512bw), yn(f.avx512vl),
                             yn(f.avx512vnni), yn(f.avxvnni));
    std::cout << fmt::format("ISA level  {} (best on this CPU: {}; set WINQ_ISA=scalar|avx2|avx512vnni to force)\n",
                             isa_name(active_isa()), isa_name(best_isa()));
    std::cout << fmt::format("threads    {} hardware threads\n", default_threads());
    std::cout << "kernels\n";
    for (auto& [role, name] : choices) std::cout << fmt::format("  {:<12} {}\n", role, name);
  });
}

}  // namespace winq::cli
