#include "onnx/export.hpp"

#include <cstdint>
#include <set>
#include <utility>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/gdn.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/layers/sampling.hpp"
#include "onnx/proto_io.hpp"
#include "onnx/receptive_field.hpp"

#ifndef CAE_VERSION
#define CAE_VERSION "unknown"
#endif

namespace cae::onnx {
namespace {
namespace pb = ::onnx;

// Opset 13 (ONNX 1.8): OpenCV 4.6's importer reads every op written here at this opset
// (tests/onnx); IR 7 is the IR of that ONNX release, as PyTorch writes it.
constexpr std::int64_t kOpset = 13;
constexpr std::int64_t kIrVersion = 7;

using Ints = std::vector<std::int64_t>;

// A tensor flowing between ONNX nodes. Dense and Flatten produce rank-2 [N, F] ("flat") where the
// engine keeps {N, F, 1, 1}; the data order is the same, only the ONNX rank differs.
struct Value {
  std::string name;
  bool flat = false;
};

void setInts(pb::NodeProto& n, const std::string& name, const Ints& v) {
  pb::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INTS);
  for (std::int64_t x : v) a->add_ints(x);
}

void setInt(pb::NodeProto& n, const std::string& name, std::int64_t v) {
  pb::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INT);
  a->set_i(v);
}

void setFloat(pb::NodeProto& n, const std::string& name, float v) {
  pb::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::FLOAT);
  a->set_f(v);
}

void setString(pb::NodeProto& n, const std::string& name, const std::string& v) {
  pb::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::STRING);
  a->set_s(v);
}

void setType(pb::ValueInfoProto& v, const std::vector<std::pair<std::int64_t, std::string>>& dims) {
  pb::TypeProto_Tensor* t = v.mutable_type()->mutable_tensor_type();
  t->set_elem_type(pb::TensorProto::FLOAT);
  for (const auto& [value, param] : dims) {
    pb::TensorShapeProto_Dimension* d = t->mutable_shape()->add_dim();
    if (param.empty())
      d->set_dim_value(value);
    else
      d->set_dim_param(param);
  }
}

bool needsFixedSize(const nn::Layer* l) {
  return dynamic_cast<const nn::Dense*>(l) || dynamic_cast<const nn::Flatten*>(l) ||
         dynamic_cast<const nn::Reshape*>(l);
}

// Builds the GraphProto for one model, node by node.
class GraphWriter {
 public:
  GraphWriter(const nn::Model& m, pb::GraphProto& g) : m_(m), g_(g) {}

  void write() {
    const int out = m_.output();
    if (out == nn::Model::kInput) throw InvalidArgument("exportOnnx: the model has no layers");
    g_.set_name("cae");
    const nn::Shape in = m_.inputShape();
    for (int i = 0; i <= out; ++i) shapes_.push_back(m_.nodeShape(i, in));
    // Only the output's ancestors are exported; a dangling branch would confuse importers.
    std::vector<char> needed(std::size_t(out) + 1, 0);
    needed[std::size_t(out)] = 1;
    for (int i = out; i >= 1; --i)
      if (needed[std::size_t(i)])
        for (int j : exportedInputs(i)) needed[std::size_t(j)] = 1;

    const bool fixed = !fullyConvolutional(m_);
    pb::ValueInfoProto* gin = g_.add_input();
    gin->set_name("input");
    setType(
        *gin,
        {{0, "batch"}, {in.c, ""}, {in.h, fixed ? "" : "height"}, {in.w, fixed ? "" : "width"}});
    used_ = {"input", "output"};
    values_.assign(std::size_t(out) + 1, Value{});
    values_[0] = {"input", false};
    for (int i = 1; i <= out; ++i)
      if (needed[std::size_t(i)]) values_[std::size_t(i)] = emit(i, i == out ? "output" : "");

    const nn::Shape os = shapes_[std::size_t(out)];
    pb::ValueInfoProto* gout = g_.add_output();
    gout->set_name("output");
    if (values_[std::size_t(out)].flat)
      setType(*gout, {{0, "batch"}, {os.c, ""}});
    else
      setType(*gout, {{0, "batch"},
                      {os.c, ""},
                      {os.h, fixed ? "" : "out_height"},
                      {os.w, fixed ? "" : "out_width"}});
  }

