#include "dispatch.hpp"

#include "winq/cpu.hpp"

namespace winq {

const KernelTable& kernel_table() {
  static const KernelTable table = [] {
    KernelTable t{};
    switch (active_isa()) {
      case Isa::avx512vnni:  // no AVX-512 float GEMM yet: the AVX2 one is the best we have
        t.gemm_f32 = kernels::gemm_f32_6x16__avx2;
        t.gemm_f32_name = "gemm_f32_6x16__avx2";
        t.qgemm_k4 = kernels::qgemm_u8s8_k4__avx512vnni;
        t.qgemm_k4_name = "qgemm_u8s8_k4__avx512vnni";
        t.qgemm_k4c = kernels::qgemm_u8s8_k4c__avx512vnni;
        t.qgemm_k4c_name = "qgemm_u8s8_k4c__avx512vnni";
        t.requantize_row = kernels::requantize_row__avx512;
        t.requantize_row_name = "requantize_row__avx512";
        t.qadd = kernels::qadd__avx512;
        t.qadd_name = "qadd__avx512";
        t.wino_input = kernels::wino_input_rows__avx512;
        t.wino_output = kernels::wino_output_rows__avx512;
        t.wino_name = "wino_{input,output}_row__avx512";
        t.wino_f32_input = kernels::wino_f32_input_row__avx512;
        t.wino_f32_output = kernels::wino_f32_output_row__avx512;
        t.wino_f32_name = "wino_f32_{input,output}_row__avx512";
        break;
      case Isa::avx2:
        t.gemm_f32 = kernels::gemm_f32_6x16__avx2;
        t.gemm_f32_name = "gemm_f32_6x16__avx2";
        t.qgemm_k4 = kernels::qgemm_u8s8_k4__avx2;
        t.qgemm_k4_name = "qgemm_u8s8_k4__avx2";
        t.qgemm_k4_s16 = true;
        t.qgemm_k4c = kernels::qgemm_u8s8_k4c__avx2;
        t.qgemm_k4c_name = "qgemm_u8s8_k4c__avx2";
        t.requantize_row = kernels::requantize_row__avx2;
        t.requantize_row_name = "requantize_row__avx2";
        t.qadd = kernels::qadd__avx2;
        t.qadd_name = "qadd__avx2";
        t.wino_input = kernels::wino_input_rows__avx2;
        t.wino_output = kernels::wino_output_rows__avx2;
        t.wino_name = "wino_{input,output}_row__avx2";
        t.wino_f32_input = kernels::wino_f32_input_row__avx2;
        t.wino_f32_output = kernels::wino_f32_output_row__avx2;
        t.wino_f32_name = "wino_f32_{input,output}_row__avx2";
        break;
      case Isa::scalar:
        t.gemm_f32 = kernels::gemm_f32_6x16__generic;
        t.gemm_f32_name = "gemm_f32_6x16__generic";
        t.qgemm_k4 = kernels::qgemm_u8s8_k4__ref;  // unused: scalar runs the unpacked definition
        t.qgemm_k4_name = "qgemm_s8s16__ref (unpacked)";
        t.requantize_row = kernels::requantize_row__ref;
        t.requantize_row_name = "requantize_row__ref";
        t.qadd = kernels::qadd__ref;
        t.qadd_name = "qadd__ref";
        t.wino_input = kernels::wino_input_rows__ref;
        t.wino_output = kernels::wino_output_rows__ref;
        t.wino_name = "wino_{input,output}_row__ref";
        t.wino_f32_input = kernels::wino_f32_input_row__ref;
        t.wino_f32_output = kernels::wino_f32_output_row__ref;
        t.wino_f32_name = "wino_f32_{input,output}_row__ref";
        break;
    }
    return t;
  }();
  return table;
}

std::vector<std::pair<std::string, std::string>> kernel_choices() {
  const auto& t = kernel_table();
  return {{"gemm_f32", t.gemm_f32_name}, {"qgemm_k4 (int8 conv/fc)", t.qgemm_k4_name},
          {"qgemm_k4c (int8 conv, small images)", t.qgemm_k4c_name ? t.qgemm_k4c_name : "none"},
          {"requantize_row (epilogue)", t.requantize_row_name}, {"qadd (residual add)", t.qadd_name},
          {"int8 Winograd transforms", t.wino_name}, {"float Winograd transforms", t.wino_f32_name}};
}

}  // namespace winq
