// Post-training quantization: the fixed-point definition, weights, bias, bias
// correction, bit allocation, a tiny model end to end, QDQ round trip and the
// accumulator bound.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "../../src/quant/weights.hpp"
#include "../../src/runtime/ops/op.hpp"
#include "../test_util.hpp"
#include "winq/cpu.hpp"
#include "winq/onnx.hpp"
#include "winq/quant.hpp"
#include "winq/requantize.hpp"

using namespace winq;
using winq::test::GraphBuilder;
using winq::test::random_tensor;
using winq::test::rel_l2;

namespace {

// x → Conv 3×3 (4→8) + Relu → MaxPool → Conv 3×3 (8→8) + Relu ┐
//                                    └→ Conv 1×1 (8→8) ─────→ Add → Relu → GAP → Flatten → Gemm → logits
Graph tiny_resnet(int64_t channels = 4) {
  GraphBuilder b;
  ValueId x = b.input("x", {-1, channels, 8, 8});
  b.g.values[x].dim_params = {"batch", "", "", ""};
  Attributes pad1;
  pad1.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ValueId c1 = b.node("Conv", {x, b.constant("w1", random_tensor({8, channels, 3, 3}, 1, -0.5f, 0.5f)),
                                b.constant("b1", random_tensor({8}, 2, -0.1f, 0.1f))}, "c1", pad1);
  ValueId r1 = b.node("Relu", {c1}, "r1");
  Attributes mp;
  mp.set("kernel_shape", std::vector<int64_t>{2, 2});
  mp.set("strides", std::vector<int64_t>{2, 2});
  ValueId p1 = b.node("MaxPool", {r1}, "p1", mp);
  ValueId c2 = b.node("Conv", {p1, b.constant("w2", random_tensor({8, 8, 3, 3}, 3, -0.3f, 0.3f)),
                                b.constant("b2", random_tensor({8}, 4, -0.1f, 0.1f))}, "c2", pad1);
  ValueId r2 = b.node("Relu", {c2}, "r2");
  ValueId c3 = b.node("Conv", {p1, b.constant("w3", random_tensor({8, 8, 1, 1}, 5, -0.5f, 0.5f))}, "c3");
  ValueId s = b.node("Add", {r2, c3}, "s");
  ValueId r3 = b.node("Relu", {s}, "r3");
  ValueId gp = b.node("GlobalAveragePool", {r3}, "gap");
  ValueId f = b.node("Flatten", {gp}, "flat");
  Attributes tb;
  tb.set("transB", int64_t{1});
  ValueId y = b.node("Gemm", {f, b.constant("wf", random_tensor({5, 8}, 6)), b.constant("bf", random_tensor({5}, 7))},
                     "logits", tb);
  b.output(y);
  return b.g;
}

Dataset random_images(int64_t n, uint32_t seed, int64_t channels = 4) {
  Dataset d;
  d.images = random_tensor({n, channels, 8, 8}, seed, -1.0f, 2.0f);
  d.labels.assign(static_cast<size_t>(n), 0);
  return d;
}

Tensor run(const Graph& g, const Tensor& x, bool lower) {
  const InputShapes s = {{"x", x.shape()}};
  FloatExecutor ex(lower ? prepare_quantized(g, s) : prepare(g, s));
  return ex.run({x}).at(0);
}

int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == op;
  return n;
}

}  // namespace

TEST(Requantize, DecomposesMultipliersExactlyEnough) {
  for (double m : {1e-9, 3.3e-5, 0.0123, 0.5, 0.999999, 1.0, 1.7, 1234.5}) {
    SCOPED_TRACE(m);
    const Requant r = make_requant(m);
    EXPECT_GE(r.multiplier, 1 << 30);
    EXPECT_GE(r.shift, 1);
    EXPECT_LE(r.shift, 62);
    EXPECT_NEAR(requant_value(r) / m, 1.0, 1e-9);
  }
  EXPECT_EQ(make_requant(0.0).multiplier, 0);
  EXPECT_THROW(make_requant(-1.0), Error);
  EXPECT_THROW(make_requant(NAN), Error);
  EXPECT_THROW(make_requant(1e12), Error);
}

