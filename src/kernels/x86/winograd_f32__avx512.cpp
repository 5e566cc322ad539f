// AVX-512 build of the blocked float Winograd tile transforms.
#define WINQ_WINO_F32_SUFFIX avx512
#include "winograd_f32_tiles.inl"
