// NumPy .npy files: magic "\x93NUMPY", version, header length, a Python-dict
// header {'descr': '<f4', 'fortran_order': False, 'shape': (...), }, data.
#include <cstring>
#include <fmt/format.h>
#include <fstream>

#include "winq/data.hpp"

namespace winq {

namespace {

DataType npy_type(const std::string& descr, bool* is_f64, const std::string& path) {
  *is_f64 = false;
  if (descr == "<f4" || descr == "=f4") return DataType::f32;
  if (descr == "<f8" || descr == "=f8") {
    *is_f64 = true;
    return DataType::f32;
  }
  if (descr == "|i1" || descr == "<i1") return DataType::s8;
  if (descr == "|u1" || descr == "<u1" || descr == "|b1") return DataType::u8;
  if (descr == "<i4" || descr == "=i4") return DataType::s32;
  if (descr == "<i8" || descr == "=i8") return DataType::s64;
  throw Unsupported(path + ": .npy element type '" + descr + "' is not supported");
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open file");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw Error(path + ": not a .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) throw Error(path + ": truncated .npy header");
    hlen = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) throw Error(path + ": truncated .npy header");
    hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    throw Error(fmt::format("{}: unknown .npy version {}", path, major));
  }
  if (hlen > (1u << 20)) throw Error(path + ": .npy header is implausibly long");
  std::string header(hlen, '\0');
  if (!f.read(header.data(), hlen)) throw Error(path + ": truncated .npy header");
  // The header is a Python dict literal; only three keys matter.
  auto value_after = [&](const std::string& key) -> size_t {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw Error(path + ": .npy header has no '" + key + "'");
    size_t colon = header.find(':', k);
    if (colon == std::string::npos) throw Error(path + ": malformed .npy header");
    return header.find_first_not_of(" ", colon + 1);
  };
  size_t d = value_after("descr");
  size_t q = d == std::string::npos ? std::string::npos : header.find('\'', d + 1);
  if (d == std::string::npos || header[d] != '\'' || q == std::string::npos) throw Error(path + ": malformed 'descr'");
  const std::string descr = header.substr(d + 1, q - d - 1);
  const size_t fortran = value_after("fortran_order");
  if (fortran == std::string::npos) throw Error(path + ": malformed 'fortran_order'");
  if (header.compare(fortran, 4, "True") == 0)
    throw Unsupported(path + ": Fortran-ordered .npy arrays are not supported");
  size_t open = value_after("shape");
  size_t close = open == std::string::npos ? std::string::npos : header.find(')', open);
  if (open == std::string::npos || header[open] != '(' || close == std::string::npos)
    throw Error(path + ": malformed 'shape'");
  Shape shape;
  std::string num;
  for (size_t i = open + 1; i <= close; ++i) {
    const char c = header[i];
    if (c >= '0' && c <= '9') {
      num += c;
      if (num.size() > 12) throw Error(path + ": .npy dimension too large");
    } else if (c == ',' || c == ')' || c == ' ' || c == 'L') {
      if (!num.empty()) shape.push_back(std::stoll(num));
      num.clear();
    } else {
      throw Error(path + ": malformed 'shape'");
    }
  }
  bool f64;
  DataType t = npy_type(descr, &f64, path);
  Tensor out(t, shape);
  if (f64) {
    std::vector<double> f64v(static_cast<size_t>(out.numel()));
    if (!f.read(reinterpret_cast<char*>(f64v.data()), static_cast<std::streamsize>(f64v.size() * 8)))
      throw Error(path + ": truncated .npy data");
    for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] = static_cast<float>(f64v[i]);
  } else if (!f.read(reinterpret_cast<char*>(out.raw()), static_cast<std::streamsize>(out.nbytes()))) {
    throw Error(path + ": truncated .npy data");
  }
  return out;
}

void save_npy(const std::string& path, const Tensor& t) {
  const char* descr = "<f4";
  switch (t.dtype()) {
    case DataType::f32: descr = "<f4"; break;
    case DataType::s8: descr = "|i1"; break;
    case DataType::u8: descr = "|u1"; break;
    case DataType::s32: descr = "<i4"; break;
    case DataType::s64: descr = "<i8"; break;
  }
  std::string shape;
  for (auto d : t.shape()) shape += std::to_string(d) + ", ";
  if (t.rank() > 1) shape.resize(shape.size() - 1);
  if (t.rank() > 1) shape.pop_back();
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so that the data starts on a 64-byte boundary (10-byte preamble).
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) throw Error(path + ": cannot write file");
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<unsigned char>(header.size() & 0xff),
                                   static_cast<unsigned char>(header.size() >> 8)};
    f.write(reinterpret_cast<const char*>(pre), 10);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    if (!f) throw Error(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(path + ": cannot rename temporary file");
}

}  // namespace winq