TEST(Requantize, RoundsHalfToEvenAndMatchesExactArithmetic) {
  // Ties: 2.5 → 2, 3.5 → 4, −2.5 → −2, −3.5 → −4.
  EXPECT_EQ(shift_round_half_even(5, 1), 2);
  EXPECT_EQ(shift_round_half_even(7, 1), 4);
  EXPECT_EQ(shift_round_half_even(-5, 1), -2);
  EXPECT_EQ(shift_round_half_even(-7, 1), -4);
  EXPECT_EQ(shift_round_half_even(-1, 1), 0);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const auto acc = static_cast<int32_t>(rng());
    const Requant r = make_requant(std::ldexp(static_cast<double>(rng() % 1000 + 1), -static_cast<int>(rng() % 30)));
    // Exact: acc·multiplier / 2^shift as a long double (64-bit mantissa holds the 62-bit product).
    const long double exact = static_cast<long double>(acc) * r.multiplier / std::ldexp(1.0L, r.shift);
    const long double want = std::nearbyintl(exact);  // default mode: half to even
    ASSERT_EQ(requantize(acc, r, INT32_MIN, INT32_MAX), std::clamp<long double>(want, INT32_MIN, INT32_MAX))
        << "acc " << acc << " multiplier " << r.multiplier << " shift " << r.shift;
  }
}

TEST(WeightQuant, PerChannelBeatsPerTensorAndZeroChannelsStayFinite) {
  Tensor w = random_tensor({4, 3, 3, 3}, 21);
  for (int64_t i = 0; i < 27; ++i) w.data<float>()[27 + i] *= 0.01f;  // channel 1: a small range
  for (int64_t i = 0; i < 27; ++i) w.data<float>()[54 + i] = 0.0f;    // channel 2: all zero
  quant::WeightQuantOptions o;
  o.bits = 4;
  const auto pc = quant::quantize_weights(w, o);
  o.per_channel = false;
  const auto pt = quant::quantize_weights(w, o);
  EXPECT_GT(pc.sqnr_db, pt.sqnr_db);
  for (float s : pc.scale) EXPECT_TRUE(std::isfinite(s) && s > 0);
  for (int64_t i = 0; i < 27; ++i) EXPECT_EQ(pc.q.data<int8_t>()[54 + i], 0);
  for (int64_t i = 0; i < w.numel(); ++i) EXPECT_LE(std::abs(pc.q.data<int8_t>()[i]), 7);
}

TEST(WeightQuant, BitAllocationKeepsTheBudgetAndHelpsUnevenChannels) {
  const std::vector<double> ranges = {0.01, 0.1, 1.0, 3.0};
  const auto q = quant::allocate_levels(ranges, 4);
  double levels = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    levels += 2 * q[i] + 1;
    if (i) {
      EXPECT_GE(q[i], q[i - 1]);  // wider channels get at least as many levels
    }
  }
  EXPECT_LE(levels, 4 * 16.0);
  Tensor w = random_tensor({8, 16, 3, 3}, 31);
  for (int64_t c = 0; c < 8; ++c)
    for (int64_t i = 0; i < 144; ++i) w.data<float>()[c * 144 + i] *= std::pow(3.0f, static_cast<float>(c) - 4);
  quant::WeightQuantOptions o;
  o.bits = 4;
  const auto plain = quant::quantize_weights(w, o);
  o.bit_alloc = true;
  const auto alloc = quant::quantize_weights(w, o);
  EXPECT_GT(alloc.sqnr_db, plain.sqnr_db);
}

TEST(Quantize, TinyModelEndToEnd) {
  const Graph model = tiny_resnet();
  const Dataset calib = random_images(32, 41);
  CalibrateOptions co;
  co.batch = 10;  // uneven batches on purpose
  const CalibrationStats st = collect_stats(model, calib, co);
  EXPECT_EQ(st.images, 32);
  EXPECT_TRUE(st.tensors.count("r1"));
  EXPECT_TRUE(st.tensors.at("r1").nonnegative());
  EXPECT_FALSE(st.tensors.at("x").nonnegative());

  QuantizeOptions qo;
  const QuantizeResult q = quantize_model(model, st, qo);
  EXPECT_TRUE(is_quantized_model(q.qdq));
  // Bias on the accumulator scale: round(b / (s_x · s_w[c])).
  for (const auto& l : q.layers) EXPECT_TRUE(l.quantized) << l.node;

  const Tensor x = random_images(6, 42).images;
  const Tensor y_float = run(model, x, false);
  const Tensor y_int = run(q.qdq, x, true);
  const Tensor y_qdq = run(q.qdq, x, false);
  EXPECT_LT(rel_l2(y_int, y_float), 0.05);
  EXPECT_LT(rel_l2(y_int, y_qdq), 0.02);  // fixed-point vs float rescaling: at most an LSB here and there

  // The lowered graph computes every layer in integers.
  const Graph low = prepare_quantized(q.qdq, {{"x", x.shape()}});
  EXPECT_EQ(count_ops(low, "QConv"), 3);
  EXPECT_EQ(count_ops(low, "QGemm"), 1);
  EXPECT_EQ(count_ops(low, "QAdd"), 1);
  EXPECT_EQ(count_ops(low, "QGlobalAveragePool"), 1);
  EXPECT_EQ(count_ops(low, "Conv") + count_ops(low, "Gemm") + count_ops(low, "Add"), 0);
  EXPECT_EQ(count_ops(low, "DequantizeLinear"), 0);

  // Batch size is free again, and the plan survives an ONNX round trip.
  const std::string path = ::testing::TempDir() + "/tiny_q.onnx";
  save_onnx(q.qdq, path);
  const Graph back = load_onnx(path);
  const Tensor y_back = run(back, x, true);
  for (int64_t i = 0; i < y_int.numel(); ++i) ASSERT_EQ(y_back.data<float>()[i], y_int.data<float>()[i]);
}

