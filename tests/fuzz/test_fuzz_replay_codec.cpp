// Replays the codec fuzz corpus (tests/fuzz/corpus-codec: the seeds, every input that once
// crashed, the coverage libFuzzer found) through the fuzz target's entry point, built without
// libFuzzer; a crash or an escaping exception fails the suite. The seeds are real frames and
// payloads, made here: CAE_FUZZ_WRITE_SEEDS=DIR writes them to DIR for scripts/fuzz.sh.
#define BOOST_TEST_MODULE fuzz_replay_codec
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "codec/bitstream.hpp"
#include "codec/latents.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern int caeFuzzDecoded;  // inputs decoded to the end without a refusal

namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(CAE_TEST_DATA).parent_path() / "fuzz" / "corpus-codec";

// The fuzz target's tables (fuzz_codec.cpp), rebuilt: Laplacians, channel c half-width 1 + 3c.
std::vector<cae::codec::CdfTable> targetTables(int channels) {
  std::vector<cae::codec::CdfTable> v;
  for (int c = 0; c < channels; ++c) {
    const int half = 1 + 3 * c;
    std::vector<double> p;
    for (int i = -half; i <= half; ++i) p.push_back(std::exp(-std::abs(i) / (0.3 + c)));
    v.push_back(cae::codec::quantizeCdf(p, 1e-4, -half));
  }
  return v;
}

std::vector<std::int32_t> latents(std::size_t n, std::mt19937& g) {
  std::vector<std::int32_t> q(n);
  for (auto& v : q) v = std::int32_t(g() % 9) - 4 + (g() % 40 == 0 ? 1000 : 0);
  return q;
}

// Frames of a few picture sizes, and bare payloads with their shape bytes; each with the route
// byte of fuzz_codec.cpp in front.
std::vector<std::vector<std::uint8_t>> seeds() {
  std::mt19937 g(1);
  std::vector<std::vector<std::uint8_t>> out;
  for (auto [w, h] : {std::pair{16, 16}, std::pair{33, 17}, std::pair{64, 48}}) {
    const cae::codec::LatentShape s = cae::codec::latentShapeFor(w, h, 16, 8);
    const auto payload = cae::codec::encodeLatents(latents(s.size(), g), s, targetTables(8));
    std::vector<std::uint8_t> f{0};
    const auto frame = cae::codec::writeFrame({w % 2 ? 1 : 3, 0, w, h, 0xc0dec}, payload);
    f.insert(f.end(), frame.begin(), frame.end());
    out.push_back(f);
  }
  for (int k = 0; k < 4; ++k) {
    const cae::codec::LatentShape s{1 + k * 2, 1 + k * 5, 3 + k * 7};
    std::vector<std::uint8_t> f{1, std::uint8_t(s.channels - 1), std::uint8_t(s.height - 1),
                                std::uint8_t(s.width - 1)};
    const auto payload =
        cae::codec::encodeLatents(latents(s.size(), g), s, targetTables(s.channels));
    f.insert(f.end(), payload.begin(), payload.end());
    out.push_back(f);
  }
  // A model's tables as text: two of the target's own.
  const std::string text = cae::codec::formatTables(targetTables(2));
  std::vector<std::uint8_t> t{2};
  t.insert(t.end(), text.begin(), text.end());
  out.push_back(t);
  return out;
}

int feed(const std::vector<std::uint8_t>& b) { return LLVMFuzzerTestOneInput(b.data(), b.size()); }

std::string readBytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_seeds_decode_to_the_end) {
  const auto s = seeds();
  const int before = caeFuzzDecoded;
  for (const auto& b : s) BOOST_TEST(feed(b) == 0);
  BOOST_TEST(caeFuzzDecoded - before == int(s.size()));
  if (const char* dir = std::getenv("CAE_FUZZ_WRITE_SEEDS")) {
    fs::create_directories(dir);
    for (std::size_t i = 0; i < s.size(); ++i)
      std::ofstream(fs::path(dir) / ("seed-" + std::to_string(i)), std::ios::binary)
          .write(reinterpret_cast<const char*>(s[i].data()), std::streamsize(s[i].size()));
  }
}

BOOST_AUTO_TEST_CASE(every_corpus_input_decodes_or_is_refused_without_a_crash) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kCorpus))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    BOOST_TEST_CHECKPOINT("replaying " << p.string());
    const std::string b = readBytes(p);
    BOOST_TEST(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()) ==
               0);
  }
  BOOST_TEST_MESSAGE("replayed " << files.size() << " corpus inputs");
  BOOST_TEST(files.size() >= 8u);  // the seeds alone; an empty folder would prove nothing
}
