// parallel_for: every index once, chunks fixed by (n, threads), errors
// rethrown on the caller, nested calls run inline; callables of any size
// (RangeFn refers to them, it does not copy them).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "../../src/runtime/thread_pool.hpp"

using namespace winq;

TEST(ParallelFor, CoversEveryIndexOnceWithAnyThreadCount) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      // A capture larger than std::function keeps in place.
      std::array<int64_t, 16> big{};
      big[15] = 1;
      parallel_for(n, threads, [&hits, big](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i] += static_cast<int>(big[15]);
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "threads=" << threads << " n=" << n << " i=" << i;
    }
}

TEST(ParallelFor, ChunksDependOnlyOnSizeAndThreads) {
  auto chunks = [](int64_t n, int threads) {
    std::vector<std::pair<int64_t, int64_t>> got(static_cast<size_t>(threads), {-1, -1});
    std::atomic<int> calls{0};
    parallel_for(n, threads, [&](int64_t b, int64_t e) {
      got[static_cast<size_t>(calls++)] = {b, e};
    });
    std::sort(got.begin(), got.end());
    return got;
  };
  for (int rep = 0; rep < 5; ++rep) EXPECT_EQ(chunks(10, 3), chunks(10, 3));
  const auto c = chunks(10, 3);
  EXPECT_EQ(c[0], (std::pair<int64_t, int64_t>{0, 3}));
  EXPECT_EQ(c[2], (std::pair<int64_t, int64_t>{6, 10}));
}

TEST(ParallelFor, RethrowsAChunksErrorOnTheCaller) {
  for (int threads : {1, 2})
    EXPECT_THROW(parallel_for(8, threads,
                              [](int64_t b, int64_t) {
                                if (b >= 4 || b == 0) throw std::runtime_error("chunk failed");
                              }),
                 std::runtime_error);
}

TEST(ParallelFor, NestedCallsRunInline) {
  std::atomic<int64_t> sum{0};
  parallel_for(4, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallel_for(10, 2, [&](int64_t b2, int64_t e2) {
        for (int64_t j = b2; j < e2; ++j) sum += i * 10 + j;
      });
  });
  EXPECT_EQ(sum.load(), 780);  // Σ over i < 4, j < 10 of 10·i + j
}
