#include "train/architecture.hpp"

#include <algorithm>
#include <memory>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/reshape.hpp"
#include "nn/layers/sampling.hpp"
#include "train/audio_arch.hpp"
#include "train/codec_arch.hpp"

namespace cae::train {
namespace {

using nn::Model;
using nn::Shape;

enum class Act { Linear, ReLU, LeakyReLU, Sigmoid, Tanh };

Act parseActivation(const std::string& name, const std::string& what) {
  if (name == "linear" || name == "none") return Act::Linear;
  if (name == "relu") return Act::ReLU;
  if (name == "leaky_relu") return Act::LeakyReLU;
  if (name == "sigmoid") return Act::Sigmoid;
  if (name == "tanh") return Act::Tanh;
  throw InvalidArgument("unknown " + what + " activation '" + name +
                        "' (choose relu, leaky_relu, sigmoid, tanh or linear)");
}

// A spec checked and expanded into what the builders need.
struct Plan {
  ArchKind kind;
  int C, H, W, D;
  Act hidden, out;
  std::vector<int> sizes;  // dense: input, hidden..., code
  std::vector<int> ch;     // conv: channels per resolution level 0..stages
  int depth = 0, stages = 0, latent = 0, stem = 1;
  int frames = 1;    // input channels: frames x C
  int temporal = 0;  // extra stem channels (temporalChannels)
  bool linearStem = false;
  bool skips = false, residual = false;
  int segWidth = 0, segStem = 2;  // segmentation head (ArchSpec::segWidth)
  std::uint64_t seed = 1;

