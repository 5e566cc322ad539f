// The definition of winq.QAdd, one loop per type combination.
#include "../qadd.hpp"

#include <algorithm>

#include "winq/requantize.hpp"

namespace winq::kernels {

namespace {

template <class A, class B, class Y>
void loop(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  const A* ad = static_cast<const A*>(a);
  const B* bd = static_cast<const B*>(b);
  Y* yd = static_cast<Y*>(y);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t sum = (ad[i] - int64_t{p.za}) * p.ma + (bd[i] - int64_t{p.zb}) * p.mb;
    const int64_t v = shift_round_half_even(sum, p.shift) + p.zy;
    yd[i] = static_cast<Y>(std::clamp<int64_t>(v, p.qmin, p.qmax));
  }
}

template <class A, class B>
void with_y(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  if (p.y_unsigned)
    loop<A, B, uint8_t>(a, b, y, n, p);
  else
    loop<A, B, int8_t>(a, b, y, n, p);
}

template <class A>
void with_b(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  if (p.b_unsigned)
    with_y<A, uint8_t>(a, b, y, n, p);
  else
    with_y<A, int8_t>(a, b, y, n, p);
}

}  // namespace

void qadd__ref(const void* a, const void* b, void* y, int64_t n, const QAddArgs& p) {
  if (p.a_unsigned)
    with_b<uint8_t>(a, b, y, n, p);
  else
    with_b<int8_t>(a, b, y, n, p);
}

}  // namespace winq::kernels
