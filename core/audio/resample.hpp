// Sample-rate conversion through libsamplerate (Debian's libsamplerate0; its band-limited sinc
// converter), for sounds whose rate differs from a model's: training speech and noise, test
// signals. libsamplerate stays inside resample.cpp.
#pragma once

#include <vector>

namespace cae::audio {

// The whole signal converted from fromRate to toRate (both > 0, InvalidArgument otherwise;
// Error when libsamplerate fails). The output has round(size * toRate / fromRate) samples and
// no delay: sample i of the output is at the time of input sample i * fromRate / toRate.
// The same rate returns the input unchanged.
std::vector<float> resample(const std::vector<float>& in, int fromRate, int toRate);

}  // namespace cae::audio
