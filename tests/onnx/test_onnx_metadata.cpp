#define BOOST_TEST_MODULE onnx_metadata
#include <boost/test/unit_test.hpp>

// Metadata written by exportOnnx and read back with libonnx; defaults for files without it;
// typed errors (never a crash) for missing, empty, truncated and garbage files, in our reader and
// in cv::dnn::readNetFromONNX.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "error.hpp"
#include "nn/layers/activation.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/conv_transpose2d.hpp"
#include "nn/layers/dense.hpp"
#include "nn/layers/merge.hpp"
#include "nn/layers/pool.hpp"
#include "onnx/export.hpp"
#include "onnx/metadata.hpp"
#include "onnx/onnx_util.hpp"
#include "onnx/receptive_field.hpp"

using namespace cae;
using nn::Model;

namespace {

std::unique_ptr<nn::Conv2d> conv(int in, int out, int k, int s = 1, int p = 0, int d = 1) {
  nn::Conv2dOptions o;
  o.inChannels = in;
  o.outChannels = out;
  o.kernel = k;
  o.stride = s;
  o.padding = p;
  o.dilation = d;
  return std::make_unique<nn::Conv2d>(o);
}

Model smallConvAe() {
  Model m({1, 1, 16, 16});
  m.add(conv(1, 4, 3, 2, 1));
  m.add(std::make_unique<nn::ReLU>());
  nn::ConvTranspose2dOptions o;
  o.inChannels = 4;
  o.outChannels = 1;
  m.add(std::make_unique<nn::ConvTranspose2d>(o));
  m.add(std::make_unique<nn::Sigmoid>());
  m.compile();
  m.initialize(5);
  return m;
}

std::string readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

onnx::ExportOptions everyOption() {
  onnx::ExportOptions o;
  o.task = onnx::Task::Anomaly;
  o.format = "GRAY16_LE";
  o.inputScale = 1.0 / 65535.0;
  o.inputOffset = -0.5;
  o.residual = true;
  o.receptiveField = 37;
  o.noiseSigma = 0.1;
  o.latentShape = {8, 4, 4};
  o.quantStep = 0.25;
  o.anomaly = anomaly::Decision{{anomaly::MapKind::Ssim, 2.5},
                                3.5,
                                0.0123,
                                0.004,
                                anomaly::FrameModel{0.125, 0.0078125, 18432, 0.001, true}};
  o.inpaint = anomaly::Inpainting{{2, 8, 32}, 4};
  o.stft = onnx::Stft{512, 128, 16000};
  o.trainerVersion = "cae-train 0.1.0";
  o.recipe = "loss=mse epochs=3 lr=1e-3, \"quoted\" and ünïcode";
  o.metrics = "{\"psnr\": 31.2}";
  o.docString = "test model";
  o.extra["cae.frames"] = "3";  // temporal models: cae-train writes it through extra
  o.extra["cae.align"] = "translation";
  o.extra["cae.window"] = "-1000:2000";  // cae-train --window writes these two through extra
  o.extra["cae.sample_rescale"] = "1:-1024";
  o.extra["cae.int8_ranges"] = "enc1_act:0:2.5,skip0:-1.25:1.25";       // cae-train --qat
  o.extra["cae.noise"] = "ct-lowdose angles=auto photons=2000-100000";  // cae-train --noise
  o.extra["cae.codec"] = "stride=16 latent=96 id=0123456789abcdef lambda=0.013";  // --task compress
  o.extra["cae.cdf_tables"] = "-1:100,65000;0:30000";
  return o;
}

// Garbage and cut files must give a typed error from our reader and an exception from OpenCV.
void expectCorrupt(const std::string& path, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_CHECK_THROW(onnx::readOnnxMetadata(path), FormatError);
    BOOST_CHECK_THROW(onnx::checkOnnxFile(path), FormatError);
    BOOST_CHECK_THROW(cv::dnn::readNetFromONNX(path), cv::Exception);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_key_round_trips) {
  Model m = smallConvAe();
  m.metadata()["cae.task"] = "denoise";        // overridden by the option
  m.metadata()["vendor.note"] = "kept as is";  // not ours: lands in unknown
  m.metadata()["cae.future_key"] = "42";
  const onnx::ExportOptions o = everyOption();
  const std::string path = test::scratch().file("every_key.onnx");
  onnx::exportOnnx(m, path, o);

  const auto meta = onnx::readOnnxMetadata(path);
  BOOST_TEST(meta == onnx::exportMetadata(m, o));
  for (const std::string& k : onnx::knownKeys()) BOOST_TEST(meta.count(k) == 1u, k);
  BOOST_TEST(meta.at("cae.task") == "anomaly");

  const onnx::ModelInfo info = onnx::parseModelInfo(meta);
  BOOST_TEST(info.hasCaeMetadata);
  BOOST_TEST(info.defaulted.empty());
  BOOST_TEST((info.task == onnx::Task::Anomaly));
  BOOST_TEST(info.format == "GRAY16_LE");
  BOOST_TEST(info.codec == "stride=16 latent=96 id=0123456789abcdef lambda=0.013");
  BOOST_TEST(info.cdfTables == "-1:100,65000;0:30000");
  BOOST_TEST(info.inputScale == 1.0 / 65535.0);  // exact: shortest round-trip formatting
  BOOST_TEST(info.inputOffset == -0.5);
  BOOST_TEST(info.residual);
  BOOST_TEST(info.receptiveField == 37);
  BOOST_TEST(info.noiseSigma == 0.1);
  BOOST_REQUIRE(info.inpaint.has_value());
  BOOST_TEST(anomaly::formatInpainting(*info.inpaint) == "2,8,32/4");
  BOOST_TEST_REQUIRE(info.noise.has_value());
  BOOST_TEST(info.noise->kind == "ct-lowdose");
  BOOST_TEST(info.noise->params.at("photons") == "2000-100000");
  BOOST_TEST(onnx::formatNoise(*info.noise) == meta.at("cae.noise"));
  BOOST_TEST(info.frames == 3);
  BOOST_TEST(info.align == "translation");
  BOOST_TEST_REQUIRE(info.window.has_value());
  BOOST_TEST(info.window->lo == -1000.0);
  BOOST_TEST(info.window->hi == 2000.0);
  BOOST_TEST(info.sampleRescale.slope == 1.0);
  BOOST_TEST(info.sampleRescale.intercept == -1024.0);
  BOOST_TEST(info.latentShape == std::vector<int>({8, 4, 4}), boost::test_tools::per_element());
  BOOST_TEST(info.quantStep == 0.25);
  BOOST_TEST(info.anomaly.scoreMean == 0.0123);
  BOOST_TEST(info.anomaly.scoreStd == 0.004);
  BOOST_TEST_REQUIRE(info.anomaly.threshold.has_value());
  BOOST_TEST(*info.anomaly.threshold == 3.5);
  BOOST_TEST(meta.at("cae.anomaly_map") == "ssim");
  BOOST_TEST((info.anomaly.map.map == anomaly::MapKind::Ssim));
  BOOST_TEST(info.anomaly.map.smoothSigma == 2.5);
  BOOST_TEST_REQUIRE(info.anomaly.frame.has_value());
  BOOST_TEST(info.anomaly.frame->mu == 0.125);
  BOOST_TEST(info.anomaly.frame->beta == 0.0078125);
  BOOST_TEST(info.anomaly.frame->area == 18432);
  BOOST_TEST(info.anomaly.frame->fpr == 0.001);
  BOOST_TEST(info.anomaly.frame->logit);
  BOOST_TEST_REQUIRE(info.stft.has_value());
  BOOST_TEST(info.stft->nFft == 512);
  BOOST_TEST(info.stft->hop == 128);
  BOOST_TEST(info.stft->sampleRate == 16000);
  BOOST_TEST(info.trainerVersion == "cae-train 0.1.0");
  BOOST_TEST(info.recipe == o.recipe);
  BOOST_TEST(info.metrics == o.metrics);
  BOOST_TEST(info.int8Ranges.size() == 2u);
  BOOST_TEST(info.int8Ranges.at("enc1_act").second == 2.5f);
  BOOST_TEST(info.int8Ranges.at("skip0").first == -1.25f);
  BOOST_TEST(info.unknown.size() == 2u);
  BOOST_TEST(info.unknown.at("vendor.note") == "kept as is");
  BOOST_TEST(info.unknown.at("cae.future_key") == "42");

  // The typed reader on the file gives the same.
  BOOST_TEST(onnx::readModelInfo(path).recipe == o.recipe);
  BOOST_CHECK_NO_THROW(onnx::checkOnnxFile(path));
}

BOOST_AUTO_TEST_CASE(extra_overrides_fields_and_model_metadata) {
  Model m = smallConvAe();
  m.metadata()["cae.format"] = "RGB";
  onnx::ExportOptions o;
  o.format = "GRAY8";
  o.extra["cae.format"] = "BGRx";
  o.extra["cae.noise_sigma"] = "0.2";
  const auto meta = onnx::exportMetadata(m, o);
  BOOST_TEST(meta.at("cae.format") == "BGRx");
  BOOST_TEST(meta.at("cae.noise_sigma") == "0.2");
  BOOST_TEST(meta.count("cae.task") == 0u);  // unset fields write nothing
  BOOST_TEST(meta.at("cae.receptive_field") == std::to_string(onnx::receptiveField(m)));
}

BOOST_AUTO_TEST_CASE(no_metadata_gives_documented_defaults) {
  Model m = smallConvAe();
  onnx::ExportOptions o;
  o.computeReceptiveField = false;
  const std::string path = test::scratch().file("bare.onnx");
  onnx::exportOnnx(m, path, o);
  BOOST_TEST(onnx::readOnnxMetadata(path).empty());
  BOOST_CHECK_NO_THROW(onnx::checkOnnxFile(path));

  const onnx::ModelInfo info = onnx::readModelInfo(path);
  BOOST_TEST(!info.hasCaeMetadata);
  BOOST_TEST(info.defaulted.size() == onnx::knownKeys().size());
  BOOST_TEST((info.task == onnx::Task::Unknown));
  BOOST_TEST(info.format.empty());
  BOOST_TEST(info.inputScale == 1.0 / 255.0);
  BOOST_TEST(info.inputOffset == 0.0);
  BOOST_TEST(!info.residual);
  BOOST_TEST(info.receptiveField == 0);
  BOOST_TEST(info.noiseSigma == 0.0);
  BOOST_TEST(info.frames == 1);
  BOOST_TEST(!info.window.has_value());
  BOOST_TEST(info.sampleRescale.slope == 1.0);
  BOOST_TEST(info.sampleRescale.intercept == 0.0);
  BOOST_TEST(info.latentShape.empty());
  BOOST_TEST(info.quantStep == 1.0);
  BOOST_TEST(info.anomaly.scoreMean == 0.0);
  BOOST_TEST(info.anomaly.scoreStd == 1.0);
  BOOST_TEST(!info.anomaly.threshold.has_value());
  BOOST_TEST((info.anomaly.map.map == anomaly::MapKind::L2));
  BOOST_TEST(info.anomaly.map.smoothSigma == 0.0);
  BOOST_TEST(!info.stft.has_value());
  BOOST_TEST(!info.noise.has_value());
  BOOST_TEST(info.trainerVersion.empty());
  BOOST_TEST(info.unknown.empty());
  // Such a file still loads in OpenCV.
  BOOST_CHECK_NO_THROW(cv::dnn::readNetFromONNX(path));
}

// The keys of one task (key::kNoiseFloor ...) reach their module as text in `unknown`; a model of
// another task is not said to lack them.
BOOST_AUTO_TEST_CASE(task_specific_keys_are_kept_as_text) {
  const std::vector<std::string> taskKeys{onnx::key::kNoiseFloor,   onnx::key::kAnalysisWindow,
                                          onnx::key::kMels,         onnx::key::kMelFmax,
                                          onnx::key::kResidualMean, onnx::key::kResidualPrecision,
                                          onnx::key::kSampleShape};
  const auto& known = onnx::knownKeys();
  std::map<std::string, std::string> meta{{onnx::key::kTask, "audio-denoise"}};
  for (const std::string& k : taskKeys) {
    BOOST_TEST(k.rfind("cae.", 0) == 0u, k);
    BOOST_TEST((std::find(known.begin(), known.end(), k) == known.end()), k);
    meta[k] = "text of " + k;
  }
  const onnx::ModelInfo info = onnx::parseModelInfo(meta);
  BOOST_TEST(info.unknown.size() == taskKeys.size());
  for (const std::string& k : taskKeys) BOOST_TEST(info.unknown.at(k) == "text of " + k);
  BOOST_TEST(info.defaulted.size() == known.size() - 1);  // every known key but cae.task
  BOOST_TEST(onnx::parseModelInfo({{onnx::key::kTask, "denoise"}}).unknown.empty());
}

BOOST_AUTO_TEST_CASE(malformed_values_name_the_key) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {"cae.task", "sharpen"},
      {"cae.input_scale", "abc"},
      {"cae.input_scale", "1.0x"},
      {"cae.input_offset", ""},
      {"cae.residual", "yes"},
      {"cae.receptive_field", "3.5"},
      {"cae.receptive_field", "-7"},
      {"cae.noise_sigma", "nan"},
      {"cae.noise", "poisson"},
      {"cae.noise", ""},
      {"cae.noise", "rician sigma"},
      {"cae.noise", "rician =0.1"},
      {"cae.noise", "rician sigma="},
      {"cae.noise", "rician sigma=0.1 sigma=0.2"},
      {"cae.frames", "0"},
      {"cae.frames", "2.5"},
      {"cae.frames", "65"},
      {"cae.align", "affine"},
      {"cae.window", "2000:-1000"},
      {"cae.window", "5:5"},
      {"cae.window", "-1000"},
      {"cae.window", "-1000:"},
      {"cae.window", "a:b"},
      {"cae.window", "-1000:2000:3"},
      {"cae.window", "nan:1"},
      {"cae.sample_rescale", "0:-1024"},
      {"cae.sample_rescale", "1;-1024"},
      {"cae.sample_rescale", "1:-1024x"},
      {"cae.latent_shape", "8,,4"},
      {"cae.latent_shape", "8,0,4"},
      {"cae.quant_step", "0"},
      {"cae.score_std", "-1"},
      {"cae.threshold", "inf"},
      {"cae.stft", "n_fft=512"},
      {"cae.anomaly_map", "l1"},
      {"cae.anomaly_map", "lowpass2"},
      {"cae.map_sigma", "-2"},
      {"cae.frame_model", "0.1,0.01,100"},
      {"cae.frame_model", "0.1,0,100,0.001"},
      {"cae.frame_model", "0.1,0.01,100,1"},
      {"cae.frame_model", "nan,0.01,100,0.001"},
      {"cae.frame_model", "0.1,0.01,100,0.001,log"},
      {"cae.stft", "n_fft=512,hop=x,rate=1"},
      {"cae.stft", "size=1,hop=2,rate=3"},
  };
  for (const auto& [k, v] : bad) {
    BOOST_TEST_CONTEXT(k << " = '" << v << "'") {
      try {
        onnx::parseModelInfo({{k, v}});
        BOOST_ERROR("accepted");
      } catch (const FormatError& e) {
        BOOST_TEST(std::string(e.what()).find(k) != std::string::npos);
      }
    }
  }
  BOOST_TEST(onnx::parseModelInfo({{"cae.residual", "1"}}).residual);
  BOOST_TEST(onnx::parseModelInfo({{"cae.receptive_field", "-1"}}).receptiveField == -1);
}

