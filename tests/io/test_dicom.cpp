#define BOOST_TEST_MODULE dicom
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "error.hpp"
#include "io/dicom.hpp"

// For BOOST_TEST messages on Shape comparisons.
namespace cae::nn {
inline namespace CAE_NN_ABI {
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }
}  // namespace CAE_NN_ABI
}  // namespace cae::nn

namespace fs = std::filesystem;
namespace io = cae::io;
using cae::nn::Shape;
using cae::nn::Tensor;

namespace {

const std::string kFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
const auto kTol = boost::test_tools::tolerance(1e-6f);

// Runs f and returns the FormatError's message (fails the test when nothing or else is thrown).
template <typename F>
std::string formatErrorOf(F f) {
  try {
    f();
  } catch (const cae::FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("expected cae::FormatError, got: " << e.what());
    return {};
  }
  BOOST_ERROR("expected cae::FormatError, nothing thrown");
  return {};
}

}  // namespace

// References: /usr/bin/python3 with pydicom 2.3.1, `pydicom.dcmread(f).pixel_array[y, x]`, and
// .min() / .max() of the whole array.
BOOST_AUTO_TEST_CASE(ct_small_matches_pydicom) {
  const io::DicomImageData d = io::readDicom(kFiles + "CT_small.dcm");
  BOOST_TEST_REQUIRE(d.frames.size() == 1u);
  BOOST_TEST(d.frames[0].shape() == (Shape{1, 1, 128, 128}));
  BOOST_TEST(d.bitsStored == 16);
  BOOST_TEST(d.isSigned);
  BOOST_TEST(d.lo == 128.0);   // pixel_array.min()
  BOOST_TEST(d.hi == 2191.0);  // pixel_array.max()
  // pixel_array[64, 64] == 1928, [10, 20] == 185, [100, 37] == 1060
  BOOST_TEST(d.frames[0].at(0, 0, 64, 64) == (1928.0f - 128) / 2063, kTol);
  BOOST_TEST(d.frames[0].at(0, 0, 10, 20) == (185.0f - 128) / 2063, kTol);
  BOOST_TEST(d.frames[0].at(0, 0, 100, 37) == (1060.0f - 128) / 2063, kTol);

  const io::DicomImageData full =
      io::readDicom(kFiles + "CT_small.dcm", io::DicomScaling::StoredRange);
  BOOST_TEST(full.lo == -32768.0);
  BOOST_TEST(full.hi == 32767.0);
  BOOST_TEST(full.frames[0].at(0, 0, 64, 64) == (1928.0f + 32768) / 65535, kTol);
}

BOOST_AUTO_TEST_CASE(mr_small_transfer_syntaxes_agree) {
  const io::DicomImageData ref = io::readDicom(kFiles + "MR_small.dcm");
  BOOST_TEST_REQUIRE(ref.frames.size() == 1u);
  BOOST_TEST(ref.frames[0].shape() == (Shape{1, 1, 64, 64}));
  // pixel_array min 127, max 2145; [32, 32] == 182, [5, 50] == 555
  BOOST_TEST(ref.frames[0].at(0, 0, 32, 32) == (182.0f - 127) / 2018, kTol);
  BOOST_TEST(ref.frames[0].at(0, 0, 5, 50) == (555.0f - 127) / 2018, kTol);
  // Same pixels stored big-endian, implicit VR, RLE and JPEG-LS lossless.
  for (const char* f : {"MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm",
                        "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm"}) {
    BOOST_TEST_CONTEXT(f) {
      const io::DicomImageData d = io::readDicom(kFiles + f);
      BOOST_TEST_REQUIRE(d.frames.size() == 1u);
      BOOST_TEST_REQUIRE(d.frames[0].shape() == ref.frames[0].shape());
      BOOST_TEST((d.frames[0].vec() - ref.frames[0].vec()).cwiseAbs().maxCoeff() == 0.0f);
    }
  }
}

BOOST_AUTO_TEST_CASE(multi_frame_colour_and_32_bit) {
  // SC_rgb_rle_2frame: pixel_array[0, 50, 50] == [128, 128, 255], [1, 5, 5] == [0, 255, 255]
  const io::DicomImageData rgb = io::readDicom(kFiles + "SC_rgb_rle_2frame.dcm");
  BOOST_TEST_REQUIRE(rgb.frames.size() == 2u);
  BOOST_TEST(rgb.frames[1].shape() == (Shape{1, 3, 100, 100}));
  BOOST_TEST(rgb.frames[0].at(0, 0, 50, 50) == 128.0f / 255, kTol);
  BOOST_TEST(rgb.frames[0].at(0, 1, 50, 50) == 128.0f / 255, kTol);
  BOOST_TEST(rgb.frames[0].at(0, 2, 50, 50) == 1.0f, kTol);
  BOOST_TEST(rgb.frames[1].at(0, 0, 5, 5) == 0.0f, kTol);
  BOOST_TEST(rgb.frames[1].at(0, 1, 5, 5) == 1.0f, kTol);
  BOOST_TEST(rgb.frames[1].at(0, 2, 5, 5) == 1.0f, kTol);

  // rtdose_rle: 15 frames of 10x10 uint32; [3, 4, 5] == 1026000, min 795000, max 1254000
  const io::DicomImageData dose = io::readDicom(kFiles + "rtdose_rle.dcm");
  BOOST_TEST_REQUIRE(dose.frames.size() == 15u);
  BOOST_TEST(dose.frames[3].shape() == (Shape{1, 1, 10, 10}));
  BOOST_TEST(dose.frames[3].at(0, 0, 4, 5) == (1026000.0f - 795000) / (1254000 - 795000), kTol);
}