TEST(Quantize, LowBitsSkipAndKeepFloat) {
  const Graph model = tiny_resnet();
  const CalibrationStats st = collect_stats(model, random_images(16, 51));
  QuantizeOptions qo;
  qo.wbits = qo.abits = 4;
  qo.skip_first = 1;
  qo.keep_float = {"logits"};
  const QuantizeResult q = quantize_model(model, st, qo);
  EXPECT_FALSE(q.layers.front().quantized);
  EXPECT_FALSE(q.layers.back().quantized);
  const Tensor x = random_images(3, 52).images;
  const Graph low = prepare_quantized(q.qdq, {{"x", x.shape()}});
  EXPECT_EQ(count_ops(low, "Conv"), 1);
  EXPECT_EQ(count_ops(low, "Gemm"), 1);
  // 4-bit activations: every quantized output stays within 4-bit ranges.
  for (const Node& n : low.nodes)
    if (n.domain == "winq" && n.attrs.has("qmax")) {
      EXPECT_LE(n.attrs.get_int("qmax", 0) - n.attrs.get_int("qmin", 0), 15);
    }
  EXPECT_LT(rel_l2(run(q.qdq, x, true), run(model, x, false)), 0.5);
  qo.keep_float = {"nope"};
  EXPECT_THROW(quantize_model(model, st, qo), Error);
}

TEST(Quantize, BiasCorrectionRemovesTheMeanShift) {
  // One conv; 2-bit weights shift each channel's mean a lot.
  GraphBuilder b;
  ValueId x = b.input("x", {-1, 4, 8, 8});
  Attributes pad1;
  pad1.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  b.output(b.node("Conv", {x, b.constant("w", random_tensor({6, 4, 3, 3}, 61)), b.constant("b", random_tensor({6}, 62))},
                  "y", pad1));
  const Graph model = b.g;
  Dataset d = random_images(64, 63);
  for (int64_t i = 0; i < d.images.numel(); ++i) d.images.data<float>()[i] += 1.0f;  // a non-zero input mean
  const CalibrationStats st = collect_stats(model, d);
  auto channel_mean_error = [&](bool correct) {
    QuantizeOptions qo;
    qo.wbits = 2;
    qo.bias_correction = correct;
    const Graph q = quantize_model(model, st, qo).qdq;
    const Tensor yf = run(model, d.images, false), yq = run(q, d.images, true);
    double worst = 0;
    const int64_t P = 64;
    for (int64_t c = 0; c < 6; ++c) {
      double diff = 0;
      for (int64_t n = 0; n < 64; ++n)
        for (int64_t p = 0; p < P; ++p) {
          const int64_t i = (n * 6 + c) * P + p;
          diff += yq.data<float>()[i] - yf.data<float>()[i];
        }
      worst = std::max(worst, std::fabs(diff / (64 * P)));
    }
    return worst;
  };
  const double before = channel_mean_error(false), after = channel_mean_error(true);
  EXPECT_GT(before, 0.05);
  EXPECT_LT(after, 0.2 * before);
}

TEST(Quantize, RefusesALayerWhoseAccumulatorCouldOverflow) {
  // 8192 input channels × 3×3 = 73,728 products of 255 · 127: beyond int32.
  GraphBuilder b;
  ValueId x = b.input("x", {1, 8192, 3, 3});
  Tensor w(DataType::f32, {1, 8192, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = 1.0f;
  b.output(b.node("Conv", {x, b.constant("w", w)}, "y"));
  Dataset d;
  d.images = random_tensor({1, 8192, 3, 3}, 71, 0.0f, 1.0f);
  d.labels = {0};
  const CalibrationStats st = collect_stats(b.g, d);
  const Graph q = quantize_model(b.g, st, {}).qdq;
  try {
    prepare_quantized(q, {{"x", {1, 8192, 3, 3}}});
    FAIL() << "expected an overflow error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflow"), std::string::npos) << e.what();
  }
}

