#include "audio/column_net.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <utility>

#include "error.hpp"

namespace cae::audio {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

bool allEqual(const std::vector<int64_t>& v, int64_t x) {
  return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
}

// A Conv node as a Layer, or false when it is not a 1 x k, unpadded, undilated, ungrouped
// convolution with its weights and bias in the file. Its stride along time goes to `stride`.
bool convLayer(const onnx::Graph& g, const onnx::Node& n, ColumnNet::Layer& l, int& stride) {
  if (n.inputs.size() != 3) return false;
  const auto w = g.initializers.find(n.inputs[1]), b = g.initializers.find(n.inputs[2]);
  if (w == g.initializers.end() || b == g.initializers.end()) return false;
  const onnx::Tensor &wt = w->second, &bt = b->second;
  if (wt.dims.size() != 4 || wt.dims[2] != 1 || wt.dims[3] < 1 || wt.data.empty() ||
      std::int64_t(wt.data.size()) != wt.count())
    return false;
  const std::vector<int64_t> strides = n.intsAttr("strides", {1, 1});
  if (n.intAttr("group", 1) != 1 || strides.size() != 2 || strides[1] < 1 || strides[1] > 64 ||
      !allEqual(n.intsAttr("pads", {0, 0, 0, 0}), 0) ||
      !allEqual(n.intsAttr("dilations", {1, 1}), 1))
    return false;
  const std::vector<int64_t> kernel = n.intsAttr("kernel_shape", {wt.dims[2], wt.dims[3]});
  if (kernel.size() != 2 || kernel[0] != 1 || kernel[1] != wt.dims[3]) return false;
  l.out = int(wt.dims[0]);
  l.in = int(wt.dims[1]);
  l.k = int(wt.dims[3]);
  if (std::int64_t(bt.data.size()) != l.out) return false;
  // ONNX's W[o][i][0][t] to [o][t * in + i], so that a layer's window (k columns of `in`
  // values, oldest first) is one vector.
  l.weight.resize(std::size_t(l.out) * std::size_t(l.k) * std::size_t(l.in));
  for (int o = 0; o < l.out; ++o)
    for (int i = 0; i < l.in; ++i)
      for (int t = 0; t < l.k; ++t)
        l.weight[(std::size_t(o) * std::size_t(l.k) + std::size_t(t)) * std::size_t(l.in) +
                 std::size_t(i)] =
            wt.data[(std::size_t(o) * std::size_t(l.in) + std::size_t(i)) * std::size_t(l.k) +
                    std::size_t(t)];
  l.bias = bt.data;
  stride = int(strides[1]);  // the height is 1 and so is the kernel's: strides[0] changes nothing
  return true;
}

}  // namespace

std::shared_ptr<const ColumnNet::Weights> ColumnNet::fromGraph(const onnx::Graph& g) {
  if (g.inputs.size() != 1 || g.outputs.size() != 1 || g.nodes.empty()) return nullptr;
  auto w = std::make_shared<Weights>();
  std::string value = g.inputs[0].name;
  bool actDone = true;  // no activation may come before the first convolution
  // The columns between a layer's inputs in a stream: the product of the strides before it.
  int spacing = 1;
  for (const onnx::Node& n : g.nodes) {
    if (n.inputs.empty() || n.inputs[0] != value || n.outputs.size() != 1) return nullptr;
    if (n.op == "Conv") {
      Layer l;
      int stride = 1;
      if (!convLayer(g, n, l, stride) || spacing > 4096 / stride) return nullptr;
      l.dilation = l.k > 1 ? spacing : 1;
      l.stride = stride;
      spacing *= stride;
      if (!w->layers.empty() && w->layers.back().out != l.in) return nullptr;
      w->layers.push_back(std::move(l));
      actDone = false;
    } else if ((n.op == "Relu" || n.op == "Sigmoid") && !actDone && n.inputs.size() == 1) {
      w->layers.back().act = n.op == "Relu" ? Layer::Act::Relu : Layer::Act::Sigmoid;
      actDone = true;
    } else {
      return nullptr;
    }
    value = n.outputs[0];
  }
  if (value != g.outputs[0].name) return nullptr;
  w->rows = w->layers.front().in;
  w->outputs = w->layers.back().out;
  w->context = 1;
  for (const Layer& l : w->layers) w->context += (l.k - 1) * l.dilation;
  // The whole window gives one mask only when it is the chain's receptive field: a longer one
  // gives several, or with strides one that leaves out the newest frames.
  const std::vector<int64_t>& dims = g.inputs[0].dims;
  if (dims.size() == 4 && dims[3] > 0 && dims[3] != w->context) return nullptr;
  return w;
}

ColumnNet::ColumnNet(std::shared_ptr<const Weights> w) : w_(std::move(w)) {
  if (!w_ || w_->layers.empty()) throw InvalidArgument("ColumnNet: no layers");
  int widest = 0;
  std::size_t taps = 0;
  for (const Layer& l : w_->layers) {
    window_.emplace_back(std::size_t(l.span()) * std::size_t(l.in), 0.0f);
    widest = std::max(widest, l.out);
    if (l.dilation > 1) taps = std::max(taps, std::size_t(l.k) * std::size_t(l.in));
  }
  column_.resize(std::size_t(widest));
  taps_.resize(taps);
  reset();
}

void ColumnNet::reset() {
  for (auto& win : window_) std::fill(win.begin(), win.end(), 0.0f);
  // Zero frames through the chain, so that every layer's window holds what it would compute
  // from a window of silence (a layer's output on zeros is its activated bias, not zero).
  const std::vector<float> zeros(std::size_t(rows()), 0.0f);
  std::vector<float> out(static_cast<std::size_t>(outputs()));
  for (int f = 0; f < context(); ++f) push(zeros.data(), out.data());
}

void ColumnNet::push(const float* features, float* out) {
  const float* x = features;
  for (std::size_t li = 0; li < w_->layers.size(); ++li) {
    const Layer& l = w_->layers[li];
    std::vector<float>& win = window_[li];
    const auto in = std::ptrdiff_t(l.in);
    std::copy(win.begin() + in, win.end(), win.begin());  // one column older
    std::copy(x, x + in, win.end() - in);
    const bool last = li + 1 == w_->layers.size();
    float* y = last ? out : column_.data();
    // The taps: the window's columns 0, d, 2d, ... (oldest first), contiguous when d is 1.
    const float* v0 = win.data();
    if (l.dilation > 1) {
      for (int t = 0; t < l.k; ++t)
        std::copy_n(win.begin() + std::ptrdiff_t(t) * l.dilation * in, in,
                    taps_.begin() + std::ptrdiff_t(t) * in);
      v0 = taps_.data();
    }
    Eigen::Map<const RowMajor> W(l.weight.data(), l.out, std::ptrdiff_t(l.k) * in);
    Eigen::Map<const Eigen::VectorXf> v(v0, std::ptrdiff_t(l.k) * in);
    Eigen::Map<Eigen::VectorXf> r(y, l.out);
    r.noalias() = W * v;
    r += Eigen::Map<const Eigen::VectorXf>(l.bias.data(), l.out);
    if (l.act == Layer::Act::Relu) {
      r = r.cwiseMax(0.0f);
    } else if (l.act == Layer::Act::Sigmoid) {
      for (int o = 0; o < l.out; ++o) y[o] = 1.0f / (1.0f + std::exp(-y[o]));
    }
    x = y;  // the next layer copies it into its window before it writes column_
  }
}

}  // namespace cae::audio
