// Portable build of the blocked float GEMM (no ISA flags: SSE2 on x86-64). Used when no SIMD level is available or WINQ_ISA=scalar.
#define WINQ_GEMM_F32_NAME gemm_f32_6x16__generic
#include "gemm_f32_6x16.inl"
