// Keeps large tensor buffers in the process heap between runs.
#pragma once

namespace winq {

// glibc serves blocks above its mmap threshold (128 KiB at first) with fresh
// mappings, so every run of a layer paid a page fault per 4 KiB of its output
// and scratch buffers — measured 40% of a 64@56×56 int8 conv at 2 threads.
// Raising the threshold and the trim limit lets freed buffers be reused.
// Called once by every executor; a no-op on other C libraries.
void keep_large_buffers_in_heap();

}  // namespace winq