  bool dense() const { return kind != ArchKind::Conv && kind != ArchKind::ConvVae; }
  int inChannels() const { return C * frames; }
  bool vae() const { return kind == ArchKind::DenseVae || kind == ArchKind::ConvVae; }
};

std::string joinSizes(const std::vector<int>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "-" : "") + std::to_string(v[i]);
  return s;
}

// The code's per-sample shape {1, C, H, W} (dense: {1, K, 1, 1}).
Shape codeShapeOf(const Plan& p) {
  if (p.dense()) return {1, p.latent, 1, 1};
  const int c = p.latent > 0 ? p.latent : p.ch[p.stages];
  return {1, c, (p.H / p.stem) >> p.stages, (p.W / p.stem) >> p.stages};
}

CodeSize codeSizeOf(const Plan& p) {
  return {codeShapeOf(p).perSample(), std::size_t(p.inChannels()) * p.H * p.W};
}

// The undercomplete rule, the same for every kind (PCA aside, whose components are checked on
// their own): unless allowed, the code must hold fewer values than the input.
void requireUndercomplete(const ArchSpec& s, const Plan& p, const std::string& k) {
  const CodeSize n = codeSizeOf(p);
  if (n.undercomplete() || s.allowOvercomplete) return;
  const Shape code = codeShapeOf(p);
  const std::string codeText = p.dense() ? std::to_string(n.code)
                                         : std::to_string(code.c) + "x" + std::to_string(code.h) +
                                               "x" + std::to_string(code.w) + " = " +
                                               std::to_string(n.code) + " values";
  throw InvalidArgument(k + ": the code (" + codeText + ") is not smaller than the input (" +
                        std::to_string(n.input) +
                        "): not an undercomplete autoencoder (allow it explicitly for "
                        "sparse or denoising overcomplete models" +
                        (p.dense() ? std::string()
                                   : ", or shrink the code: fewer latent or maximum channels, "
                                     "or more stages") +
                        ")");
}

void planPca(const ArchSpec& s, Plan& p) {
  // PCA is linear by definition: the activation options do not apply.
  p.hidden = p.out = Act::Linear;
  if (s.latent < 1 || s.latent > p.D)
    throw InvalidArgument(
        "pca: the number of components (--latent) must be between 1 and the "
        "input size " +
        std::to_string(p.D) + ", got " + std::to_string(s.latent));
  p.sizes = {p.D, s.latent};
  p.latent = s.latent;
}

void planDense(const ArchSpec& s, Plan& p, const std::string& k) {
  if (s.dense.size() < 2)
    throw InvalidArgument(k + ": give the layer sizes from the input to the code, e.g. " +
                          std::to_string(p.D) + "-128-32");
  if (s.dense.front() != p.D)
    throw InvalidArgument(k + ": dense sizes must start with the input size " +
                          std::to_string(p.D) + " (" + std::to_string(p.C) + "x" +
                          std::to_string(p.H) + "x" + std::to_string(p.W) + "), got " +
                          joinSizes(s.dense));
  for (int d : s.dense)
    if (d < 1)
      throw InvalidArgument(k + ": dense sizes must be positive, got " + joinSizes(s.dense));
  if (s.latent != 0 && s.latent != s.dense.back())
    throw InvalidArgument(k + ": the latent size " + std::to_string(s.latent) +
                          " disagrees with the last dense size " + std::to_string(s.dense.back()));
  p.sizes = s.dense;
  p.latent = s.dense.back();
}

void checkConvShape(const ArchSpec& s, const std::string& k) {
  if (s.depth < 1)
    throw InvalidArgument(k + ": depth must be at least 1, got " + std::to_string(s.depth));
  if (s.stages < 0 || s.stages > 10)
    throw InvalidArgument(k + ": stages must be between 0 and 10, got " + std::to_string(s.stages));
  if (s.width0 < 1 || s.maxChannels < 1)
    throw InvalidArgument(k + ": channel widths must be positive, got " + std::to_string(s.width0) +
                          " and max " + std::to_string(s.maxChannels));
  if (s.stem != 1 && s.stem != 2 && s.stem != 4 && s.stem != 8)
    throw InvalidArgument(k + ": the stem factor must be 1, 2, 4 or 8, got " +
                          std::to_string(s.stem));
  if (s.stem != 1 && s.kind != ArchKind::Conv)
    throw InvalidArgument(k + ": a stem (--stem) is for the plain conv architecture");
  const int f = (1 << s.stages) * s.stem;
  if (s.height % f != 0 || s.width % f != 0)
    throw InvalidArgument(k + ": height and width (" + std::to_string(s.height) + "x" +
                          std::to_string(s.width) + ") must be divisible by " +
                          (s.stem > 1 ? "stem x " : "") + "2^stages = " + std::to_string(f) + " (" +
                          std::to_string(s.stages) +
                          " stride-2 stages); change the patch size or the stages");
}

// The segmentation head's checks: conv only, single frames, a sample size its stem and two
// stride-2 stages divide.
void planSegmentation(const ArchSpec& s, Plan& p, const std::string& k) {
  if (s.segWidth == 0) return;
  if (s.segWidth < 1 || s.segWidth > 256)
    throw InvalidArgument(k + ": the segmentation head's width must be 1..256, got " +
                          std::to_string(s.segWidth));
  if (s.kind != ArchKind::Conv || s.frames > 1)
    throw InvalidArgument(k + ": a segmentation head is for the single-frame conv architecture");
  if (s.segStem != 1 && s.segStem != 2 && s.segStem != 4)
    throw InvalidArgument(k + ": the segmentation head's stem must be 1, 2 or 4, got " +
                          std::to_string(s.segStem));
  const int f = 4 * s.segStem;
  if (s.height % f != 0 || s.width % f != 0)
    throw InvalidArgument(k + ": height and width (" + std::to_string(s.height) + "x" +
                          std::to_string(s.width) + ") must be divisible by " + std::to_string(f) +
                          " for the segmentation head (stem " + std::to_string(s.segStem) +
                          ", two stride-2 stages)");
  p.segWidth = s.segWidth;
  p.segStem = s.segStem;
}

void planConv(const ArchSpec& s, Plan& p, const std::string& k) {
  checkConvShape(s, k);
  if (s.latent < 0) throw InvalidArgument(k + ": latent channels must not be negative");
  if (s.kind == ArchKind::ConvVae) {
    if (s.latent < 1)
      throw InvalidArgument("conv-vae: give the number of latent channels (--latent)");
    if (s.skips || s.residual)
      throw InvalidArgument(
          "conv-vae: skips and a residual output would let the decoder "
          "bypass the latent; use them with the plain conv architecture");
  }
  if (s.residual && p.out != Act::Linear)
    throw InvalidArgument(k +
                          ": a residual output must be linear (output = input + model "
                          "cannot pass through " +
                          s.output + " and still start as the identity)");
  p.depth = s.depth;
  p.stages = s.stages;
  p.stem = s.stem;
  p.linearStem = s.linearStem;
  p.temporal = s.temporalChannels;
  if (s.temporalChannels < 0 || (s.temporalChannels > 0 && (s.frames < 2 || s.stem == 1)))
    throw InvalidArgument(k + ": temporal stem channels need several frames (--frames) and a " +
                          "stem (--stem 2, 4 or 8)");
  if (s.linearStem && s.stem == 1)
    throw InvalidArgument(k + ": a linear stem needs a stem (--stem 2, 4 or 8)");
  p.latent = s.latent;
  p.skips = s.skips;
  p.residual = s.residual;
  planSegmentation(s, p, k);
  for (int l = 0; l <= s.stages; ++l)
    p.ch.push_back(int(std::min<long long>(static_cast<long long>(s.width0) << l, s.maxChannels)));
}

Plan makePlan(const ArchSpec& s) {
  Plan p;
  p.kind = s.kind;
  const std::string k = archKindName(s.kind);
  if (s.channels < 1 || s.height < 1 || s.width < 1)
    throw InvalidArgument(k + ": the input shape must be positive, got " +
                          std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                          std::to_string(s.width));
  if (s.frames < 1 || s.frames > 16)
    throw InvalidArgument(k + ": frames must be between 1 and 16, got " + std::to_string(s.frames));
  if (s.frames > 1 && s.kind != ArchKind::Conv)
    throw InvalidArgument(k + ": several input frames (--frames) are for the conv architecture");
  if (s.segWidth != 0 && s.kind != ArchKind::Conv)
    throw InvalidArgument(k + ": a segmentation head is for the single-frame conv architecture");
  p.C = s.channels;
  p.frames = s.frames;
  p.H = s.height;
  p.W = s.width;
  p.D = s.channels * s.height * s.width;
  p.seed = s.seed;
  if (s.kind == ArchKind::Pca) {
    planPca(s, p);
    return p;
  }
  p.hidden = parseActivation(s.activation, "hidden");
  p.out = parseActivation(s.output, "output");
  if (p.dense())
    planDense(s, p, k);
  else
    planConv(s, p, k);
  requireUndercomplete(s, p, k);
  return p;
}

// The output layer of a residual model (a conv, or the stem's transposed conv): initialised to
// zero, so the model starts as the identity however often initialize() runs (the Rng advances as
// for a plain layer).
template <class Base>
class ZeroInit : public Base {
 public:
  using Base::Base;
  void initialize(nn::Rng& rng) override {
    Base::initialize(rng);
    std::fill(this->w_, this->w_ + this->numParams(), nn::Scalar(0));
  }
};

// The current frame of a temporal model's input (the first C of its frames x C channels) as a
// 1x1 convolution with fixed weights: the residual then adds the current frame alone, and the
// exported graph needs no op beyond those every inference backend of cae runs (a Slice would).
// Its weight gradient is always zero and weight decay leaves it out (objective.cpp), so
// training never moves it.
class CurrentFrame : public nn::Conv2d {
 public:
  CurrentFrame(int channels, int frames) : nn::Conv2d(optionsFor(channels, frames)) {}
  void initialize(nn::Rng& /*rng*/) override {
    const int in = options().inChannels, out = options().outChannels;
    std::fill(w_, w_ + numParams(), nn::Scalar(0));
    for (int c = 0; c < out; ++c) w_[std::size_t(c) * std::size_t(in) + std::size_t(c)] = 1;
  }
  void gradient(const nn::Inputs& /*in*/, const nn::Tensor& /*out*/,
                const nn::Tensor& /*dOut*/) override {
    std::fill(dw_, dw_ + numParams(), nn::Scalar(0));
  }