BOOST_AUTO_TEST_CASE(task_names_round_trip) {
  for (auto t : {onnx::Task::Denoise, onnx::Task::Anomaly, onnx::Task::CodecEncoder,
                 onnx::Task::CodecDecoder, onnx::Task::AudioDenoise, onnx::Task::AudioAnomaly,
                 onnx::Task::Features})
    BOOST_TEST((onnx::parseTask(onnx::taskName(t)) == t));
  BOOST_TEST(onnx::taskName(onnx::Task::CodecEncoder) == "codec-encoder");
}

BOOST_AUTO_TEST_CASE(receptive_field_of_known_graphs) {
  {
    Model m({1, 1, 8, 8});
    m.add(conv(1, 1, 3));
    m.add(conv(1, 1, 3));
    BOOST_TEST(onnx::receptiveField(m) == 5);
  }
  {
    Model m({1, 1, 8, 8});
    m.add(conv(1, 1, 3, 2, 1));  // r 3, jump 2
    m.add(conv(1, 1, 3, 1, 1));  // r 3 + 2*2
    BOOST_TEST(onnx::receptiveField(m) == 7);
  }
  {
    Model m({1, 1, 8, 8});
    m.add(conv(1, 1, 3, 1, 2, 2));  // dilated span 5
    BOOST_TEST(onnx::receptiveField(m) == 5);
  }
  {
    // Pool (r 2, j 2), conv (r 2 + 2*2), upsample back to j 1, residual Add with the input.
    Model m({1, 1, 8, 8});
    m.add(std::make_unique<nn::MaxPool2d>(2));
    m.add(conv(1, 1, 3, 1, 1));
    const int up = m.add(std::make_unique<nn::Upsample>(2));
    m.add(std::make_unique<nn::Add>(), {up, Model::kInput});
    BOOST_TEST(onnx::receptiveField(m) == 6);
  }
  {
    // k4 s2 transposed conv: each output sees 2 inputs.
    Model m({1, 1, 8, 8});
    nn::ConvTranspose2dOptions o;
    m.add(std::make_unique<nn::ConvTranspose2d>(o));
    BOOST_TEST(onnx::receptiveField(m) == 2);
  }
  {
    Model m({1, 1, 4, 4});
    m.add(std::make_unique<nn::Dense>(16, 16));
    BOOST_TEST(onnx::receptiveField(m) == -1);
  }
}

