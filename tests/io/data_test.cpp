// IDX, .npy and image-folder readers, and preprocessing.
#include <gtest/gtest.h>
#include <zlib.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include <filesystem>
#include <fstream>

#include "winq/data.hpp"

using namespace winq;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("winq_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write_gz(const fs::path& p, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::vector<unsigned char> idx_images(int n, int h, int w) {
  std::vector<unsigned char> b = {0, 0, 8, 3, 0, 0, 0, static_cast<unsigned char>(n), 0, 0, 0,
                                  static_cast<unsigned char>(h), 0, 0, 0, static_cast<unsigned char>(w)};
  for (int i = 0; i < n * h * w; ++i) b.push_back(static_cast<unsigned char>(i % 251));
  return b;
}

}  // namespace

TEST(Idx, ReadsGzippedImagesAndLabels) {
  auto dir = temp_dir("idx");
  write_gz(dir / "img.gz", idx_images(3, 4, 5));
  write_gz(dir / "lab.gz", {0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9});
  RawImages r = read_idx((dir / "img.gz").string(), (dir / "lab.gz").string());
  EXPECT_EQ(r.pixels.shape(), (Shape{3, 4, 5, 1}));
  EXPECT_EQ(r.pixels.data<uint8_t>()[21], 21);
  EXPECT_EQ(r.labels, (std::vector<int>{7, 1, 9}));
}

TEST(Idx, RejectsTruncatedBadMagicAndMismatchedLabels) {
  auto dir = temp_dir("idx_bad");
  auto img = idx_images(3, 4, 5);
  img.resize(img.size() - 10);
  write_gz(dir / "trunc.gz", img);
  EXPECT_THROW(read_idx((dir / "trunc.gz").string(), ""), Error);
  write_gz(dir / "magic.gz", {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(read_idx((dir / "magic.gz").string(), ""), Error);
  write_gz(dir / "img.gz", idx_images(3, 4, 5));
  write_gz(dir / "lab.gz", {0, 0, 8, 1, 0, 0, 0, 2, 7, 1});
  EXPECT_THROW(read_idx((dir / "img.gz").string(), (dir / "lab.gz").string()), Error);
  EXPECT_THROW(read_idx((dir / "missing.gz").string(), ""), Error);
}

TEST(Npy, RoundTripsEveryType) {
  auto dir = temp_dir("npy");
  Tensor f = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6.5f});
  save_npy((dir / "f.npy").string(), f);
  Tensor g = load_npy((dir / "f.npy").string());
  EXPECT_EQ(g.shape(), f.shape());
  EXPECT_EQ(g.data<float>()[5], 6.5f);
  Tensor i = Tensor::from<int64_t>({4}, {-1, 0, 1, 1LL << 40});
  save_npy((dir / "i.npy").string(), i);
  EXPECT_EQ(load_npy((dir / "i.npy").string()).to_int64s(), i.to_int64s());
  Tensor u = Tensor::from<uint8_t>({1, 1, 2}, {0, 255});
  save_npy((dir / "u.npy").string(), u);
  EXPECT_EQ(load_npy((dir / "u.npy").string()).shape(), (Shape{1, 1, 2}));
}

TEST(Npy, RejectsTruncatedAndForeignFiles) {
  auto dir = temp_dir("npy_bad");
  save_npy((dir / "f.npy").string(), Tensor::from<float>({100}, std::vector<float>(100, 1.0f)));
  fs::resize_file(dir / "f.npy", fs::file_size(dir / "f.npy") - 8);
  EXPECT_THROW(load_npy((dir / "f.npy").string()), Error);
  std::ofstream(dir / "x.npy") << "hello world, not numpy";
  EXPECT_THROW(load_npy((dir / "x.npy").string()), Error);
}

TEST(ImageFolder, ReadsClassesInSortedOrder) {
  auto dir = temp_dir("folder");
  for (const char* cls : {"dog", "cat"}) {
    fs::create_directories(dir / cls);
    for (int k = 0; k < 2; ++k) {
      unsigned char px[6 * 4 * 3];
      for (int i = 0; i < 72; ++i) px[i] = static_cast<unsigned char>(cls[0] == 'c' ? 10 : 200);
      stbi_write_png((dir / cls / ("img" + std::to_string(k) + ".png")).c_str(), 6, 4, 3, px, 18);
    }
  }
  std::ofstream(dir / "cat" / "notes.txt") << "ignored";
  RawImages r = read_image_folder(dir.string());
  EXPECT_EQ(r.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(r.pixels.shape(), (Shape{4, 4, 6, 3}));
  EXPECT_EQ(r.labels, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(r.pixels.data<uint8_t>()[0], 10);
  Preprocess p = parse_preprocess("resize=8x8,mean=0.5,std=0.25,channels=1");
  Dataset d = preprocess(r, p);
  EXPECT_EQ(d.images.shape(), (Shape{4, 1, 8, 8}));
  EXPECT_NEAR(d.images.data<float>()[0], (10 / 255.0f - 0.5f) / 0.25f, 1e-5);
}

TEST(ImageFolder, EmptyOrCorruptIsAClearError) {
  auto dir = temp_dir("folder_bad");
  EXPECT_THROW(read_image_folder(dir.string()), Error);
  fs::create_directories(dir / "a");
  std::ofstream(dir / "a" / "broken.png") << "not a png";
  EXPECT_THROW(read_image_folder(dir.string()), Error);
}

TEST(Preprocess, PadsWithZeroPixelsBeforeNormalising) {
  RawImages r;
  r.pixels = Tensor::from<uint8_t>({1, 1, 1, 1}, {255});
  r.labels = {0};
  Dataset d = preprocess(r, parse_preprocess("pad=1,mean=0.5,std=0.5"));
  ASSERT_EQ(d.images.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_FLOAT_EQ(d.images.data<float>()[4], 1.0f);   // (1 − 0.5)/0.5
  EXPECT_FLOAT_EQ(d.images.data<float>()[0], -1.0f);  // (0 − 0.5)/0.5
}

TEST(Preprocess, RejectsBadSpecs) {
  EXPECT_THROW(parse_preprocess("resize=32"), Error);
  EXPECT_THROW(parse_preprocess("std=0"), Error);
  EXPECT_THROW(parse_preprocess("colour=blue"), Error);
  EXPECT_THROW(parse_preprocess("pad=-1"), Error);
  Preprocess p = parse_preprocess("pad=2,mean=0.1/0.2/0.3,std=1/2/3,layout=NHWC");
  EXPECT_EQ(parse_preprocess(to_string(p)).mean, p.mean);
}

TEST(Datasets, MissingPathIsAClearError) {
  EXPECT_THROW(read_images("/nonexistent/data"), Error);
  EXPECT_THROW(read_images("nothing.npy"), Error);
}
