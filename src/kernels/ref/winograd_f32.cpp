// The definition of the float Winograd tile transforms (kernels/winograd_f32.hpp).
#include "../winograd_f32.hpp"

namespace winq::kernels {

void wino_f32_input_row__ref(WINQ_WINO_F32_INPUT_ARGS) {
  const int n = m + 2;
  float tmp[64];
  for (int64_t t = 0; t < tiles; ++t) {
    const float* d = xp + t * m;
    for (int a = 0; a < n; ++a)
      for (int j = 0; j < n; ++j) {
        float s = 0;
        for (int i = 0; i < n; ++i) s += bt[a * n + i] * d[i * ws + j];
        tmp[a * n + j] = s;
      }
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        float s = 0;
        for (int j = 0; j < n; ++j) s += tmp[a * n + j] * bt[b * n + j];
        V[(a * n + b) * vstride + t] = s;
      }
  }
}

void wino_f32_output_row__ref(WINQ_WINO_F32_OUTPUT_ARGS) {
  const int n = m + 2;
  float tmp[64];
  for (int64_t t = 0; t < tiles; ++t) {
    for (int r = 0; r < m; ++r)
      for (int j = 0; j < n; ++j) {
        float s = 0;
        for (int i = 0; i < n; ++i) s += at[r * n + i] * P[(i * n + j) * pstride + t];
        tmp[r * n + j] = s;
      }
    for (int r = 0; r < rows; ++r)
      for (int s = 0; s < m && t * m + s < OW; ++s) {
        float v = bias;
        for (int j = 0; j < n; ++j) v += tmp[r * n + j] * at[s * n + j];
        y[r * OW + t * m + s] = v;
      }
  }
}

}  // namespace winq::kernels
