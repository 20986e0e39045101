#include "nn/model.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

Model::Model(Shape inputShape) : input_(inputShape) {
  input_.n = 1;
  if (input_.c < 1 || input_.h < 1 || input_.w < 1)
    throw InvalidArgument("Model: input shape must be positive, got " + inputShape.str());
  Node in;
  in.name = "input";
  nodes_.push_back(std::move(in));
}

int Model::add(std::unique_ptr<Layer> layer, std::vector<int> inputs, std::string name) {
  if (compiled_) throw InvalidArgument("Model: cannot add layers after compile()");
  if (!layer) throw InvalidArgument("Model: null layer");
  if (inputs.empty()) inputs.push_back(int(nodes_.size()) - 1);
  const int id = int(nodes_.size());
  for (int i : inputs)
    if (i < 0 || i >= id)
      throw InvalidArgument("Model: input node " + std::to_string(i) + " does not precede node " +
                            std::to_string(id));
  if (int(inputs.size()) != layer->numInputs())
    throw InvalidArgument("Model: " + layer->type() + " takes " +
                          std::to_string(layer->numInputs()) + " inputs, given " +
                          std::to_string(inputs.size()));
  Node n;
  n.name = name.empty() ? layer->type() + "_" + std::to_string(id) : std::move(name);
  n.layer = std::move(layer);
  n.inputs = std::move(inputs);
  nodes_.push_back(std::move(n));
  output_ = id;
  return id;
}

void Model::setOutput(int node) {
  if (node < 0 || node >= numNodes())
    throw InvalidArgument("Model: no node " + std::to_string(node));
  output_ = node;
}

int Model::findNode(const std::string& name) const {
  for (int i = 0; i < numNodes(); ++i)
    if (nodes_[i].name == name) return i;
  return -1;
}

Shape Model::nodeShape(int node, Shape in) const {
  std::vector<Shape> shapes(nodes_.size());
  shapes[0] = in;
  for (int i = 1; i <= node; ++i) {
    std::vector<Shape> ins;
    for (int j : nodes_[i].inputs) ins.push_back(shapes[j]);
    try {
      shapes[i] = nodes_[i].layer->outputShape(ins);
    } catch (const ShapeError& e) {
      throw ShapeError("node '" + nodes_[i].name + "': " + e.what());
    }
  }
  return shapes[node];
}

Shape Model::outputShape(Shape in) const { return nodeShape(output_, in); }

void Model::compile() {
  if (compiled_) return;
  nodeShape(numNodes() - 1, input_);  // throws on any mismatch
  std::size_t total = 0;
  for (auto& n : nodes_) {
    n.paramOffset = total;
    if (n.layer) total += n.layer->numParams();
  }
  params_.assign(total, Scalar(0));
  grads_.assign(total, Scalar(0));
  for (auto& n : nodes_)
    if (n.layer) n.layer->bind(params_.data() + n.paramOffset, grads_.data() + n.paramOffset);
  acts_.resize(nodes_.size());
  dacts_.resize(nodes_.size());
  scratch_.resize(2);
  compiled_ = true;
}

void Model::initialize(std::uint64_t seed) {
  if (!compiled_) compile();
  Rng rng(seed);
  for (auto& n : nodes_)
    if (n.layer) n.layer->initialize(rng);
}

const Tensor& Model::forward(const Tensor& x) {
  if (!compiled_) throw InvalidArgument("Model: forward() before compile()");
  if (x.shape().c != input_.c)
    throw ShapeError("Model expects " + std::to_string(input_.c) + " input channels, got " +
                     x.shape().str());
  acts_[0] = x;
  for (int i = 1; i <= output_; ++i) {
    Node& n = nodes_[i];
    Inputs ins;
    for (int j : n.inputs) ins.push_back(&acts_[j]);
    try {
      n.layer->forward(ins, acts_[i]);
    } catch (const ShapeError& e) {
      throw ShapeError("node '" + n.name + "': " + e.what());
    }
    if (fakeQuant(i)) fakeQuantize(i);
  }
  return acts_[output_];
}

void Model::setFakeQuant(int node, bool on) {
  if (node < 1 || node >= int(nodes_.size()))
    throw InvalidArgument("Model: fake quantisation of a node that does not exist");
  if (fq_.size() < nodes_.size()) fq_.resize(nodes_.size());
  fq_[std::size_t(node)] = FakeQuant{};
  fq_[std::size_t(node)].on = on;
}

