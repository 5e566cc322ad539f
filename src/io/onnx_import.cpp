// ONNX protobuf -> Graph. Only structure and data are translated here; operator
// semantics (shapes, folding, support) are checked when the graph is prepared.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <google/protobuf/io/coded_stream.h>
#include <sstream>

#include "winq/onnx.hpp"

namespace winq {

namespace {

DataType map_onnx_type(int t, const std::string& what) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DataType::f32;
    case onnx::TensorProto::DOUBLE: return DataType::f32;  // narrowed on import
    case onnx::TensorProto::UINT8: return DataType::u8;
    case onnx::TensorProto::BOOL: return DataType::u8;
    case onnx::TensorProto::INT8: return DataType::s8;
    case onnx::TensorProto::INT32: return DataType::s32;
    case onnx::TensorProto::INT64: return DataType::s64;
    default:
      throw Unsupported(fmt::format("{} has ONNX element type {} ({}), which winq does not support",
                                    what, onnx::TensorProto::DataType_Name(t), t));
  }
}

template <class Src, class Dst>
void copy_converted(const Src* src, Dst* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(src[i]);
}

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& what) {
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    throw Unsupported(what + " stores its data in an external file; winq needs it inside the model");
  Shape shape(p.dims().begin(), p.dims().end());
  for (auto d : shape)
    if (d < 0) throw Error(what + " has a negative dimension");
  const int type = p.data_type();
  const DataType dt = map_onnx_type(type, what);
  // Check the data against the declared shape before allocating anything: a
  // corrupt or hostile file may declare a huge tensor and carry no data.
  int64_t n = 0;
  try {
    n = shape_numel(shape);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  const size_t esize = type == onnx::TensorProto::DOUBLE ? 8 : (type == onnx::TensorProto::BOOL ? 1 : dtype_size(dt));
  const std::string& raw = p.raw_data();
  int64_t have = 0;
  if (!raw.empty()) {
    if (raw.size() != static_cast<size_t>(n) * esize)
      throw Error(fmt::format("{} has {} bytes of raw data but its shape {} needs {} (truncated or corrupt model)",
                              what, raw.size(), shape_str(shape), static_cast<size_t>(n) * esize));
    have = n;
  } else {
    switch (type) {
      case onnx::TensorProto::FLOAT: have = p.float_data_size(); break;
      case onnx::TensorProto::DOUBLE: have = p.double_data_size(); break;
      case onnx::TensorProto::INT64: have = p.int64_data_size(); break;
      default: have = p.int32_data_size(); break;  // INT32, INT8, UINT8, BOOL
    }
    if (have != n)
      throw Error(fmt::format("{} holds {} values but its shape {} needs {} (truncated or corrupt model)", what, have,
                              shape_str(shape), n));
  }
  Tensor t(dt, shape);
  if (!raw.empty()) {
    if (type == onnx::TensorProto::DOUBLE) {
      std::vector<double> d(static_cast<size_t>(n));
      std::memcpy(d.data(), raw.data(), raw.size());
      copy_converted(d.data(), t.data<float>(), n);
    } else if (n > 0) {
      std::memcpy(t.raw(), raw.data(), raw.size());
    }
    return t;
  }
  switch (type) {
    case onnx::TensorProto::FLOAT:
      copy_converted(p.float_data().data(), t.data<float>(), n);
      break;
    case onnx::TensorProto::DOUBLE:
      copy_converted(p.double_data().data(), t.data<float>(), n);
      break;
    case onnx::TensorProto::INT64:
      copy_converted(p.int64_data().data(), t.data<int64_t>(), n);
      break;
    case onnx::TensorProto::INT32:
      copy_converted(p.int32_data().data(), t.data<int32_t>(), n);
      break;
    case onnx::TensorProto::INT8:
      copy_converted(p.int32_data().data(), t.data<int8_t>(), n);
      break;
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      copy_converted(p.int32_data().data(), t.data<uint8_t>(), n);
      break;
    default: break;
  }
  return t;
}

Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& what) {
  switch (a.type()) {
    case onnx::AttributeProto::INT: return a.i();
    case onnx::AttributeProto::FLOAT: return a.f();
    case onnx::AttributeProto::STRING: return a.s();
    case onnx::AttributeProto::INTS: return std::vector<int64_t>(a.ints().begin(), a.ints().end());
    case onnx::AttributeProto::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
    case onnx::AttributeProto::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
    case onnx::AttributeProto::TENSOR: return tensor_from_proto(a.t(), what + " attribute '" + a.name() + "'");
    default:
      throw Unsupported(fmt::format("{} has attribute '{}' of type {}, which winq does not support", what,
                                    a.name(), onnx::AttributeProto::AttributeType_Name(a.type())));
  }
}

void set_type_and_shape(Value& v, const onnx::TypeProto& tp, const std::string& what) {
  if (tp.value_case() == onnx::TypeProto::VALUE_NOT_SET) return;  // type left to inference
  if (!tp.has_tensor_type()) throw Unsupported(what + " is not a tensor (sequences and maps are not supported)");
  const auto& tt = tp.tensor_type();
  if (tt.elem_type() != 0) v.dtype = map_onnx_type(tt.elem_type(), what);
  if (!tt.has_shape() || v.is_constant()) return;
  v.has_shape = true;
  v.shape.clear();
  v.dim_params.clear();
  for (const auto& d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0) throw Error(what + " has a negative dimension");
      v.shape.push_back(d.dim_value());
      v.dim_params.emplace_back();
    } else {
      v.shape.push_back(-1);
      v.dim_params.push_back(d.dim_param());
    }
  }
}

}  // namespace

