// CPU feature detection (once, at first use) and the instruction-set level the
// kernels dispatch on. WINQ_ISA=scalar|avx2|avx512vnni forces a lower level.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace winq {

struct CpuFeatures {
  std::string vendor, brand;
  bool sse41 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avxvnni = false;  // VEX-encoded VNNI (Alder Lake and later)
  bool os_avx = false, os_avx512 = false;  // the OS saves the wider registers (XGETBV)
};

enum class Isa { scalar = 0, avx2 = 1, avx512vnni = 2 };

const CpuFeatures& cpu_features();
const char* isa_name(Isa isa);
// Highest level this CPU supports.
Isa best_isa();
// The level in use: best_isa(), lowered by WINQ_ISA. Asking for a level the CPU
// lacks is an Error (never a silent fallback).
Isa active_isa();
// (kernel role, chosen kernel name) for every dispatched kernel, for `winq info`.
std::vector<std::pair<std::string, std::string>> kernel_choices();

}  // namespace winq
