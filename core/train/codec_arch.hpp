// The compression autoencoder of `cae-train --task compress` (ArchKind::Codec): Ballé et al.'s
// factorized-prior model ("Variational image compression with a scale hyperprior", ICLR 2018,
// the model without the hyperprior; CompressAI's FactorizedPrior):
//   analysis  g_a: `stages` convs (kernel k, stride 2) of N channels, the last to M: "ga0" ..,
//             the last named "y", with GDN (or the hidden activation, e.g. ReLU for the real-time
//             model) between them
//   "y_hat"   Quantize: y + uniform noise in training, round(y) otherwise
//   "rate"    EntropyBottleneck on y_hat: bits per latent (the rate term)
//   synthesis g_s: `stages` transposed convs (kernel k, stride 2, exact 2x upsampling) back to
//             the input's channels: "gs0" .., with IGDN (or the activation) between; output linear
// ArchSpec fields read: channels/height/width (the input), width0 (N), latent (M), stages,
// activation ("gdn" or an ordinary one), codecKernel, seed. The input's sides need not be
// multiples of 2^stages in the engine, but the codec pads frames to that multiple.
#pragma once

#include "nn/model.hpp"
#include "train/architecture.hpp"

namespace cae::train {

// InvalidArgument for a spec the codec builder cannot build (the message says which field).
void validateCodec(const ArchSpec& spec);
BuiltModel buildCodec(const ArchSpec& spec);
// {1, M, ceil(H / 2^stages), ceil(W / 2^stages)}.
nn::Shape codecLatentShape(const ArchSpec& spec);
// The two halves of a trained codec with its weights: the analysis (input -> y, unquantised) and
// the synthesis (rounded latents -> picture). Shares no memory with `trained`.
nn::Model codecAnalysis(const ArchSpec& spec, const BuiltModel& trained);
nn::Model codecSynthesis(const ArchSpec& spec, const BuiltModel& trained);

}  // namespace cae::train
