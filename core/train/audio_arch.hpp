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
//   "da0"     conv 1x1 (latent -> width0), ReLU; "mask" conv 1x1 (width0 -> bins), Sigmoid
//   output    {bins, 1, 1}: the gain of each bin of the newest frame, in [0, 1]
// ArchSpec fields read: channels (input rows), outChannels (bins; 0: channels), width (K >= 3),
// width0, latent, timeStride, seed.
#pragma once

#include "nn/model.hpp"
#include "train/architecture.hpp"

namespace cae::train {

// InvalidArgument for a spec the builder cannot build (the message says which option).
void validateAudioMask(const ArchSpec& spec);
BuiltModel buildAudioMask(const ArchSpec& spec);

}  // namespace cae::train