BOOST_AUTO_TEST_CASE(missing_file_is_io_error) {
  const std::string path = test::scratch().file("does_not_exist.onnx");
  BOOST_CHECK_THROW(onnx::readOnnxMetadata(path), IoError);
  BOOST_CHECK_THROW(onnx::readModelInfo(path), IoError);
  BOOST_CHECK_THROW(onnx::checkOnnxFile(path), IoError);
  // A directory is not a model either.
  BOOST_CHECK_THROW(onnx::readOnnxMetadata(test::scratch().file("")), IoError);
  BOOST_CHECK_THROW(cv::dnn::readNetFromONNX(path), cv::Exception);
}

BOOST_AUTO_TEST_CASE(empty_file_is_format_error) {
  const std::string path = test::scratch().file("empty.onnx");
  writeBytes(path, "");
  expectCorrupt(path, "empty file");
}

BOOST_AUTO_TEST_CASE(truncated_files_are_format_errors) {
  Model m = smallConvAe();
  const std::string good = test::scratch().file("good.onnx");
  onnx::exportOnnx(m, good, everyOption());
  const std::string bytes = readBytes(good);
  const std::size_t n = bytes.size();
  BOOST_TEST_MESSAGE("exported file: " << n << " bytes");
  // Cuts in the metadata, inside the weights, and right before the end.
  std::set<std::size_t> cuts{1,     2,     5,         10,      50,     100,   n / 4,
                             n / 3, n / 2, 2 * n / 3, n - 100, n - 10, n - 2, n - 1};
  // Every cut inside the first and last 300 bytes, so field boundaries are hit too.
  for (std::size_t k = 1; k < 300; ++k) {
    cuts.insert(k);
    cuts.insert(n - k);
  }
  const std::string path = test::scratch().file("cut.onnx");
  for (std::size_t len : cuts) {
    writeBytes(path, bytes.substr(0, len));
    BOOST_TEST_CONTEXT("cut at " << len << " of " << n) {
      BOOST_CHECK_THROW(onnx::readOnnxMetadata(path), FormatError);
    }
  }
  // OpenCV on a handful of the same cuts (it logs its own parse error for each).
  for (std::size_t len : {std::size_t(1), std::size_t(10), n / 3, n / 2, n - 10, n - 1}) {
    writeBytes(path, bytes.substr(0, len));
    expectCorrupt(path, "cut at " + std::to_string(len));
  }
}

