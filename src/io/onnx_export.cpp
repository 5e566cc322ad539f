// Graph -> ONNX protobuf. Constants become initializers; values with known
// shapes get value_info so other runtimes see the shapes too. Written to a
// temporary file and renamed, so a failed write never leaves a partial model.
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fmt/format.h>
#include <fstream>

#include "winq/file.hpp"
#include "winq/onnx.hpp"

namespace winq {

namespace {

int onnx_type(DataType t) {
  switch (t) {
    case DataType::f32: return onnx::TensorProto::FLOAT;
    case DataType::s8: return onnx::TensorProto::INT8;
    case DataType::u8: return onnx::TensorProto::UINT8;
    case DataType::s32: return onnx::TensorProto::INT32;
    case DataType::s64: return onnx::TensorProto::INT64;
  }
  return 0;
}

void to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->set_name(name);
  p->set_data_type(onnx_type(t.dtype()));
  for (auto d : t.shape()) p->add_dims(d);
  p->set_raw_data(std::string(reinterpret_cast<const char*>(t.raw()), t.nbytes()));
}

void set_type(const Value& v, onnx::ValueInfoProto* vi, bool with_shape) {
  vi->set_name(v.name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_type(v.dtype));
  if (!with_shape || !v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < v.shape.size(); ++i) {
    auto* d = shape->add_dim();
    if (v.shape[i] >= 0) d->set_dim_value(v.shape[i]);
    else d->set_dim_param(i < v.dim_params.size() && !v.dim_params[i].empty() ? v.dim_params[i] : "d" + std::to_string(i));
  }
}

void set_attribute(const std::string& name, const Attribute& a, onnx::AttributeProto* p) {
  p->set_name(name);
  if (auto i = std::get_if<int64_t>(&a)) {
    p->set_type(onnx::AttributeProto::INT);
    p->set_i(*i);
  } else if (auto f = std::get_if<float>(&a)) {
    p->set_type(onnx::AttributeProto::FLOAT);
    p->set_f(*f);
  } else if (auto s = std::get_if<std::string>(&a)) {
    p->set_type(onnx::AttributeProto::STRING);
    p->set_s(*s);
  } else if (auto is = std::get_if<std::vector<int64_t>>(&a)) {
    p->set_type(onnx::AttributeProto::INTS);
    for (auto v : *is) p->add_ints(v);
  } else if (auto fs = std::get_if<std::vector<float>>(&a)) {
    p->set_type(onnx::AttributeProto::FLOATS);
    for (auto v : *fs) p->add_floats(v);
  } else if (auto ss = std::get_if<std::vector<std::string>>(&a)) {
    p->set_type(onnx::AttributeProto::STRINGS);
    for (auto& v : *ss) p->add_strings(v);
  } else if (auto t = std::get_if<Tensor>(&a)) {
    p->set_type(onnx::AttributeProto::TENSOR);
    to_proto(*t, "", p->mutable_t());
  }
}

}  // namespace

std::string serialize_onnx(const Graph& g, const OnnxWriteOptions& opt) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("winq");
  m.set_producer_version(opt.producer_version);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(g.opset);
  for (const auto& d : opt.extra_domains) {
    auto* o = m.add_opset_import();
    o->set_domain(d.first);
    o->set_version(d.second);
  }
  for (const auto& [k, v] : g.metadata) {
    auto* kv = m.add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  auto* gp = m.mutable_graph();
  gp->set_name(g.name.empty() ? "winq" : g.name);
  std::vector<char> is_io(g.values.size(), 0);
  for (ValueId v : g.inputs) {
    set_type(g.values[v], gp->add_input(), true);
    is_io[v] = 1;
  }
  for (ValueId v : g.outputs) {
    set_type(g.values[v], gp->add_output(), true);
    is_io[v] = 1;
  }
  for (size_t i = 0; i < g.values.size(); ++i) {
    const Value& v = g.values[i];
    if (v.is_constant()) to_proto(v.constant, v.name, gp->add_initializer());
    else if (!is_io[i] && v.has_shape && opt.value_info) set_type(v, gp->add_value_info(), true);
  }
  for (const Node& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (ValueId v : n.inputs) np->add_input(v == kNoValue ? "" : g.values[v].name);
    for (ValueId v : n.outputs) np->add_output(g.values[v].name);
    for (const auto& [name, a] : n.attrs.all()) set_attribute(name, a, np->add_attribute());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw Error("cannot serialize the model (larger than 2 GiB?)");
  return bytes;
}

void save_onnx(const Graph& g, const std::string& path, const OnnxWriteOptions& opt) {
  write_file_atomic(path, serialize_onnx(g, opt));
}

}  // namespace winq
