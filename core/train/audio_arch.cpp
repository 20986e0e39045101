#include "train/audio_arch.hpp"

#include <memory>
#include <string>
#include <vector>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"

namespace cae::train {

namespace {

std::unique_ptr<nn::Conv2d> timeConv(int in, int out, int frames, int stride = 1,
                                     int dilation = 1) {
  nn::Conv2dOptions o;
  o.stride = stride;  // along time; the height is 1 with a kernel of 1, so it changes nothing there
  o.dilation = dilation;  // the same: a kernel height of 1 reads one row whatever the dilation
  o.inChannels = in;
  o.outChannels = out;
  o.kernelH = 1;
  o.kernelW = frames;
  o.kernel = frames;
  return std::make_unique<nn::Conv2d>(o);
}

// The frames each "ea" conv (kernel 3, stride s, no padding) leaves, while more than 3 are left
// (the code conv reads the last count), into `left`; false when a conv would leave out the
// newest frame (its input's frames - 3 not a multiple of s): the whole window and a stream would
// then disagree.
bool eaFrames(int context, int stride, std::vector<int>* left = nullptr) {
  for (int frames = context; frames > 3; frames = (frames - 3) / stride + 1) {
    if ((frames - 3) % stride != 0) return false;
    if (left) left->push_back((frames - 3) / stride + 1);
  }
  return true;
}

}  // namespace

void validateAudioMask(const ArchSpec& s) {
  if (s.channels < 2 || s.height != 1)
    throw InvalidArgument("audio-mask: the input is {bins, 1, frames}, got " +
                          std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                          std::to_string(s.width));
  if (s.outChannels < 0 || s.outChannels > s.channels)
    throw InvalidArgument("audio-mask: the mask has more bins than the input has rows");
  if (s.width < 3)
    throw InvalidArgument("audio-mask: --context must be at least 3 frames, got " +
                          std::to_string(s.width));
  if (s.width0 < 1 || s.latent < 1)
    throw InvalidArgument("audio-mask: --width and --latent must be >= 1");
  if (s.timeStride < 1 || s.timeStride > 2)
    throw InvalidArgument("audio-mask: --time-stride must be 1 or 2, got " +
                          std::to_string(s.timeStride));
  if (s.timeOutputs < 1 || s.timeOutputs > 1024)
    throw InvalidArgument("audio-mask: --sequence must be 1..1024 frames, got " +
                          std::to_string(s.timeOutputs));
  if (!eaFrames(s.width, s.timeStride)) {
    std::string fit;
    for (int k = 3; k <= 64; ++k)
      if (eaFrames(k, s.timeStride)) fit += (fit.empty() ? "" : ", ") + std::to_string(k);
    throw InvalidArgument(
        "audio-mask: --context " + std::to_string(s.width) + " does not fit --time-stride " +
        std::to_string(s.timeStride) +
        " (a conv would leave out the newest frame); contexts that fit up to 64: " + fit);
  }
  if (s.decoderLayers < 1 || s.decoderLayers > 8)
    throw InvalidArgument("audio-mask: --decoder-layers must be 1..8, got " +
                          std::to_string(s.decoderLayers));
  if (s.frames != 1 || s.skips || s.residual || s.stem != 1 || s.segWidth > 0)
    throw InvalidArgument(
        "audio-mask: frames, skips, residual, stems and segmentation heads are for the conv "
        "architecture");
}

BuiltModel buildAudioMask(const ArchSpec& s) {
  validateAudioMask(s);
  const int outputs = s.timeOutputs;
  BuiltModel b{nn::Model({1, s.channels, 1, s.width + outputs - 1})};
  nn::Model& m = b.model;
  std::vector<int> left;
  eaFrames(s.width, s.timeStride, &left);
  // L > 1: stride 1 and the dilation the deployed form's strides amount to (1, s, s^2, ...).
  const int stride = outputs > 1 ? 1 : s.timeStride;
  int at = nn::Model::kInput, frames = s.width, in = s.channels, i = 0, dilation = 1;
  for (; frames > 3; frames = left[std::size_t(i)], ++i) {
    at = m.add(timeConv(in, s.width0, 3, stride, outputs > 1 ? dilation : 1), {at},
               "ea" + std::to_string(i));
    at = m.add(std::make_unique<nn::ReLU>(), {at}, "ea" + std::to_string(i) + "_act");
    in = s.width0;
    dilation *= s.timeStride;
  }
  at = m.add(timeConv(in, s.latent, frames, 1, outputs > 1 ? dilation : 1), {at}, "code_conv");
  b.code = m.add(std::make_unique<nn::ReLU>(), {at}, "code");
  at = b.code;
  for (int d = 0; d < s.decoderLayers; ++d) {
    const std::string name = "da" + std::to_string(d);
    at = m.add(timeConv(d == 0 ? s.latent : s.width0, s.width0, 1), {at}, name);
    at = m.add(std::make_unique<nn::ReLU>(), {at}, name + "_act");
  }
  at = m.add(timeConv(s.width0, s.outChannels > 0 ? s.outChannels : s.channels, 1), {at},
             "mask_logits");
  m.setOutput(m.add(std::make_unique<nn::Sigmoid>(), {at}, "mask"));
  m.compile();
  m.initialize(s.seed);
  return b;
}

BuiltModel deployedAudioMask(const ArchSpec& spec, const nn::Model& trained) {
  ArchSpec one = spec;
  one.timeOutputs = 1;
  BuiltModel b = buildAudioMask(one);
  // The same layers in the same order (only strides and dilations differ): the same parameters.
  if (b.model.numParams() != trained.numParams())
    throw InvalidArgument("audio-mask: the model has " + std::to_string(trained.numParams()) +
                          " parameters, its spec's " + std::to_string(b.model.numParams()));
  b.model.params() = trained.params();
  return b;
}

}  // namespace cae::train
