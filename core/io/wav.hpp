// Sound files as mono samples, read with libsndfile (WAV and the other formats it knows).
// libsndfile stays inside wav.cpp.
#pragma once

#include <string>
#include <vector>

namespace cae::io {

struct MonoAudio {
  std::vector<float> samples;  // in [-1, 1]; channels averaged
  int sampleRate = 0;
};

// Throws IoError when the file is missing, FormatError (naming the file) when libsndfile cannot
// decode it or it holds no samples.
MonoAudio readMonoAudio(const std::string& path);

// Mono 16-bit PCM WAV (samples clipped to [-1, 1]), written to a temporary file beside path and
// renamed. IoError when it cannot be written.
void writeMonoWav(const std::string& path, const std::vector<float>& samples, int rate);

}  // namespace cae::io
