#include "io/wav.hpp"

#include <sndfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"

namespace cae::io {

MonoAudio readMonoAudio(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError("cannot open sound file '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IoError("cannot open sound file '" + path + "': it is a folder");
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (f == nullptr)
    throw FormatError("cannot decode sound file '" + path + "': " + sf_strerror(nullptr));
  // Integer files read as float land in [-1, 1] (libsndfile's default normalisation).
  const int ch = info.channels;
  std::vector<float> inter(std::size_t(info.frames) * std::size_t(ch));
  const sf_count_t got = inter.empty() ? 0 : sf_readf_float(f, inter.data(), info.frames);
  sf_close(f);
  if (got <= 0 || ch < 1) throw FormatError("sound file '" + path + "' holds no samples");
  MonoAudio out;
  out.sampleRate = info.samplerate;
  out.samples.resize(std::size_t(got));
  for (std::size_t i = 0; i < out.samples.size(); ++i) {
    float s = 0;
    for (int c = 0; c < ch; ++c) s += inter[i * std::size_t(ch) + std::size_t(c)];
    out.samples[i] = s / float(ch);
  }
  return out;
}

}  // namespace cae::io
