// Shared by the libFuzzer targets: the readers take paths, so each input is
// written to a per-process scratch file first; and the one rule every target
// checks — bad bytes end in a winq::Error (a clear message), never in a crash,
// a sanitizer report, an unbounded allocation or any other exception.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "winq/error.hpp"
#include "winq/tensor.hpp"

namespace winq::fuzz {

// Tensors above this are refused (Error) instead of allocated: libFuzzer's
// malloc limit (2 GiB by default) must never be the one that stops a file.
inline constexpr size_t kFuzzTensorBytes = size_t{64} << 20;

inline std::filesystem::path scratch_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                            ("winq-fuzz-" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = scratch_dir();
  const std::filesystem::path p = dir / name;
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p.string();
}

// Runs fn; a winq::Error is the expected outcome of bad bytes. Anything else
// escapes, and libFuzzer reports it as a crash (uncaught exception → abort).
template <class Fn>
void expect_clear_error(Fn&& fn) {
  try {
    fn();
  } catch (const winq::Error& e) {
    if (std::string(e.what()).empty()) std::abort();  // an error must say something
  }
}

}  // namespace winq::fuzz
