// A persistent pool: starting threads for every parallel_for cost tens of
// microseconds, as much as a whole small conv layer at batch 1. Workers wait
// for a new job by spinning briefly (a layer follows a layer within
// microseconds) and then sleep on a condition variable.
#include "thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <immintrin.h>  // _mm_pause (SSE2, every x86-64)

#include "winq/runtime.hpp"

namespace winq {

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

namespace {

thread_local bool t_in_pool_job = false;  // nested parallel_for runs its chunks inline

class Pool {
 public:
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  // Runs chunk(i) for i in [0, t): chunk 0 on the caller, the others on workers.
  // Returns false (and runs nothing) when another thread holds the pool.
  bool run(int64_t t, const RangeFn& chunk) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> l(m_);
      while (static_cast<int64_t>(workers_.size()) < t - 1) {
        const int64_t index = static_cast<int64_t>(workers_.size()) + 1;
        const uint64_t before = generation_.load();  // the job below is the new worker's first
        workers_.emplace_back([this, index, before] { loop(index, before); });
      }
      job_ = &chunk;
      chunks_ = t;
      pending_.store(t - 1);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    t_in_pool_job = true;
    chunk(0, 0);
    t_in_pool_job = false;
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    std::lock_guard<std::mutex> l(m_);
    job_ = nullptr;
    return true;
  }

 private:
  void loop(int64_t index, uint64_t seen) {
    t_in_pool_job = true;
    for (;;) {
      // Spin for a while, then sleep until the next job.
      for (int spin = 0; spin < 200000 && generation_.load(std::memory_order_acquire) == seen; ++spin)
        _mm_pause();
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return generation_.load() != seen; });
      }
      RangeFn const* job;
      int64_t chunks;
      {
        std::lock_guard<std::mutex> l(m_);
        if (stop_) return;
        seen = generation_.load();
        job = job_;
        chunks = chunks_;
      }
      if (index < chunks) {
        (*job)(index, 0);
        pending_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::mutex busy_;  // one job at a time
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  const RangeFn* job_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> pending_{0};
  bool stop_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void parallel_for(int64_t n, int threads, RangeFn fn) {
  if (n <= 0) return;
  const int64_t t = std::clamp<int64_t>(threads, 1, n);
  if (t == 1) {
    fn(0, n);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  // Chunk i, called as (i, unused) through a RangeFn.
  auto chunk_of = [&](int64_t i, int64_t) {
    try {
      fn(n * i / t, n * (i + 1) / t);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  const RangeFn chunk(chunk_of);
  // The same chunks whoever runs them, so results never depend on scheduling.
  if (t_in_pool_job || !pool().run(t, chunk))
    for (int64_t i = 0; i < t; ++i) chunk(i, 0);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace winq
