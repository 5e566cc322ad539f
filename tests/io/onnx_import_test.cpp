// The importer on hand-made models: structure, initializers, and bad files.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "winq/onnx.hpp"
#include "winq/runtime.hpp"

using namespace winq;

namespace {

// x[N,2] → MatMul(W[2,3]) → Relu → y, with a dynamic batch dimension.
onnx::ModelProto tiny_model(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("tiny");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(2);
  auto* w = g->add_initializer();
  w->set_name("W");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_dims(3);
  for (float v : {1.f, -2.f, 3.f, 0.5f, 0.f, -1.f}) w->add_float_data(v);
  auto* mm = g->add_node();
  mm->set_op_type("MatMul");
  mm->set_name("mm");
  mm->add_input("x");
  mm->add_input("W");
  mm->add_output("h");
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->set_name("relu");
  relu->add_input("h");
  relu->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

std::string bytes_of(const onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace

TEST(OnnxImport, ImportsStructureInitializersAndDynamicDims) {
  std::string b = bytes_of(tiny_model());
  Graph g = parse_onnx(b.data(), b.size());
  EXPECT_EQ(g.opset, 13);
  ASSERT_EQ(g.nodes.size(), 2u);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].shape, (Shape{-1, 2}));
  EXPECT_EQ(g.values[g.inputs[0]].dim_params[0], "N");
  ValueId w = g.find_value("W");
  ASSERT_NE(w, kNoValue);
  EXPECT_TRUE(g.values[w].is_constant());
  Graph p = prepare(g, {{"x", {4, 2}}});
  Tensor x = Tensor::from<float>({4, 2}, {1, 1, 2, 0, 0, 2, -1, -1});
  Tensor y = FloatExecutor(p).run({x})[0];
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 3), (std::vector<float>{1.5f, 0.f, 2.f}));
}

TEST(OnnxImport, RejectsEmptyGarbageAndTruncatedBytes) {
  EXPECT_THROW(parse_onnx("", 0), Error);
  const char junk[] = "this is not a protobuf at all \xff\xff\xff";
  EXPECT_THROW(parse_onnx(junk, sizeof junk), Error);
  std::string b = bytes_of(tiny_model());
  for (size_t cut : {b.size() / 4, b.size() / 2, b.size() - 3}) {
    SCOPED_TRACE(cut);
    EXPECT_THROW(parse_onnx(b.data(), cut), Error);
  }
  EXPECT_THROW(load_onnx("/nonexistent/model.onnx"), Error);
}

TEST(OnnxImport, InitializerWithTooFewValuesIsAnError) {
  auto m = tiny_model();
  m.mutable_graph()->mutable_initializer(0)->mutable_float_data()->RemoveLast();
  std::string b = bytes_of(m);
  EXPECT_THROW(parse_onnx(b.data(), b.size()), Error);
}

// Resource limits: a declared 10^12-element initializer without its data is
// refused before any allocation (the process would die otherwise), and so is a
// graph with a million nodes.
TEST(OnnxImport, HugeDeclaredTensorsAndGraphsAreRefusedWithoutAllocating) {
  auto m = tiny_model();
  auto* w = m.mutable_graph()->mutable_initializer(0);
  w->clear_dims();
  w->add_dims(1000000);
  w->add_dims(1000000);
  std::string b = bytes_of(m);
  try {
    parse_onnx(b.data(), b.size());
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("initializer 'W'"), std::string::npos) << e.what();
  }
  w->clear_float_data();
  w->set_raw_data(std::string(16, '\0'));  // raw bytes that do not match either
  b = bytes_of(m);
  EXPECT_THROW(parse_onnx(b.data(), b.size()), Error);

  auto deep = tiny_model();
  auto* g = deep.mutable_graph();
  g->clear_output();
  std::string last = "y";
  for (int i = 0; i < kMaxGraphNodes; ++i) {  // one more node than the limit
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->add_input(last);
    last = "r" + std::to_string(i);
    n->add_output(last);
  }
  g->add_output()->set_name(last);
  b = bytes_of(deep);
  try {
    parse_onnx(b.data(), b.size());
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nodes, more than winq accepts"), std::string::npos) << e.what();
  }
}

TEST(OnnxImport, UnsupportedOpsAndOpsetsAreNamed) {
  auto m = tiny_model();
  m.mutable_graph()->mutable_node(1)->set_op_type("Mish");
  std::string b = bytes_of(m);
  Graph g = parse_onnx(b.data(), b.size());
  try {
    prepare(g, {{"x", {1, 2}}});
    FAIL();
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("'Mish' at node 'relu'"), std::string::npos) << e.what();
  }
  std::string newer = bytes_of(tiny_model(18));
  EXPECT_THROW(parse_onnx(newer.data(), newer.size()), Unsupported);
}

TEST(OnnxImport, UndefinedNodeInputIsAnError) {
  auto m = tiny_model();
  m.mutable_graph()->mutable_node(0)->set_input(1, "missing_weight");
  std::string b = bytes_of(m);
  try {
    parse_onnx(b.data(), b.size());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_weight"), std::string::npos) << e.what();
  }
}
