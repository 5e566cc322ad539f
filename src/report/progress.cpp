#include "winq/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <fmt/format.h>
#include <iostream>

namespace winq {

static double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Progress::Progress(std::string label, int64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(2)), start_(now_seconds()) {}

void Progress::update(int64_t done, const std::string& suffix) {
  const double frac = total_ ? static_cast<double>(done) / total_ : 1.0;
  const double el = now_seconds() - start_;
  const double rate = el > 0 ? done / el : 0;
  if (tty_) {
    const int width = 30, filled = static_cast<int>(frac * width);
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::cerr << fmt::format("\r\033[K{} [{}] {}/{} {:5.1f}% {:.0f}/s {}", label_, bar, done, total_, 100 * frac, rate,
                             suffix)
              << std::flush;
  } else {
    const int q = static_cast<int>(frac * 4);
    if (q > last_quarter_ && q < 4) {
      last_quarter_ = q;
      std::cerr << fmt::format("{}: {}/{} ({:.0f}%) {:.0f}/s {}\n", label_, done, total_, 100 * frac, rate, suffix);
    }
  }
}

void Progress::done(const std::string& suffix) {
  const double el = now_seconds() - start_;
  std::cerr << (tty_ ? "\r\033[K" : "") << fmt::format("{}: {} done in {:.1f} s {}\n", label_, total_, el, suffix);
}

}  // namespace winq
