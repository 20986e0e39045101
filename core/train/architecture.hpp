// The autoencoder architectures cae-train builds, from a spec the CLI fills in. Every builder
// returns the whole autoencoder plus the node ids the objectives need (the code, the VAE's mu and
// logvar, the dense encoder's pre-activation), so regularizers can seed Model::backward there.
//   Deep dense autoencoders: Hinton & Salakhutdinov, "Reducing the dimensionality of data with
//   neural networks", Science 2006. U-Net skips: Ronneberger et al., MICCAI 2015. VAEs: Kingma &
//   Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
//
// Node names are fixed by role ("enc0", "code", "mu", "logvar", "sampling", "dec3", ...) and are
// the same in the full model and in extractEncoder()/extractDecoder(), which copy weights by them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/model.hpp"

namespace cae::train {

enum class ArchKind {
  Dense,      // layer sizes, e.g. 784-128-32-128-784; the middle size is the code
  Conv,       // strided conv encoder, transposed-conv decoder, optional skips / residual output
  DenseVae,   // dense encoder → (mu, logvar) → Sampling → dense decoder
  ConvVae,    // conv encoder → 1×1 convs to (mu, logvar) maps → Sampling → conv decoder
  Pca,        // linear encoder/decoder whose weights come from an SVD, not from training
  Codec,      // compression: analysis, quantiser, entropy model, synthesis (train/codec_arch.hpp)
  AudioMask,  // speech denoiser: causal convs over spectrogram frames to a mask (audio_arch.hpp)
};

struct ArchSpec {
  ArchKind kind = ArchKind::Conv;
  int channels = 1, height = 64, width = 64;  // input sample shape
  int outChannels = 0;  // AudioMask: the mask's bins, when the input has more rows (0: channels)
  // Dense / DenseVae: sizes from input to code, e.g. {784, 128, 32}; the decoder mirrors them.
  std::vector<int> dense;
  // Conv / ConvVae: `depth` 3×3 convs per stage, `stages` stride-2 downsamplings, `width0`
  // channels at full resolution doubling per stage up to `maxChannels`.
  int depth = 2, stages = 2, width0 = 32, maxChannels = 128;
  // Conv: a stem of factor s (1, 2, 4 or 8) runs the whole network at 1/s resolution: a first
  // conv with kernel = stride = s (a learned pixel-unshuffle) and a last transposed conv with
  // kernel = stride = s back to full resolution (replacing the final 3×3 conv). Cheap
  // real-time denoisers (FFDNet-style, Zhang et al., IEEE TIP 2018). 1: none.
  int stem = 1;
  // The stem conv without an activation: a linear (information-preserving) unshuffle. A ReLU
  // there keeps only half of each s×s block's detail when the stem has few channels.
  bool linearStem = false;
  bool skips = false;     // U-Net style Concat from encoder to decoder at each resolution
  bool residual = false;  // output = input + model (denoisers)
  // Conv: temporal models. The input is `frames` frames of `channels` channels stacked along the
  // channel axis (the current frame first, then the older ones); the output is one frame of
  // `channels` channels, and a residual output adds the current frame only. 1: single frames.
  int frames = 1;
  // Temporal models with a stem: this many more stem channels, read by the first encoder conv.
  // They give the older frames features of their own: a model started from a single-frame one
  // (warm_start.hpp) keeps its stem channels for the current frame, and the new ones (their
  // weights into the encoder starting at zero) learn what the other frames add.
  int temporalChannels = 0;
  int latent = 0;  // Pca: components; ConvVae: latent channels; Dense: = dense.back()
  // Hidden layers and the code: relu | leaky_relu | sigmoid | tanh | linear (= none). A dense
  // "linear" autoencoder (hidden and output linear) spans the same subspace as PCA.
  std::string activation = "relu";
  std::string output = "linear";  // linear | sigmoid (also relu | leaky_relu | tanh)
  // Accept a code at least as large as the input (sparse or denoising overcomplete models);
  // otherwise that is an error for every kind (see CodeSize), since the bottleneck is what makes
  // a plain autoencoder learn anything other than the identity.
  bool allowOvercomplete = false;
  // Conv anomaly models: a discriminative segmentation head (DRAEM, Zavrtanik et al., "DRAEM - A
  // discriminatively trained reconstruction embedding for surface anomaly detection", ICCV 2021)
  // of this base width reads the input and the autoencoder's reconstruction side by side
  // (Concat) and outputs the per-pixel anomaly probability (1 channel, Sigmoid): the model's
  // output. The head: a stem (k = s = segStem) to 1/segStem resolution, a small U-Net of two
  // stride-2 stages (width, 2 width, 4 width) with skips, and a transposed stem back to full
  // resolution. 0: none (the model outputs its reconstruction).
  int segWidth = 0;
  int segStem = 2;  // 1, 2 or 4
  // Codec: the kernel of its strided convs and transposed convs (5 as Ballé et al.; 3 for the
  // real-time model).
  int codecKernel = 5;
  // Codec: the quantiser's training proxy. "noise": y + U(-1/2, 1/2) for the synthesis and the
  // rate (Ballé et al. 2017); "ste": round(y) for both, the gradient passed straight through;
  // "mixed": round(y) with the straight-through gradient for the synthesis and y + noise for
  // the rate (Minnen & Singh, "Channel-wise autoregressive entropy models", ICIP 2020), so the
  // decoder trains on what it will decode.
  std::string codecQuantize = "mixed";
  // AudioMask: the stride along time of its "ea" convs (1 or 2). With 2 each reads every second
  // column of the one before, so the code sees about 2^depth more frames for the same work per
  // frame in a stream, where the strides become dilations (audio/column_net.hpp).
  int timeStride = 1;
  // AudioMask: the frames it masks per sample (cae-train --sequence). 1: the deployed form, K
  // frames in and the newest masked. L > 1: K + L - 1 frames in and the L newest masked, the
  // strides written as dilations (every output computed, as a stream computes them), with the
  // same layers and parameters as the deployed form, which exportTrained() writes.
  int timeOutputs = 1;
  // AudioMask: the 1x1 convs of its decoder before the mask conv (code -> width0, then width0 ->
  // width0), each with a ReLU. 1: "da0" only, as every model shipped before session 34.
  int decoderLayers = 1;
  std::uint64_t seed = 1;  // weight initialisation and the VAE's Sampling generator
};

// The node of a temporal model's residual (frames > 1) that picks the current frame out of the
// input: fixed weights, never trained or decayed.
inline constexpr const char* kCurrentFrameNode = "current";

struct BuiltModel {
  nn::Model model;
  int code = -1;             // node whose activation is the code (features, sparsity, contractive)
  int codePre = -1;          // dense encoders: the Dense node before the code's activation
  int mu = -1, logvar = -1;  // VAEs
  int sampling = -1;         // VAEs: the Sampling node (training / inference switch)
  // Models with a segmentation head (ArchSpec::segWidth): the reconstruction node and the
  // head's logits (before the output Sigmoid), where the training objective seeds its terms.
  int reconstruction = -1, segLogits = -1;
  bool segments() const { return segLogits >= 0; }
  // Codecs (ArchKind::Codec): the Quantize node the synthesis reads ("y_hat") and the
  // EntropyBottleneck's ("rate", bits per latent; it reads "y_hat", or with mixed quantisation
  // its own noisy "y_noisy"); code is the unquantised latent "y".
  int quantize = -1, rate = -1;
  bool compresses() const { return rate >= 0; }
};

// Throws InvalidArgument with a message a CLI user understands (e.g. "dense sizes must start
// with the input size 784", "the code (1024) is not smaller than the input (784): not an
// undercomplete autoencoder", "the code (128x16x16 = 32768 values) is not smaller than ...").
// The model comes back compiled and initialised from spec.seed; output shape == input shape,
// except with a segmentation head (segWidth > 0): 1 x H x W, the anomaly probability.
//   Dense:   Flatten, Dense+act per encoder size (the last is the code: codePre = its Dense,
//            code = its activation, or the Dense itself for a linear code), the decoder mirrored,
//            output activation, Reshape to C×H×W.
//   Conv:    per resolution `depth` 3×3 convs (the first of stages ≥ 1 has stride 2); with
//            latent > 0 a 1×1 conv to `latent` channels is the code, else the deepest features
//            are. Decoder: ConvTranspose2d k4 s2 p1 per stage, optional Concat of the encoder's
//            features at that resolution, depth−1 3×3 convs, a final 3×3 conv to C channels.
//            stem > 1: the input first passes a stem conv (k = s = stem) + activation, and the
//            final layer is a transposed conv (k = s = stem) instead of the 3×3 conv.
//            residual: output = input + that conv, whose weights initialise to zero so the
//            model starts as the identity (even when initialize() is called again).
//            frames > 1: the input has frames x C channels and the output C; the residual
//            adds the current frame, picked by a fixed 1x1 conv named "current" (no gradient).
//   DenseVae / ConvVae: the same encoders ending in mu and logvar heads (Dense; 1×1 Conv2d),
//            Sampling (code = sampling), the same decoders (ConvVae: a 3×3 conv from the latent).
//   Pca:     the linear Dense autoencoder D→K→D (Pca::toModel() fills in its weights).
//   segWidth > 0 (Conv only): the conv autoencoder's output ("out", or its activation) is the
//            reconstruction,
//            then Concat(input, recon) -> the head (nodes "seg*") -> "seg_logits" -> Sigmoid.
BuiltModel buildAutoencoder(const ArchSpec& spec);

// Checks a spec without building it; throws what buildAutoencoder() would.
void validate(const ArchSpec& spec);

// The code's per-sample shape {1, C, H, W} (dense: {1, K, 1, 1}): the decoder's input.
nn::Shape codeShape(const ArchSpec& spec);

// The undercomplete rule, one for dense and conv autoencoders and their VAEs: the code holds
// fewer values (dense: units; conv: channels x height x width) than the input (C x H x W).
// buildAutoencoder() and validate() refuse a spec that breaks it unless allowOvercomplete.
// U-Net skips are not counted: they bypass the code (describe() says so).
struct CodeSize {
  std::size_t code = 0, input = 0;
  bool undercomplete() const { return code < input; }
};
// The sizes of a spec that is valid but for the rule itself; InvalidArgument otherwise.
CodeSize codeSize(const ArchSpec& spec);

// "conv", "dense-vae", "audio-mask" ... as --arch spells the kind.
std::string archKindName(ArchKind k);

// A summary for the trainer's banner: one line per layer (name, type, output shape, parameters),
// then the parameter count, FLOPs per sample and the code size against the input size.
std::string describe(const ArchSpec& spec);
// Multiply-adds counted as 2 FLOPs, element-wise layers as 1 per element, for one sample of the
// model's input shape.
double flopsPerSample(const nn::Model& model);

// The encoder alone (input → code, or → mu for VAEs) with weights copied from a trained model:
// what `--task features` exports. Shares no memory with `trained`.
nn::Model extractEncoder(const ArchSpec& spec, const BuiltModel& trained);
// The decoder alone (code → output) with weights copied: what `cae-train sample` runs. Its input
// has codeShape(spec). InvalidArgument for skips or residual models, whose decoder also reads
// the encoder's features or the input.
nn::Model extractDecoder(const ArchSpec& spec, const BuiltModel& trained);

// Copies the weights of every layer of dst from the layer of the same name in src.
// InvalidArgument when src lacks one or it differs in type or size.
void copyWeightsByName(const nn::Model& src, nn::Model& dst);

// Stacked autoencoders, trained by greedy layer-wise pretraining (Bengio et al., "Greedy
// layer-wise training of deep networks", NIPS 2007; Hinton & Salakhutdinov 2006), then fine-tuned
// end to end.
// The shallow Dense autoencoders d0→d1→d0, d1→d2→d1, ... of a Dense spec {d0, d1, ..., dn}:
// stage 0 has the spec's input shape and output activation; stage i ≥ 1 reads the codes of stage
// i−1's encoder ({d_i, 1, 1}) and reconstructs them through the hidden activation, as the deep
// decoder does.
std::vector<ArchSpec> stackedStages(const ArchSpec& dense);
// Copies each pretrained stage's encoder and decoder Dense weights into the matching layers of
// the deep model (built from the Dense spec those stages came from). InvalidArgument when the
// stages do not fit it.
void assembleStacked(const std::vector<BuiltModel>& stages, BuiltModel& full);

}  // namespace cae::train