 private:
  static nn::Conv2dOptions optionsFor(int channels, int frames) {
    nn::Conv2dOptions o;
    o.inChannels = channels * frames;
    o.outChannels = channels;
    o.kernel = 1;
    o.bias = false;
    return o;
  }
};

std::unique_ptr<nn::Conv2d> conv(int in, int out, int kernel, int stride, bool zeroInit = false) {
  nn::Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = kernel;
  o.stride = stride;
  o.padding = kernel / 2;
  if (zeroInit) return std::make_unique<ZeroInit<nn::Conv2d>>(o);
  return std::make_unique<nn::Conv2d>(o);
}

std::unique_ptr<nn::ConvTranspose2d> upconv(int in, int out) {
  nn::ConvTranspose2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = 4;
  o.stride = 2;
  o.padding = 1;
  return std::make_unique<nn::ConvTranspose2d>(o);
}

// A stem: kernel = stride = s, no padding (a learned pixel-unshuffle, or its inverse).
std::unique_ptr<nn::Conv2d> stemDown(int in, int out, int s) {
  nn::Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = s;
  o.stride = s;
  o.padding = 0;
  return std::make_unique<nn::Conv2d>(o);
}

std::unique_ptr<nn::ConvTranspose2d> stemUp(int in, int out, int s, bool zeroInit) {
  nn::ConvTranspose2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = s;
  o.stride = s;
  o.padding = 0;
  if (zeroInit) return std::make_unique<ZeroInit<nn::ConvTranspose2d>>(o);
  return std::make_unique<nn::ConvTranspose2d>(o);
}

// Appends the activation after node `from` (nothing for linear); returns the activated node.
int addAct(Model& m, Act a, int from, const std::string& name) {
  switch (a) {
    case Act::Linear:
      return from;
    case Act::ReLU:
      return m.add(std::make_unique<nn::ReLU>(), {from}, name);
    case Act::LeakyReLU:
      return m.add(std::make_unique<nn::LeakyReLU>(), {from}, name);
    case Act::Sigmoid:
      return m.add(std::make_unique<nn::Sigmoid>(), {from}, name);
    case Act::Tanh:
      return m.add(std::make_unique<nn::Tanh>(), {from}, name);
  }
  return from;
}

std::string nm(const char* prefix, int k, const char* suffix = "") {
  return prefix + std::to_string(k) + suffix;
}

struct Encoded {
  int code = -1, codePre = -1, mu = -1, logvar = -1, sampling = -1;
  std::vector<int> skips;  // conv: encoder features at levels 0..stages-1
};

// full: the whole VAE (logvar head and Sampling); otherwise a VAE encoder stops at mu.
Encoded denseEncoder(Model& m, const Plan& p, bool full) {
  Encoded e;
  int x = m.add(std::make_unique<nn::Flatten>(), {Model::kInput}, "flatten");
  const int n = int(p.sizes.size()) - 1;
  const int hidden = p.vae() ? n - 1 : n;
  int pre = x;
  for (int k = 0; k < hidden; ++k) {
    pre = m.add(std::make_unique<nn::Dense>(p.sizes[k], p.sizes[k + 1]), {x}, nm("enc", k));
    x = addAct(m, p.hidden, pre, nm("enc", k, "_act"));
  }
  if (!p.vae()) {
    e.codePre = pre;
    e.code = x;
    return e;
  }
  e.mu = m.add(std::make_unique<nn::Dense>(p.sizes[n - 1], p.sizes[n]), {x}, "mu");
  if (!full) return e;
  e.logvar = m.add(std::make_unique<nn::Dense>(p.sizes[n - 1], p.sizes[n]), {x}, "logvar");
  e.sampling = m.add(std::make_unique<nn::Sampling>(p.seed), {e.mu, e.logvar}, "sampling");
  e.code = e.sampling;
  return e;
}

int denseDecoder(Model& m, const Plan& p, int from) {
  const int n = int(p.sizes.size()) - 1;
  int x = from;
  for (int k = 0; k < n; ++k) {
    x = m.add(std::make_unique<nn::Dense>(p.sizes[n - k], p.sizes[n - k - 1]), {x}, nm("dec", k));
    x = k < n - 1 ? addAct(m, p.hidden, x, nm("dec", k, "_act")) : addAct(m, p.out, x, "out_act");
  }
  return m.add(std::make_unique<nn::Reshape>(p.C, p.H, p.W), {x}, "reshape");
}

Encoded convEncoder(Model& m, const Plan& p, bool full) {
  Encoded e;
  int x = Model::kInput, cin = p.inChannels(), k = 0, pre = x;
  if (p.stem > 1) {
    pre = m.add(stemDown(cin, p.ch[0] + p.temporal, p.stem), {x}, "stem");
    x = p.linearStem ? pre : addAct(m, p.hidden, pre, "stem_act");
    cin = p.ch[0] + p.temporal;
  }
  for (int l = 0; l <= p.stages; ++l) {
    for (int d = 0; d < p.depth; ++d, ++k) {
      pre = m.add(conv(cin, p.ch[l], 3, l > 0 && d == 0 ? 2 : 1), {x}, nm("enc", k));
      x = addAct(m, p.hidden, pre, nm("enc", k, "_act"));
      cin = p.ch[l];
    }
    if (l < p.stages) e.skips.push_back(x);
  }
  if (p.vae()) {
    e.mu = m.add(conv(cin, p.latent, 1, 1), {x}, "mu");
    if (!full) return e;
    e.logvar = m.add(conv(cin, p.latent, 1, 1), {x}, "logvar");
    e.sampling = m.add(std::make_unique<nn::Sampling>(p.seed), {e.mu, e.logvar}, "sampling");
    e.code = e.sampling;
  } else if (p.latent > 0) {
    e.codePre = m.add(conv(cin, p.latent, 1, 1), {x}, "code");
    e.code = addAct(m, p.hidden, e.codePre, "code_act");
  } else {
    e.codePre = pre;
    e.code = x;
  }
  return e;
}

// skips: the encoder's features per level (empty without skips); residual: the model input.
int convDecoder(Model& m, const Plan& p, int from, const std::vector<int>& skips) {
  int x = from, k = 0;
  int cin = p.latent > 0 ? p.latent : p.ch[p.stages];
  if (p.latent > 0) {
    x = m.add(conv(cin, p.ch[p.stages], 3, 1), {x}, nm("dec", k));
    x = addAct(m, p.hidden, x, nm("dec", k++, "_act"));
    cin = p.ch[p.stages];
  }
  for (int l = p.stages; l >= 1; --l) {
    x = m.add(upconv(cin, p.ch[l - 1]), {x}, nm("dec", k));
    x = addAct(m, p.hidden, x, nm("dec", k++, "_act"));
    cin = p.ch[l - 1];
    if (!skips.empty()) {
      x = m.add(std::make_unique<nn::Concat>(), {x, skips[l - 1]}, nm("skip", l - 1));
      cin *= 2;
    }
    for (int d = 1; d < p.depth; ++d) {
      x = m.add(conv(cin, p.ch[l - 1], 3, 1), {x}, nm("dec", k));
      x = addAct(m, p.hidden, x, nm("dec", k++, "_act"));
      cin = p.ch[l - 1];
    }
  }
  if (p.stem > 1)
    x = m.add(stemUp(cin, p.C, p.stem, p.residual), {x}, "out");
  else
    x = m.add(conv(cin, p.C, 3, 1, p.residual), {x}, "out");
  if (p.residual) {
    const int current = p.frames > 1 ? m.add(std::make_unique<CurrentFrame>(p.C, p.frames),
                                             {Model::kInput}, kCurrentFrameNode)
                                     : Model::kInput;
    x = m.add(std::make_unique<nn::Add>(), {x, current}, "residual");
  }
  return addAct(m, p.out, x, "out_act");
}

// DRAEM's discriminative network, small: Concat(input, reconstruction) -> stem -> two stride-2
// stages -> two up-stages with skips -> transposed stem to one channel of logits. Returns the
// logits node.
int segmentationHead(Model& m, const Plan& p, int recon) {
  const int w = p.segWidth, s = p.segStem;
  const Act a = Act::ReLU;
  int x = m.add(std::make_unique<nn::Concat>(), {Model::kInput, recon}, "seg_in");
  x = m.add(s > 1 ? stemDown(2 * p.C, w, s) : conv(2 * p.C, w, 3, 1), {x}, "seg_stem");
  x = addAct(m, a, x, "seg_stem_act");
  const int l0 = addAct(m, a, m.add(conv(w, w, 3, 1), {x}, "seg0"), "seg0_act");
  const int l1 = addAct(m, a, m.add(conv(w, 2 * w, 3, 2), {l0}, "seg1"), "seg1_act");
  x = addAct(m, a, m.add(conv(2 * w, 4 * w, 3, 2), {l1}, "seg2"), "seg2_act");
  x = addAct(m, a, m.add(conv(4 * w, 4 * w, 3, 1), {x}, "seg3"), "seg3_act");
  x = addAct(m, a, m.add(upconv(4 * w, 2 * w), {x}, "seg_up1"), "seg_up1_act");
  x = m.add(std::make_unique<nn::Concat>(), {x, l1}, "seg_skip1");
  x = addAct(m, a, m.add(conv(4 * w, 2 * w, 3, 1), {x}, "seg4"), "seg4_act");
  x = addAct(m, a, m.add(upconv(2 * w, w), {x}, "seg_up0"), "seg_up0_act");
  x = m.add(std::make_unique<nn::Concat>(), {x, l0}, "seg_skip0");
  x = addAct(m, a, m.add(conv(2 * w, w, 3, 1), {x}, "seg5"), "seg5_act");
  if (s > 1) return m.add(stemUp(w, 1, s, false), {x}, "seg_logits");
  return m.add(conv(w, 1, 3, 1), {x}, "seg_logits");
}

Encoded encoder(Model& m, const Plan& p, bool full) {
  return p.dense() ? denseEncoder(m, p, full) : convEncoder(m, p, full);
}

}  // namespace