void Model::fakeQuantize(int node) {
  FakeQuant& q = fq_[std::size_t(node)];
  Tensor& t = acts_[std::size_t(node)];
  if (t.size() == 0) return;
  auto v = t.vec();
  if (fqLearn_) {  // an exponential moving average of the batches' largest magnitudes
    const Scalar lo = v.minCoeff(), hi = v.maxCoeff();
    q.isSigned = q.isSigned || lo < 0;
    const Scalar m = std::max(hi, q.isSigned ? -lo : Scalar(0));
    q.range = q.range > 0 ? Scalar(0.99) * q.range + Scalar(0.01) * m : m;
  }
  q.clipped.assign(std::size_t(t.size()), 0);
  if (!(q.range > 0)) return;
  const Scalar levels = q.isSigned ? 127 : 255, step = q.range / levels;
  const Scalar lo = q.isSigned ? -q.range : 0;
  for (Eigen::Index k = 0; k < v.size(); ++k) {
    const Scalar x = v[k];
    if (x > q.range || x < lo) q.clipped[std::size_t(k)] = 1;
    v[k] = std::clamp(std::nearbyint(x / step), q.isSigned ? -levels : Scalar(0), levels) * step;
  }
}

void Model::backward(const Tensor& dOutput, Tensor* dInput) {
  backward({{output_, &dOutput}}, dInput);
}

void Model::backward(const std::vector<std::pair<int, const Tensor*>>& seeds, Tensor* dInput) {
  if (!compiled_) throw InvalidArgument("Model: backward() before compile()");
  std::vector<char> has(nodes_.size(), 0);
  for (auto& [node, g] : seeds) {
    if (node < 0 || node > output_) throw InvalidArgument("Model: bad seed node");
    if (g->shape() != acts_[node].shape())
      throw ShapeError("Model: gradient for node '" + nodes_[node].name + "' has shape " +
                       g->shape().str() + ", activation has " + acts_[node].shape().str());
    if (has[node]) {
      dacts_[node].vec() += g->vec();
    } else {
      dacts_[node] = *g;
      has[node] = 1;
    }
  }
  // Layers whose slice receives no gradient keep zeros there.
  std::fill(grads_.begin(), grads_.end(), Scalar(0));
  for (int i = output_; i >= 1; --i) {
    if (!has[i]) continue;
    if (fakeQuant(i)) {  // straight through, but not where the value was clipped
      const std::vector<char>& c = fq_[std::size_t(i)].clipped;
      Scalar* d = dacts_[i].data();
      for (std::size_t k = 0; k < c.size() && k < std::size_t(dacts_[i].size()); ++k)
        if (c[k]) d[k] = 0;
    }
    Node& n = nodes_[i];
    Inputs ins;
    for (int j : n.inputs) ins.push_back(&acts_[j]);
    if (n.layer->numParams() > 0) n.layer->gradient(ins, acts_[i], dacts_[i]);
    // Each input's gradient goes straight into its node's slot the first time, else via scratch.
    InputGrads dIns(n.inputs.size(), nullptr);
    std::vector<int> viaScratch;
    // Sized before any pointer into it is taken: growing it later would leave dIns dangling.
    if (scratch_.size() < n.inputs.size()) scratch_.resize(n.inputs.size());
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      const int j = n.inputs[k];
      if (j == kInput && !dInput) continue;
      bool seenBefore = has[j];
      for (std::size_t q = 0; q < k; ++q)
        if (n.inputs[q] == j) seenBefore = true;
      if (!seenBefore) {
        dIns[k] = &dacts_[j];
      } else {
        dIns[k] = &scratch_[k];
        viaScratch.push_back(int(k));
      }
    }
    bool any = false;
    for (Tensor* t : dIns) any = any || t;
    if (!any) continue;
    n.layer->backward(ins, acts_[i], dacts_[i], dIns);
    for (std::size_t k = 0; k < n.inputs.size(); ++k)
      if (dIns[k]) has[n.inputs[k]] = 1;
    for (int k : viaScratch) dacts_[n.inputs[k]].vec() += scratch_[k].vec();
  }
  if (dInput) {
    if (has[0]) {
      *dInput = dacts_[0];
    } else {
      dInput->resize(acts_[0].shape());
      dInput->setZero();
    }
  }
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
