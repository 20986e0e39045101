// The trainer's banner for an architecture (describe) and the FLOP count behind it
// (flopsPerSample), apart from the builders in architecture.cpp.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/reshape.hpp"
#include "train/architecture.hpp"

namespace cae::train {

using nn::Model;
using nn::Shape;

namespace {

std::string shapeStr(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string humanCount(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

}  // namespace

double flopsPerSample(const nn::Model& model) {
  std::vector<Shape> shapes(std::size_t(model.numNodes()));
  shapes[0] = model.inputShape();
  double flops = 0;
  for (int i = 1; i < model.numNodes(); ++i) {
    const Model::Node& n = model.node(i);
    std::vector<Shape> ins;
    for (int j : n.inputs) ins.push_back(shapes[std::size_t(j)]);
    const Shape out = n.layer->outputShape(ins);
    shapes[std::size_t(i)] = out;
    const nn::Layer* l = n.layer.get();
    if (auto* c = dynamic_cast<const nn::Conv2d*>(l)) {
      flops += 2.0 * c->options().inChannels * c->kernelH() * c->kernelW() * double(out.size());
    } else if (auto* t = dynamic_cast<const nn::ConvTranspose2d*>(l)) {
      const auto& o = t->options();
      flops += 2.0 * o.outChannels * o.kernel * o.kernel * double(ins.at(0).size());
    } else if (auto* d = dynamic_cast<const nn::Dense*>(l)) {
      flops += 2.0 * d->inFeatures() * d->outFeatures();
    } else if (!dynamic_cast<const nn::Flatten*>(l) && !dynamic_cast<const nn::Reshape*>(l)) {
      flops += double(out.size());
    }
  }
  return flops;
}

std::string describe(const ArchSpec& spec) {
  const BuiltModel b = buildAutoencoder(spec);
  const Model& m = b.model;
  std::ostringstream os;
  os << archKindName(spec.kind) << " autoencoder, input " << shapeStr(m.inputShape()) << "\n";
  char line[160];
  for (int i = 1; i < m.numNodes(); ++i) {
    const Model::Node& n = m.node(i);
    std::string ins;
    for (int j : n.inputs) ins += (ins.empty() ? "" : ",") + m.node(j).name;
    std::snprintf(line, sizeof line, "  %-10s %-16s %-14s %10zu  <- %s\n", n.name.c_str(),
                  n.layer->type().c_str(), shapeStr(m.nodeShape(i, m.inputShape())).c_str(),
                  n.layer->numParams(), ins.c_str());
    os << line;
  }
  const Shape code = codeShape(spec);
  const CodeSize size = codeSize(spec);
  os << "parameters " << m.numParams() << " (" << humanCount(double(m.numParams()))
     << "), FLOPs per sample " << humanCount(flopsPerSample(m)) << ", code " << shapeStr(code)
     << " = " << code.perSample() << " values for " << size.input << " inputs (";
  if (spec.kind == ArchKind::Codec)
    os << "quantised and entropy-coded";
  else
    os << (size.undercomplete() ? "undercomplete" : "not undercomplete")
       << (spec.skips ? ", skips bypass it" : "");
  os << ")\n";
  return os.str();
}

}  // namespace cae::train