std::string archKindName(ArchKind k) {
  switch (k) {
    case ArchKind::Dense:
      return "dense";
    case ArchKind::Conv:
      return "conv";
    case ArchKind::DenseVae:
      return "dense-vae";
    case ArchKind::ConvVae:
      return "conv-vae";
    case ArchKind::Pca:
      return "pca";
    case ArchKind::Codec:
      return "codec";
    case ArchKind::AudioMask:
      return "audio-mask";
  }
  return "?";
}

void copyWeightsByName(const Model& src, Model& dst) {
  if (!src.compiled()) throw InvalidArgument("the trained model is not compiled");
  for (int i = 1; i < dst.numNodes(); ++i) {
    const Model::Node& d = dst.node(i);
    const std::size_t n = d.layer->numParams();
    if (n == 0) continue;
    const int j = src.findNode(d.name);
    if (j < 0)
      throw InvalidArgument("the trained model has no layer '" + d.name +
                            "': it was not built from this architecture");
    const Model::Node& s = src.node(j);
    if (s.layer->type() != d.layer->type() || s.layer->numParams() != n)
      throw InvalidArgument("layer '" + d.name + "' of the trained model (" + s.layer->type() +
                            ", " + std::to_string(s.layer->numParams()) +
                            " parameters) does not match this architecture (" + d.layer->type() +
                            ", " + std::to_string(n) + ")");
    dst.params().segment(Eigen::Index(d.paramOffset), Eigen::Index(n)) =
        src.params().segment(Eigen::Index(s.paramOffset), Eigen::Index(n));
  }
}

