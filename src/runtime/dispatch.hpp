// The one dispatch table: for each kernel role, the variant chosen for the
// active instruction-set level. Filled once, newest ISA first.
#pragma once
#include "../kernels/gemm_f32.hpp"

namespace winq {

struct KernelTable {
  kernels::GemmF32Fn gemm_f32;
  const char* gemm_f32_name;
};

const KernelTable& kernel_table();

}  // namespace winq
