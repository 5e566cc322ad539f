// The one dispatch table: for each kernel role, the variant chosen for the
// active instruction-set level. Filled once, newest ISA first.
#pragma once
#include "../kernels/gemm_f32.hpp"
#include "../kernels/qadd.hpp"
#include "../kernels/qgemm.hpp"
#include "../kernels/requantize_row.hpp"
#include "../kernels/winograd_f32.hpp"
#include "../kernels/winograd_int8.hpp"

namespace winq {

struct KernelTable {
  kernels::GemmF32Fn gemm_f32;
  const char* gemm_f32_name;
  kernels::QGemmK4Fn qgemm_k4;  // packed int8 GEMM (u8 activations × s8 weights)
  const char* qgemm_k4_name;
  bool qgemm_k4_s16;            // its weights are packed as int16 (pack_weights_k4_s16)
  kernels::QGemmK4cFn qgemm_k4c;  // channels in lanes (pack_weights_k4_wide), for small images; null if none
  const char* qgemm_k4c_name;
  kernels::RequantRowFn requantize_row;  // the conv/FC epilogue
  const char* requantize_row_name;
  kernels::QAddFn qadd;  // winq.QAdd (residual additions)
  const char* qadd_name;
  kernels::WinoInputFn wino_input;  // int8 Winograd tile transforms
  kernels::WinoOutputFn wino_output;
  const char* wino_name;
  kernels::WinoF32InputFn wino_f32_input;  // float Winograd tile transforms
  kernels::WinoF32OutputFn wino_f32_output;
  const char* wino_f32_name;
};

const KernelTable& kernel_table();

}  // namespace winq