void validate(const ArchSpec& spec) {
  if (spec.kind == ArchKind::Codec)
    validateCodec(spec);
  else if (spec.kind == ArchKind::AudioMask)
    validateAudioMask(spec);
  else
    makePlan(spec);
}

nn::Shape codeShape(const ArchSpec& spec) {
  if (spec.kind == ArchKind::Codec) return codecLatentShape(spec);
  if (spec.kind == ArchKind::AudioMask) return {1, spec.latent, 1, 1};
  return codeShapeOf(makePlan(spec));
}

CodeSize codeSize(const ArchSpec& spec) {
  if (spec.kind == ArchKind::AudioMask)
    return {std::size_t(spec.latent),
            std::size_t(spec.channels) * std::size_t(spec.height) * std::size_t(spec.width)};
  if (spec.kind == ArchKind::Codec)
    return {codecLatentShape(spec).perSample(),
            std::size_t(spec.channels) * std::size_t(spec.height) * std::size_t(spec.width)};
  ArchSpec allowed = spec;  // the sizes of any valid spec, undercomplete or not
  allowed.allowOvercomplete = true;
  return codeSizeOf(makePlan(allowed));
}

BuiltModel buildAutoencoder(const ArchSpec& spec) {
  if (spec.kind == ArchKind::Codec) return buildCodec(spec);
  if (spec.kind == ArchKind::AudioMask) return buildAudioMask(spec);
  const Plan p = makePlan(spec);
  BuiltModel b{Model({1, p.inChannels(), p.H, p.W})};
  const Encoded e = encoder(b.model, p, true);
  b.code = e.code;
  b.codePre = e.codePre;
  b.mu = e.mu;
  b.logvar = e.logvar;
  b.sampling = e.sampling;
  if (p.dense()) {
    denseDecoder(b.model, p, e.code);
  } else {
    const int out = convDecoder(b.model, p, e.code, p.skips ? e.skips : std::vector<int>{});
    if (p.segWidth > 0) {
      // The reconstruction under its own name: the decoder's last node may be an activation.
      b.reconstruction = out;
      b.segLogits = segmentationHead(b.model, p, out);
      b.model.add(std::make_unique<nn::Sigmoid>(), {b.segLogits}, "seg_prob");
    }
  }
  b.model.compile();
  b.model.initialize(p.seed);
  return b;
}