BOOST_AUTO_TEST_CASE(garbage_is_format_error) {
  const std::string path = test::scratch().file("garbage.onnx");
  nn::Rng rng(2024);
  for (std::size_t len : {1u, 7u, 64u, 1000u, 65536u}) {
    for (int rep = 0; rep < 3; ++rep) {
      std::string g(len, '\0');
      for (char& c : g) c = char(rng.below(256));
      writeBytes(path, g);
      BOOST_TEST_CONTEXT(len << " random bytes, draw " << rep) {
        BOOST_CHECK_THROW(onnx::readOnnxMetadata(path), FormatError);
        BOOST_CHECK_THROW(onnx::checkOnnxFile(path), FormatError);
      }
    }
    expectCorrupt(path, std::to_string(len) + " random bytes");
  }
  // Text that happens to be a valid (empty-ish) protobuf stream.
  writeBytes(path, "\x08\x07");
  expectCorrupt(path, "ir_version only");
  writeBytes(path, "not an onnx model\n");
  expectCorrupt(path, "text");
}

BOOST_AUTO_TEST_CASE(export_errors_are_typed) {
  Model notCompiled({1, 1, 8, 8});
  notCompiled.add(conv(1, 1, 3));
  BOOST_CHECK_THROW(onnx::exportOnnxBytes(notCompiled), InvalidArgument);
  Model empty({1, 1, 8, 8});
  empty.compile();
  BOOST_CHECK_THROW(onnx::exportOnnxBytes(empty), InvalidArgument);

  Model m = smallConvAe();
  const std::string dir = test::scratch().file("no/such/dir/m.onnx");
  BOOST_CHECK_THROW(onnx::exportOnnx(m, dir), IoError);
}

BOOST_AUTO_TEST_CASE(export_replaces_atomically) {
  Model m = smallConvAe();
  const std::string path = test::scratch().file("replace.onnx");
  writeBytes(path, "old contents");
  onnx::exportOnnx(m, path);
  BOOST_TEST(readBytes(path) == onnx::exportOnnxBytes(m));
  // No temporary file is left beside it.
  int files = 0;
  const auto dir = std::filesystem::path(path).parent_path();
  for (const auto& e : std::filesystem::directory_iterator(dir))
    files += e.path().filename().string().rfind("replace.onnx", 0) == 0;
  BOOST_TEST(files == 1);
}
