// 3×3 stride-1 convolution, batch 1: winq's int8 engine against oneDNN (int8
// and fp32) and XNNPACK (int8), in the same process, interleaved rounds,
// medians. Effective GOP/s = 2·C·C·9·H·W / time. Also the machine's int8 VNNI
// peak (a register-only vpdpbusd loop) so each figure has a ceiling.
//
// Usage: winq_conv_bench [--threads T] [--rounds R] [--json] [--no-peers] [--winograd] [--float] [--shape C@HxW] [--engine NAME]
// (--float: winq's float direct and Winograd F2/F4/F6 against oneDNN fp32 direct and Winograd)
// (--no-peers: winq alone, for profiling; --winograd: winq's int8 F(2,3),
// F(4,3), F(6,3) against winq direct and oneDNN's direct and Winograd
// convolutions, int8 and fp32; effective GOP/s still counts direct operations)
// Threads: winq's pool and oneDNN (OpenMP) use T; XNNPACK runs on a
// pthreadpool of T. Nothing here is a test: it never asserts a time.
#include <dnnl.hpp>
#include <fmt/format.h>
#include <immintrin.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "winq/cpu.hpp"

extern "C" void omp_set_num_threads(int);  // libgomp, which oneDNN uses
#include "winq/runtime.hpp"
#include "winq/winograd.hpp"

using namespace winq;

