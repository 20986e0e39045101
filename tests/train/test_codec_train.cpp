// cae-train --task compress (issue 14): the codec's two files (analysis and synthesis, GDN
// exported as stock operators) load in OpenCV DNN and compute what the engine computes; a short
// run writes both with the coder's tables and identifier, and a picture of odd size goes through
// encoder -> rounding -> rANS -> frame -> parse -> decode -> synthesis with the latents coming
// back exactly; a frame of another model is refused.
#define BOOST_TEST_MODULE codec_train
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "codec/bitstream.hpp"
#include "codec/latents.hpp"
#include "error.hpp"
#include "nn/checkpoint.hpp"
#include "nn/layers/quantize.hpp"
#include "onnx/metadata.hpp"
#include "train/codec_arch.hpp"
#include "train/model_export.hpp"
#include "train/trainer.hpp"
#include "train/warm_start.hpp"

namespace fs = std::filesystem;
using namespace cae;
using namespace cae::train;
using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

const std::string kData = "/usr/lib/python3/dist-packages/skimage/data/";

fs::path tempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("cae-test-" + name + "-" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

ArchSpec smallCodec(const std::string& activation) {
  ArchSpec s;
  s.kind = ArchKind::Codec;
  s.channels = 3;
  s.height = s.width = 32;
  s.width0 = 8;
  s.latent = 6;
  s.stages = 2;
  s.activation = activation;
  s.codecKernel = 5;
  return s;
}

// NCHW float blob of an 8-bit RGB picture in [0, 1].
cv::Mat blobOf(const cv::Mat& rgb8) {
  cv::Mat f;
  rgb8.convertTo(f, CV_32FC3, 1.0 / 255);
  return cv::dnn::blobFromImage(f);
}

cv::Mat forward(const std::string& model, const cv::Mat& blob) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(model);
  net.setInput(blob);
  return net.forward().clone();
}

// "stride=S latent=M id=HEX lambda=L" -> the id.
std::uint64_t idOf(const std::string& codec) {
  const std::size_t at = codec.find("id=");
  BOOST_REQUIRE(at != std::string::npos);
  return std::stoull(codec.substr(at + 3, 16), nullptr, 16);
}

}  // namespace

