// The speech denoiser of `cae-train --task audio-denoise` (ArchKind::AudioMask): a causal
// convolutional autoencoder over spectrogram frames that outputs a bounded mask for the newest
// frame. The frequency bins are the channels and time runs along the width, so every conv sees
// only the frames it is given, the newest last (no padding, no future):
//   input     {bins, 1, K}: the log-magnitudes (audio/stft.hpp magnitudeToUnit) of the last K
//             frames, oldest first (with --noise-floor {2 bins, 1, K}: their noise floors
//             follow, audio/noise_floor.hpp)
//   "ea<i>"   conv 1x3 (bins -> width0, then width0 -> width0), ReLU, while more than 3 frames
//             are left: F frames in, F - 2 out; with timeStride 2 every second output only,
//             (F - 3) / 2 + 1 (F - 3 must be even: the last output ends on the newest frame), so
//             the same layers see contexts of 5, 11, 23 or 47 frames instead of 4, 6, 8 or 10
//             (a stream computes every output, and the strides become dilations there:
//             audio/column_net.hpp)
//   "code"    conv 1xT over the T frames left (width0 -> latent), ReLU: one code per step
//   "da<d>"   conv 1x1 (latent -> width0, then width0 -> width0), ReLU, decoderLayers of them
//   "mask"    conv 1x1 (width0 -> bins), Sigmoid
//   output    {bins, 1, 1}: the gain of each bin of the newest frame, in [0, 1]
// With timeOutputs L > 1 (training on L frames at once, cae-train --sequence) the input is
// {C, 1, K + L - 1} and the output {bins, 1, L}: the masks of the L newest frames, each from the
// K frames that end at it. Every conv then has stride 1, and conv i (the code conv last) the
// dilation timeStride^i, so that output j computes exactly what the deployed form (L = 1)
// computes from frames j .. j + K - 1, with the same parameters in the same order.
// ArchSpec fields read: channels (input rows), outChannels (bins; 0: channels), width (K >= 3),
// width0, latent, timeStride, timeOutputs, decoderLayers, seed.
#pragma once

#include "nn/model.hpp"
#include "train/architecture.hpp"

namespace cae::train {

// InvalidArgument for a spec the builder cannot build (the message says which option).
void validateAudioMask(const ArchSpec& spec);
BuiltModel buildAudioMask(const ArchSpec& spec);
// The deployed form (timeOutputs 1: K frames in, the newest masked) of a model built from spec
// (any timeOutputs), with its parameters: what cae-train writes to the model file.
BuiltModel deployedAudioMask(const ArchSpec& spec, const nn::Model& trained);

}  // namespace cae::train
