// AVX2 + FMA build of the blocked float Winograd tile transforms.
#define WINQ_WINO_F32_SUFFIX avx2
#include "winograd_f32_tiles.inl"
