// parallel_for: splits [0, n) into contiguous chunks run on up to `threads`
// threads (the caller's thread included). Chunks are fixed by (n, threads) only,
// so results never depend on scheduling.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace winq {

// A reference to a callable taking (begin, end), valid while the callable
// lives (for a lambda passed to parallel_for: the whole call). Unlike a
// std::function it never allocates: a kernel's lambda captures more than
// std::function keeps in place, and every layer run paid a malloc and free.
class RangeFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFn>>>
  RangeFn(F&& f)  // NOLINT: implicit, as std::function's
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

void parallel_for(int64_t n, int threads, RangeFn fn);

// How many of `threads` to use on `work` units when a thread is worth it only
// with at least `min_per_thread` of them: waking the pool's worker and moving
// the data between the cores' caches cost a few microseconds, more than an
// op of a few microseconds saves (the shipped network's pools, its smaller
// residual adds and 1×1 projections ran slower on 2 threads than on 1).
inline int threads_for(int64_t work, int threads, int64_t min_per_thread) {
  const int64_t useful = min_per_thread > 0 ? work / min_per_thread : threads;
  return static_cast<int>(std::clamp<int64_t>(useful, 1, std::max(threads, 1)));
}

}  // namespace winq