BOOST_AUTO_TEST_CASE(exported_halves_compute_what_the_engine_computes) {
  for (const std::string act : {"gdn", "relu"}) {
    BOOST_TEST_CONTEXT(act) {
      const ArchSpec spec = smallCodec(act);
      BuiltModel b = buildCodec(spec);
      nn::Rng rng(3);
      for (Eigen::Index i = 0; i < b.model.params().size(); ++i)
        b.model.params()[i] += Scalar(rng.uniform(-0.02, 0.02));  // GDN off its initial values
      const fs::path dir = tempDir("codec-export-" + act);
      TrainConfig c;
      c.task = TrainTask::Compress;
      c.arch = spec;
      c.output = (dir / "c.onnx").string();
      const ExportedFiles f = exportTrained(c, spec, b, {});
      Tensor x({1, 3, 32, 48});
      for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform(0, 1);
      nn::Model analysis = codecAnalysis(spec, b), synthesis = codecSynthesis(spec, b);
      const Tensor y = analysis.forward(x);
      const int sz[4] = {1, 3, 32, 48};
      const cv::Mat yCv = forward(f.output, cv::Mat(4, sz, CV_32F, x.data()));
      BOOST_REQUIRE_EQUAL(yCv.total(), y.size());
      double worst = 0;
      for (std::size_t i = 0; i < y.size(); ++i)
        worst = std::max(worst, std::abs(double(yCv.ptr<float>()[i] - y[i])));
      BOOST_TEST(worst < 1e-4);
      Tensor q = y;
      for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::nearbyint(q[i]);
      const Tensor out = synthesis.forward(q);
      const int zs[4] = {1, q.shape().c, q.shape().h, q.shape().w};
      const cv::Mat outCv = forward(f.decoderOutput, cv::Mat(4, zs, CV_32F, q.data()));
      BOOST_REQUIRE_EQUAL(outCv.total(), out.size());
      worst = 0;
      for (std::size_t i = 0; i < out.size(); ++i)
        worst = std::max(worst, std::abs(double(outCv.ptr<float>()[i] - out[i])));
      BOOST_TEST(worst < 1e-4);
      fs::remove_all(dir);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_trained_codec_codes_an_odd_sized_picture_through_a_frame_exactly) {
  const fs::path dir = tempDir("codec-train");
  TrainConfig c;
  c.data = {kData + "retina.jpg", kData + "ihc.png"};
  c.channels = 3;
  c.patch = 32;
  c.task = TrainTask::Compress;
  c.arch = smallCodec("gdn");
  c.lambda = 0.01;
  c.batch = 4;
  c.epochs = 2;
  c.stepsPerEpoch = 10;
  c.valSamples = 4;
  c.threads = 1;
  c.output = (dir / "codec.onnx").string();
  c.lossCurve = "-";
  const TrainResult r = Trainer(c).run();
  BOOST_TEST(r.metricsJson.find("\"bpp\"") != std::string::npos, r.metricsJson);
  BOOST_REQUIRE(fs::exists(r.output));
  BOOST_REQUIRE(fs::exists(r.decoderOutput));
  const onnx::ModelInfo enc = onnx::readModelInfo(r.output);
  const onnx::ModelInfo dec = onnx::readModelInfo(r.decoderOutput);
  BOOST_TEST(onnx::taskName(enc.task) == "codec-encoder");
  BOOST_TEST(onnx::taskName(dec.task) == "codec-decoder");
  BOOST_TEST(enc.codec == dec.codec);
  BOOST_TEST(enc.codec.find("stride=4 latent=6 id=") == 0u, enc.codec);
  const std::vector<codec::CdfTable> tables = codec::parseTables(dec.cdfTables);
  BOOST_REQUIRE_EQUAL(tables.size(), 6u);
  const std::uint64_t id = idOf(enc.codec);

  // A 50 x 37 crop of a picture the run never saw, padded (edge replicated) to 52 x 40.
  cv::Mat rgb = cv::imread(kData + "astronaut.png");
  cv::cvtColor(rgb, rgb, cv::COLOR_BGR2RGB);
  const cv::Mat crop = rgb(cv::Rect(200, 100, 50, 37)).clone();
  cv::Mat padded;
  cv::copyMakeBorder(crop, padded, 0, 40 - 37, 0, 52 - 50, cv::BORDER_REPLICATE);
  const cv::Mat y = forward(r.output, blobOf(padded));
  const codec::LatentShape ls = codec::latentShapeFor(50, 37, 4, 6);
  BOOST_REQUIRE_EQUAL(y.total(), ls.size());
  std::vector<std::int32_t> q(ls.size());
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::int32_t(std::nearbyint(y.ptr<float>()[i]));
  const std::vector<std::uint8_t> frame =
      codec::writeFrame({3, 3, 50, 37, id}, codec::encodeLatents(q, ls, tables));
  BOOST_TEST_MESSAGE("frame of " << frame.size() << " bytes, "
                                 << 8.0 * double(frame.size()) / (50 * 37) << " bits per pixel");

  const codec::FrameView v = codec::parseFrame(frame.data(), frame.size());
  BOOST_CHECK_NO_THROW(codec::requireModel(v.header, idOf(dec.codec)));
  BOOST_CHECK_THROW(codec::requireModel(v.header, id ^ 1), FormatError);
  const std::vector<std::int32_t> back = codec::decodeLatents(
      v.payload, v.payloadSize,
      codec::latentShapeFor(v.header.width, v.header.height, 4, int(tables.size())), tables);
  BOOST_TEST(back == q);
  std::vector<float> qf(back.begin(), back.end());
  const int zs[4] = {1, ls.channels, ls.height, ls.width};
  const cv::Mat out = forward(r.decoderOutput, cv::Mat(4, zs, CV_32F, qf.data()));
  BOOST_TEST(out.size[2] == 40);
  BOOST_TEST(out.size[3] == 52);

  // The other rate points start from this run's checkpoint (models/recipes/codec.sh): every
  // weight, the synthesis' and the entropy model's too, which the encoder file lacks.
  const std::string ckpt = (dir / "codec.ckpt").string();
  BOOST_REQUIRE(fs::exists(ckpt));
  BOOST_TEST(isCheckpointFile(ckpt));
  BOOST_TEST(!isCheckpointFile(r.output));
  BuiltModel again = buildCodec(smallCodec("gdn"));
  const WarmStart w = warmStartFromCheckpoint(again.model, ckpt, describe(smallCodec("gdn")));
  BOOST_TEST(w.layers > 4);
  const nn::Checkpoint ck = nn::loadCheckpoint(ckpt);
  BOOST_TEST(std::equal(ck.params.begin(), ck.params.end(), again.model.params().data()));
  BuiltModel relu = buildCodec(smallCodec("relu"));
  BOOST_CHECK_THROW(warmStartFromCheckpoint(relu.model, ckpt, describe(smallCodec("relu"))),
                    FormatError);
  fs::remove_all(dir);
}
