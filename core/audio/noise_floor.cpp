#include "audio/noise_floor.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "error.hpp"
#include "onnx/metadata.hpp"

namespace cae::audio {

namespace {

std::string shortest(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string formatNoiseFloor(const NoiseFloorOptions& o) {
  return shortest(o.smooth) + ":" + shortest(o.rise);
}

NoiseFloorOptions parseNoiseFloor(const std::string& text) {
  const std::size_t colon = text.find(':');
  NoiseFloorOptions o;
  const auto whole = [&](std::size_t from, std::size_t to, float& v) {
    const auto r = std::from_chars(text.data() + from, text.data() + to, v);
    return r.ec == std::errc() && r.ptr == text.data() + to && from < to;
  };
  if (colon == std::string::npos || !whole(0, colon, o.smooth) ||
      !whole(colon + 1, text.size(), o.rise) || !(o.smooth >= 0 && o.smooth < 1) ||
      !(o.rise > 0 && std::isfinite(o.rise)))
    throw FormatError(std::string(onnx::key::kNoiseFloor) + " '" + text +
                      "' is not SMOOTH:RISE with 0 <= SMOOTH < 1 and RISE > 0");
  return o;
}

NoiseFloorOptions envelopeOptions(float smooth) {
  if (!(smooth >= 0 && smooth < 1))
    throw InvalidArgument("envelope: needs 0 <= smooth < 1, got " + shortest(smooth));
  return {smooth, std::numeric_limits<float>::infinity()};
}

std::string formatEnvelope(float smooth) { return shortest(smooth); }

float parseEnvelope(const std::string& text) {
  float v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
      !(v >= 0 && v < 1))
    throw FormatError(std::string(onnx::key::kEnvelope) + " '" + text +
                      "' is not SMOOTH with 0 <= SMOOTH < 1");
  return v;
}

NoiseFloor::NoiseFloor(int bins, NoiseFloorOptions o)
    : o_(o), smooth_(std::size_t(std::max(bins, 0))), floor_(smooth_.size()) {
  if (bins < 1) throw InvalidArgument("noise floor: bins must be positive");
  if (!(o.smooth >= 0 && o.smooth < 1) || !(o.rise > 0))
    throw InvalidArgument("noise floor: needs 0 <= smooth < 1 and rise > 0");
}

void NoiseFloor::update(const float* x, float* floor) {
  const std::size_t n = floor_.size();
  if (!started_) {
    std::copy(x, x + n, smooth_.begin());
    std::copy(x, x + n, floor_.begin());
    started_ = true;
  } else {
    const float a = o_.smooth;
    for (std::size_t f = 0; f < n; ++f) {
      const float s = smooth_[f] = a * smooth_[f] + (1 - a) * x[f];
      floor_[f] = std::min(s, floor_[f] + o_.rise);
    }
  }
  std::copy(floor_.begin(), floor_.end(), floor);
}

}  // namespace cae::audio
