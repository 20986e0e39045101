#define BOOST_TEST_MODULE image_io
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <ostream>

#include "error.hpp"
#include "io/image.hpp"
#include "io/metrics.hpp"
#include "io/patches.hpp"
#include "nn/rng.hpp"

// For BOOST_TEST messages on Shape comparisons.
namespace cae::nn {
inline namespace CAE_NN_ABI {
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
}  // namespace CAE_NN_ABI
}  // namespace cae::nn

namespace fs = std::filesystem;
namespace io = cae::io;
using namespace cae::nn;

namespace {

const std::string kSkimage = "/usr/lib/python3/dist-packages/skimage/data/";

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("cae_io_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

Tensor ramp(int c, int h, int w) {
  Tensor t(Shape{1, c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = Scalar(i % 97) / 96;
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_real_gray_and_color_images) {
  const Tensor cam = io::readImage(kSkimage + "camera.png");
  BOOST_TEST(cam.shape() == (Shape{1, 1, 512, 512}));
  BOOST_TEST(cam.vec().minCoeff() >= 0);
  BOOST_TEST(cam.vec().maxCoeff() <= 1);
  BOOST_TEST(cam.vec().maxCoeff() > 0.9);  // 8-bit data scaled by 1/255, not 1/65535

  const Tensor rgb = io::readImage(kSkimage + "astronaut.png", io::ColorMode::Color);
  BOOST_TEST(rgb.shape().c == 3);
  // Channel 0 is red: compare with OpenCV's BGR decode of the same pixel.
  const cv::Mat bgr = cv::imread(kSkimage + "astronaut.png", cv::IMREAD_COLOR);
  const cv::Vec3b& px = bgr.at<cv::Vec3b>(100, 200);
  BOOST_TEST(rgb.at(0, 0, 100, 200) == px[2] / 255.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(rgb.at(0, 2, 100, 200) == px[0] / 255.0f, boost::test_tools::tolerance(1e-6f));

  const Tensor gray = io::readImage(kSkimage + "astronaut.png", io::ColorMode::Gray);
  BOOST_TEST(gray.shape() == (Shape{1, 1, rgb.shape().h, rgb.shape().w}));
}

BOOST_AUTO_TEST_CASE(png_round_trips_at_8_and_16_bits) {
  TempDir tmp;
  for (int c : {1, 3, 4}) {
    const Tensor t = ramp(c, 9, 13);
    io::writePng(tmp.path("a8.png"), t, 8);
    const Tensor r8 = io::readImage(tmp.path("a8.png"));
    BOOST_TEST(r8.shape() == t.shape());
    BOOST_TEST((r8.vec() - t.vec()).cwiseAbs().maxCoeff() <= 0.5f / 255 + 1e-6f);
    io::writePng(tmp.path("a16.png"), t, 16);
    const Tensor r16 = io::readImage(tmp.path("a16.png"));
    BOOST_TEST((r16.vec() - t.vec()).cwiseAbs().maxCoeff() <= 0.5f / 65535 + 1e-6f);
  }
  // Out-of-range values are clamped, not wrapped.
  Tensor wild(Shape{1, 1, 1, 2});
  wild[0] = -3;
  wild[1] = 7;
  io::writePng(tmp.path("w.png"), wild);
  const Tensor r = io::readImage(tmp.path("w.png"));
  BOOST_TEST(r[0] == 0.0f);
  BOOST_TEST(r[1] == 1.0f);
  BOOST_CHECK_THROW(io::writePng(tmp.path("x.png"), ramp(2, 4, 4)), cae::InvalidArgument);
  BOOST_CHECK_THROW(io::writePng(tmp.path("no/dir/x.png"), ramp(1, 4, 4)), cae::IoError);
}

BOOST_AUTO_TEST_CASE(missing_unreadable_and_non_images_throw_typed_errors) {
  TempDir tmp;
  BOOST_CHECK_THROW(io::readImage(tmp.path("missing.png")), cae::IoError);
  BOOST_CHECK_THROW(io::readImage(tmp.dir.string()), cae::IoError);
  std::ofstream(tmp.path("text.png")) << "not an image";
  BOOST_CHECK_THROW(io::readImage(tmp.path("text.png")), cae::FormatError);
  std::ofstream(tmp.path("empty.png")).close();  // an empty file
  BOOST_CHECK_THROW(io::readImage(tmp.path("empty.png")), cae::FormatError);
}

BOOST_AUTO_TEST_CASE(patches_are_seeded_and_inside_the_images) {
  const std::vector<Tensor> imgs{ramp(1, 40, 50), ramp(1, 20, 30)};
  Rng a(5), b(5);
  Tensor pa, pb;
  io::samplePatches(imgs, 32, 16, 16, a, pa);
  io::samplePatches(imgs, 32, 16, 16, b, pb);
  BOOST_TEST(pa.shape() == (Shape{32, 1, 16, 16}));
  BOOST_TEST((pa.vec().array() == pb.vec().array()).all());
  // Rows of a ramp patch are consecutive values mod 97, so every patch is a real window.
  for (int n = 0; n < 32; ++n)
    for (int x = 1; x < 16; ++x) {
      const int d = int(std::lround((pa.at(n, 0, 0, x) - pa.at(n, 0, 0, x - 1)) * 96));
      BOOST_TEST((d == 1 || d == -96));
    }
  BOOST_CHECK_THROW(io::samplePatches(imgs, 4, 25, 25, a, pa), cae::InvalidArgument);
  BOOST_CHECK_THROW(io::samplePatches({}, 4, 8, 8, a, pa), cae::InvalidArgument);
}

BOOST_AUTO_TEST_CASE(psnr_crop_and_side_by_side) {
  Tensor a(Shape{1, 1, 4, 4}, 0), b(Shape{1, 1, 4, 4}, Scalar(0.1));
  BOOST_TEST(io::psnr(a, b) == 20.0, boost::test_tools::tolerance(1e-5));  // MSE 0.01
  BOOST_TEST(std::isinf(io::psnr(a, a)));
  BOOST_CHECK_THROW(io::psnr(a, Tensor(Shape{1, 1, 4, 5}, 0)), cae::ShapeError);

  const Tensor t = ramp(2, 10, 12);
  const Tensor c = io::crop(t, 3, 4, 5, 6);
  BOOST_TEST(c.shape() == (Shape{1, 2, 5, 6}));
  BOOST_TEST(c.at(0, 1, 2, 3) == t.at(0, 1, 5, 7));
  BOOST_CHECK_THROW(io::crop(t, 6, 0, 5, 6), cae::InvalidArgument);

  const Tensor s = io::sideBySide({t, c}, 2, 1);
  BOOST_TEST(s.shape() == (Shape{1, 2, 10, 20}));
  BOOST_TEST(s.at(0, 0, 0, 12) == 1.0f);              // gap
  BOOST_TEST(s.at(0, 1, 2, 17) == c.at(0, 1, 2, 3));  // second image at x = 14
  BOOST_TEST(s.at(0, 1, 7, 17) == 1.0f);              // below the shorter image
}
