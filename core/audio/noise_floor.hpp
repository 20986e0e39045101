// A running noise-floor estimate per frequency bin, for the speech denoiser's second input plane
// (cae-train --task audio-denoise --noise-floor; metadata cae.noise_floor). The denoiser reads
// only the last K frames (64 ms for the shipped model): too short to tell a steady noise from
// a vowel. The floor carries the longer past: per bin, the log-magnitude (audio/stft.hpp
// magnitudeToUnit) is smoothed over time, s = a s + (1 - a) x, and the floor follows s down at
// once and up by at most `rise` per frame, the minimum tracking of Doblinger (Eurospeech 1995)
// in its simplest form. Written here: no Debian library tracks a noise floor. The floor starts
// at the first frame it sees (after reset too), and both trainer and element run this same
// code on every whole frame (the element skips the first n / hop - 1 frames of a stream, which
// are mostly the silence before it), so the model reads the same values in both.
//
// With no limit on the rise (envelopeOptions) the same tracker gives the envelope: the
// log-magnitude smoothed over a few hundred milliseconds (cae-train --envelope, cae.envelope), a
// third input plane that tells a denoiser what each bin held over the last syllables, where the
// floor (the quietest) and the K frames (the last 64 ms) do not.
//
//   cae::audio::NoiseFloor nf(257, {0.7f, 7.4e-4f});
//   nf.update(unitMagnitudes, floor);   // every frame, bins values each
//   cae::audio::NoiseFloor env(257, cae::audio::envelopeOptions(0.95f));
#pragma once

#include <string>
#include <vector>

namespace cae::audio {

struct NoiseFloorOptions {
  float smooth = 0.7f;  // a in s = a s + (1 - a) x, 0 <= a < 1
  // Most the floor rises per frame, in magnitudeToUnit units: about 10 dB/s at 125 frames/s
  // (one unit is about 108 dB of magnitude at the levels speech has).
  float rise = 7.4e-4f;
};

// "SMOOTH:RISE", e.g. "0.7:0.00074" (exact: std::to_chars), for metadata.
std::string formatNoiseFloor(const NoiseFloorOptions& o);
// FormatError unless two numbers with 0 <= SMOOTH < 1 and RISE > 0.
NoiseFloorOptions parseNoiseFloor(const std::string& text);

// The envelope: s = smooth s + (1 - smooth) x followed at once both ways (rise unlimited).
// InvalidArgument unless 0 <= smooth < 1.
NoiseFloorOptions envelopeOptions(float smooth);
// "SMOOTH", e.g. "0.95" (exact), for metadata; parse: FormatError unless one number in [0, 1).
std::string formatEnvelope(float smooth);
float parseEnvelope(const std::string& text);

class NoiseFloor {
 public:
  NoiseFloor(int bins, NoiseFloorOptions o);
  int bins() const { return int(floor_.size()); }
  const NoiseFloorOptions& options() const { return o_; }
  // x: the newest frame's bins values; floor: bins values out (may alias x).
  void update(const float* x, float* floor);
  void reset() { started_ = false; }

 private:
  NoiseFloorOptions o_;
  std::vector<float> smooth_, floor_;
  bool started_ = false;
};

}  // namespace cae::audio