namespace {

struct ConvShape {
  int64_t c, hw;
  const char* net;
};
const ConvShape kShapes[] = {{64, 56, "ResNet-18"},  {128, 28, "ResNet-18"}, {256, 14, "ResNet-18"},
                             {512, 7, "ResNet-18"},  {32, 32, "winq w0.5"},  {64, 16, "winq w0.5"},
                             {128, 8, "winq w0.5"},  {256, 4, "winq w0.5"}};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Seconds per call: the best of a few calls (a round), so that one round is hot.
double time_round(const std::function<void()>& f) {
  double best = 1e9;
  const double t_end = now() + 0.05;
  int calls = 0;
  do {
    const double t0 = now();
    f();
    best = std::min(best, now() - t0);
  } while (++calls < 3 || now() < t_end);
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ---- winq int8: one lowered QConv or QWinogradConv through the executor -----------
// tile 0: direct (QConv); 2, 4, 6: int8 Winograd F(tile, 3) with random
// Winograd-domain weights and scales (the arithmetic does not depend on them).
std::function<void()> winq_int8(const ConvShape& s, int threads, int tile = 0, bool one_d = false) {
  Graph g;
  g.opset = 13;
  Value x;
  x.name = "x";
  x.dtype = DataType::u8;
  x.shape = {1, s.c, s.hw, s.hw};
  x.has_shape = true;
  const ValueId xi = g.add_value(x);
  g.inputs.push_back(xi);
  std::mt19937 rng(1);
  Node n;
  if (tile == 0) {
    Tensor w(DataType::s8, {s.c, s.c, 3, 3});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(rng() % 255 - 127);
    Tensor b(DataType::s32, {s.c});
    n.name = "conv";
    n.op = "QConv";
    n.domain = "winq";
    n.inputs = {xi, g.add_constant("w", w), g.add_constant("b", b)};
    n.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    n.attrs.set("y_type", std::string("uint8"));
    n.attrs.set("multiplier", std::vector<int64_t>(static_cast<size_t>(s.c), int64_t{1} << 30));
    n.attrs.set("shift", std::vector<int64_t>(static_cast<size_t>(s.c), int64_t{44}));
  } else {
    const int64_t nn = one_d ? tile + 2 : (tile + 2) * (tile + 2);  // 1-D: F(tile×1, 3×3)
    Tensor u(DataType::s8, {nn, s.c, (one_d ? 3 : 1) * s.c});
    for (int64_t i = 0; i < u.numel(); ++i) u.data<int8_t>()[i] = static_cast<int8_t>(rng() % 255 - 127);
    Node planned;
    planned.name = "conv";
    planned.op = "Conv";
    planned.attrs.set(winograd::attr::kTile, int64_t{tile});
    if (one_d) planned.attrs.set(winograd::attr::kOneD, int64_t{1});
    planned.attrs.set(winograd::attr::kU, u);
    planned.attrs.set(winograd::attr::kUScale, std::vector<float>(static_cast<size_t>(nn * s.c), 0.01f));
    planned.attrs.set(winograd::attr::kVScale, std::vector<float>(static_cast<size_t>(nn), 0.1f));
    planned.attrs.set(winograd::attr::kVUnsigned, std::vector<int64_t>(static_cast<size_t>(nn), 0));
    planned.attrs.set(winograd::attr::kBias, std::vector<float>(static_cast<size_t>(s.c), 0.0f));
    planned.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    winograd::QuantIO io;
    io.x_scale = 0.02;
    io.y_scale = 0.05;
    n = winograd::lower_int8(g, planned, xi, io);
  }
  Value y;
  y.name = "y";
  n.outputs = {g.add_value(y)};
  g.outputs = n.outputs;
  g.nodes.push_back(n);
  Graph p = prepare(g);
  pack_int8_weights(p);
  auto ex = std::make_shared<FloatExecutor>(p, threads);
  auto in = std::make_shared<Tensor>(DataType::u8, x.shape);
  for (int64_t i = 0; i < in->numel(); ++i) in->data<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return [ex, in] { ex->run({*in}); };
}

// ---- winq float: a Conv through the float executor, direct or Winograd F(tile, 3) ----
std::function<void()> winq_f32(const ConvShape& s, int threads, int tile) {
  Graph g;
  g.opset = 13;
  Value x;
  x.name = "x";
  x.shape = {1, s.c, s.hw, s.hw};
  x.has_shape = true;
  const ValueId xi = g.add_value(x);
  g.inputs.push_back(xi);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Tensor w(DataType::f32, {s.c, s.c, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = u(rng);
  Node n;
  n.name = "conv";
  n.op = "Conv";
  n.inputs = {xi, g.add_constant("w", w)};
  n.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  Value y;
  y.name = "y";
  n.outputs = {g.add_value(y)};
  g.outputs = n.outputs;
  g.nodes.push_back(n);
  Graph p = prepare(g);
  if (tile) winograd::plan_float_winograd(p, tile);
  auto ex = std::make_shared<FloatExecutor>(p, threads);
  auto in = std::make_shared<Tensor>(DataType::f32, x.shape);
  for (int64_t i = 0; i < in->numel(); ++i) in->data<float>()[i] = u(rng);
  return [ex, in] { ex->run({*in}); };
}

// ---- oneDNN: direct convolution, layouts of its choice (reorders not timed) -------
struct Dnnl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
};

std::function<void()> onednn(const ConvShape& s, bool int8, Dnnl& d, bool winograd = false) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const memory::dims src{1, s.c, s.hw, s.hw}, wei{s.c, s.c, 3, 3}, bia{s.c}, dst{1, s.c, s.hw, s.hw};
  auto src_md = memory::desc(src, int8 ? dt::u8 : dt::f32, tag::any);
  auto wei_md = memory::desc(wei, int8 ? dt::s8 : dt::f32, tag::any);
  auto bia_md = memory::desc(bia, int8 ? dt::s32 : dt::f32, tag::any);
  auto dst_md = memory::desc(dst, int8 ? dt::u8 : dt::f32, tag::any);
  convolution_forward::desc cd(prop_kind::forward_inference,
                               winograd ? algorithm::convolution_winograd : algorithm::convolution_direct, src_md, wei_md,
                               bia_md, dst_md, {1, 1}, {1, 1}, {1, 1});
  primitive_attr attr;
  if (int8) attr.set_output_scales(0, {1.0f / 4096});
  std::shared_ptr<convolution_forward::primitive_desc> pd;
  try {
    pd = std::make_shared<convolution_forward::primitive_desc>(cd, attr, d.eng);
  } catch (const dnnl::error&) {
    return nullptr;  // e.g. no Winograd implementation for this shape or CPU
  }
  auto prim = std::make_shared<convolution_forward>(*pd);
  auto ms = std::make_shared<memory>(pd->src_desc(), d.eng);
  auto mw = std::make_shared<memory>(pd->weights_desc(), d.eng);
  auto mb = std::make_shared<memory>(pd->bias_desc(), d.eng);
  auto md = std::make_shared<memory>(pd->dst_desc(), d.eng);
  std::memset(ms->get_data_handle(), 3, pd->src_desc().get_size());
  std::memset(mw->get_data_handle(), 1, pd->weights_desc().get_size());
  std::memset(mb->get_data_handle(), 0, pd->bias_desc().get_size());
  return [prim, ms, mw, mb, md, &d] {
    prim->execute(d.strm, {{DNNL_ARG_SRC, *ms}, {DNNL_ARG_WEIGHTS, *mw}, {DNNL_ARG_BIAS, *mb}, {DNNL_ARG_DST, *md}});
    d.strm.wait();
  };
}

// ---- XNNPACK qs8 (NHWC) ------------------------------------------------------------
std::function<void()> xnnpack_int8(const ConvShape& s, pthreadpool_t pool) {
  std::vector<int8_t> w(static_cast<size_t>(s.c * s.c * 9), 1);
  std::vector<int32_t> b(static_cast<size_t>(s.c), 0);
  xnn_operator_t op = nullptr;
  if (xnn_create_convolution2d_nhwc_qs8(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, s.c, s.c, s.c, s.c, 0, 1.0f, 1.0f, w.data(),
                                        b.data(), 0, 64.0f, -128, 127, 0, &op) != xnn_status_success)
    return nullptr;
  auto in = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(s.c * s.hw * s.hw), 3);
  auto out = std::make_shared<std::vector<int8_t>>(in->size());
  if (xnn_setup_convolution2d_nhwc_qs8(op, 1, s.hw, s.hw, in->data(), out->data(), pool) != xnn_status_success)
    return nullptr;
  return [op, in, out, pool] { xnn_run_operator(op, pool); };
}

// ---- the VNNI peak: independent vpdpbusd chains on registers ------------------------
// The chains are unrolled and the operands hidden from the optimizer, so every
// accumulator stays in a register; the best of 8, 12 and 16 chains is the peak
// (fewer chains are latency-bound, more may spill).
template <int A>
__attribute__((target("avx512f,avx512vnni"), noinline)) double vnni_chains_gops() {
  __m512i acc[A];
#pragma GCC unroll 16
  for (int i = 0; i < A; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(2);
  asm volatile("" : "+v"(a), "+v"(b));
  const int64_t iters = 20'000'000;
  const double t0 = now();
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < A; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  const double t = now() - t0;
  volatile int sink = 0;
#pragma GCC unroll 16
  for (int i = 0; i < A; ++i) sink = sink + _mm512_reduce_add_epi32(acc[i]);
  return 2.0 * 64 * A * static_cast<double>(iters) / t / 1e9;  // 64 u8×s8 MACs per instruction
}

double vnni_peak_gops() {
  return std::max({vnni_chains_gops<8>(), vnni_chains_gops<12>(), vnni_chains_gops<16>()});
}

// ---- the AVX2 peaks: the exact vpmaddwd product winq's AVX2 kernels use, and
// vpmaddubsw (2 u8×s8 products summed in 16 bits, saturating: oneDNN's and
// ONNX Runtime's AVX2 int8 route) widened by vpmaddwd with ones. Each chain
// runs through the multiplies (a loop-invariant product would be hoisted), and
// the add of a real kernel's accumulation is part of it.
template <int A>
__attribute__((target("avx2"), noinline)) double avx2_madd_chains_gops(bool ubs) {
  __m256i acc[A];
#pragma GCC unroll 16
  for (int i = 0; i < A; ++i) acc[i] = _mm256_set1_epi32(i);
  __m256i b = _mm256_set1_epi16(2), ones = _mm256_set1_epi16(1), c = _mm256_set1_epi32(1);
  asm volatile("" : "+x"(b), "+x"(ones), "+x"(c));
  const int64_t iters = 10'000'000;
  const double t0 = now();
  if (ubs) {
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
      for (int i = 0; i < A; ++i)
        acc[i] = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(acc[i], b), ones), c);
    }
  } else {
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
      for (int i = 0; i < A; ++i) acc[i] = _mm256_add_epi32(_mm256_madd_epi16(acc[i], b), c);
    }
  }
  const double t = now() - t0;
  volatile int sink = 0;
