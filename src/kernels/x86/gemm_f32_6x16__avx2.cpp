// AVX2+FMA build of the blocked float GEMM (compiled with -mavx2 -mfma).
#define WINQ_GEMM_F32_NAME gemm_f32_6x16__avx2
#include "../gemm_f32_6x16.inl"
