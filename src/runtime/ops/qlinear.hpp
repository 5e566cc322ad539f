// The integer operators of the "winq" domain that a quantized (QDQ) graph is
// lowered to (src/quant/lower_qdq.cpp). Their reference implementations here
// define the integer engine's results bit for bit.
//
//   winq.QConv(x, W, bias?)   x u8/s8 NCHW, W s8 [M, C/g, KH, KW], bias s32 [M]
//   winq.QGemm(x, W, bias?)   x u8/s8 [N, K], W s8 [M, K] (one row per output), bias s32 [M]
//       acc = bias[m] + Σ W·(x − x_zero_point)           (int32, exact: the bound is checked when lowering)
//       quantized output: y = clamp(requantize(acc, multiplier[m], shift[m]) + y_zero_point, qmin, qmax)
//       float output:     y = float(acc · y_scale[m]), then the fused activation
//   winq.QAdd(a, b)          same shapes; y = clamp(round((a−za)·Ma + (b−zb)·Mb >> shift) + zy, qmin, qmax)
//   winq.QGlobalAveragePool(x) y = clamp(requantize(Σ (x − zx), multiplier, shift) + zy, qmin, qmax)
// Activations fused after the op (Relu/Clip) are already folded into [qmin, qmax].
#pragma once

namespace winq::ops::qattr {

inline constexpr const char* kDomain = "winq";
inline constexpr const char* kXZeroPoint = "x_zero_point";
inline constexpr const char* kAZeroPoint = "a_zero_point";
inline constexpr const char* kBZeroPoint = "b_zero_point";
inline constexpr const char* kYZeroPoint = "y_zero_point";
inline constexpr const char* kMultiplier = "multiplier";      // ints, per output channel (QConv/QGemm) or one
inline constexpr const char* kShift = "shift";                // ints, same length
inline constexpr const char* kMultiplierA = "multiplier_a";   // QAdd
inline constexpr const char* kMultiplierB = "multiplier_b";
inline constexpr const char* kQMin = "qmin";
inline constexpr const char* kQMax = "qmax";
inline constexpr const char* kYType = "y_type";   // "uint8" | "int8" | "float"
inline constexpr const char* kYScale = "y_scale";  // floats per output channel, float output only

}  // namespace winq::ops::qattr