 private:
  std::string unique(const std::string& want) {
    std::string name = want;
    for (int k = 1; used_.count(name); ++k) name = want + "_" + std::to_string(k);
    used_.insert(name);
    return name;
  }

  // A VAE's Sampling is exported in inference form (z = mu), so its logvar head is not needed.
  std::vector<int> exportedInputs(int i) const {
    const nn::Model::Node& nd = m_.node(i);
    if (dynamic_cast<const nn::Sampling*>(nd.layer.get())) return {nd.inputs.at(0)};
    return nd.inputs;
  }

  pb::NodeProto& node(const std::string& op, const std::vector<std::string>& ins,
                      const std::string& out, const std::string& name) {
    pb::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : ins) n->add_input(s);
    n->add_output(out);
    return *n;
  }

  std::string floats(const std::string& want, const Ints& dims, const nn::Scalar* data) {
    pb::TensorProto* t = g_.add_initializer();
    t->set_name(unique(want));
    t->set_data_type(pb::TensorProto::FLOAT);
    std::int64_t count = 1;
    for (std::int64_t d : dims) {
      t->add_dims(d);
      count *= d;
    }
    t->mutable_float_data()->Reserve(int(count));
    for (std::int64_t k = 0; k < count; ++k) t->add_float_data(static_cast<float>(data[k]));
    return t->name();
  }

  std::string int64s(const std::string& want, const Ints& v) {
    pb::TensorProto* t = g_.add_initializer();
    t->set_name(unique(want));
    t->set_data_type(pb::TensorProto::INT64);
    t->add_dims(std::int64_t(v.size()));
    for (std::int64_t x : v) t->add_int64_data(x);
    return t->name();
  }

  // The engine's {N, F, 1, 1} as ONNX 4-D, for a layer that needs an image after a Dense.
  Value as4d(const Value& v, int producer, const std::string& base) {
    if (!v.flat) return v;
    const std::string shape = int64s(base + "_shape", {-1, shapes_[std::size_t(producer)].c, 1, 1});
    const std::string out = unique(base + "_4d");
    node("Reshape", {v.name, shape}, out, out);
    return {out, false};
  }

  // One node of the model as it is written: its name, its inputs' values and its weights.
  struct Site {
    const nn::Model::Node& nd;
    std::string base;
    std::vector<Value> ins;
    const nn::Scalar* w;
    const Value& x() const { return ins.at(0); }
  };

  Value emit(int i, const std::string& forcedName) {
    const nn::Model::Node& nd = m_.node(i);
    const nn::Layer* l = nd.layer.get();
    Site s{nd, forcedName.empty() ? unique(nd.name) : forcedName, {}, l->w()};
    for (int j : nd.inputs) s.ins.push_back(values_[std::size_t(j)]);
    if (auto* c = dynamic_cast<const nn::Conv2d*>(l)) return conv(*c, s);
    if (auto* t = dynamic_cast<const nn::ConvTranspose2d*>(l)) return convTranspose(*t, s);
    if (auto* g = dynamic_cast<const nn::Gdn*>(l)) return gdn(*g, s);
    if (auto* d = dynamic_cast<const nn::Dense*>(l)) return dense(*d, s);
    if (auto* p = dynamic_cast<const nn::MaxPool2d*>(l)) return maxPool(*p, s);
    if (auto* u = dynamic_cast<const nn::Upsample*>(l)) return upsample(*u, s);
    if (const char* op = activationOp(l)) {
      pb::NodeProto& n = node(op, {s.x().name}, s.base, s.base);
      if (auto* a = dynamic_cast<const nn::LeakyReLU*>(l)) setFloat(n, "alpha", float(a->alpha()));
      return {s.base, s.x().flat};
    }
    if (dynamic_cast<const nn::Add*>(l) || dynamic_cast<const nn::Concat*>(l))
      return merge(dynamic_cast<const nn::Add*>(l) != nullptr, s);
    if (dynamic_cast<const nn::Sampling*>(l)) {
      // Inference form z = mu: consumers read mu directly; an Identity only to name the output.
      if (forcedName.empty()) return s.x();
      node("Identity", {s.x().name}, s.base, s.base);
      return {s.base, s.x().flat};
    }
    if (dynamic_cast<const nn::Flatten*>(l)) {
      setInt(node("Flatten", {s.x().name}, s.base, s.base), "axis", 1);
      return {s.base, true};
    }
    if (auto* r = dynamic_cast<const nn::Reshape*>(l)) {
      const nn::Shape t = r->target();
      const std::string shape = int64s(s.base + "_shape", {-1, t.c, t.h, t.w});
      node("Reshape", {s.x().name, shape}, s.base, s.base);
      return {s.base, false};
    }
    throw InvalidArgument("exportOnnx: layer '" + nd.name + "' of type " + l->type() +
                          " has no ONNX mapping");
  }

  static const char* activationOp(const nn::Layer* l) {
    if (dynamic_cast<const nn::ReLU*>(l)) return "Relu";
    if (dynamic_cast<const nn::LeakyReLU*>(l)) return "LeakyRelu";
    if (dynamic_cast<const nn::Sigmoid*>(l)) return "Sigmoid";
    if (dynamic_cast<const nn::Tanh*>(l)) return "Tanh";
    return nullptr;
  }

  Value conv(const nn::Conv2d& c, const Site& s) {
    const auto& o = c.options();
    const Value x4 = as4d(s.x(), s.nd.inputs[0], s.base);
    std::vector<std::string> args{x4.name};
    args.push_back(
        floats(s.base + ".weight", {o.outChannels, o.inChannels, c.kernelH(), c.kernelW()}, s.w));
    if (o.bias)
      args.push_back(
          floats(s.base + ".bias", {o.outChannels},
                 s.w + std::size_t(o.outChannels) * o.inChannels * c.kernelH() * c.kernelW()));
    // OpenCV 4.6 refuses a Conv without kernel_shape, although ONNX makes it optional.
    pb::NodeProto& n = node("Conv", args, s.base, s.base);
    setInts(n, "kernel_shape", {c.kernelH(), c.kernelW()});
    setInts(n, "strides", {o.stride, o.stride});
    setInts(n, "pads", {o.padding, o.padding, o.padding, o.padding});
    setInts(n, "dilations", {o.dilation, o.dilation});
    setInt(n, "group", 1);
    return {s.base, false};
  }

  Value convTranspose(const nn::ConvTranspose2d& t, const Site& s) {
    const auto& o = t.options();
    const Value x4 = as4d(s.x(), s.nd.inputs[0], s.base);
    const std::size_t planes = std::size_t(o.inChannels) * o.outChannels;
    // OpenCV 4.6 ignores ConvTranspose dilations (wrong output size), so a dilated kernel is
    // written spread out with zeros between its taps: the same operator with dilation 1.
    const int d = o.dilation, k = d * (o.kernel - 1) + 1;
    std::vector<nn::Scalar> spread(planes * std::size_t(k) * k, nn::Scalar(0));
    for (std::size_t p = 0; p < planes; ++p)
      for (int ky = 0; ky < o.kernel; ++ky)
        for (int kx = 0; kx < o.kernel; ++kx)
          spread[(p * k + std::size_t(ky * d)) * k + std::size_t(kx * d)] =
              s.w[(p * o.kernel + std::size_t(ky)) * o.kernel + std::size_t(kx)];
    std::vector<std::string> args{x4.name};
    args.push_back(floats(s.base + ".weight", {o.inChannels, o.outChannels, k, k}, spread.data()));
    if (o.bias)
      args.push_back(floats(s.base + ".bias", {o.outChannels},
                            s.w + planes * std::size_t(o.kernel) * o.kernel));
    pb::NodeProto& n = node("ConvTranspose", args, s.base, s.base);
    setInts(n, "kernel_shape", {k, k});
    setInts(n, "strides", {o.stride, o.stride});
    setInts(n, "pads", {o.padding, o.padding, o.padding, o.padding});
    setInts(n, "output_padding", {o.outputPadding, o.outputPadding});
    setInts(n, "dilations", {1, 1});
    setInt(n, "group", 1);
    return {s.base, false};
  }

  // GDN / IGDN from stock operators: x / sqrt(beta + gamma x^2) as Mul (x^2), a 1x1 Conv (gamma
  // as weights, beta as bias), Sqrt, then Div (or Mul for IGDN).
  Value gdn(const nn::Gdn& g, const Site& s) {
    const std::string x = as4d(s.x(), s.nd.inputs[0], s.base).name;
    const int c = g.channels();
    const std::vector<nn::Scalar> gamma = g.gamma(), beta = g.beta();
    const std::string sq = unique(s.base + "_square");
    node("Mul", {x, x}, sq, sq);
    const std::string norm = unique(s.base + "_norm");
    pb::NodeProto& n = node("Conv",
                            {sq, floats(s.base + ".gamma", {c, c, 1, 1}, gamma.data()),
                             floats(s.base + ".beta", {c}, beta.data())},
                            norm, norm);
    setInts(n, "kernel_shape", {1, 1});
    setInts(n, "strides", {1, 1});
    setInts(n, "pads", {0, 0, 0, 0});
    setInts(n, "dilations", {1, 1});
    setInt(n, "group", 1);
    const std::string root = unique(s.base + "_sqrt");
    node("Sqrt", {norm}, root, root);
    node(g.inverse() ? "Mul" : "Div", {x, root}, s.base, s.base);
    return {s.base, false};
  }

  Value dense(const nn::Dense& d, const Site& s) {
    std::string a = s.x().name;
    if (!s.x().flat) {
      a = unique(s.base + "_flatten");
      setInt(node("Flatten", {s.x().name}, a, a), "axis", 1);
    }
    std::vector<std::string> args{a};
    args.push_back(floats(s.base + ".weight", {d.outFeatures(), d.inFeatures()}, s.w));
    if (d.hasBias())
      args.push_back(floats(s.base + ".bias", {d.outFeatures()},
                            s.w + std::size_t(d.outFeatures()) * d.inFeatures()));
    setInt(node("Gemm", args, s.base, s.base), "transB", 1);
    return {s.base, true};
  }

  Value maxPool(const nn::MaxPool2d& p, const Site& s) {
    pb::NodeProto& n = node("MaxPool", {as4d(s.x(), s.nd.inputs[0], s.base).name}, s.base, s.base);
    setInts(n, "kernel_shape", {p.kernel(), p.kernel()});
    setInts(n, "strides", {p.stride(), p.stride()});
    setInts(n, "pads", {0, 0, 0, 0});
    setInt(n, "ceil_mode", 0);
    return {s.base, false};
  }

  Value upsample(const nn::Upsample& u, const Site& s) {
    const nn::Scalar f = nn::Scalar(u.scale());
    const nn::Scalar scales[4] = {1, 1, f, f};
    // Resize(X, roi, scales): roi is unused by the asymmetric mode, but OpenCV 4.6 takes the
    // scales from the third input, so the slot is filled (as PyTorch's exporter does).
    const std::string roi = floats(s.base + "_roi", {0}, scales);
    const std::string sc = floats(s.base + "_scales", {4}, scales);
    pb::NodeProto& n =
        node("Resize", {as4d(s.x(), s.nd.inputs[0], s.base).name, roi, sc}, s.base, s.base);
    setString(n, "mode", "nearest");
    setString(n, "coordinate_transformation_mode", "asymmetric");
    setString(n, "nearest_mode", "floor");
    return {s.base, false};
  }

  Value merge(bool add, const Site& s) {
    const bool flat = s.ins[0].flat && s.ins[1].flat;
    std::vector<std::string> args;
    for (std::size_t k = 0; k < s.ins.size(); ++k)
      args.push_back(flat
                         ? s.ins[k].name
                         : as4d(s.ins[k], s.nd.inputs[k], s.base + "_in" + std::to_string(k)).name);
    pb::NodeProto& n = node(add ? "Add" : "Concat", args, s.base, s.base);
    if (!add) setInt(n, "axis", 1);
    return {s.base, flat};
  }

  const nn::Model& m_;
  pb::GraphProto& g_;
  std::vector<nn::Shape> shapes_;
  std::vector<Value> values_;
  std::set<std::string> used_;
};

}  // namespace

