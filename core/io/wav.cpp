#include "io/wav.hpp"

#include <sndfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
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

void writeMonoWav(const std::string& path, const std::vector<float>& samples, int rate) {
  const std::string tmp = path + ".part";
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(tmp.c_str(), SFM_WRITE, &info);
  if (f == nullptr) throw IoError("cannot write '" + path + "': " + sf_strerror(nullptr));
  // Clip before libsndfile's float-to-int conversion (it would wrap values beyond full scale).
  sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  const sf_count_t put = sf_writef_float(f, samples.data(), sf_count_t(samples.size()));
  sf_close(f);
  if (put != sf_count_t(samples.size()) || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IoError("cannot write '" + path + "'");
  }
}

}  // namespace cae::io
