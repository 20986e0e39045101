// Replays the model-loader fuzz corpus (tests/fuzz/corpus: seeds, every input that once crashed,
// the coverage libFuzzer found), the shipped models and the two repro models through the fuzz
// target's entry point, built without libFuzzer. A crash or an escaping exception fails the suite.
#define BOOST_TEST_MODULE fuzz_replay
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern int caeFuzzLoadedModels;  // inputs that passed validation, loaded and ran

namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(CAE_TEST_DATA).parent_path() / "fuzz" / "corpus";
const fs::path kRepro = fs::path(CAE_TEST_DATA) / "repro";

std::string readBytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Feeds every regular file in dir (with this extension, when given); returns how many.
int replay(const fs::path& dir, const std::string& ext = "") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    // The codecs' halves (models/codec-*.onnx) and the audio models (models/audio-*.onnx) are
    // not image models: the codec fuzz target and tests/codec, and core/audio's loaders with
    // their suites (tests/train/test_audio_*, the audio elements) cover them.
    if (e.is_regular_file() && (ext.empty() || e.path().extension() == ext) &&
        e.path().filename().string().rfind("codec-", 0) != 0 &&
        e.path().filename().string().rfind("audio-", 0) != 0)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    BOOST_TEST_CHECKPOINT("replaying " << p.string());
    const std::string b = readBytes(p);
    BOOST_TEST(LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()) ==
               0);
  }
  return int(files.size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_corpus_input_loads_or_is_refused_without_a_crash) {
  const int n = replay(kCorpus);
  BOOST_TEST_MESSAGE("replayed " << n << " corpus inputs");
  BOOST_TEST(n >= 10);  // the seeds alone are more; an empty folder would prove nothing
}

BOOST_AUTO_TEST_CASE(the_shipped_and_test_data_models_pass_load_and_run) {
  const int before = caeFuzzLoadedModels;
  const int n = replay(fs::path(CAE_TEST_DATA).parent_path().parent_path() / "models", ".onnx");
  BOOST_TEST(n >= 8);
  BOOST_TEST(caeFuzzLoadedModels - before == n);
  const int before2 = caeFuzzLoadedModels;
  BOOST_TEST(replay(CAE_TEST_DATA, ".onnx") == 1);  // the golden model
  BOOST_TEST(caeFuzzLoadedModels - before2 == 1);
}

BOOST_AUTO_TEST_CASE(the_damaged_repro_models_are_refused_without_a_crash) {
  const int before = caeFuzzLoadedModels;
  BOOST_TEST(replay(kRepro) == 2);
  BOOST_TEST(caeFuzzLoadedModels == before);
}
