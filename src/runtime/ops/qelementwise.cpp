// winq.QAdd and winq.QGlobalAveragePool (see qlinear.hpp for the contract).
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "../dispatch.hpp"
#include "../thread_pool.hpp"
#include "op.hpp"
#include "qlinear.hpp"
#include "winq/requantize.hpp"

namespace winq::ops {

namespace {

struct OutRange {
  DataType type;
  int32_t zp, qmin, qmax;
};

OutRange out_range(const Node& n, const std::string& where) {
  const std::string t = n.attrs.get_string(qattr::kYType, "");
  if (t != "uint8" && t != "int8") throw Error(where + ": y_type must be uint8 or int8");
  const DataType type = t == "uint8" ? DataType::u8 : DataType::s8;
  return {type, static_cast<int32_t>(n.attrs.get_int(qattr::kYZeroPoint, 0)),
          static_cast<int32_t>(n.attrs.get_int(qattr::kQMin, type == DataType::u8 ? 0 : -128)),
          static_cast<int32_t>(n.attrs.get_int(qattr::kQMax, type == DataType::u8 ? 255 : 127))};
}

bool is_int8(DataType t) { return t == DataType::u8 || t == DataType::s8; }

// Element i of a u8 or s8 tensor as int32.
int32_t at(const Tensor& t, int64_t i) {
  return t.dtype() == DataType::u8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
}
void store(Tensor& t, int64_t i, int32_t v) {
  if (t.dtype() == DataType::u8)
    t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  else
    t.data<int8_t>()[i] = static_cast<int8_t>(v);
}

void qadd_infer(InferContext& c) {
  if (!is_int8(c.in(0).dtype) || !is_int8(c.in(1).dtype)) throw Error(c.where() + ": inputs must be uint8 or int8");
  if (c.in_shape(0) != c.in_shape(1)) throw Error(c.where() + ": inputs must have the same shape");
  c.set_output(0, out_range(c.node, c.where()).type, c.in_shape(0));
}

// The kernel's arguments, from the attributes and the input types (checked here).
kernels::QAddArgs qadd_args(const Node& n, DataType a, DataType b, const std::string& where) {
  const OutRange r = out_range(n, where);
  const int64_t za = n.attrs.get_int(qattr::kAZeroPoint, 0), zb = n.attrs.get_int(qattr::kBZeroPoint, 0);
  const int64_t ma = n.attrs.get_int(qattr::kMultiplierA, 0), mb = n.attrs.get_int(qattr::kMultiplierB, 0);
  const auto shift = n.attrs.get_ints(qattr::kShift);
  if (shift.size() != 1 || shift[0] < 1 || shift[0] > 62 || ma < 0 || mb < 0 || ma >= (int64_t{1} << 31) ||
      mb >= (int64_t{1} << 31) || std::abs(za) > 255 || std::abs(zb) > 255)
    throw Error(where + ": multipliers, shift or zero points out of range");
  kernels::QAddArgs p;
  p.za = static_cast<int32_t>(za);
  p.zb = static_cast<int32_t>(zb);
  p.ma = ma;
  p.mb = mb;
  p.shift = static_cast<int>(shift[0]);
  p.zy = r.zp;
  p.qmin = r.qmin;
  p.qmax = r.qmax;
  p.a_unsigned = a == DataType::u8;
  p.b_unsigned = b == DataType::u8;
  p.y_unsigned = r.type == DataType::u8;
  return p;
}

// Computed once per node by the executor: reading the attributes on every
// run cost about as much as adding a 4×4 map.
Prepared qadd_prepare(const Graph& g, const Node& n) {
  if (n.inputs.size() != 2 || n.inputs[0] == kNoValue || n.inputs[1] == kNoValue) return nullptr;
  try {
    return std::make_shared<const kernels::QAddArgs>(
        qadd_args(n, g.values[n.inputs[0]].dtype, g.values[n.inputs[1]].dtype, n.name));
  } catch (const Error&) {
    return nullptr;  // the run reports it
  }
}

void qadd_run(RunContext& c) {
  const Tensor& a = c.input(0);
  const Tensor& b = c.input(1);
  const auto* prepared = static_cast<const kernels::QAddArgs*>(c.prepared);
  const kernels::QAddArgs p = prepared && prepared->a_unsigned == (a.dtype() == DataType::u8) &&
                                      prepared->b_unsigned == (b.dtype() == DataType::u8)
                                  ? *prepared
                                  : qadd_args(c.node, a.dtype(), b.dtype(), c.where());
  if (!is_int8(a.dtype()) || !is_int8(b.dtype()) || a.shape() != b.shape())
    throw Error(c.where() + ": inputs must be uint8 or int8 tensors of the same shape");
  Tensor y = Tensor::uninitialized(p.y_unsigned ? DataType::u8 : DataType::s8, a.shape());  // written in full
  const auto add = kernel_table().qadd;
  // Chunks of whole 64-element groups, so the vector kernels split nowhere else.
  const int64_t groups = (a.numel() + 63) / 64;
  // 2 threads on the shipped network: 32 Ki elements 13.2 → 10.8 µs, 16 Ki 6.5 → 6.8.
  constexpr int64_t kMinElementsPerThread = 16384;
  parallel_for(groups, threads_for(a.numel(), c.threads, kMinElementsPerThread), [&](int64_t s, int64_t e) {
    const int64_t i0 = 64 * s, i1 = std::min(a.numel(), 64 * e);
    add(a.raw() + i0, b.raw() + i0, y.raw() + i0, i1 - i0, p);
  });
  c.out[0] = std::move(y);
}

void qgap_infer(InferContext& c) {
  if (!is_int8(c.in(0).dtype)) throw Error(c.where() + ": input must be uint8 or int8");
  Shape s = c.in_shape(0);
  if (s.size() < 3) throw Error(c.where() + ": input must be N×C×spatial");
  for (size_t i = 2; i < s.size(); ++i) s[i] = 1;
  c.set_output(0, out_range(c.node, c.where()).type, s);
}

void qgap_run(RunContext& c) {
  const Tensor& x = c.input(0);
  const OutRange r = out_range(c.node, c.where());
  const auto m = c.node.attrs.get_ints(qattr::kMultiplier), s = c.node.attrs.get_ints(qattr::kShift);
  if (m.size() != 1 || s.size() != 1 || m[0] < 0 || m[0] >= (int64_t{1} << 31) || s[0] < 1 || s[0] > 62)
    throw Error(c.where() + ": multiplier or shift out of range");
  const Requant rq{static_cast<int32_t>(m[0]), static_cast<int>(s[0])};
  const int64_t zx = c.node.attrs.get_int(qattr::kXZeroPoint, 0);
  Shape os = x.shape();
  int64_t inner = 1;
  for (size_t i = 2; i < os.size(); ++i) inner *= os[i], os[i] = 1;
  const int64_t NC = x.dim(0) * x.dim(1);
  Tensor y(r.type, os);
  // Σ (x − zx) = Σ x − inner·zx, summed in the input's own type (no per-element dispatch).
  auto sum_of = [&](int64_t nc) {
    int64_t sum = 0;
    if (x.dtype() == DataType::u8) {
      const uint8_t* p = x.data<uint8_t>() + nc * inner;
      for (int64_t i = 0; i < inner; ++i) sum += p[i];
    } else if (x.dtype() == DataType::s8) {
      const int8_t* p = x.data<int8_t>() + nc * inner;
      for (int64_t i = 0; i < inner; ++i) sum += p[i];
    } else {
      for (int64_t i = 0; i < inner; ++i) sum += at(x, nc * inner + i);
    }
    return sum - inner * zx;
  };
  for (int64_t nc = 0; nc < NC; ++nc)
    store(y, nc, std::clamp(requantize(sum_of(nc), rq, INT32_MIN / 2, INT32_MAX / 2) + r.zp, r.qmin, r.qmax));
  c.out[0] = std::move(y);
}

}  // namespace

void register_qelementwise_ops(OpTable& t) {
  t.push_back({"winq.QAdd", {qadd_infer, qadd_run, qadd_prepare}});
  t.push_back({"winq.QGlobalAveragePool", {qgap_infer, qgap_run}});
}

}  // namespace winq::ops