nn::Model extractEncoder(const ArchSpec& spec, const BuiltModel& trained) {
  if (spec.kind == ArchKind::Codec) return codecAnalysis(spec, trained);
  const Plan p = makePlan(spec);
  Model m({1, p.inChannels(), p.H, p.W});
  const Encoded e = encoder(m, p, false);
  m.setOutput(p.vae() ? e.mu : e.code);
  m.compile();
  copyWeightsByName(trained.model, m);
  return m;
}

nn::Model extractDecoder(const ArchSpec& spec, const BuiltModel& trained) {
  if (spec.kind == ArchKind::Codec) return codecSynthesis(spec, trained);
  const Plan p = makePlan(spec);
  if (p.skips || p.residual)
    throw InvalidArgument(std::string("a model with ") +
                          (p.skips ? "skip connections" : "a residual output") +
                          " has no decoder alone: its decoder also reads " +
                          (p.skips ? "the encoder's features at every resolution" : "the input"));
  Model m(codeShapeOf(p));
  if (p.dense())
    denseDecoder(m, p, Model::kInput);
  else
    convDecoder(m, p, Model::kInput, {});
  m.compile();
  copyWeightsByName(trained.model, m);
  return m;
}

std::vector<ArchSpec> stackedStages(const ArchSpec& dense) {
  if (dense.kind != ArchKind::Dense)
    throw InvalidArgument("stacked pretraining needs a dense architecture, got " +
                          archKindName(dense.kind));
  const Plan p = makePlan(dense);
  if (p.sizes.size() < 3)
    throw InvalidArgument("stacked pretraining needs at least two encoder layers (e.g. " +
                          std::to_string(p.D) + "-128-32), got " + joinSizes(p.sizes));
  std::vector<ArchSpec> stages;
  for (std::size_t i = 0; i + 1 < p.sizes.size(); ++i) {
    ArchSpec s = dense;
    s.dense = {p.sizes[i], p.sizes[i + 1]};
    s.latent = 0;
    if (i > 0) {
      // Stage i reconstructs the previous codes, which the deep decoder produces through the
      // hidden activation.
      s.channels = p.sizes[i];
      s.height = s.width = 1;
      s.output = dense.activation;
    }
    stages.push_back(s);
  }
  return stages;
}