BOOST_AUTO_TEST_CASE(jpeg_and_one_bit_images_decode) {
  // pydicom cannot decode these two without extra plugins; DCMTK's JPEG codecs can.
  for (const char* f : {"JPEG-lossy.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPGExtended.dcm"}) {
    BOOST_TEST_CONTEXT(f) {
      const io::DicomImageData d = io::readDicom(kFiles + f);
      BOOST_TEST_REQUIRE(!d.frames.empty());
      BOOST_TEST(d.frames[0].vec().minCoeff() >= 0.0f);
      BOOST_TEST(d.frames[0].vec().maxCoeff() <= 1.0f);
      BOOST_TEST(d.frames[0].vec().maxCoeff() > 0.5f);
    }
  }
  // The lossy JPEG of the RGB test card keeps its colours within a few codes:
  // SC_rgb_rle_2frame frame 0 [50, 50] == [128, 128, 255] (pydicom), as in SC_rgb_jpeg_dcmtk.
  const io::DicomImageData jpg = io::readDicom(kFiles + "SC_rgb_jpeg_dcmtk.dcm");
  BOOST_TEST(jpg.frames[0].shape() == (Shape{1, 3, 100, 100}));
  BOOST_TEST(jpg.frames[0].at(0, 2, 50, 50) == 1.0f, boost::test_tools::tolerance(0.05f));

  // liver_1frame: 1 bit per pixel, 512x512, pixel_array.sum() == 36233, [256, 256] == 1
  const io::DicomImageData liver = io::readDicom(kFiles + "liver_1frame.dcm");
  BOOST_TEST_REQUIRE(liver.frames.size() == 1u);
  BOOST_TEST(liver.frames[0].shape() == (Shape{1, 1, 512, 512}));
  BOOST_TEST(liver.frames[0].vec().sum() == 36233.0f);
  BOOST_TEST(liver.frames[0].at(0, 0, 256, 256) == 1.0f);
}

BOOST_AUTO_TEST_CASE(broken_files_are_format_errors_naming_the_file) {
  for (const char* f : {"MR_truncated.dcm", "badVR.dcm", "rtplan_truncated.dcm", "rtplan.dcm"}) {
    BOOST_TEST_CONTEXT(f) {
      const std::string msg = formatErrorOf([&] { io::readDicom(kFiles + f); });
      BOOST_TEST(msg.find(f) != std::string::npos, msg);
    }
  }
  // JPEG 2000 has no decoder in Debian's DCMTK: said so, not "missing attribute".
  const std::string j2k =
      formatErrorOf([&] { io::readDicom(kFiles + "MR_small_jp2klossless.dcm"); });
  BOOST_TEST(j2k.find("JPEG 2000") != std::string::npos, j2k);

  // A text file named .dcm.
  const fs::path txt =
      fs::temp_directory_path() / ("cae_dicom_" + std::to_string(::getpid()) + ".dcm");
  std::ofstream(txt) << "not a DICOM file\n";
  const std::string msg = formatErrorOf([&] { io::readDicom(txt.string()); });
  BOOST_TEST(msg.find(txt.string()) != std::string::npos, msg);
  fs::remove(txt);

  BOOST_CHECK_THROW(io::readDicom(kFiles + "no_such_file.dcm"), cae::IoError);
}

BOOST_AUTO_TEST_CASE(preamble_probe) {
  BOOST_TEST(io::hasDicomMagic(kFiles + "CT_small.dcm"));
  BOOST_TEST(!io::hasDicomMagic("/usr/lib/python3/dist-packages/skimage/data/camera.png"));
  BOOST_TEST(!io::hasDicomMagic(kFiles + "no_such_file.dcm"));
}

// Robustness: every DICOM that pydicom ships (images, reports, plans, palettes, broken files)
// either decodes into frames in [0, 1] or is a FormatError; none crashes or hangs.
BOOST_AUTO_TEST_CASE(every_pydicom_file_loads_or_fails_cleanly) {
  int loaded = 0, refused = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(kFiles).parent_path())) {
    if (!e.is_regular_file() || e.path().extension() != ".dcm") continue;
    BOOST_TEST_CONTEXT(e.path().string()) {
      try {
        const io::DicomImageData d = io::readDicom(e.path().string());
        BOOST_TEST(!d.frames.empty());
        for (const Tensor& t : d.frames) {
          BOOST_TEST(t.vec().allFinite());
          BOOST_TEST(t.vec().minCoeff() >= 0.0f);
          BOOST_TEST(t.vec().maxCoeff() <= 1.0f);
        }
        ++loaded;
      } catch (const cae::FormatError& err) {
        BOOST_TEST(std::string(err.what()).find(e.path().string()) != std::string::npos);
        BOOST_TEST_MESSAGE("refused: " << err.what());
        ++refused;
      }
    }
  }
  BOOST_TEST_MESSAGE("pydicom files: " << loaded << " decoded, " << refused << " refused");
  BOOST_TEST(loaded >= 40);
}
