#include "train/warm_start.hpp"

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <map>
#include <string>

#include "error.hpp"
#include "nn/checkpoint.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/regularizers/weight_decay.hpp"
#include "onnx/graph.hpp"
#include "train/architecture.hpp"

namespace cae::train {
namespace {

std::string dimsText(const std::vector<int64_t>& d) {
  std::string s;
  for (int64_t v : d) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

// The file's float initializer `name`.
const onnx::Tensor& initializer(const onnx::Graph& g, const std::string& name) {
  const auto it = g.initializers.find(name);
  if (it == g.initializers.end())
    throw InvalidArgument("--init '" + g.path + "' has no '" + name +
                          "': it was not made for this architecture (the layer names differ)");
  if (it->second.data.empty())
    throw InvalidArgument("--init '" + g.path + "': '" + name + "' is not float data");
  return it->second;
}

InvalidArgument misfit(const onnx::Graph& g, const nn::Model::Node& n, const onnx::Tensor& t,
                       std::size_t want) {
  return InvalidArgument("--init '" + g.path + "': '" + t.name + "' (" + dimsText(t.dims) + ", " +
                         std::to_string(t.data.size()) + " values) does not fit layer '" + n.name +
                         "' (" + n.layer->type() + ", " + std::to_string(want) + " values)");
}

// The file's bias of layer `node` (count values), repeated `times` times into dst.
void copyBias(const onnx::Graph& g, const std::string& node, std::size_t count, std::size_t times,
              nn::Scalar* dst) {
  const onnx::Tensor& b = initializer(g, node + ".bias");
  if (b.data.size() != count)
    throw InvalidArgument("--init '" + g.path + "': '" + b.name + "' holds " +
                          std::to_string(b.data.size()) + " values, layer '" + node + "' needs " +
                          std::to_string(count));
  for (std::size_t t = 0; t < times; ++t) std::copy(b.data.begin(), b.data.end(), dst + t * count);
}

// Whether the file's conv weight `t` fits inside conv with as many or fewer outputs and inputs
// (and the same kernel).
bool widerThan(const nn::Conv2d& conv, const onnx::Tensor& t) {
  const auto& o = conv.options();
  return t.dims.size() == 4 && t.dims[0] >= 1 && t.dims[1] >= 1 && t.dims[0] <= o.outChannels &&
         t.dims[1] <= o.inChannels && t.dims[2] == conv.kernelH() && t.dims[3] == conv.kernelW();
}

// The name under which the file holds layer i's parameters. The ONNX exporter names the model's
// output node "output" (the graph's output value), so a model whose last node has parameters (no
// residual add or activation after it, as denoise-fast) keeps them as "output.weight".
std::string fileBase(const onnx::Graph& g, const nn::Model& model, int i) {
  const std::string& name = model.node(i).name;
  if (i == model.output() && !g.initializers.count(name + ".weight") &&
      g.initializers.count("output.weight"))
    return "output";
  return name;
}

}  // namespace

WarmStart warmStart(nn::Model& model, const std::string& onnxPath, bool deepen) {
  const onnx::Graph g = onnx::readGraph(onnxPath);
  std::map<std::size_t, std::size_t> weightsAt;  // param offset -> weight count (bias after)
  for (const nn::ParamRange& r : nn::weightRanges(model)) weightsAt[r.offset] = r.count;
  WarmStart w;
  for (int i = 1; i < model.numNodes(); ++i) {
    const nn::Model::Node& n = model.node(i);
    const std::size_t total = n.layer->numParams();
    if (total == 0 || n.name == kCurrentFrameNode) continue;
    const std::size_t weights = weightsAt.count(n.paramOffset) ? weightsAt[n.paramOffset] : 0;
    nn::Scalar* dst = model.params().data() + n.paramOffset;
    const std::string base = fileBase(g, model, i);
    const auto* conv = dynamic_cast<const nn::Conv2d*>(n.layer.get());
    if (deepen && conv && !g.initializers.count(base + ".weight")) {
      const auto& o = conv->options();
      const std::size_t kh = std::size_t(conv->kernelH()), kw = std::size_t(conv->kernelW());
      const std::size_t ch = std::size_t(o.inChannels);
      if (o.outChannels == o.inChannels && kh % 2 == 1 && weights == ch * ch * kh * kw) {
        std::fill(dst, dst + total, nn::Scalar(0));
        for (std::size_t c = 0; c < ch; ++c)
          dst[((c * ch + c) * kh + kh / 2) * kw + kw - 1] = nn::Scalar(1);
        w.identity.push_back(n.name);
        continue;
      }
    }
    const onnx::Tensor& wt = initializer(g, base + ".weight");
    const bool hasBias = total > weights;
    if (wt.data.size() == weights) {
      std::copy(wt.data.begin(), wt.data.end(), dst);
      if (hasBias) copyBias(g, base, total - weights, 1, dst + weights);
    } else if (conv && widerThan(*conv, wt)) {
      // W[out][in][kh][kw]. With m times the file's outputs and inputs (the stem of an m-frame
      // model with temporal channels), the file's conv runs on every frame: block b of outputs
      // reads frame b, so the added outputs are the file's features of the older frames.
      // Otherwise the file's weights fill the first outputs and inputs, and outputs it lacks
      // keep their random initialisation. Either way the inputs a block does not read get zero
      // weights, so that the model computes what the file's model computes.
      const auto oF = std::size_t(wt.dims[0]), inF = std::size_t(wt.dims[1]);
      const auto out = std::size_t(conv->options().outChannels);
      const auto in = std::size_t(conv->options().inChannels);
      const auto k = std::size_t(wt.dims[2] * wt.dims[3]);
      const std::size_t m = out % oF == 0 && in % inF == 0 && out / oF == in / inF ? out / oF : 1;
      for (std::size_t r = 0; r < m * oF; ++r) {
        nn::Scalar* row = dst + r * in * k;
        std::fill(row, row + in * k, nn::Scalar(0));
        std::copy_n(wt.data.begin() + std::ptrdiff_t((r % oF) * inF * k), inF * k,
                    row + (r / oF) * inF * k);
      }
      if (hasBias) copyBias(g, base, oF, m, dst + weights);
      w.widened.push_back(n.name);
    } else {
      throw misfit(g, n, wt, weights);
    }
    ++w.layers;
  }
  return w;
}

bool isCheckpointFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[8] = {};
  f.read(magic, sizeof magic);
  return f.gcount() == sizeof magic &&
         std::string(magic, sizeof magic) == std::string("CAECKPT\0", 8);
}

WarmStart warmStartFromCheckpoint(nn::Model& model, const std::string& checkpointPath,
                                  const std::string& architecture) {
  const nn::Checkpoint ck = nn::loadCheckpoint(checkpointPath);
  const auto arch = ck.meta.find("train.architecture");
  if (arch != ck.meta.end() && arch->second != architecture)
    throw FormatError("--init '" + checkpointPath + "' was made for another architecture:\n" +
                      arch->second);
  if (ck.params.size() != model.numParams())
    throw FormatError("--init '" + checkpointPath + "' holds " + std::to_string(ck.params.size()) +
                      " parameters, the model has " + std::to_string(model.numParams()));
  std::copy(ck.params.begin(), ck.params.end(), model.params().data());
  WarmStart w;
  for (int i = 1; i < model.numNodes(); ++i)
    if (model.node(i).layer->numParams() > 0) ++w.layers;
  return w;
}

}  // namespace cae::train
