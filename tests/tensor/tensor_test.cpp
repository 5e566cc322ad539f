#include <gtest/gtest.h>

#include "winq/tensor.hpp"

using namespace winq;

TEST(Tensor, AllocatesAlignedZeroedStorage) {
  Tensor t(DataType::f32, {3, 5, 7});
  EXPECT_EQ(t.numel(), 105);
  EXPECT_EQ(t.nbytes(), 420u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, UninitializedStorageHasAZeroTail) {
  // A kernel writes the data; SIMD tails may read the rest of the last cache
  // line, which must not be left as whatever the allocator returned.
  for (int64_t n : {1, 5, 63, 64, 65, 1000}) {
    Tensor t = Tensor::uninitialized(DataType::u8, {n});
    ASSERT_EQ(t.numel(), n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
    const auto* bytes = reinterpret_cast<const uint8_t*>(t.raw());
    const int64_t end = (n + 64 + 63) / 64 * 64;
    for (int64_t i = n; i < end; ++i) ASSERT_EQ(bytes[i], 0) << "n=" << n << " i=" << i;
  }
}

TEST(Tensor, TypedAccessChecksType) {
  Tensor t(DataType::s8, {4});
  EXPECT_NO_THROW(t.data<int8_t>());
  EXPECT_THROW(t.data<uint8_t>(), Error);
  EXPECT_THROW(t.data<float>(), Error);
}

TEST(Tensor, CopiesShareStorageCloneDoesNot) {
  Tensor a = Tensor::from<int32_t>({2, 2}, {1, 2, 3, 4});
  Tensor b = a;
  Tensor c = a.clone();
  a.data<int32_t>()[0] = 42;
  EXPECT_EQ(b.data<int32_t>()[0], 42);
  EXPECT_EQ(c.data<int32_t>()[0], 1);
}

TEST(Tensor, ReshapeKeepsElementCount) {
  Tensor a = Tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = a.reshaped({3, 2});
  EXPECT_EQ(r.dim(0), 3);
  EXPECT_EQ(r.data<float>()[5], 6.0f);
  EXPECT_THROW(a.reshaped({4, 2}), Error);
}

TEST(Tensor, RefusesHugeOrUnknownShapes) {
  EXPECT_THROW(Tensor(DataType::f32, {1000000, 1000000}), Error);
  EXPECT_THROW(Tensor(DataType::f32, {-1, 3}), Error);
  EXPECT_THROW(Tensor::from<float>({2}, {1.0f}), Error);
}

TEST(Tensor, ConvertsToDoublesAndInts) {
  Tensor t = Tensor::from<int64_t>({3}, {-5, 0, 7});
  EXPECT_EQ(t.to_doubles(), (std::vector<double>{-5, 0, 7}));
  Tensor u = Tensor::from<uint8_t>({2}, {200, 3});
  EXPECT_EQ(u.to_int64s(), (std::vector<int64_t>{200, 3}));
}

TEST(QuantParams, PerTensorAndPerAxis) {
  QuantParams q;
  q.scale = {0.5f};
  q.zero_point = {0};
  EXPECT_FALSE(q.per_axis());
  q.axis = 0;
  q.scale = {0.5f, 0.25f};
  EXPECT_TRUE(q.per_axis());
}