bool fullyConvolutional(const nn::Model& model) {
  for (int i = 1; i <= model.output(); ++i)
    if (needsFixedSize(model.node(i).layer.get())) return false;
  return true;
}

std::map<std::string, std::string> exportMetadata(const nn::Model& model, const ExportOptions& o) {
  std::map<std::string, std::string> m = model.metadata();
  auto put = [&m](const char* k, const std::string& v) {
    if (!v.empty()) m[k] = v;
  };
  auto num = [&m](const char* k, const std::optional<double>& v) {
    if (v) m[k] = formatNumber(*v);
  };
  put(key::kTask, taskName(o.task));
  put(key::kFormat, o.format);
  num(key::kInputScale, o.inputScale);
  num(key::kInputOffset, o.inputOffset);
  if (o.residual) m[key::kResidual] = *o.residual ? "true" : "false";
  if (o.receptiveField) m[key::kReceptiveField] = std::to_string(*o.receptiveField);
  num(key::kNoiseSigma, o.noiseSigma);
  std::string latent;
  for (int d : o.latentShape) latent += (latent.empty() ? "" : ",") + std::to_string(d);
  put(key::kLatentShape, latent);
  num(key::kQuantStep, o.quantStep);
  if (o.anomaly) {
    const anomaly::Decision& d = *o.anomaly;
    put(key::kAnomalyMap, anomaly::mapKindName(d.map.map));
    num(key::kMapSigma, d.map.smoothSigma);
    num(key::kThreshold, d.threshold);
    num(key::kScoreMean, d.scoreMean);
    num(key::kScoreStd, d.scoreStd);
    if (d.frame)
      m[key::kFrameModel] = formatNumber(d.frame->mu) + "," + formatNumber(d.frame->beta) + "," +
                            formatNumber(d.frame->area) + "," + formatNumber(d.frame->fpr) +
                            (d.frame->logit ? ",logit" : "");
  }
  if (o.inpaint) m[key::kInpaint] = anomaly::formatInpainting(*o.inpaint);
  if (o.stft) m[key::kStft] = formatStft(*o.stft);
  put(key::kTrainerVersion, o.trainerVersion);
  put(key::kRecipe, o.recipe);
  put(key::kMetrics, o.metrics);
  for (const auto& [k, v] : o.extra) m[k] = v;
  if (o.computeReceptiveField && !m.count(key::kReceptiveField))
    m[key::kReceptiveField] = std::to_string(receptiveField(model));
  return m;
}