TEST(Quantize, StatsRoundTripAndBadFiles) {
  const Graph model = tiny_resnet();
  CalibrationStats st = collect_stats(model, random_images(8, 81));
  const std::string path = ::testing::TempDir() + "/stats.json";
  save_stats(st, path);
  const CalibrationStats back = load_stats(path);
  ASSERT_EQ(back.tensors.size(), st.tensors.size());
  EXPECT_EQ(back.tensors.at("r2").hist, st.tensors.at("r2").hist);
  EXPECT_DOUBLE_EQ(back.tensors.at("r2").max, st.tensors.at("r2").max);
  EXPECT_EQ(back.tap_mean.at("c2_node"), st.tap_mean.at("c2_node"));
  EXPECT_THROW(load_stats(::testing::TempDir() + "/missing.json"), Error);
  {
    std::ofstream f(::testing::TempDir() + "/bad.json");
    f << "{\"format\": \"winq.calibration\", \"version\": 1, \"tens";
  }
  EXPECT_THROW(load_stats(::testing::TempDir() + "/bad.json"), Error);
  st.tensors.erase("r2");
  EXPECT_THROW(quantize_model(model, st, {}), Error);  // statistics of another model
}

TEST(Huffman, AverageCodeLength) {
  EXPECT_DOUBLE_EQ(huffman_bits({5}), 0.0);
  EXPECT_DOUBLE_EQ(huffman_bits({1, 1, 1, 1}), 2.0);
  EXPECT_DOUBLE_EQ(huffman_bits({2, 1, 1}), 1.5);
}

