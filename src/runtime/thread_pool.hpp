// parallel_for: splits [0, n) into contiguous chunks run on up to `threads`
// threads (the caller's thread included). Chunks are fixed by (n, threads) only,
// so results never depend on scheduling.
#pragma once
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

}  // namespace winq
