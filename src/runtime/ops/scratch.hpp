// Per-thread scratch buffers kept between runs (used by the int8 conv kernels).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

namespace winq::ops {

// Scratch without zero-fill (every word is written before it is read), from
// blocks each thread keeps between runs: a new and a delete per buffer per
// layer run were a visible share of a batch-1 network, and freeing the large
// ones made glibc consolidate its heap. A thread keeps at most kScratchKept blocks
// (the largest); a block goes back to the thread that frees it.
struct ScratchBlock {
  std::unique_ptr<std::byte[]> data;
  size_t bytes = 0;
};
inline constexpr size_t kScratchKept = 6;  // a Winograd layer holds three at once, a conv two
inline thread_local std::vector<ScratchBlock> t_scratch_blocks;

template <class T>
struct ScratchRelease {
  size_t bytes = 0;
  void operator()(T* p) const {
    auto& kept = t_scratch_blocks;
    kept.push_back({std::unique_ptr<std::byte[]>(reinterpret_cast<std::byte*>(p)), bytes});
    if (kept.size() > kScratchKept)
      kept.erase(std::min_element(kept.begin(), kept.end(),
                                  [](const ScratchBlock& a, const ScratchBlock& b) { return a.bytes < b.bytes; }));
  }
};

template <class T>
std::unique_ptr<T[], ScratchRelease<T>> scratch(int64_t n) {
  static_assert(std::is_trivially_default_constructible_v<T> && alignof(T) <= alignof(std::max_align_t));
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
  auto& kept = t_scratch_blocks;
  auto best = kept.end();  // the smallest kept block that is large enough
  for (auto it = kept.begin(); it != kept.end(); ++it)
    if (it->bytes >= bytes && (best == kept.end() || it->bytes < best->bytes)) best = it;
  if (best == kept.end())
    return std::unique_ptr<T[], ScratchRelease<T>>(reinterpret_cast<T*>(new std::byte[bytes]), ScratchRelease<T>{bytes});
  ScratchBlock b = std::move(*best);
  kept.erase(best);
  return std::unique_ptr<T[], ScratchRelease<T>>(reinterpret_cast<T*>(b.data.release()), ScratchRelease<T>{b.bytes});
}

}  // namespace winq::ops
