// IDX files (the MNIST format): a big-endian header — two zero bytes, a type
// byte (0x08 = unsigned byte), the number of dimensions — then the dimensions
// as big-endian uint32 and the data. Read through zlib so .gz works too.
#include <zlib.h>

#include <fmt/format.h>
#include <memory>

#include "winq/data.hpp"

namespace winq {

namespace {

struct GzFile {
  gzFile f;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

void read_exact(gzFile f, void* dst, size_t n, const std::string& path) {
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    int got = gzread(f, p, chunk);
    if (got <= 0) throw Error(path + ": truncated IDX file");
    p += got;
    n -= static_cast<size_t>(got);
  }
}

std::vector<int64_t> read_header(gzFile f, const std::string& path, int want_dims) {
  unsigned char magic[4];
  read_exact(f, magic, 4, path);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08)
    throw Error(path + ": not an IDX file of unsigned bytes (bad magic number)");
  if (magic[3] != want_dims)
    throw Error(fmt::format("{}: IDX file has {} dimensions, expected {}", path, magic[3], want_dims));
  std::vector<int64_t> dims(want_dims);
  for (auto& d : dims) {
    unsigned char b[4];
    read_exact(f, b, 4, path);
    d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3];
  }
  return dims;
}

GzFile open_gz(const std::string& path) {
  GzFile g{gzopen(path.c_str(), "rb")};
  if (!g.f) throw Error(path + ": cannot open file");
  return g;
}

}  // namespace

RawImages read_idx(const std::string& images_path, const std::string& labels_path) {
  RawImages r;
  r.source = images_path;
  {
    GzFile g = open_gz(images_path);
    auto dims = read_header(g.f, images_path, 3);
    if (dims[1] == 0 || dims[2] == 0 || dims[1] > 65536 || dims[2] > 65536)
      throw Error(images_path + ": implausible image size in IDX header");
    // The header is read before any data: refuse absurd counts instead of
    // allocating them (2^31 bytes is ~2.7 million 28×28 images).
    if (dims[0] * dims[1] * dims[2] > (int64_t{1} << 31))
      throw Error(images_path + ": IDX header declares more image data than winq reads (2 GiB)");
    r.pixels = Tensor(DataType::u8, {dims[0], dims[1], dims[2], 1});
    read_exact(g.f, r.pixels.raw(), r.pixels.nbytes(), images_path);
  }
  if (!labels_path.empty()) {
    GzFile g = open_gz(labels_path);
    auto dims = read_header(g.f, labels_path, 1);
    if (dims[0] != r.pixels.dim(0))
      throw Error(fmt::format("{}: {} labels for {} images", labels_path, dims[0], r.pixels.dim(0)));
    std::vector<unsigned char> l(static_cast<size_t>(dims[0]));
    read_exact(g.f, l.data(), l.size(), labels_path);
    r.labels.assign(l.begin(), l.end());
  } else {
    r.labels.assign(static_cast<size_t>(r.pixels.dim(0)), -1);
  }
  return r;
}

}  // namespace winq