void assembleStacked(const std::vector<BuiltModel>& stages, BuiltModel& full) {
  const Model& f = full.model;
  int n = 0;
  while (f.findNode(nm("enc", n)) >= 0) ++n;
  if (n < 1 || int(stages.size()) != n)
    throw InvalidArgument("assembleStacked: " + std::to_string(stages.size()) +
                          " pretrained stages for a deep model with " + std::to_string(n) +
                          " encoder layers");
  const auto misfit = [](int i, const std::string& from, const std::string& to) {
    return InvalidArgument("assembleStacked: stage " + std::to_string(i) + "'s layer '" + from +
                           "' does not fit layer '" + to + "' of the deep model");
  };
  for (int i = 0; i < n; ++i) {
    const Model& s = stages[std::size_t(i)].model;
    const std::pair<std::string, std::string> pairs[] = {{"enc0", nm("enc", i)},
                                                         {"dec0", nm("dec", n - 1 - i)}};
    for (const auto& [from, to] : pairs) {
      const int a = s.findNode(from), b = f.findNode(to);
      auto* da = a >= 0 ? dynamic_cast<const nn::Dense*>(s.node(a).layer.get()) : nullptr;
      auto* db = b >= 0 ? dynamic_cast<const nn::Dense*>(f.node(b).layer.get()) : nullptr;
      if (!da || !db || da->inFeatures() != db->inFeatures() ||
          da->outFeatures() != db->outFeatures() || da->hasBias() != db->hasBias())
        throw misfit(i, from, to);
      const auto k = Eigen::Index(da->numParams());
      full.model.params().segment(Eigen::Index(f.node(b).paramOffset), k) =
          s.params().segment(Eigen::Index(s.node(a).paramOffset), k);
    }
  }
}

}  // namespace cae::train
