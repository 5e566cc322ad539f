#include <gtest/gtest.h>

#include "../test_util.hpp"

using namespace winq;
using winq::test::GraphBuilder;

TEST(Graph, TopologicalOrderPutsProducersFirst) {
  GraphBuilder b;
  ValueId x = b.input("x", {1, 4});
  ValueId a = b.node("Relu", {x}, "a");
  ValueId c = b.node("Relu", {a}, "c");
  b.output(c);
  std::swap(b.g.nodes[0], b.g.nodes[1]);  // out of order on purpose
  auto order = topological_order(b.g);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(b.g.nodes[order[0]].name, "a_node");
  sort_topologically(b.g);
  EXPECT_EQ(b.g.nodes[0].name, "a_node");
}

TEST(Graph, ValidateReportsUndefinedInputWithNodeName) {
  GraphBuilder b;
  ValueId x = b.input("x", {1});
  Value dangling;
  dangling.name = "ghost";
  ValueId d = b.g.add_value(dangling);
  ValueId y = b.node("Add", {x, d}, "y");
  b.output(y);
  try {
    validate(b.g);
    FAIL() << "validate accepted an undefined input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("y_node"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ghost"), std::string::npos) << e.what();
  }
}

TEST(Graph, ValidateRejectsCycles) {
  GraphBuilder b;
  ValueId x = b.input("x", {1});
  ValueId a = b.node("Add", {x, x}, "a");
  ValueId c = b.node("Relu", {a}, "c");
  b.g.nodes[0].inputs[1] = c;  // a depends on c depends on a
  b.output(c);
  EXPECT_THROW(validate(b.g), Error);
}

TEST(Graph, ValidateRejectsTwoProducers) {
  GraphBuilder b;
  ValueId x = b.input("x", {1});
  ValueId a = b.node("Relu", {x}, "a");
  b.node("Relu", {x}, "z");
  b.g.nodes[1].outputs[0] = a;
  b.output(a);
  EXPECT_THROW(validate(b.g), Error);
}

TEST(Graph, DeepChainsDoNotOverflowTheStack) {
  GraphBuilder b;
  ValueId v = b.input("x", {1});
  for (int i = 0; i < 200000; ++i) v = b.node("Relu", {v}, "r" + std::to_string(i));
  b.output(v);
  EXPECT_NO_THROW(validate(b.g));
  EXPECT_EQ(topological_order(b.g).size(), 200000u);
}

TEST(Graph, RemoveDeadDropsUnreachableNodesAndValues) {
  GraphBuilder b;
  ValueId x = b.input("x", {1});
  ValueId a = b.node("Relu", {x}, "a");
  b.node("Sigmoid", {x}, "unused");
  b.output(a);
  b.g.remove_dead();
  EXPECT_EQ(b.g.nodes.size(), 1u);
  EXPECT_EQ(b.g.values.size(), 2u);
  EXPECT_NO_THROW(validate(b.g));
  EXPECT_EQ(b.g.values[b.g.outputs[0]].name, "a");
}

TEST(Attributes, TypedGettersAndDefaults) {
  Attributes a;
  a.set("i", int64_t{3});
  a.set("f", 0.5f);
  a.set("ints", std::vector<int64_t>{1, 2});
  EXPECT_EQ(a.get_int("i", 0), 3);
  EXPECT_EQ(a.get_int("missing", 7), 7);
  EXPECT_FLOAT_EQ(a.get_float("f", 0), 0.5f);
  EXPECT_FLOAT_EQ(a.get_float("i", 0), 3.0f);  // ints read as floats
  EXPECT_EQ(a.get_ints("ints"), (std::vector<int64_t>{1, 2}));
  EXPECT_THROW(a.get_string("i", ""), Error);
}
