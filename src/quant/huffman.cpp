// Huffman code length: the average bits per value a lossless entropy coder
// would need for a quantized tensor (≤ Shannon entropy + 1).
#include <queue>
#include <vector>

#include "winq/quant.hpp"

namespace winq {

double huffman_bits(const std::vector<double>& counts) {
  // Merging the two lightest subtrees adds their weight once per level: the
  // sum of all merged weights is the total code length.
  std::priority_queue<double, std::vector<double>, std::greater<double>> q;
  double total = 0;
  for (double c : counts)
    if (c > 0) {
      q.push(c);
      total += c;
    }
  if (q.size() < 2) return 0;
  double bits = 0;
  while (q.size() > 1) {
    const double a = q.top();
    q.pop();
    const double b = q.top();
    q.pop();
    bits += a + b;
    q.push(a + b);
  }
  return bits / total;
}

}  // namespace winq
