// Progress of long work on stderr: a bar redrawn in place on a terminal, one
// line every 25% otherwise (logs stay short). An optional suffix (loss, accuracy)
// is shown after the bar.
#pragma once
#include <cstdint>
#include <string>

namespace winq {

class Progress {
 public:
  Progress(std::string label, int64_t total);
  void update(int64_t done, const std::string& suffix = "");
  void done(const std::string& suffix = "");

 private:
  std::string label_;
  int64_t total_;
  int last_quarter_ = -1;
  bool tty_;
  double start_;
};

}  // namespace winq
