#include <gtest/gtest.h>

#include "../test_util.hpp"
#include "winq/runtime.hpp"

using namespace winq;
using winq::test::GraphBuilder;
using winq::test::random_tensor;

// Shape → Gather → Unsqueeze → Concat → Reshape, as exporters write Flatten.
TEST(Prepare, FoldsShapeArithmeticAroundReshape) {
  GraphBuilder b;
  ValueId x = b.input("x", {-1, 2, 3, 3});
  b.g.values[x].dim_params = {"batch", "", "", ""};
  ValueId shape = b.node("Shape", {x}, "shape");
  ValueId zero = b.constant("zero", Tensor::scalar<int64_t>(0));
  Attributes ga;
  ga.set("axis", int64_t{0});
  ValueId batch = b.node("Gather", {shape, zero}, "batch", ga);
  ValueId axes = b.constant("axes", Tensor::from<int64_t>({1}, {0}));
  ValueId ub = b.node("Unsqueeze", {batch, axes}, "ub");
  ValueId minus1 = b.constant("m1", Tensor::from<int64_t>({1}, {-1}));
  Attributes ca;
  ca.set("axis", int64_t{0});
  ValueId target = b.node("Concat", {ub, minus1}, "target", ca);
  b.output(b.node("Reshape", {x, target}, "flat"));

  Graph g = prepare(b.g, {{"x", {5, 2, 3, 3}}});
  ASSERT_EQ(g.nodes.size(), 1u) << "only the Reshape should remain";
  EXPECT_EQ(g.nodes[0].op, "Reshape");
  EXPECT_EQ(g.values[g.outputs[0]].shape, (Shape{5, 18}));
  Tensor in = random_tensor({5, 2, 3, 3}, 1);
  Tensor out = FloatExecutor(g).run({in})[0];
  EXPECT_EQ(out.shape(), (Shape{5, 18}));
  EXPECT_EQ(out.data<float>()[17], in.data<float>()[17]);
}

TEST(Prepare, DynamicInputNeedsASize) {
  GraphBuilder b;
  ValueId x = b.input("x", {-1, 4});
  b.output(b.node("Relu", {x}, "y"));
  EXPECT_THROW(prepare(b.g), Error);
  EXPECT_NO_THROW(prepare(b.g, {{"x", {3, 4}}}));
}

TEST(Prepare, ShapeMismatchIsAClearError) {
  GraphBuilder b;
  ValueId x = b.input("x", {-1, 4});
  b.output(b.node("Relu", {x}, "y"));
  try {
    prepare(b.g, {{"x", {3, 5}}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expects shape"), std::string::npos) << e.what();
  }
  EXPECT_THROW(prepare(b.g, {{"nope", {3, 4}}}), Error);
}

TEST(Prepare, UnsupportedOpNamesOpAndNode) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  b.output(b.node("Einsum", {x}, "y"));
  try {
    prepare(b.g);
    FAIL();
  } catch (const Unsupported& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'Einsum'"), std::string::npos) << m;
    EXPECT_NE(m.find("'y_node'"), std::string::npos) << m;
  }
}

TEST(Prepare, IncompatibleOperandsNameTheNode) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3});
  ValueId c = b.constant("c", random_tensor({4}, 1));
  b.output(b.node("Add", {x, c}, "sum"));
  try {
    prepare(b.g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum_node"), std::string::npos) << e.what();
  }
}

TEST(FloatExecutor, RejectsWrongInputShape) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3});
  b.output(b.node("Relu", {x}, "y"));
  FloatExecutor ex(prepare(b.g));
  EXPECT_THROW(ex.run({random_tensor({3, 2}, 1)}), Error);
  EXPECT_THROW(ex.run({}), Error);
}

TEST(FloatExecutor, ObserverSeesEveryValue) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3});
  ValueId r = b.node("Relu", {x}, "r");
  b.output(b.node("Sigmoid", {r}, "s"));
  FloatExecutor ex(prepare(b.g));
  int seen = 0;
  ex.set_observer([&](ValueId, const Tensor&) { ++seen; });
  ex.run({random_tensor({2, 3}, 2)});
  EXPECT_EQ(seen, 3);
}
