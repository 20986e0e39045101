// Streaming inference for the speech denoiser's mask models: one new frame (column) in, one
// mask out, each layer computing only its newest output column.
//
// A mask model (train/audio_arch.hpp) is a chain of convolutions along time with no padding
// (kernels 1 x k) and pointwise activations: the whole-window forward on the last K frames
// recomputes, every hop, the K - k + 1 output columns of its first layer, and so on, although
// all but the newest were computed on earlier hops. ColumnNet keeps each layer's last input
// columns it still needs and computes one column per layer per frame: for the shipped model's
// shapes (23 frames, strided) about 6 x fewer multiply-adds than the whole window (the first
// layer, which reads the 2 x 257 features, dominates). Its output is the whole-window forward's
// (the same sums in another order: equal to float rounding), once K frames have been pushed;
// reset() then K pushes of zero frames give the state of a window of silence, as the element
// starts.
//
// Strides along time (train/audio_arch.hpp's timeStride) become dilations: in the whole window
// a layer after a stride-2 conv reads every second column its input would have, so in a stream,
// where every layer computes every column, it reads columns 2 apart (4 after two such convs).
// The whole window's one mask is then the streamed one, as long as the window is the chain's
// receptive field (the graph's input width, when it names one, must be).
//
// Only such chains are taken: Conv (kernel 1 x k, any stride along time, no pads, dilations 1,
// group 1, with a bias) and Relu / Sigmoid, each node reading the one before. Anything else is
// left to OpenCV DNN's whole-window forward (MaskModel::run): ColumnNet::fromGraph returns null.
//
//   auto weights = cae::audio::ColumnNet::fromGraph(cae::onnx::readGraph(path));
//   cae::audio::ColumnNet net(weights);      // one per stream: it holds the stream's state
//   net.push(features, mask);                 // rows values in, bins values out
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "onnx/graph.hpp"

namespace cae::audio {

class ColumnNet {
 public:
  // The model's layers, shared by every stream that runs it.
  struct Layer {
    int in = 0, out = 0, k = 1;  // channels in and out, kernel width
    int dilation = 1;            // columns between its taps in a stream (the strides before it)
    int stride = 1;              // its stride along time in the file's whole-window graph
    int span() const { return (k - 1) * dilation + 1; }  // the columns of input it keeps
    std::vector<float> weight;  // out x (k x in): for output o, tap t, input i: [o][t * in + i]
    std::vector<float> bias;    // out
    enum class Act { None, Relu, Sigmoid } act = Act::None;
  };
  struct Weights {
    std::vector<Layer> layers;
    int rows = 0, outputs = 0, context = 0;  // input values per frame, output values, frames read
  };

  // The chain of a mask model's graph, or null when the graph is not such a chain (see above).
  static std::shared_ptr<const Weights> fromGraph(const onnx::Graph& g);

  explicit ColumnNet(std::shared_ptr<const Weights> w);
  int rows() const { return w_->rows; }
  int outputs() const { return w_->outputs; }
  int context() const { return w_->context; }
  // One frame's rows() features in; the newest frame's outputs() values out (the mask of the
  // window of the last context() frames pushed, with frames before the first reset() zeros).
  void push(const float* features, float* out);
  // Frames of zeros before the next push, as after construction.
  void reset();

 private:
  std::shared_ptr<const Weights> w_;
  // Per layer: its input's last span() columns, oldest first (span() x in), the newest written
  // by push.
  std::vector<std::vector<float>> window_;
  std::vector<float> column_;  // scratch: a layer's output column
  std::vector<float> taps_;    // scratch: a dilated layer's k taps (k x in)
};

}  // namespace cae::audio
