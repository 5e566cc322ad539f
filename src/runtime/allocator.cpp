#include "allocator.hpp"

#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace winq {

void keep_large_buffers_in_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 256 << 20);  // blocks up to 256 MiB come from the heap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);    // and freed memory stays there for the next run
#endif
  });
}

}  // namespace winq
