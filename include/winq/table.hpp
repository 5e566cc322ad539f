// Plain-text tables for people (the same data goes to JSON for machines).
#pragma once
#include <string>
#include <vector>

namespace winq {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void separator() { rows_.push_back({}); }  // a rule before the next row
  // Columns that look numeric are right-aligned.
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace winq