Graph parse_onnx(const void* data, size_t size, const std::string& origin) {
  onnx::ModelProto model;
  google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data), static_cast<int>(size));
  stream.SetTotalBytesLimit(INT32_MAX);
  if (size == 0 || size > static_cast<size_t>(INT32_MAX) || !model.ParseFromCodedStream(&stream) ||
      !stream.ConsumedEntireMessage())
    throw Error(origin + ": not a valid ONNX model (protobuf parse failed; truncated or not ONNX)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    throw Error(origin + ": not a valid ONNX model (no graph or no nodes)");

  // Resource limits: far above any CNN (ResNet-152 has ~500 nodes), far below
  // what would exhaust memory in the structures built from the graph.
  if (model.graph().node_size() > kMaxGraphNodes)
    throw Error(fmt::format("{}: the graph has {} nodes, more than winq accepts ({})", origin,
                            model.graph().node_size(), kMaxGraphNodes));
  Graph g;
  g.name = model.graph().name();
  g.opset = -1;
  for (const auto& os : model.opset_import())
    if (os.domain().empty() || os.domain() == "ai.onnx") g.opset = os.version();
  if (g.opset < 0) throw Error(origin + ": the model imports no version of the default ONNX operator set");
  if (g.opset < 1 || g.opset > 17)
    throw Unsupported(fmt::format("{}: opset {} is outside the supported range 1-17", origin, g.opset));
  for (const auto& kv : model.metadata_props()) g.metadata[kv.key()] = kv.value();

  const auto& gp = model.graph();
  // name -> value id; names are unique in a valid ONNX graph.
  std::unordered_map<std::string, ValueId> ids;
  auto lookup = [&](const std::string& name) -> ValueId {
    auto it = ids.find(name);
    return it == ids.end() ? kNoValue : it->second;
  };

  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) throw Error(origin + ": an initializer has no name");
    if (ids.count(init.name())) throw Error(origin + ": initializer '" + init.name() + "' is defined twice");
    ids[init.name()] = g.add_constant(init.name(), tensor_from_proto(init, "initializer '" + init.name() + "'"));
  }
  for (const auto& in : gp.input()) {
    if (ids.count(in.name())) continue;  // opset < 9 exporters list initializers as inputs too
    Value v;
    v.name = in.name();
    set_type_and_shape(v, in.type(), "graph input '" + in.name() + "'");
    ValueId id = g.add_value(std::move(v));
    ids[in.name()] = id;
    g.inputs.push_back(id);
  }
  if (g.inputs.empty()) throw Error(origin + ": the model has no (non-constant) input");

  for (int i = 0; i < gp.node_size(); ++i) {
    const auto& np = gp.node(i);
    Node n;
    n.name = np.name().empty() ? fmt::format("{}_{}", np.op_type(), i) : np.name();
    n.op = np.op_type();
    n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    const std::string what = fmt::format("node '{}' ({})", n.name, n.op);
    for (const auto& a : np.attribute()) n.attrs.set(a.name(), attribute_from_proto(a, what));
    for (const auto& name : np.input()) {
      if (name.empty()) {
        n.inputs.push_back(kNoValue);
        continue;
      }
      ValueId v = lookup(name);
      if (v == kNoValue) {
        // Defined by a later node (the graph is not sorted) or nowhere: create the
        // value now; validation reports it if no node produces it.
        Value nv;
        nv.name = name;
        v = g.add_value(std::move(nv));
        ids[name] = v;
      }
      n.inputs.push_back(v);
    }
    // Trailing optional outputs left empty are dropped; an empty one in the middle
    // gets a placeholder value so that positions stay meaningful.
    int n_out = np.output_size();
    while (n_out > 0 && np.output(n_out - 1).empty()) --n_out;
    for (int oi = 0; oi < n_out; ++oi) {
      const std::string& name = np.output(oi);
      if (name.empty()) {  // an unused optional output
        Value nv;
        nv.name = fmt::format("{}_unused_output_{}", n.name, n.outputs.size());
        n.outputs.push_back(g.add_value(std::move(nv)));
        continue;
      }
      ValueId v = lookup(name);
      if (v == kNoValue) {
        Value nv;
        nv.name = name;
        v = g.add_value(std::move(nv));
        ids[name] = v;
      } else if (g.values[v].is_constant() || g.producer(v) >= 0) {
        throw Error(fmt::format("{}: {} writes '{}', which is already defined", origin, what, name));
      }
      n.outputs.push_back(v);
    }
    g.nodes.push_back(std::move(n));
  }
  for (const auto& out : gp.output()) {
    ValueId v = lookup(out.name());
    if (v == kNoValue) throw Error(origin + ": graph output '" + out.name() + "' is never computed");
    set_type_and_shape(g.values[v], out.type(), "graph output '" + out.name() + "'");
    g.outputs.push_back(v);
  }
  try {
    validate(g);
  } catch (const Error& e) {
    throw Error(origin + ": " + e.what());
  }
  sort_topologically(g);
  return g;
}

Tensor parse_onnx_tensor(const void* data, size_t size, const std::string& origin) {
  onnx::TensorProto t;
  if (size > static_cast<size_t>(INT32_MAX) || !t.ParseFromArray(data, static_cast<int>(size)))
    throw Error(origin + ": not a valid ONNX tensor");
  return tensor_from_proto(t, origin);
}

Graph load_onnx(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string bytes = ss.str();
  if (bytes.empty()) throw Error(path + ": file is empty");
  return parse_onnx(bytes.data(), bytes.size(), path);
}

}  // namespace winq
