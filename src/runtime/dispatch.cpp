#include "dispatch.hpp"

#include "winq/cpu.hpp"

namespace winq {

const KernelTable& kernel_table() {
  static const KernelTable table = [] {
    KernelTable t{};
    switch (active_isa()) {
      case Isa::avx512vnni:  // no AVX-512 float GEMM yet: the AVX2 one is the best we have
      case Isa::avx2:
        t.gemm_f32 = kernels::gemm_f32_6x16__avx2;
        t.gemm_f32_name = "gemm_f32_6x16__avx2";
        break;
      case Isa::scalar:
        t.gemm_f32 = kernels::gemm_f32_6x16__generic;
        t.gemm_f32_name = "gemm_f32_6x16__generic";
        break;
    }
    return t;
  }();
  return table;
}

std::vector<std::pair<std::string, std::string>> kernel_choices() {
  const auto& t = kernel_table();
  return {{"gemm_f32", t.gemm_f32_name}};
}

}  // namespace winq
