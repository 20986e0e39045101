#include "train/codec_arch.hpp"

#include <cmath>
#include <memory>
#include <string>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/entropy_bottleneck.hpp"
#include "nn/layers/gdn.hpp"
#include "nn/layers/quantize.hpp"

namespace cae::train {

namespace {

using nn::Model;

std::unique_ptr<nn::Layer> activation(const std::string& name, int channels, bool synthesis) {
  if (name == "gdn") return std::make_unique<nn::Gdn>(channels, synthesis);
  if (name == "relu") return std::make_unique<nn::ReLU>();
  if (name == "leaky_relu") return std::make_unique<nn::LeakyReLU>();
  if (name == "tanh") return std::make_unique<nn::Tanh>();
  throw InvalidArgument("codec: unknown activation '" + name +
                        "' (choose gdn, relu, leaky_relu or tanh)");
}

int addAnalysis(Model& m, const ArchSpec& s) {
  int at = Model::kInput;
  for (int i = 0; i < s.stages; ++i) {
    const bool last = i + 1 == s.stages;
    nn::Conv2dOptions o;
    o.inChannels = i == 0 ? s.channels : s.width0;
    o.outChannels = last ? s.latent : s.width0;
    o.kernel = s.codecKernel;
    o.stride = 2;
    o.padding = (s.codecKernel - 1) / 2;
    at = m.add(std::make_unique<nn::Conv2d>(o), {at}, last ? "y" : "ga" + std::to_string(i));
    if (!last)
      at =
          m.add(activation(s.activation, s.width0, false), {at}, "ga" + std::to_string(i) + "_act");
  }
  return at;
}

int addSynthesis(Model& m, const ArchSpec& s, int from) {
  int at = from;
  for (int i = 0; i < s.stages; ++i) {
    const bool last = i + 1 == s.stages;
    nn::ConvTranspose2dOptions o;
    o.inChannels = i == 0 ? s.latent : s.width0;
    o.outChannels = last ? s.channels : s.width0;
    o.kernel = s.codecKernel;
    o.stride = 2;
    o.padding = (s.codecKernel - 1) / 2;
    o.outputPadding = s.codecKernel % 2;
    const std::string name = last ? "out" : "gs" + std::to_string(i);
    at = m.add(std::make_unique<nn::ConvTranspose2d>(o), {at}, name);
    if (!last) at = m.add(activation(s.activation, s.width0, true), {at}, name + "_act");
  }
  return at;
}

// GDN passes its input's scale on where a ReLU would halve its variance, so He et al.'s
// initialisation (the engine's, for ReLU networks) makes IGDN's x * sqrt(1 + 0.1 x^2) blow the
// first reconstructions up by orders of magnitude. GDN codecs start from PyTorch's default
// instead (kaiming_uniform with a = sqrt(5): std 1 / sqrt(3 fan_in), what CompressAI's models
// start from): the He weights scaled by 1 / sqrt(6).
void shrinkToPyTorchInit(Model& m) {
  const nn::Scalar k = nn::Scalar(1 / std::sqrt(6.0));
  for (int i = 1; i < m.numNodes(); ++i) {
    nn::Layer& l = m.layer(i);
    std::size_t weights = 0;
    if (auto* c = dynamic_cast<nn::Conv2d*>(&l))
      weights = std::size_t(c->options().outChannels) * std::size_t(c->options().inChannels) *
                std::size_t(c->kernelH() * c->kernelW());
    if (auto* t = dynamic_cast<nn::ConvTranspose2d*>(&l))
      weights = std::size_t(t->options().outChannels) * std::size_t(t->options().inChannels) *
                std::size_t(t->options().kernel * t->options().kernel);
    for (std::size_t j = 0; j < weights; ++j) l.w()[j] *= k;
  }
}

}  // namespace

void validateCodec(const ArchSpec& s) {
  if (s.channels != 1 && s.channels != 3)
    throw InvalidArgument("codec: pictures of 1 or 3 channels, not " + std::to_string(s.channels));
  if (s.stages < 1 || s.stages > 6)
    throw InvalidArgument("codec: 1 to 6 stages (--stages), not " + std::to_string(s.stages));
  if (s.width0 < 1 || s.latent < 1)
    throw InvalidArgument("codec: --channels (N) and --latent (M) must be positive");
  if (s.codecKernel < 2 || s.codecKernel > 9)
    throw InvalidArgument("codec: kernel 2 to 9 (--codec-kernel), not " +
                          std::to_string(s.codecKernel));
  if (s.frames != 1 || s.skips || s.residual || s.segWidth != 0 || s.stem != 1)
    throw InvalidArgument(
        "codec: frames, skips, residual, stems and segmentation heads are for "
        "the conv architecture");
  const int multiple = 1 << s.stages;
  if (s.height % multiple || s.width % multiple)
    throw InvalidArgument("codec: training samples of " + std::to_string(s.height) + "x" +
                          std::to_string(s.width) + " are not multiples of " +
                          std::to_string(multiple) + " (2^stages): choose --patch accordingly");
  (void)activation(s.activation, 1, false);  // the name is known
  if (s.codecQuantize != "noise" && s.codecQuantize != "ste" && s.codecQuantize != "mixed")
    throw InvalidArgument("codec: quantiser proxy '" + s.codecQuantize +
                          "' (choose noise, ste or mixed)");
}

nn::Shape codecLatentShape(const ArchSpec& s) {
  const int m = 1 << s.stages;
  return {1, s.latent, (s.height + m - 1) / m, (s.width + m - 1) / m};
}

BuiltModel buildCodec(const ArchSpec& s) {
  validateCodec(s);
  BuiltModel b{Model({1, s.channels, s.height, s.width})};
  b.code = addAnalysis(b.model, s);
  using Mode = nn::Quantize::Mode;
  const Mode synthesis = s.codecQuantize == "noise" ? Mode::Noise : Mode::StraightThrough;
  b.quantize =
      b.model.add(std::make_unique<nn::Quantize>(synthesis, s.seed + 7), {b.code}, "y_hat");
  int rateInput = b.quantize;
  if (s.codecQuantize == "mixed")
    rateInput =
        b.model.add(std::make_unique<nn::Quantize>(Mode::Noise, s.seed + 8), {b.code}, "y_noisy");
  b.rate = b.model.add(std::make_unique<nn::EntropyBottleneck>(s.latent), {rateInput}, "rate");
  b.model.setOutput(addSynthesis(b.model, s, b.quantize));
  b.model.compile();
  b.model.initialize(s.seed);
  if (s.activation == "gdn") shrinkToPyTorchInit(b.model);
  return b;
}

nn::Model codecAnalysis(const ArchSpec& s, const BuiltModel& trained) {
  validateCodec(s);
  Model m({1, s.channels, s.height, s.width});
  m.setOutput(addAnalysis(m, s));
  m.compile();
  copyWeightsByName(trained.model, m);
  return m;
}

nn::Model codecSynthesis(const ArchSpec& s, const BuiltModel& trained) {
  validateCodec(s);
  Model m(codecLatentShape(s));
  m.setOutput(addSynthesis(m, s, Model::kInput));
  m.compile();
  copyWeightsByName(trained.model, m);
  return m;
}

}  // namespace cae::train