// The packed integer conv (active ISA) against the unpacked reference, on
// geometries the models above do not reach: strides, dilations, groups,
// depthwise, asymmetric pads, int8 and uint8 inputs with zero points; both
// packed forms (implicit GEMM: stride 1 and channels a multiple of 4 or ≥ 16,
// incl. a partly filled last word; im2col otherwise), several row blocks and
// weight panels, batch 1 (threads split blocks and panels) and batch 2.
TEST(QConvPacked, EqualsTheReferenceOnAnyGeometry) {
  struct Geo {
    int64_t c, m, h, w, kh, kw, stride, dil, group;
    std::vector<int64_t> pads;
    DataType xt;
    int64_t zp;
  };
  const Geo geos[] = {
      {3, 8, 9, 7, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, 0},
      {8, 16, 10, 10, 3, 3, 2, 1, 1, {1, 1, 1, 1}, DataType::u8, 3},
      {8, 8, 11, 9, 3, 3, 1, 2, 1, {2, 1, 0, 2}, DataType::s8, -5},
      {8, 12, 8, 8, 3, 3, 1, 1, 2, {1, 1, 1, 1}, DataType::u8, 0},
      {16, 16, 7, 7, 3, 3, 1, 1, 16, {1, 1, 1, 1}, DataType::u8, 7},  // depthwise
      {5, 9, 6, 6, 1, 1, 1, 1, 1, {0, 0, 0, 0}, DataType::s8, 1},
      {4, 33, 5, 13, 5, 3, 2, 1, 1, {2, 1, 2, 1}, DataType::u8, 0},
      {20, 24, 9, 11, 3, 3, 1, 1, 1, {1, 0, 2, 1}, DataType::s8, 2},
      {16, 40, 30, 29, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::u8, 0},
      {32, 16, 4, 4, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, 0},
      // Channels in lanes (AVX-512 VNNI and AVX2, whole panels of 16, ≤ 256 positions with VNNI):
      // uneven pads, dilation, an odd panel count, groups, 16×16.
      {20, 32, 9, 11, 3, 3, 1, 1, 1, {1, 0, 2, 1}, DataType::s8, 2},
      {8, 48, 11, 9, 3, 3, 1, 2, 1, {2, 1, 0, 2}, DataType::u8, 0},
      {8, 32, 8, 8, 3, 3, 1, 1, 2, {1, 1, 1, 1}, DataType::u8, 4},
      {24, 16, 16, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::u8, 0},
      {64, 64, 7, 7, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, 0},
      // Where padding is a real zero (activation offset 0) the rows of output
      // positions leave out the kernel rows that read only padding: output
      // rows with no kernel row inside the image, a 5×5 kernel, int8 at −128.
      {16, 16, 4, 4, 3, 3, 1, 1, 1, {3, 1, 3, 1}, DataType::u8, 0},
      {16, 16, 6, 6, 5, 5, 1, 1, 1, {2, 2, 2, 2}, DataType::u8, 0},
      {32, 32, 5, 5, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, -128},
      // 5 rows of 12: the padded copy's last 12 pixels are not a whole 16.
      {12, 16, 5, 12, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, 3},
      // 440 positions: channels in lanes with AVX2 (up to 64×64), implicit GEMM with AVX-512 VNNI (up to 256).
      {16, 32, 20, 22, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::u8, 0},
      // Widths of whole vectors (32, 16) beyond channels in lanes with AVX-512 VNNI: one GEMM per
      // output row into dense blocks of rows (7, 7, 5 and 14, 14, 12 rows), 3 panels, int8 with a zero point.
      {12, 24, 19, 32, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::s8, -3},
      {8, 8, 40, 16, 3, 3, 1, 1, 1, {1, 1, 1, 1}, DataType::u8, 0},
  };
  int wide_layers = 0;
  uint32_t seed = 500;
  for (const int64_t batch : {1, 2})
  for (const Geo& g : geos) {
    SCOPED_TRACE(testing::Message() << "batch=" << batch << " c=" << g.c << " m=" << g.m << " stride=" << g.stride << " dil=" << g.dil
                                    << " group=" << g.group << " seed=" << seed);
    std::mt19937 rng(seed++);
    GraphBuilder b;
    Value xv;
    xv.name = "x";
    xv.dtype = g.xt;
    xv.shape = {batch, g.c, g.h, g.w};
    xv.has_shape = true;
    const ValueId x = b.g.add_value(xv);
    b.g.inputs.push_back(x);
    Tensor w(DataType::s8, {g.m, g.c / g.group, g.kh, g.kw});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(rng() % 255 - 127);
    Tensor bias(DataType::s32, {g.m});
    for (int64_t i = 0; i < g.m; ++i) bias.data<int32_t>()[i] = static_cast<int32_t>(rng() % 20001) - 10000;
    Attributes a;
    a.set("strides", std::vector<int64_t>{g.stride, g.stride});
    a.set("dilations", std::vector<int64_t>{g.dil, g.dil});
    a.set("group", g.group);
    a.set("pads", g.pads);
    a.set("y_type", std::string("int8"));
    a.set("x_zero_point", g.zp);
    std::vector<int64_t> mult, shift;
    for (int64_t i = 0; i < g.m; ++i) {
      const Requant r = make_requant(std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000, -10));
      mult.push_back(r.multiplier);
      shift.push_back(r.shift);
    }
    a.set("multiplier", mult);
    a.set("shift", shift);
    const ValueId y = b.node("QConv", {x, b.constant("w", w), b.constant("b", bias)}, "y", a);
    b.g.nodes.back().domain = "winq";
    b.output(y);
    Tensor in(g.xt, xv.shape);
    for (int64_t i = 0; i < in.numel(); ++i) reinterpret_cast<uint8_t*>(in.raw())[i] = static_cast<uint8_t>(rng());
    Graph ref = prepare(b.g);
    Graph packed = ref;
    pack_int8_weights(packed);
    for (const Node& n : packed.nodes) wide_layers += n.attrs.get_string("winq_packed_layout", "") == "wide";
    const Tensor want = FloatExecutor(ref).run({in})[0];
    for (int threads : {1, 2}) {
      const Tensor got = FloatExecutor(packed, threads).run({in})[0];
      ASSERT_EQ(got.shape(), want.shape());
      for (int64_t i = 0; i < got.numel(); ++i) ASSERT_EQ(got.data<int8_t>()[i], want.data<int8_t>()[i]) << i;
    }
    // The executor ran the node with the state qconv_prepare made once; run
    // alone (as constant folding does), the op builds that state itself.
    const Node& qn = packed.nodes.back();
    ASSERT_EQ(qn.op, "QConv");
    const std::string where = "direct run";
    ops::RunContext rc{qn, packed.opset, 1, {}, std::vector<Tensor>(1), &where};
    for (ValueId v : qn.inputs) rc.in.push_back(packed.values[v].is_constant() ? &packed.values[v].constant : &in);
    ops::find_op("winq", "QConv")->run(rc);
    ASSERT_EQ(rc.out[0].shape(), want.shape());
    for (int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(rc.out[0].data<int8_t>()[i], want.data<int8_t>()[i]) << i;
  }
  if (active_isa() != Isa::scalar)
    EXPECT_EQ(wide_layers, 2 * (active_isa() == Isa::avx2 ? 11 : 10)) << "geometries run with channels in lanes";
  else std::cout << "[ not run  ] channels in lanes: needs AVX2 or AVX-512 VNNI (active: " << isa_name(active_isa()) << ")\n";
}
