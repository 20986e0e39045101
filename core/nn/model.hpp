// A model is a directed acyclic graph of layers over one input. Node 0 is the input; every other
// node applies one layer to earlier nodes. The model owns all weights as one contiguous vector
// (params()) with a matching gradient vector (grads()); each layer views its slice.
//
//   Model m({1, 1, 64, 64});                    // input shape N(ignored),C,H,W
//   int e = m.add(std::make_unique<Conv2d>(...));   // input: the previous node
//   int y = m.add(std::make_unique<Add>(), {e, Model::kInput});
//   m.compile(); m.initialize(seed);
//   const Tensor& out = m.forward(x);  m.backward(dLoss);  optimizer.step(m.params(), m.grads());
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/layer.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

class Model {
 public:
  static constexpr int kInput = 0;

  struct Node {
    std::string name;
    std::unique_ptr<Layer> layer;  // null for the input node
    std::vector<int> inputs;
    std::size_t paramOffset = 0;
  };

  // inputShape: C, H, W of one sample (n is ignored); H and W may differ at run time for
  // fully convolutional models, it only fixes what compile() checks and what export declares.
  explicit Model(Shape inputShape);
  Model(Model&&) = default;
  Model& operator=(Model&&) = default;

  // Appends a node; inputs default to the previous node. Returns the node's id.
  int add(std::unique_ptr<Layer> layer, std::vector<int> inputs = {}, std::string name = {});
  void setOutput(int node);
  int output() const { return output_; }

  // Checks shapes through the graph and allocates the flat parameter store. Adding nodes after
  // compile() is an error.
  void compile();
  bool compiled() const { return compiled_; }
  // Initialises every layer's weights from one generator seeded with seed.
  void initialize(std::uint64_t seed);

  const Tensor& forward(const Tensor& x);
  // Backpropagates dLoss/d(output) (and optional extra seeds dLoss/d(node) for regularizers on
  // inner activations) through the graph after forward(). Overwrites grads(); fills dInput when
  // given.
  void backward(const Tensor& dOutput, Tensor* dInput = nullptr);
  void backward(const std::vector<std::pair<int, const Tensor*>>& seeds, Tensor* dInput = nullptr);

  Shape inputShape() const { return input_; }
  Shape outputShape(Shape in) const;
  Shape nodeShape(int node, Shape in) const;

  std::size_t numParams() const { return params_.size(); }
  VecMap params() { return VecMap(params_.data(), Eigen::Index(params_.size())); }
  ConstVecMap params() const { return ConstVecMap(params_.data(), Eigen::Index(params_.size())); }
  VecMap grads() { return VecMap(grads_.data(), Eigen::Index(grads_.size())); }
  ConstVecMap grads() const { return ConstVecMap(grads_.data(), Eigen::Index(grads_.size())); }

  int numNodes() const { return int(nodes_.size()); }
  const Node& node(int i) const { return nodes_.at(i); }
  Layer& layer(int i) { return *nodes_.at(i).layer; }
  const Tensor& activation(int node) const { return acts_.at(node); }
  int findNode(const std::string& name) const;  // -1 when absent

  // Quantisation-aware training (core/train/qat.hpp): a node whose output is fake-quantised has
  // it rounded, in forward(), to the 8-bit grid inference will store it on (u8: 255 steps over
  // [0, range]; s8 once a negative value was seen: 127 steps each side), clipped to the range;
  // backward() passes the gradient straight through, except where the value was clipped (zero
  // there). The range follows the largest magnitude of each forward while learning is on (the
  // training steps): the first one's, then an exponential moving average (0.99) of them; the
  // trained model's 8-bit inference uses these ranges (what the model learnt to live with).
  void setFakeQuant(int node, bool on);
  bool fakeQuant(int node) const { return node < int(fq_.size()) && fq_[std::size_t(node)].on; }
  void setFakeQuantLearning(bool on) { fqLearn_ = on; }
  Scalar fakeQuantRange(int node) const { return fq_.at(std::size_t(node)).range; }
  bool fakeQuantSigned(int node) const { return fq_.at(std::size_t(node)).isSigned; }

  // Free-form metadata carried to the exported file (keys like "cae.task").
  std::map<std::string, std::string>& metadata() { return meta_; }
  const std::map<std::string, std::string>& metadata() const { return meta_; }

 private:
  Shape input_;
  std::vector<Node> nodes_;
  int output_ = 0;
  bool compiled_ = false;
  std::vector<Scalar, Eigen::aligned_allocator<Scalar>> params_, grads_;
  std::vector<Tensor> acts_, dacts_;
  std::vector<Tensor> scratch_;
  std::map<std::string, std::string> meta_;
  struct FakeQuant {
    bool on = false, isSigned = false;
    Scalar range = 0;
    std::vector<char> clipped;  // per element of the last forward
  };
  std::vector<FakeQuant> fq_;
  bool fqLearn_ = true;
  void fakeQuantize(int node);
};

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
