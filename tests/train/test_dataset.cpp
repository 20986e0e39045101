#define BOOST_TEST_MODULE dataset
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <ostream>
#include <set>

#include "error.hpp"
#include "io/image.hpp"
#include "nn/rng.hpp"
#include "train/dataset.hpp"

// For BOOST_TEST messages on Shape comparisons.
namespace cae::nn {
inline namespace CAE_NN_ABI {
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
}  // namespace CAE_NN_ABI
}  // namespace cae::nn

namespace fs = std::filesystem;
namespace io = cae::io;
namespace train = cae::train;
using cae::nn::Rng;
using cae::nn::Shape;
using cae::nn::Tensor;

namespace {

const std::string kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";
const std::string kDicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
const std::string kFashion = "/usr/share/datasets/fashion-mnist";

struct TempDir {
  fs::path dir;
  explicit TempDir(const std::string& tag)
      : dir(fs::temp_directory_path() / ("cae_dataset_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  void copy(const std::string& from, const std::string& name) const {
    fs::create_directories((dir / name).parent_path());
    fs::copy_file(from, dir / name, fs::copy_options::overwrite_existing);
  }
};

// Runs f and returns the message of the exception of type E it throws.
template <typename E, typename F>
std::string messageOf(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type: " << e.what());
    return {};
  }
  BOOST_ERROR("nothing thrown");
  return {};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

float maxAbsDiff(const Tensor& a, const Tensor& b) {
  return (a.vec() - b.vec()).cwiseAbs().maxCoeff();
}

// Sample n of a batch as its own {1, C, H, W} tensor.
Tensor sampleOf(const Tensor& batch, int n) {
  const Shape s = batch.shape();
  Tensor t(Shape{1, s.c, s.h, s.w});
  std::copy(batch.sample(n), batch.sample(n) + s.perSample(), t.data());
  return t;
}

// One gray plane as a cv::Mat (copy), to turn with OpenCV as an independent reference.
cv::Mat toMat(const Tensor& t) {
  cv::Mat m(t.shape().h, t.shape().w, CV_32F);
  std::copy(t.data(), t.data() + t.shape().plane(), m.ptr<float>());
  return m;
}

Tensor fromMat(const cv::Mat& m) {
  Tensor t(Shape{1, 1, m.rows, m.cols});
  cv::Mat c = m.clone();
  std::copy(c.ptr<float>(), c.ptr<float>() + t.size(), t.data());
  return t;
}

// The 8 images of the dihedral group of a square (or the 4 of a rectangle), by OpenCV.
std::vector<Tensor> dihedral(const Tensor& t) {
  std::vector<cv::Mat> base{toMat(t)};
  cv::Mat r;
  cv::rotate(base[0], r, cv::ROTATE_180);
  base.push_back(r.clone());
  if (t.shape().h == t.shape().w) {
    cv::rotate(base[0], r, cv::ROTATE_90_CLOCKWISE);
    base.push_back(r.clone());
    cv::rotate(base[0], r, cv::ROTATE_90_COUNTERCLOCKWISE);
    base.push_back(r.clone());
  }
  std::vector<Tensor> out;
  for (const cv::Mat& b : base) {
    cv::Mat f;
    out.push_back(fromMat(b));
    cv::flip(b, f, 1);
    out.push_back(fromMat(f));
  }
  return out;
}

int matchIndex(const Tensor& t, const std::vector<Tensor>& candidates) {
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (maxAbsDiff(t, candidates[i]) == 0.0f) return int(i);
  return -1;
}

train::Image cameraCrop(int y, int x, int h, int w) {
  static const Tensor cam = io::readImage(kSkimage + "camera.png", io::ColorMode::Gray);
  return {io::crop(cam, y, x, h, w), "camera@" + std::to_string(y) + "," + std::to_string(x)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(folders_recursive_sorted_and_typed) {
  TempDir tmp("folder");
  tmp.copy(kSkimage + "camera.png", "b/camera.png");
  tmp.copy(kSkimage + "coins.png", "a/coins.png");
  tmp.copy(kSkimage + "chessboard_GRAY_U16.tif", "a/deeper/chess16.tif");
  tmp.copy(kSkimage + "astronaut.png", ".hidden/astronaut.png");  // skipped
  tmp.copy(kDicom + "MR_small.dcm", "c/MR_slice");                // extension-less DICOM
  std::ofstream(tmp.path("README")) << "extension-less, not DICOM: skipped\n";
  std::ofstream(tmp.path("notes.txt")) << "skipped\n";

  const std::vector<train::Image> imgs = train::loadImages({tmp.dir.string()}, {});
  BOOST_TEST_REQUIRE(imgs.size() == 4u);
  BOOST_TEST(imgs[0].source == tmp.path("a/coins.png"));
  BOOST_TEST(imgs[1].source == tmp.path("a/deeper/chess16.tif"));
  BOOST_TEST(imgs[2].source == tmp.path("b/camera.png"));
  BOOST_TEST(imgs[3].source == tmp.path("c/MR_slice"));
  BOOST_TEST(imgs[3].pixels.shape() == (Shape{1, 1, 64, 64}));
  // 16-bit data keeps its depth: same values as the image reader gives.
  const Tensor chess = io::readImage(kSkimage + "chessboard_GRAY_U16.tif", io::ColorMode::Gray);
  BOOST_TEST(maxAbsDiff(imgs[1].pixels, chess) == 0.0f);

  // RGB: gray files get three equal planes, colour files stay RGB.
  train::LoadOptions rgb;
  rgb.channels = 3;
  const auto col = train::loadImages({tmp.path("b/camera.png"), kSkimage + "astronaut.png"}, rgb);
  BOOST_TEST_REQUIRE(col.size() == 2u);
  BOOST_TEST(col[0].pixels.shape().c == 3);
  BOOST_TEST(col[0].pixels.at(0, 0, 100, 100) == col[0].pixels.at(0, 2, 100, 100));
  BOOST_TEST(col[1].pixels.at(0, 0, 100, 200) != col[1].pixels.at(0, 2, 100, 200));
  // DICOM colour -> gray, gray DICOM -> RGB.
  const auto dcm = train::loadImages({kDicom + "SC_rgb_rle_2frame.dcm"}, {});
  BOOST_TEST_REQUIRE(dcm.size() == 2u);
  BOOST_TEST(dcm[1].source == kDicom + "SC_rgb_rle_2frame.dcm#frame 1");
  BOOST_TEST(dcm[0].pixels.shape() == (Shape{1, 1, 100, 100}));
  BOOST_TEST(train::loadImages({kDicom + "CT_small.dcm"}, rgb)[0].pixels.shape().c == 3);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_named) {
  TempDir tmp("bad");
  const std::string missing = tmp.path("no_such_folder");
  BOOST_TEST(contains(messageOf<cae::IoError>([&] { train::loadImages({missing}, {}); }), missing));

  fs::create_directories(tmp.path("empty"));
  const std::string empty = tmp.path("empty");
  BOOST_TEST(contains(messageOf<cae::IoError>([&] { train::loadImages({empty}, {}); }), empty));

  fs::create_directories(tmp.path("textonly"));
  std::ofstream(tmp.path("textonly/a.txt")) << "text\n";
  const std::string textonly = tmp.path("textonly");
  BOOST_TEST(
      contains(messageOf<cae::IoError>([&] { train::loadImages({textonly}, {}); }), textonly));

  const std::string fake = tmp.path("fake.png");
  std::ofstream(fake) << "this is text, not a PNG\n";
  BOOST_TEST(contains(messageOf<cae::FormatError>([&] { train::loadImages({fake}, {}); }), fake));

  // One broken DICOM in a folder fails the load, naming that file.
  tmp.copy(kDicom + "CT_small.dcm", "scans/a.dcm");
  tmp.copy(kDicom + "MR_truncated.dcm", "scans/b.dcm");
  const std::string b = tmp.path("scans/b.dcm");
  BOOST_TEST(contains(
      messageOf<cae::FormatError>([&] { train::loadImages({tmp.path("scans")}, {}); }), b));

  BOOST_TEST(contains(
      messageOf<cae::FormatError>([&] { train::loadImages({tmp.path("textonly/a.txt")}, {}); }),
      "a.txt"));
  // A cut-off gzip IDX file and a text file named .wav.
  {
    std::ifstream in(kFashion + "/t10k-images-idx3-ubyte.gz", std::ios::binary);
    std::vector<char> head(20000);
    in.read(head.data(), std::streamsize(head.size()));
    std::ofstream(tmp.path("cut-images-idx3-ubyte.gz"), std::ios::binary)
        .write(head.data(), std::streamsize(head.size()));
  }
  const std::string cut = tmp.path("cut-images-idx3-ubyte.gz");
  BOOST_TEST(contains(messageOf<cae::FormatError>([&] { train::loadImages({cut}, {}); }), cut));
  const std::string wav = tmp.path("noise.wav");
  std::ofstream(wav) << "RIFF? no\n";
  BOOST_TEST(contains(messageOf<cae::FormatError>([&] { train::loadImages({wav}, {}); }), wav));

  train::LoadOptions two;
  two.channels = 2;
  BOOST_CHECK_THROW(train::loadImages({kSkimage + "camera.png"}, two), cae::InvalidArgument);
  BOOST_CHECK_THROW(train::loadImages({}, {}), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(fashion_mnist_loads_and_samples) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<train::Image> all = train::loadImages({kFashion}, {});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("Fashion-MNIST: 70000 images in " << secs << " s");
  BOOST_TEST_REQUIRE(all.size() == 70000u);
  // Load time is reported, not asserted: tests never assert wall-clock times (bench/ does).
  // Sorted: t10k (10,000) before train (60,000). References: /usr/bin/python3, gzip + numpy,
  // images = frombuffer(data, uint8, offset=16).reshape(-1, 28, 28).
  BOOST_TEST(all[0].pixels.shape() == (Shape{1, 1, 28, 28}));
  BOOST_TEST(all[0].pixels.vec().sum() == 33456.0f / 255, boost::test_tools::tolerance(1e-4f));
  BOOST_TEST(all[0].pixels.at(0, 0, 14, 14) == 110.0f / 255, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(all[10000].pixels.at(0, 0, 14, 14) == 217.0f / 255,
             boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(all[69999].pixels.at(0, 0, 10, 12) == 1.0f / 255, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(contains(all[10000].source, "train-images-idx3-ubyte.gz#0"));

  train::LoadOptions o;
  o.sample = 1000;
  o.seed = 5;
  const auto a = train::loadImages({kFashion}, o), b = train::loadImages({kFashion}, o);
  BOOST_TEST_REQUIRE(a.size() == 1000u);
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST_REQUIRE(a[i].source == b[i].source);
  o.seed = 6;
  const auto c = train::loadImages({kFashion}, o);
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i].source == c[i].source;
  BOOST_TEST(same < 100u);
}

BOOST_AUTO_TEST_CASE(video_frames_every_nth_capped) {
  TempDir tmp("video");
  // 12 frames panning across astronaut.png, MJPEG in AVI (OpenCV's own codec: always there).
  const cv::Mat src = cv::imread(kSkimage + "astronaut.png", cv::IMREAD_COLOR);
  const std::string path = tmp.path("pan.avi");
  {
    cv::VideoWriter vw(path, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10, cv::Size(96, 64));
    BOOST_TEST_REQUIRE(vw.isOpened());
    for (int i = 0; i < 12; ++i) vw.write(src(cv::Rect(100 + 8 * i, 150, 96, 64)).clone());
  }
  train::LoadOptions o;
  o.channels = 3;
  o.videoFrameStep = 3;
  o.maxVideoFrames = 3;
  const auto frames = train::loadImages({tmp.dir.string()}, o);
  BOOST_TEST_REQUIRE(frames.size() == 3u);
  BOOST_TEST(frames[2].source == path + "#frame 6");
  BOOST_TEST(frames[0].pixels.shape() == (Shape{1, 3, 64, 96}));
  // Frame 6 is the window at x = 148; MJPEG is lossy, so compare on average, in RGB order.
  cv::Mat rgb;
  cv::cvtColor(src(cv::Rect(148, 150, 96, 64)), rgb, cv::COLOR_BGR2RGB);
  double err = 0;
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 96; ++x)
      for (int c = 0; c < 3; ++c)
        err += std::abs(frames[2].pixels.at(0, c, y, x) - rgb.at<cv::Vec3b>(y, x)[c] / 255.0);
  err /= 64.0 * 96 * 3;
  BOOST_TEST(err < 0.03, "mean abs error " << err);

  o.channels = 1;
  o.maxVideoFrames = 0;
  const auto gray = train::loadImages({path}, o);
  BOOST_TEST(gray.size() == 4u);  // frames 0, 3, 6, 9
  BOOST_TEST(gray[3].pixels.shape() == (Shape{1, 1, 64, 96}));

  const std::string fake = tmp.path("fake.mp4");
  std::ofstream(fake) << "not a video\n";
  BOOST_TEST(contains(messageOf<cae::FormatError>([&] { train::loadImages({fake}, o); }), fake));
}

BOOST_AUTO_TEST_CASE(wav_files_become_spectrogram_chunks) {
  train::LoadOptions o;  // 512 / 256 / 64
  const auto imgs = train::loadImages({"/usr/share/sounds/alsa/Front_Center.wav"}, o);
  BOOST_TEST_REQUIRE(imgs.size() == 4u);  // 266 STFT frames -> 4 chunks (see test_stft.cpp)
  BOOST_TEST(imgs[3].pixels.shape() == (Shape{1, 1, 257, 64}));
  BOOST_TEST(imgs[3].source == "/usr/share/sounds/alsa/Front_Center.wav#chunk 3");
  BOOST_TEST(imgs[2].pixels.vec().maxCoeff() <= 1.0f);
  BOOST_TEST(imgs[2].pixels.vec().minCoeff() >= 0.0f);
  const auto folder = train::loadImages({"/usr/share/sounds/alsa"}, o);
  BOOST_TEST(folder.size() > 9u);  // nine files, at least one chunk each
}

BOOST_AUTO_TEST_CASE(validation_split) {
  std::vector<train::Image> imgs;
  imgs.reserve(10);
  for (int i = 0; i < 10; ++i) imgs.push_back(cameraCrop(20 * i, 0, 32, 32));
  auto a = imgs, b = imgs;
  std::vector<train::Image> va, vb;
  Rng r1(3), r2(3);
  train::splitValidation(a, va, 0.2, r1);
  train::splitValidation(b, vb, 0.2, r2);
  BOOST_TEST_REQUIRE(va.size() == 2u);
  BOOST_TEST(a.size() == 8u);
  std::set<std::string> seen;
  for (const auto& im : a) seen.insert(im.source);
  for (std::size_t i = 0; i < va.size(); ++i) {
    BOOST_TEST(va[i].source == vb[i].source);
    BOOST_TEST(!seen.count(va[i].source));
  }
  // Tiny fractions still give one validation image; a single image gives up its bottom fifth.
  auto c = imgs;
  std::vector<train::Image> vc;
  train::splitValidation(c, vc, 0.01, r1);
  BOOST_TEST(vc.size() == 1u);
  std::vector<train::Image> one{cameraCrop(0, 0, 100, 60)}, vone;
  const Tensor whole = one[0].pixels;
  train::splitValidation(one, vone, 0.2, r1);
  BOOST_TEST_REQUIRE(vone.size() == 1u);
  BOOST_TEST(one[0].pixels.shape() == (Shape{1, 1, 80, 60}));
  BOOST_TEST(vone[0].pixels.shape() == (Shape{1, 1, 20, 60}));
  BOOST_TEST(maxAbsDiff(vone[0].pixels, io::crop(whole, 80, 0, 20, 60)) == 0.0f);
  BOOST_CHECK_THROW(train::splitValidation(c, vc, 1.0, r1), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(patches_come_from_the_images_and_repeat_for_a_seed) {
  const train::Image img = cameraCrop(200, 200, 40, 48);
  train::BatchSource src({img}, {8, 12, false, false});
  BOOST_TEST(src.height() == 8);
  BOOST_TEST(src.width() == 12);
  BOOST_TEST(src.channels() == 1);
  Tensor a, b;
  Rng r1(9), r2(9);
  src.next(16, r1, a);
  src.next(16, r2, b);
  BOOST_TEST(a.shape() == (Shape{16, 1, 8, 12}));
  BOOST_TEST(maxAbsDiff(a, b) == 0.0f);
  // Every patch is a window of the image, found by search.
  for (int n = 0; n < 16; ++n) {
    const Tensor p = sampleOf(a, n);
    bool found = false;
    for (int y = 0; y + 8 <= 40 && !found; ++y)
      for (int x = 0; x + 12 <= 48 && !found; ++x)
        found = maxAbsDiff(p, io::crop(img.pixels, y, x, 8, 12)) == 0.0f;
    BOOST_TEST(found, "patch " << n);
  }
  const Tensor f1 = src.fixed(5, 42), f2 = src.fixed(5, 42), f3 = src.fixed(5, 43);
  BOOST_TEST(maxAbsDiff(f1, f2) == 0.0f);
  BOOST_TEST(maxAbsDiff(f1, f3) > 0.0f);
}

BOOST_AUTO_TEST_CASE(flips_and_rotations_cover_the_dihedral_group) {
  const train::Image sq = cameraCrop(300, 250, 12, 12);
  train::BatchSource src({sq}, {0, 0, true, true});  // whole frames: only the turn is random
  const std::vector<Tensor> all8 = dihedral(sq.pixels);
  Rng rng(1);
  Tensor batch;
  src.next(200, rng, batch);
  std::set<int> seen;
  for (int n = 0; n < 200; ++n) {
    const int k = matchIndex(sampleOf(batch, n), all8);
    BOOST_TEST_REQUIRE(k >= 0);
    seen.insert(k);
  }
  BOOST_TEST(seen.size() == 8u);

  // Non-square: quarter turns are left out, the other four symmetries remain.
  const train::Image rect = cameraCrop(300, 250, 10, 14);
  train::BatchSource rsrc({rect}, {0, 0, true, true});
  const std::vector<Tensor> all4 = dihedral(rect.pixels);
  rsrc.next(100, rng, batch);
  BOOST_TEST(batch.shape() == (Shape{100, 1, 10, 14}));
  seen.clear();
  for (int n = 0; n < 100; ++n) seen.insert(matchIndex(sampleOf(batch, n), all4));
  BOOST_TEST(seen.size() == 4u);
  BOOST_TEST(!seen.count(-1));

  // Validation batches are never turned: whole frames come back as they are, in order.
  train::BatchSource two({sq, cameraCrop(0, 0, 12, 12)}, {0, 0, true, true});
  const Tensor fixed = two.fixed(3, 7);
  BOOST_TEST(maxAbsDiff(sampleOf(fixed, 0), sq.pixels) == 0.0f);
  BOOST_TEST(maxAbsDiff(sampleOf(fixed, 2), sq.pixels) == 0.0f);
}

BOOST_AUTO_TEST_CASE(mixed_sizes_and_small_images_are_explained) {
  const train::Image a = cameraCrop(0, 0, 32, 32), b = cameraCrop(0, 0, 20, 40);
  const std::string msg = messageOf<cae::InvalidArgument>([&] {
    train::BatchSource({a, a, b}, {});
  });
  BOOST_TEST(contains(msg, a.source));
  BOOST_TEST(contains(msg, b.source));
  BOOST_TEST(contains(msg, "--patch"));
  BOOST_TEST(contains(msg, "20x40"));

  const std::string small = messageOf<cae::InvalidArgument>([&] {
    train::BatchSource({a, b}, {24, 24, false, false});
  });
  BOOST_TEST(contains(small, b.source));
  BOOST_TEST(contains(small, "24x24"));
  BOOST_CHECK_THROW(train::BatchSource({}, {}), cae::InvalidArgument);
  BOOST_CHECK_THROW(train::BatchSource({a}, {8, 0, false, false}), cae::InvalidArgument);
}
