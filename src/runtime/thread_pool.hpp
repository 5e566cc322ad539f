// parallel_for: splits [0, n) into contiguous chunks run on up to `threads`
// threads (the caller's thread included). Chunks are fixed by (n, threads) only,
// so results never depend on scheduling.
#pragma once
#include <cstdint>
#include <functional>

namespace winq {

void parallel_for(int64_t n, int threads, const std::function<void(int64_t begin, int64_t end)>& fn);

}  // namespace winq
