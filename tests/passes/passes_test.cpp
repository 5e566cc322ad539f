// Each pass: the structure it produces, numerical equivalence with the
// unoptimised graph, and the cases where it must not fire.
#include <gtest/gtest.h>

#include "../test_util.hpp"
#include "winq/passes.hpp"
#include "winq/runtime.hpp"

using namespace winq;
using winq::test::GraphBuilder;
using winq::test::random_tensor;
using winq::test::rel_l2;

namespace {

PrepareOptions no_passes() {
  PrepareOptions o;
  o.fold_batchnorm = o.fuse_activations = o.remove_identity = false;
  return o;
}

// x → Conv(3→4, 3×3, pad 1) → BatchNormalization → [Relu] → y
GraphBuilder conv_bn(bool relu, bool bias) {
  GraphBuilder b;
  ValueId x = b.input("x", {2, 3, 6, 6});
  ValueId w = b.constant("w", random_tensor({4, 3, 3, 3}, 1));
  std::vector<ValueId> ins = {x, w};
  if (bias) ins.push_back(b.constant("b", random_tensor({4}, 2)));
  Attributes ca;
  ca.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  ValueId c = b.node("Conv", ins, "c", ca);
  ValueId gamma = b.constant("gamma", random_tensor({4}, 3, 0.5f, 2.0f));
  ValueId beta = b.constant("beta", random_tensor({4}, 4));
  ValueId mean = b.constant("mean", random_tensor({4}, 5));
  ValueId var = b.constant("var", random_tensor({4}, 6, 0.1f, 3.0f));
  ValueId y = b.node("BatchNormalization", {c, gamma, beta, mean, var}, "bn");
  if (relu) y = b.node("Relu", {y}, "relu");
  b.output(y);
  return b;
}

Tensor run(const Graph& g, const Tensor& x) { return FloatExecutor(g).run({x})[0]; }

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (auto& node : g.nodes) n += node.op == op;
  return n;
}

}  // namespace

TEST(FoldBatchNorm, FoldsIntoConvAndKeepsNumerics) {
  for (bool bias : {false, true}) {
    SCOPED_TRACE(bias ? "conv with bias" : "conv without bias");
    GraphBuilder b = conv_bn(false, bias);
    Graph ref = prepare(b.g, {}, no_passes());
    Graph g = prepare(b.g, {}, no_passes());
    EXPECT_TRUE(passes::fold_batchnorm(g));
    EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
    EXPECT_EQ(count_op(g, "Conv"), 1);
    EXPECT_EQ(g.values[g.outputs[0]].name, "bn");  // output name preserved
    Tensor x = random_tensor({2, 3, 6, 6}, 7);
    EXPECT_LT(rel_l2(run(g, x), run(ref, x)), 1e-6);
  }
}

TEST(FoldBatchNorm, DoesNotFireWhenConvOutputHasOtherReaders) {
  GraphBuilder b = conv_bn(false, true);
  b.output(b.g.find_value("c"));  // conv output is also a graph output
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_FALSE(passes::fold_batchnorm(g));
  EXPECT_EQ(count_op(g, "BatchNormalization"), 1);
}

TEST(FoldBatchNorm, DoesNotFireOnNonConstantWeights) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 4, 4});
  ValueId w = b.input("w", {2, 2, 1, 1});
  ValueId c = b.node("Conv", {x, w}, "c");
  std::vector<ValueId> p;
  for (int i = 0; i < 4; ++i) p.push_back(b.constant("p" + std::to_string(i), random_tensor({2}, 10 + i, 0.5f, 1.5f)));
  b.output(b.node("BatchNormalization", {c, p[0], p[1], p[2], p[3]}, "bn"));
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_FALSE(passes::fold_batchnorm(g));
}

TEST(FuseActivation, FusesReluAndKeepsNumerics) {
  GraphBuilder b = conv_bn(true, true);
  Graph ref = prepare(b.g, {}, no_passes());
  Graph g = prepare(b.g, {}, no_passes());
  passes::fold_batchnorm(g);
  EXPECT_TRUE(passes::fuse_activation(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].attrs.get_string("winq_activation", ""), "Relu");
  Tensor x = random_tensor({2, 3, 6, 6}, 8);
  EXPECT_LT(rel_l2(run(g, x), run(ref, x)), 1e-6);
}

TEST(FuseActivation, FusesClipWithConstantBounds) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 5, 5});
  ValueId c = b.node("Conv", {x, b.constant("w", random_tensor({3, 2, 3, 3}, 20))}, "c");
  ValueId lo = b.constant("lo", Tensor::scalar<float>(-0.1f));
  ValueId hi = b.constant("hi", Tensor::scalar<float>(0.3f));
  b.output(b.node("Clip", {c, lo, hi}, "clip"));
  Graph ref = prepare(b.g, {}, no_passes());
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_TRUE(passes::fuse_activation(g));
  EXPECT_EQ(count_op(g, "Clip"), 0);
  Tensor in = random_tensor({1, 2, 5, 5}, 21);
  EXPECT_EQ(rel_l2(run(g, in), run(ref, in)), 0.0);
}

TEST(FuseActivation, DoesNotFireWhenPreActivationIsNeeded) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 4, 4});
  ValueId c = b.node("Conv", {x, b.constant("w", random_tensor({2, 2, 1, 1}, 30))}, "c");
  ValueId r = b.node("Relu", {c}, "r");
  b.output(b.node("Add", {c, r}, "sum"));  // c read twice
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_FALSE(passes::fuse_activation(g));
  EXPECT_EQ(count_op(g, "Relu"), 1);
}

TEST(FuseActivation, DoesNotFireOnOtherActivations) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 2, 4, 4});
  ValueId c = b.node("Conv", {x, b.constant("w", random_tensor({2, 2, 1, 1}, 31))}, "c");
  b.output(b.node("Sigmoid", {c}, "s"));
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_FALSE(passes::fuse_activation(g));
}

TEST(RemoveIdentity, RemovesIdentityAndDropoutKeepingOutputNames) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  ValueId i1 = b.node("Identity", {x}, "i1");
  ValueId r = b.node("Relu", {i1}, "r");
  ValueId d = b.node("Dropout", {r}, "out");
  b.output(d);
  Graph ref = prepare(b.g, {}, no_passes());
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_TRUE(passes::remove_identity(g));
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "Relu");
  EXPECT_EQ(g.values[g.outputs[0]].name, "out");
  Tensor in = random_tensor({1, 4}, 40);
  EXPECT_EQ(rel_l2(run(g, in), run(ref, in)), 0.0);
}

TEST(RemoveIdentity, KeepsIdentityBetweenGraphInputAndOutput) {
  GraphBuilder b;
  ValueId x = b.input("x", {3});
  b.output(b.node("Identity", {x}, "y"));
  Graph g = prepare(b.g, {}, no_passes());
  EXPECT_FALSE(passes::remove_identity(g));
  EXPECT_EQ(g.nodes.size(), 1u);
}
