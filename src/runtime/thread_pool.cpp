#include "thread_pool.hpp"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include "winq/runtime.hpp"

namespace winq {

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

void parallel_for(int64_t n, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int64_t t = std::clamp<int64_t>(threads, 1, n);
  if (t == 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> workers;
  std::vector<std::exception_ptr> errors(t);
  auto chunk = [&](int64_t i) {
    int64_t b = n * i / t, e = n * (i + 1) / t;
    try {
      fn(b, e);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  for (int64_t i = 1; i < t; ++i) workers.emplace_back(chunk, i);
  chunk(0);
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace winq
