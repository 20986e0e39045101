#include "audio/resample.hpp"

#include <samplerate.h>

#include <cmath>
#include <string>

#include "error.hpp"

namespace cae::audio {

std::vector<float> resample(const std::vector<float>& in, int fromRate, int toRate) {
  if (fromRate <= 0 || toRate <= 0)
    throw InvalidArgument("resample: rates must be positive, got " + std::to_string(fromRate) +
                          " and " + std::to_string(toRate));
  if (fromRate == toRate || in.empty()) return in;
  const double ratio = double(toRate) / double(fromRate);
  const long want = std::lround(double(in.size()) * ratio);
  std::vector<float> out(std::size_t(want) + 64);
  SRC_DATA d{};
  d.data_in = in.data();
  d.input_frames = long(in.size());
  d.data_out = out.data();
  d.output_frames = long(out.size());
  d.src_ratio = ratio;
  // src_simple converts in one call with end_of_input set: the converter's look-ahead is
  // flushed, so the output is aligned with the input (no leading delay) and complete.
  const int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
  if (err != 0) throw Error(std::string("libsamplerate: ") + src_strerror(err));
  out.resize(std::size_t(d.output_frames_gen));
  out.resize(std::size_t(want), 0.0f);
  return out;
}

}  // namespace cae::audio
