#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "winq/cpu.hpp"
#include "winq/error.hpp"

namespace winq {

namespace {

uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;
  __get_cpuid(1, &a, &b, &c, &d);
  f.sse41 = c & bit_SSE4_1;
  f.fma = c & bit_FMA;
  f.f16c = c & bit_F16C;
  const bool osxsave = c & bit_OSXSAVE;
  f.avx = c & bit_AVX;
  if (osxsave) {
    uint64_t xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;           // XMM and YMM state
    f.os_avx512 = (xcr0 & 0xe6) == 0xe6;      // plus opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & bit_AVX2;
    f.avx512f = b & bit_AVX512F;
    f.avx512dq = b & bit_AVX512DQ;
    f.avx512bw = b & bit_AVX512BW;
    f.avx512vl = b & bit_AVX512VL;
    f.avx512vnni = c & bit_AVX512VNNI;
    __cpuid_count(7, 1, a, b, c, d);
    f.avxvnni = a & (1u << 4);
  }
  if (!f.os_avx) f.avx = f.avx2 = f.fma = f.avxvnni = false;
  if (!f.os_avx512) f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vnni = false;
  char brand[49] = {};
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
  }
  f.brand = brand;
  while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  while (!f.brand.empty() && f.brand.front() == ' ') f.brand.erase(f.brand.begin());
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512vnni: return "avx512vnni";
  }
  return "?";
}

Isa best_isa() {
  const auto& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.avx2 && f.fma) return Isa::avx512vnni;
  if (f.avx2 && f.fma) return Isa::avx2;
  return Isa::scalar;
}

Isa active_isa() {
  static const Isa isa = [] {
    Isa best = best_isa();
    const char* env = std::getenv("WINQ_ISA");
    if (!env || !*env) return best;
    std::string s = env;
    Isa want;
    if (s == "scalar") want = Isa::scalar;
    else if (s == "avx2") want = Isa::avx2;
    else if (s == "avx512vnni") want = Isa::avx512vnni;
    else throw Error("WINQ_ISA='" + s + "' is not one of scalar, avx2, avx512vnni");
    if (static_cast<int>(want) > static_cast<int>(best))
      throw Error("WINQ_ISA=" + s + " but this CPU supports at most " + isa_name(best));
    return want;
  }();
  return isa;
}

}  // namespace winq
