#include "winq/table.hpp"

#include <algorithm>
#include <cctype>

namespace winq {

namespace {
bool numeric(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isdigit(c) || c == '.' || c == '-' || c == '+' || c == '%' || c == 'x' || c == ',';
  });
}
// Display width: count UTF-8 lead bytes only (× and similar take one column).
size_t width(const std::string& s) {
  return std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; });
}
}  // namespace

std::string Table::render() const {
  const size_t n = header_.size();
  std::vector<size_t> w(n, 0);
  std::vector<bool> right(n, true);
  for (size_t i = 0; i < n; ++i) w[i] = width(header_[i]);
  for (const auto& r : rows_)
    for (size_t i = 0; i < std::min(n, r.size()); ++i) {
      w[i] = std::max(w[i], width(r[i]));
      if (!r[i].empty() && r[i] != "-" && !numeric(r[i])) right[i] = false;
    }
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      const std::string pad(w[i] - width(cell), ' ');
      s += (i ? "  " : "") + (right[i] ? pad + cell : cell + (i + 1 < n ? pad : ""));
    }
    return s + "\n";
  };
  auto rule = [&] {
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) total += w[i] + (i ? 2 : 0);
    std::string s;
    for (size_t i = 0; i < total; ++i) s += "─";
    return s + "\n";
  };
  std::string out = line(header_) + rule();
  for (const auto& r : rows_) out += r.empty() ? rule() : line(r);
  return out;
}

}  // namespace winq