std::string exportOnnxBytes(const nn::Model& model, const ExportOptions& opts) {
  if (!model.compiled()) throw InvalidArgument("exportOnnx: compile() the model first");
  pb::ModelProto m;
  m.set_ir_version(kIrVersion);
  m.set_producer_name("cae");
  m.set_producer_version(CAE_VERSION);
  if (!opts.docString.empty()) m.set_doc_string(opts.docString);
  pb::OperatorSetIdProto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(kOpset);
  for (const auto& [k, v] : exportMetadata(model, opts)) {
    pb::StringStringEntryProto* e = m.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  GraphWriter(model, *m.mutable_graph()).write();
  try {
    detail::checkModelProto(m);
  } catch (const std::exception& e) {
    throw FormatError(std::string("exportOnnx: onnx::checker rejects the exported graph: ") +
                      e.what());
  }
  // Metadata is serialised before the graph (protobuf merges fields in any order), so a file cut
  // anywhere loses graph bytes and fails to parse instead of silently losing metadata entries.
  pb::ModelProto body;
  body.mutable_graph()->Swap(m.mutable_graph());
  body.mutable_opset_import()->Swap(m.mutable_opset_import());
  return m.SerializeAsString() + body.SerializeAsString();
}

void checkOnnxFile(const std::string& path) {
  const pb::ModelProto m = detail::readModelProto(path);
  try {
    detail::checkModelProto(m);
  } catch (const std::exception& e) {
    throw FormatError("ONNX model '" + path + "' fails onnx::checker: " + e.what());
  }
}

void exportOnnx(const nn::Model& model, const std::string& path, const ExportOptions& opts) {
  detail::writeFileAtomically(path, exportOnnxBytes(model, opts));
}

}  // namespace cae::onnx