#pragma GCC unroll 16
  for (int i = 0; i < A; ++i) sink = sink + _mm256_extract_epi32(acc[i], 0);
  return 2.0 * (ubs ? 32 : 16) * A * static_cast<double>(iters) / t / 1e9;  // products per chain step
}

// GOP/s per core: {vpmaddwd (exact), vpmaddubsw (saturating)}.
std::pair<double, double> avx2_peaks_gops() {
  return {std::max({avx2_madd_chains_gops<4>(false), avx2_madd_chains_gops<8>(false), avx2_madd_chains_gops<12>(false)}),
          std::max({avx2_madd_chains_gops<4>(true), avx2_madd_chains_gops<8>(true), avx2_madd_chains_gops<12>(true)})};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, rounds = 5;
  bool json = false, peers = true, wino = false, fp32 = false;
  std::string only;    // --shape C@HWxHW: one shape (profiling)
  std::string engine;  // --engine NAME: one engine of the table (profiling)
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else if (a == "--json") json = true;
    else if (a == "--no-peers") peers = false;
    else if (a == "--winograd") wino = true;
    else if (a == "--float") fp32 = true;
    else if (a == "--shape" && i + 1 < argc) only = argv[++i];
    else if (a == "--engine" && i + 1 < argc) engine = argv[++i];
    else {
      std::cerr << "usage: winq_conv_bench [--threads T] [--rounds R] [--json] [--no-peers] [--winograd] [--float] "
                   "[--shape C@HxW] [--engine NAME]\n";
      return 2;
    }
  }
  omp_set_num_threads(threads);  // oneDNN's OpenMP runtime (it read OMP_NUM_THREADS before main)
  xnn_initialize(nullptr);
  pthreadpool_t pool = threads > 1 ? pthreadpool_create(static_cast<size_t>(threads)) : nullptr;
  Dnnl dnnl;
  const bool vnni = best_isa() == Isa::avx512vnni;
  // The ceiling of the active path: VNNI's vpdpbusd, or on AVX2 the exact vpmaddwd
  // (the saturating vpmaddubsw peak printed beside it for the peers' route).
  const bool avx2_only = active_isa() == Isa::avx2;
  const auto [madd_peak, maddubs_peak] = avx2_only ? avx2_peaks_gops() : std::pair<double, double>{0, 0};
  const double peak = avx2_only ? madd_peak : vnni ? vnni_peak_gops() : 0;
  nlohmann::json out = {{"threads", threads}, {"rounds", rounds}, {"isa", isa_name(active_isa())},
                        {"vnni_peak_gops_per_core", avx2_only ? 0 : peak}, {"shapes", nlohmann::json::array()}};
  if (avx2_only) {
    out["avx2_vpmaddwd_peak_gops_per_core"] = madd_peak;
    out["avx2_vpmaddubsw_peak_gops_per_core"] = maddubs_peak;
  }
  // Engines: a name and a factory (nullptr: not available for this shape).
  using Factory = std::function<std::function<void()>(const ConvShape&)>;
  std::vector<std::pair<std::string, Factory>> engines;
  if (fp32) {  // --float: winq's float direct and Winograd against oneDNN's fp32 direct and Winograd
    engines.push_back({"winq fp32", [&](const ConvShape& s) { return winq_f32(s, threads, 0); }});
    for (int tile : {2, 4, 6})
      engines.push_back({fmt::format("winq fp32 F{}", tile), [&, tile](const ConvShape& s) { return winq_f32(s, threads, tile); }});
    if (peers) {
      engines.push_back({"oneDNN fp32", [&](const ConvShape& s) { return onednn(s, false, dnnl); }});
      engines.push_back({"oneDNN fp32 Wino", [&](const ConvShape& s) { return onednn(s, false, dnnl, true); }});
    }
    peers = false;
    wino = false;
  } else {
    engines.push_back({"winq int8", [&](const ConvShape& s) { return winq_int8(s, threads); }});
  }
  if (wino)
    for (int tile : {2, 4, 6})
      engines.push_back({fmt::format("winq int8 F{}", tile), [&, tile](const ConvShape& s) { return winq_int8(s, threads, tile); }});
  if (wino)  // the 1-D variant F(4×1, 3×3)
    engines.push_back({"winq int8 F4x1", [&](const ConvShape& s) { return winq_int8(s, threads, 4, true); }});
  if (peers) {
    engines.push_back({"oneDNN int8", [&](const ConvShape& s) { return onednn(s, true, dnnl); }});
    if (wino) engines.push_back({"oneDNN int8 Wino", [&](const ConvShape& s) { return onednn(s, true, dnnl, true); }});
    engines.push_back({"oneDNN fp32", [&](const ConvShape& s) { return onednn(s, false, dnnl); }});
    if (wino) engines.push_back({"oneDNN fp32 Wino", [&](const ConvShape& s) { return onednn(s, false, dnnl, true); }});
    if (!wino) engines.push_back({"XNNPACK int8", [&](const ConvShape& s) { return xnnpack_int8(s, pool); }});
  }
  if (!engine.empty()) {
    std::erase_if(engines, [&](const auto& e) { return e.first != engine; });
    if (engines.empty()) {
      std::cerr << "winq_conv_bench: no engine named '" << engine << "' with these flags\n";
      return 2;
    }
  }
  const size_t E = engines.size();
  if (!json) {
    std::cout << fmt::format("3x3 stride-1 conv, batch 1, {} thread(s), median of {} interleaved rounds; GOP/s = "
                             "2·C²·9·H·W / time; {}\n\n",
                             threads, rounds,
                             avx2_only ? fmt::format("AVX2 peak per core: vpmaddwd (exact, winq) {:.0f} GOP/s, "
                                                     "vpmaddubsw (saturating) {:.0f} GOP/s",
                                                     madd_peak, maddubs_peak)
                                       : fmt::format("VNNI peak {:.0f} GOP/s per core", peak))
              << fmt::format("{:<12}", "shape");
    for (const auto& e : engines) std::cout << fmt::format("{:>18}", e.first);
    std::cout << fmt::format("{:>16}{:>11}\n", "best winq/1DNN", "% of peak");
  }
  for (const ConvShape& s : kShapes) {
    if (!only.empty() && only != fmt::format("{}@{}x{}", s.c, s.hw, s.hw)) continue;
    std::vector<std::function<void()>> fns;
    for (const auto& e : engines) fns.push_back(e.second(s));
    std::vector<std::vector<double>> t(E);
    for (int r = 0; r < rounds; ++r)
      for (size_t k = 0; k < E; ++k)
        if (fns[k]) {
          // OpenMP (oneDNN) and pthreadpool (XNNPACK) workers spin for a while
          // after a call; let them fall asleep so no library runs beside another's spinners.
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          t[k].push_back(time_round(fns[k]));
        }
    const double ops = 2.0 * s.c * s.c * 9 * s.hw * s.hw;
    std::vector<double> gops(E);
    double best_winq = 0, best_dnnl = 0;
    for (size_t k = 0; k < E; ++k) {
      gops[k] = t[k].empty() ? 0 : ops / median(t[k]) / 1e9;
      if (engines[k].first.rfind("winq", 0) == 0) best_winq = std::max(best_winq, gops[k]);
      if (engines[k].first.rfind(fp32 ? "oneDNN fp32" : "oneDNN int8", 0) == 0) best_dnnl = std::max(best_dnnl, gops[k]);
    }
    const std::string shape = fmt::format("{}@{}x{}", s.c, s.hw, s.hw);
    nlohmann::json js = {{"shape", shape}, {"net", s.net}};
    for (size_t k = 0; k < E; ++k)
      js[engines[k].first] = {{"median_us", t[k].empty() ? 0 : 1e6 * median(t[k])}, {"gops", gops[k]}};
    out["shapes"].push_back(js);
    if (!json) {
      std::cout << fmt::format("{:<12}", shape);
      for (size_t k = 0; k < E; ++k) std::cout << (t[k].empty() ? fmt::format("{:>18}", "n/a") : fmt::format("{:>18.0f}", gops[k]));
      std::cout << fmt::format("{:>16.2f}{:>10.0f}%\n", best_dnnl > 0 ? best_winq / best_dnnl : 0.0,
                               peak > 0 ? 100 * best_winq / (peak * threads) : 0);
    }
  }
  if (json) std::cout << out.dump(2) << "\n";
  if (pool) pthreadpool_destroy(pool);
  return 0;
}
