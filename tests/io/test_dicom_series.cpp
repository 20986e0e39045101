#define BOOST_TEST_MODULE dicom_series
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "error.hpp"
#include "io/dicom_series.hpp"

namespace fs = std::filesystem;
namespace io = cae::io;

namespace {

const std::string kFiles = "/usr/lib/python3/dist-packages/pydicom/data/test_files/";
const std::string kExplicitLe = "1.2.840.10008.1.2.1";

// A private folder for the files the tests write, removed at the end.
struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("cae_dicom_series_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};
const TempDir& temp() {
  static const TempDir t;
  return t;
}
std::string tempPath(const std::string& name) { return (temp().dir / name).string(); }

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

bool sameFrames(const std::vector<cv::Mat>& a, const std::vector<cv::Mat>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].size() != b[i].size() || a[i].type() != b[i].type() || cv::norm(a[i], b[i]) != 0.0)
      return false;
  return true;
}

// Every frame mapped value by value.
template <typename F>
std::vector<cv::Mat> mapped(const std::vector<cv::Mat>& frames, F f) {
  std::vector<cv::Mat> out;
  for (const cv::Mat& m : frames) {
    cv::Mat o = m.clone();
    o.forEach<int>([&](int& v, const int*) { v = f(v); });
    out.push_back(o);
  }
  return out;
}

std::pair<double, double> extremes(const std::vector<cv::Mat>& frames) {
  double lo = 1e9, hi = -1e9;
  for (const cv::Mat& m : frames) {
    double a = 0, b = 0;
    cv::minMaxLoc(m, &a, &b);
    lo = std::min(lo, a);
    hi = std::max(hi, b);
  }
  return {lo, hi};
}

std::string bytesOf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// What the tests derive: UIDs from the source's, as cae-enhance does.
io::DerivedSeries derivedFor(const io::DicomInstance& src) {
  return {io::uidFromText("series " + src.seriesInstanceUid), " (cae enhanced)",
          "cae-enhance: test model sha256 0123abcd",
          io::uidFromText("instance " + src.sopInstanceUid)};
}

std::unique_ptr<DcmFileFormat> loadTags(const std::string& path) {
  auto f = std::make_unique<DcmFileFormat>();
  const OFCondition st = f->loadFile(path.c_str());
  BOOST_TEST_REQUIRE(st.good(), path << ": " << st.text());
  return f;
}

std::string stringOf(DcmItem& item, const DcmTagKey& tag) {
  OFString v;
  item.findAndGetOFStringArray(tag, v);
  return v.c_str();
}

// CT_small's frame three times as a 12-bit signed multi-frame file: values are HU (stored -
// 1024), negated in frame 1; the words hold the 12 bits only (no sign extension), and frame 2
// has junk in the 4 unused high bits, which a reader must mask.
const std::string& multiFrameFile() {
  static const std::string path = [] {
    std::string p = tempPath("multi_frame_12bit.dcm");
    DcmFileFormat f;
    BOOST_TEST_REQUIRE(f.loadFile((kFiles + "CT_small.dcm").c_str()).good());
    DcmDataset* ds = f.getDataset();
    const Uint16* px = nullptr;
    unsigned long n = 0;
    BOOST_TEST_REQUIRE(ds->findAndGetUint16Array(DCM_PixelData, px, &n).good());
    std::vector<Uint16> words(3 * n);
    for (unsigned long i = 0; i < n; ++i) {
      const int hu = int(Sint16(px[i])) - 1024;
      words[i] = Uint16(hu & 0xfff);
      words[n + i] = Uint16(-hu & 0xfff);
      words[2 * n + i] = Uint16((hu & 0xfff) | 0xa000);
    }
    ds->putAndInsertUint16Array(DCM_PixelData, words.data(), words.size());
    ds->putAndInsertString(DCM_NumberOfFrames, "3");
    ds->putAndInsertUint16(DCM_BitsStored, 12);
    ds->putAndInsertUint16(DCM_HighBit, 11);
    ds->putAndInsertString(DCM_RescaleIntercept, "0");
    ds->putAndInsertString(DCM_SeriesDescription, "multi-frame test");
    ds->putAndInsertString(DCM_SOPInstanceUID, "2.25.1");
    ds->putAndInsertString(DCM_SeriesInstanceUID, "2.25.2");
    ds->putAndInsertSint16(DcmTag(DCM_SmallestPixelValueInSeries, EVR_SS), -1000);
    ds->putAndInsertSint16(DcmTag(DCM_LargestPixelValueInSeries, EVR_SS), 1500);
    BOOST_TEST_REQUIRE(f.saveFile(p.c_str(), EXS_LittleEndianExplicit).good());
    return p;
  }();
  return path;
}

// A copy of a pydicom file changed by `edit`, for inputs pydicom does not ship; written in the
// source's transfer syntax (compressed pixel data stays as it was).
template <typename F>
std::string editedCopy(const std::string& source, const std::string& name, F edit) {
  std::string p = tempPath(name);
  DcmFileFormat f;
  BOOST_TEST_REQUIRE(f.loadFile((kFiles + source).c_str()).good());
  edit(*f.getDataset());
  BOOST_TEST_REQUIRE(f.saveFile(p.c_str()).good());
  return p;
}

// The file as explicit VR little endian, unchanged otherwise.
std::string explicitCopy(const std::string& source, const std::string& name) {
  std::string p = tempPath(name);
  DcmFileFormat f;
  BOOST_TEST_REQUIRE(f.loadFile((kFiles + source).c_str()).good());
  BOOST_TEST_REQUIRE(f.saveFile(p.c_str(), EXS_LittleEndianExplicit).good());
  return p;
}

template <typename F>
std::string editedMrSmall(const std::string& name, F edit) {
  return editedCopy("MR_small.dcm", name, edit);
}

// MR_small's values / 16 as 8 stored bits at HighBit 11 of 16 (bits 4..11), with junk in the
// bits around them: stored bits below HighBit must be shifted down, and the rest masked.
const std::string& shiftedBitsFile() {
  static const std::string path = editedMrSmall("shifted_bits.dcm", [](DcmDataset& ds) {
    const Uint16* px = nullptr;
    unsigned long n = 0;
    BOOST_TEST_REQUIRE(ds.findAndGetUint16Array(DCM_PixelData, px, &n).good());
    std::vector<Uint16> words(n);
    for (unsigned long i = 0; i < n; ++i)
      words[i] = Uint16(((px[i] / 16) << 4) | 0xf00f);  // values 7..134: bits 4..11 only
    ds.putAndInsertUint16Array(DCM_PixelData, words.data(), words.size());
    ds.putAndInsertUint16(DCM_BitsStored, 8);
    ds.putAndInsertUint16(DCM_HighBit, 11);
    ds.putAndInsertUint16(DCM_PixelRepresentation, 0);
    ds.findAndDeleteElement(DCM_SmallestImagePixelValue);  // SS, which unsigned data cannot have
    ds.findAndDeleteElement(DCM_LargestImagePixelValue);
  });
  return path;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reading. References: /usr/bin/python3 with pydicom 2.3.1 and numpy, pixel_array[y, x], .min(),
// .max(), .sum(); JPEG files decompressed with `dcmdjpeg` first (pydicom has no decoder here).

BOOST_AUTO_TEST_CASE(ct_small_reads_signed_stored_values_and_rescale) {
  const io::DicomInstance d = io::readDicomInstance(kFiles + "CT_small.dcm");
  BOOST_TEST(d.path == kFiles + "CT_small.dcm");
  BOOST_TEST(d.sopClassUid == "1.2.840.10008.5.1.4.1.1.2");
  BOOST_TEST(d.sopInstanceUid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322");
  BOOST_TEST(d.seriesInstanceUid == "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322");
  BOOST_TEST(d.studyInstanceUid == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322");
  BOOST_TEST(d.modality == "CT");
  BOOST_TEST(d.seriesDescription.empty());
  BOOST_TEST(d.photometric == "MONOCHROME2");
  BOOST_TEST(d.transferSyntaxUid == kExplicitLe);
  BOOST_TEST(d.rows == 128);
  BOOST_TEST(d.columns == 128);
  BOOST_TEST(d.bitsAllocated == 16);
  BOOST_TEST(d.bitsStored == 16);
  BOOST_TEST(d.highBit == 15);
  BOOST_TEST(d.isSigned);
  BOOST_TEST(d.hasRescale);
  BOOST_TEST(d.slope == 1.0);
  BOOST_TEST(d.intercept == -1024.0);
  BOOST_TEST(d.storedMin() == -32768);
  BOOST_TEST(d.storedMax() == 32767);
  BOOST_TEST_REQUIRE(d.frames.size() == 1u);
  const cv::Mat& f = d.frames[0];
  BOOST_TEST(f.type() == CV_32S);
  BOOST_TEST(f.at<int>(64, 64) == 1928);
  BOOST_TEST(f.at<int>(10, 20) == 185);
  BOOST_TEST(f.at<int>(100, 37) == 1060);
  BOOST_TEST(f.at<int>(0, 0) == 175);
  BOOST_TEST(extremes(d.frames).first == 128.0);
  BOOST_TEST(extremes(d.frames).second == 2191.0);
  BOOST_TEST(cv::sum(f)[0] == 14826310.0);
}

BOOST_AUTO_TEST_CASE(every_decodable_mr_small_variant_gives_the_uncompressed_values) {
  const io::DicomInstance ref = io::readDicomInstance(kFiles + "MR_small.dcm");
  BOOST_TEST_REQUIRE(ref.frames.size() == 1u);
  BOOST_TEST(ref.frames[0].at<int>(32, 32) == 182);
  BOOST_TEST(ref.frames[0].at<int>(5, 50) == 555);
  BOOST_TEST(cv::sum(ref.frames[0])[0] == 2125338.0);
  BOOST_TEST(extremes(ref.frames).first == 127.0);
  BOOST_TEST(extremes(ref.frames).second == 2145.0);
  BOOST_TEST(!ref.hasRescale);
  BOOST_TEST(ref.slope == 1.0);
  BOOST_TEST(ref.intercept == 0.0);
  BOOST_TEST(ref.isSigned);
  const std::pair<const char*, const char*> variants[] = {
      {"MR_small_implicit.dcm", "1.2.840.10008.1.2"},
      {"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"},
      {"MR_small_expb.dcm", "1.2.840.10008.1.2.2"},
      {"MR_small_RLE.dcm", "1.2.840.10008.1.2.5"},
      {"MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"},
      {"MR_small_padded.dcm", "1.2.840.10008.1.2.1"},  // PixelData 128 bytes too long
  };
  for (const auto& [file, syntax] : variants) {
    BOOST_TEST_CONTEXT(file) {
      const io::DicomInstance d = io::readDicomInstance(kFiles + file);
      BOOST_TEST(d.transferSyntaxUid == syntax);
      BOOST_TEST(sameFrames(d.frames, ref.frames));
      BOOST_TEST(d.sopInstanceUid == ref.sopInstanceUid);
      BOOST_TEST(d.bitsStored == 16);
      BOOST_TEST(d.isSigned);
      // Written out, every variant is the same native pixel data.
      const std::string out = tempPath(std::string("variant_") + file);
      io::writeDerivedDicom(d, d.frames, derivedFor(d), out);
      BOOST_TEST(sameFrames(io::readDicomInstance(out).frames, ref.frames));
    }
  }
}

BOOST_AUTO_TEST_CASE(lossy_jpeg_gives_the_decoded_stored_values) {
  // 12 of 16 bits, unsigned; the same image as extended (12-bit) JPEG in both files. Reference:
  // dcmdjpeg's output read by pydicom: min 0, max 264, sum 3767007, [500, 100] == 31.
  for (const char* file : {"JPEG-lossy.dcm", "JPGExtended.dcm"}) {
    BOOST_TEST_CONTEXT(file) {
      const io::DicomInstance d = io::readDicomInstance(kFiles + file);
      BOOST_TEST(d.transferSyntaxUid == "1.2.840.10008.1.2.4.51");
      BOOST_TEST(d.rows == 1024);
      BOOST_TEST(d.columns == 256);
      BOOST_TEST(d.bitsStored == 12);
      BOOST_TEST(!d.isSigned);
      BOOST_TEST(d.storedMax() == 4095);
      BOOST_TEST_REQUIRE(d.frames.size() == 1u);
      BOOST_TEST(d.frames[0].at<int>(500, 100) == 31);
      BOOST_TEST(d.frames[0].at<int>(0, 0) == 1);
      BOOST_TEST(extremes(d.frames).first == 0.0);
      BOOST_TEST(extremes(d.frames).second == 264.0);
      BOOST_TEST(cv::sum(d.frames[0])[0] == 3767007.0);
      // The decoder keeps the instance's identity.
      BOOST_TEST(d.sopInstanceUid == "1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457");
    }
  }
}

BOOST_AUTO_TEST_CASE(deflated_8_bit_image_reads) {
  const io::DicomInstance d = io::readDicomInstance(kFiles + "image_dfl.dcm");
  BOOST_TEST(d.transferSyntaxUid == "1.2.840.10008.1.2.1.99");
  BOOST_TEST(d.bitsAllocated == 8);
  BOOST_TEST(!d.isSigned);
  BOOST_TEST(d.storedMax() == 255);
  BOOST_TEST_REQUIRE(d.frames.size() == 1u);
  BOOST_TEST(d.frames[0].rows == 512);
  BOOST_TEST(d.frames[0].at<int>(256, 256) == 65);
  BOOST_TEST(d.frames[0].at<int>(100, 200) == 41);
  BOOST_TEST(cv::sum(d.frames[0])[0] == 33322688.0);
  BOOST_TEST(extremes(d.frames).second == 255.0);
}

BOOST_AUTO_TEST_CASE(stored_bits_below_the_high_bit_are_shifted_down) {
  const io::DicomInstance mr = io::readDicomInstance(kFiles + "MR_small.dcm");
  const io::DicomInstance d = io::readDicomInstance(shiftedBitsFile());
  BOOST_TEST(d.bitsStored == 8);
  BOOST_TEST(d.highBit == 11);
  BOOST_TEST(!d.isSigned);
  BOOST_TEST(d.storedMax() == 255);
  BOOST_TEST(sameFrames(d.frames, mapped(mr.frames, [](int v) { return v / 16; })));
}

BOOST_AUTO_TEST_CASE(multi_frame_12_bit_signed_is_sign_extended_and_masked) {
  const io::DicomInstance ct = io::readDicomInstance(kFiles + "CT_small.dcm");
  const io::DicomInstance d = io::readDicomInstance(multiFrameFile());
  BOOST_TEST(d.bitsStored == 12);
  BOOST_TEST(d.highBit == 11);
  BOOST_TEST(d.storedMin() == -2048);
  BOOST_TEST(d.storedMax() == 2047);
  BOOST_TEST(d.hasRescale);
  BOOST_TEST(d.intercept == 0.0);
  BOOST_TEST_REQUIRE(d.frames.size() == 3u);
  const std::vector<cv::Mat> hu = mapped(ct.frames, [](int v) { return v - 1024; });
  BOOST_TEST(sameFrames({d.frames[0]}, hu));
  BOOST_TEST(sameFrames({d.frames[1]}, mapped(hu, [](int v) { return -v; })));
  BOOST_TEST(sameFrames({d.frames[2]}, hu));
  BOOST_TEST(d.frames[0].at<int>(64, 64) == 1928 - 1024);
  BOOST_TEST(d.frames[1].at<int>(64, 64) == 1024 - 1928);
  BOOST_TEST(extremes(d.frames).first == -1167.0);  // -(2191 - 1024)
}

// ---------------------------------------------------------------------------------------------
// The derived instance, tag by tag.

namespace {

enum class Expect {
  Kept,              // the source's value, or absent in both
  NewUid,            // the DerivedSeries' UID, not the source's
  DerivedSecondary,  // DERIVED\SECONDARY and the source's values from the third on
  Suffixed,          // the source's SeriesDescription and the suffix (the suffix when none)
  Derivation,        // DerivationDescription as given
  SourceReference,   // one item: the source's SOP class and instance UIDs
  PixelExtremes,     // the written pixels' min/max when the source has it, absent otherwise
  Removed,           // absent
  ExplicitLe,        // explicit VR little endian
  LossyHistory,      // kept, but "01" and a method (the source's, else JPEG's) after lossy JPEG
};

struct TagRule {
  DcmTagKey tag;
  const char* name;
  Expect expect;
};

const TagRule kRules[] = {
    {DCM_MediaStorageSOPClassUID, "MediaStorageSOPClassUID", Expect::Kept},
    {DCM_MediaStorageSOPInstanceUID, "MediaStorageSOPInstanceUID", Expect::NewUid},
    {DCM_TransferSyntaxUID, "TransferSyntaxUID", Expect::ExplicitLe},
    {DCM_SOPInstanceUID, "SOPInstanceUID", Expect::NewUid},
    {DCM_SeriesInstanceUID, "SeriesInstanceUID", Expect::NewUid},
    {DCM_ImageType, "ImageType", Expect::DerivedSecondary},
    {DCM_SeriesDescription, "SeriesDescription", Expect::Suffixed},
    {DCM_DerivationDescription, "DerivationDescription", Expect::Derivation},
    {DCM_SourceImageSequence, "SourceImageSequence", Expect::SourceReference},
    {DCM_DerivationCodeSequence, "DerivationCodeSequence", Expect::Removed},
    {DCM_SmallestImagePixelValue, "SmallestImagePixelValue", Expect::PixelExtremes},
    {DCM_LargestImagePixelValue, "LargestImagePixelValue", Expect::PixelExtremes},
    {DCM_SmallestPixelValueInSeries, "SmallestPixelValueInSeries", Expect::Removed},
    {DCM_LargestPixelValueInSeries, "LargestPixelValueInSeries", Expect::Removed},
    {DCM_SOPClassUID, "SOPClassUID", Expect::Kept},
    {DCM_StudyInstanceUID, "StudyInstanceUID", Expect::Kept},
    {DCM_FrameOfReferenceUID, "FrameOfReferenceUID", Expect::Kept},
    {DCM_SamplesPerPixel, "SamplesPerPixel", Expect::Kept},
    {DCM_PhotometricInterpretation, "PhotometricInterpretation", Expect::Kept},
    {DCM_Rows, "Rows", Expect::Kept},
    {DCM_Columns, "Columns", Expect::Kept},
    {DCM_NumberOfFrames, "NumberOfFrames", Expect::Kept},
    {DCM_BitsAllocated, "BitsAllocated", Expect::Kept},
    {DCM_BitsStored, "BitsStored", Expect::Kept},
    {DCM_HighBit, "HighBit", Expect::Kept},
    {DCM_PixelRepresentation, "PixelRepresentation", Expect::Kept},
    {DCM_RescaleSlope, "RescaleSlope", Expect::Kept},
    {DCM_RescaleIntercept, "RescaleIntercept", Expect::Kept},
    {DCM_LossyImageCompression, "LossyImageCompression", Expect::LossyHistory},
    {DCM_LossyImageCompressionMethod, "LossyImageCompressionMethod", Expect::LossyHistory},
};

struct Written {
  io::DicomInstance src;
  io::DerivedSeries derived;
  std::vector<cv::Mat> frames;
  std::unique_ptr<DcmFileFormat> in, out;  // the source and the output, as DCMTK reads them
};

// The source's frames scaled by 3/4, as a stand-in for enhancement, written and loaded back.
Written writeScaled(const std::string& source, const std::string& name) {
  Written w;
  w.src = io::readDicomInstance(source);
  w.derived = derivedFor(w.src);
  w.frames = mapped(w.src.frames, [](int v) { return v * 3 / 4; });
  const std::string out = tempPath(name);
  io::writeDerivedDicom(w.src, w.frames, w.derived, out);
  w.in = loadTags(source);
  w.out = loadTags(out);
  return w;
}

DcmItem& itemFor(DcmFileFormat& f, const DcmTagKey& tag) {
  if (tag.getGroup() == 0x0002) return *f.getMetaInfo();
  return *f.getDataset();
}

void checkSourceReference(DcmItem& out, const io::DicomInstance& src) {
  DcmSequenceOfItems* seq = nullptr;
  BOOST_TEST_REQUIRE(out.findAndGetSequence(DCM_SourceImageSequence, seq).good());
  BOOST_TEST_REQUIRE(seq->card() == 1u);
  DcmItem* item = seq->getItem(0);
  BOOST_TEST(stringOf(*item, DCM_ReferencedSOPClassUID) == src.sopClassUid);
  BOOST_TEST(stringOf(*item, DCM_ReferencedSOPInstanceUID) == src.sopInstanceUid);
  BOOST_TEST(item->card() == 2u);
}

void checkRule(const TagRule& rule, Written& w) {
  DcmItem& in = itemFor(*w.in, rule.tag);
  DcmItem& out = itemFor(*w.out, rule.tag);
  const std::string before = stringOf(in, rule.tag), after = stringOf(out, rule.tag);
  switch (rule.expect) {
    case Expect::Kept:
      BOOST_TEST(in.tagExists(rule.tag) == out.tagExists(rule.tag));
      BOOST_TEST(after == before);
      break;
    case Expect::NewUid:
      BOOST_TEST(after == (rule.tag == DCM_SeriesInstanceUID ? w.derived.seriesInstanceUid
                                                             : w.derived.sopInstanceUid));
      BOOST_TEST(after != before);
      break;
    case Expect::DerivedSecondary: {
      std::string rest;
      OFString v;
      for (unsigned long i = 2; in.findAndGetOFString(rule.tag, v, i).good(); ++i)
        rest += std::string("\\") + v.c_str();
      BOOST_TEST(after == "DERIVED\\SECONDARY" + rest);
      break;
    }
    case Expect::Suffixed:
      BOOST_TEST(after == (before.empty() ? std::string("(cae enhanced)")
                                          : before + w.derived.descriptionSuffix));
      break;
    case Expect::Derivation:
      BOOST_TEST(after == w.derived.derivationDescription);
      break;
    case Expect::SourceReference:
      checkSourceReference(out, w.src);
      break;
    case Expect::PixelExtremes: {
      BOOST_TEST(in.tagExists(rule.tag) == out.tagExists(rule.tag));
      if (!out.tagExists(rule.tag)) break;
      const auto [lo, hi] = extremes(w.frames);
      const double expected = rule.tag == DCM_SmallestImagePixelValue ? lo : hi;
      BOOST_TEST(std::stod(after) == expected);
      break;
    }
    case Expect::Removed:
      BOOST_TEST(!out.tagExists(rule.tag));
      break;
    case Expect::ExplicitLe:
      BOOST_TEST(after == kExplicitLe);
      break;
    case Expect::LossyHistory:
      if (w.src.transferSyntaxUid.rfind("1.2.840.10008.1.2.4.5", 0) != 0)  // not lossy JPEG
        BOOST_TEST(after == before);
      else if (rule.tag == DCM_LossyImageCompression)
        BOOST_TEST(after == "01");
      else
        BOOST_TEST(after == (before.empty() ? std::string("ISO_10918_1") : before));
      break;
  }
}

// Signed 16 of 16 bits with rescale, signed 16 without, unsigned 12 of 16 from lossy JPEG
// (with a SourceImageSequence and a DerivationCodeSequence of its own), 8 bits deflated, and the
// two made-up ones: 3 frames of signed 12 bits, and 8 unsigned bits at HighBit 11.
const char* const kTagSources[] = {"CT_small.dcm",  "MR_small.dcm", "JPEG-lossy.dcm",
                                   "image_dfl.dcm", "multi-frame",  "shifted-bits"};
std::string sourcePath(const std::string& name) {
  if (name == "multi-frame") return multiFrameFile();
  if (name == "shifted-bits") return shiftedBitsFile();
  return kFiles + name;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_tag_rule_holds) {
  for (const std::string name : kTagSources) {
    Written w = writeScaled(sourcePath(name), "rules_" + name);
    for (const TagRule& rule : kRules) BOOST_TEST_CONTEXT(name << ": " << rule.name) {
        checkRule(rule, w);
      }
    // The pixels: native, OW for 16 bits and OB for 8, every frame.
    DcmElement* px = nullptr;
    BOOST_TEST_REQUIRE(w.out->getDataset()->findAndGetElement(DCM_PixelData, px).good());
    BOOST_TEST((px->getVR() == (w.src.bitsAllocated == 8 ? EVR_OB : EVR_OW)), name);
    BOOST_TEST(px->getLength() == std::size_t(w.src.rows) * w.src.columns * w.frames.size() *
                                      std::size_t(w.src.bitsAllocated / 8));
  }
}

BOOST_AUTO_TEST_CASE(every_other_tag_is_kept_and_nothing_else_added) {
  std::set<DcmTagKey> ruled = {DCM_PixelData};
  for (const TagRule& rule : kRules)
    if (rule.expect != Expect::Kept) ruled.insert(rule.tag);
  for (const std::string name : kTagSources) {
    Written w = writeScaled(sourcePath(name), "kept_" + name);
    DcmDataset& in = *w.in->getDataset();
    DcmDataset& out = *w.out->getDataset();
    int compared = 0;
    for (unsigned long i = 0; i < in.card(); ++i) {
      DcmElement* a = in.getElement(i);
      const DcmTagKey key = a->getTag();
      // Group lengths are recomputed on writing (and retired anyway).
      if (ruled.count(key) != 0 || key.getElement() == 0x0000) continue;
      DcmElement* b = nullptr;
      DcmTag tag(key);  // getTagName() is not const
      BOOST_TEST_CONTEXT(name << ": " << key.toString() << " " << tag.getTagName()) {
        BOOST_TEST_REQUIRE(out.findAndGetElement(key, b).good());
        BOOST_TEST(a->getVR() == b->getVR());
        BOOST_TEST(a->compare(*b) == 0);
        ++compared;
      }
    }
    BOOST_TEST(compared > 25, name);
    for (unsigned long i = 0; i < out.card(); ++i) {
      const DcmTagKey key = out.getElement(i)->getTag();
      BOOST_TEST((in.tagExists(key) || ruled.count(key) != 0),
                 name << ": added " << key.toString());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pixel values through a write and a read.

BOOST_AUTO_TEST_CASE(unchanged_frames_come_back_exactly) {
  for (const std::string name : kTagSources) {
    BOOST_TEST_CONTEXT(name) {
      const io::DicomInstance src = io::readDicomInstance(sourcePath(name));
      const std::string out = tempPath("same_" + name);
      io::writeDerivedDicom(src, src.frames, derivedFor(src), out);
      const io::DicomInstance back = io::readDicomInstance(out);
      BOOST_TEST(sameFrames(back.frames, src.frames));
      BOOST_TEST(back.transferSyntaxUid == kExplicitLe);
      BOOST_TEST(back.bitsAllocated == src.bitsAllocated);
      BOOST_TEST(back.bitsStored == src.bitsStored);
      BOOST_TEST(back.highBit == src.highBit);
      BOOST_TEST(back.isSigned == src.isSigned);
      BOOST_TEST(back.slope == src.slope);
      BOOST_TEST(back.intercept == src.intercept);
      BOOST_TEST(back.hasRescale == src.hasRescale);
      BOOST_TEST(back.sopInstanceUid == derivedFor(src).sopInstanceUid);
      BOOST_TEST(back.seriesInstanceUid == derivedFor(src).seriesInstanceUid);
      BOOST_TEST(back.studyInstanceUid == src.studyInstanceUid);
    }
  }
}

BOOST_AUTO_TEST_CASE(signed_values_are_written_sign_extended) {
  // The multi-frame source holds 12 bits without sign extension; the output extends the sign
  // into the unused bits, so that readers which ignore BitsStored still see the value.
  const io::DicomInstance src = io::readDicomInstance(multiFrameFile());
  const std::string out = tempPath("sign_extended.dcm");
  io::writeDerivedDicom(src, src.frames, derivedFor(src), out);
  const Uint16* px = nullptr;
  unsigned long n = 0;
  auto f = loadTags(out);
  BOOST_TEST_REQUIRE(f->getDataset()->findAndGetUint16Array(DCM_PixelData, px, &n).good());
  BOOST_TEST_REQUIRE(n == 3u * 128 * 128);
  const std::size_t at = 128 * 128 + 64 * 128 + 64;  // frame 1, [64, 64]: 1024 - 1928
  BOOST_TEST(px[at] == Uint16(Sint16(-904)));
  BOOST_TEST(px[64 * 128 + 64] == 904u);
}

BOOST_AUTO_TEST_CASE(values_beyond_the_stored_range_are_clamped) {
  for (const std::string name : kTagSources) {
    BOOST_TEST_CONTEXT(name) {
      const io::DicomInstance src = io::readDicomInstance(sourcePath(name));
      const int lo = src.storedMin(), hi = src.storedMax();
      // Each value pushed far out of range by its parity: even ones up, odd ones down.
      std::vector<cv::Mat> wild =
          mapped(src.frames, [](int v) { return v % 2 == 0 ? 1 << 20 : -(1 << 20); });
      wild[0].at<int>(1, 1) = lo;  // the bounds themselves stay
      wild[0].at<int>(1, 2) = hi;
      const std::string out = tempPath("clamped_" + name);
      io::writeDerivedDicom(src, wild, derivedFor(src), out);
      const io::DicomInstance back = io::readDicomInstance(out);
      BOOST_TEST_REQUIRE(back.frames.size() == src.frames.size());
      BOOST_TEST(
          sameFrames(back.frames, mapped(wild, [&](int v) { return std::clamp(v, lo, hi); })));
      BOOST_TEST(extremes(back.frames).first == double(lo));
      BOOST_TEST(extremes(back.frames).second == double(hi));
    }
  }
}

BOOST_AUTO_TEST_CASE(frames_that_do_not_fit_are_invalid_arguments) {
  const io::DicomInstance src = io::readDicomInstance(kFiles + "MR_small.dcm");
  const io::DerivedSeries d = derivedFor(src);
  const std::string out = tempPath("invalid.dcm");
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, {}, d, out), cae::InvalidArgument);
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, {src.frames[0], src.frames[0]}, d, out),
                    cae::InvalidArgument);
  cv::Mat asFloat;
  src.frames[0].convertTo(asFloat, CV_32F);
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, {asFloat}, d, out), cae::InvalidArgument);
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, {cv::Mat(64, 63, CV_32S, cv::Scalar(0))}, d, out),
                    cae::InvalidArgument);
  io::DerivedSeries badUid = d;
  badUid.sopInstanceUid = "1.02.3";
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, src.frames, badUid, out), cae::InvalidArgument);
  BOOST_TEST(!fs::exists(out));
  BOOST_CHECK_THROW(io::writeDerivedDicom(src, src.frames, d, tempPath("no/such/folder/x.dcm")),
                    cae::IoError);
}

BOOST_AUTO_TEST_CASE(a_long_series_description_gives_way_to_the_suffix) {
  const std::string path = editedMrSmall("long_description.dcm", [](DcmDataset& ds) {
    ds.putAndInsertString(DCM_SeriesDescription, std::string(60, 'x').c_str());
  });
  const io::DicomInstance src = io::readDicomInstance(path);
  BOOST_TEST(src.seriesDescription == std::string(60, 'x'));
  const std::string out = tempPath("long_description_out.dcm");
  io::writeDerivedDicom(src, src.frames, derivedFor(src), out);
  // LO holds 64 characters: the source's part is cut so that the suffix stays whole.
  BOOST_TEST(stringOf(*loadTags(out)->getDataset(), DCM_SeriesDescription) ==
             std::string(64 - 15, 'x') + " (cae enhanced)");
}

BOOST_AUTO_TEST_CASE(lossy_pixels_are_marked_lossy_when_the_source_did_not_say) {
  const std::string path = editedCopy("JPEG-lossy.dcm", "lossy_unmarked.dcm", [](DcmDataset& ds) {
    ds.findAndDeleteElement(DCM_LossyImageCompression);
    ds.findAndDeleteElement(DCM_LossyImageCompressionMethod);
  });
  const io::DicomInstance src = io::readDicomInstance(path);
  BOOST_TEST(src.transferSyntaxUid == "1.2.840.10008.1.2.4.51");
  const std::string out = tempPath("lossy_marked.dcm");
  io::writeDerivedDicom(src, src.frames, derivedFor(src), out);
  auto f = loadTags(out);
  BOOST_TEST(stringOf(*f->getDataset(), DCM_LossyImageCompression) == "01");
  BOOST_TEST(stringOf(*f->getDataset(), DCM_LossyImageCompressionMethod) == "ISO_10918_1");
  // A lossless source says nothing new.
  const io::DicomInstance rle = io::readDicomInstance(kFiles + "MR_small_RLE.dcm");
  const std::string rleOut = tempPath("lossless.dcm");
  io::writeDerivedDicom(rle, rle.frames, derivedFor(rle), rleOut);
  BOOST_TEST(!loadTags(rleOut)->getDataset()->tagExists(DCM_LossyImageCompression));
}

// ---------------------------------------------------------------------------------------------
// Determinism and UIDs.

BOOST_AUTO_TEST_CASE(the_same_input_gives_the_same_bytes) {
  for (const std::string name : kTagSources) {
    BOOST_TEST_CONTEXT(name) {
      const io::DicomInstance a = io::readDicomInstance(sourcePath(name));
      const io::DicomInstance b = io::readDicomInstance(sourcePath(name));
      const std::string p1 = tempPath("det1_" + name), p2 = tempPath("det2_" + name);
      const std::string p3 = tempPath("det3_" + name);
      io::writeDerivedDicom(a, a.frames, derivedFor(a), p1);
      io::writeDerivedDicom(a, a.frames, derivedFor(a), p2);  // the source is not changed
      io::writeDerivedDicom(b, b.frames, derivedFor(b), p3);  // nor does a new read differ
      const std::string bytes = bytesOf(p1);
      BOOST_TEST(bytes.size() > 132u);
      BOOST_TEST((bytes == bytesOf(p2)));
      BOOST_TEST((bytes == bytesOf(p3)));
    }
  }
}

namespace {

bool validUid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  std::stringstream parts(uid);
  std::string c;
  int n = 0;
  while (std::getline(parts, c, '.')) {
    if (c.empty() || (c.size() > 1 && c[0] == '0')) return false;
    if (c.find_first_not_of("0123456789") != std::string::npos) return false;
    ++n;
  }
  return n >= 2 && uid.back() != '.';
}

}  // namespace

BOOST_AUTO_TEST_CASE(uid_from_text_is_the_sha256_as_a_2_25_uid) {
  // Python: "2.25.%d" % int(hashlib.sha256(t).hexdigest()[:32], 16)
  BOOST_TEST(io::uidFromText("") == "2.25.302652579918965577886386472538583578916");
  BOOST_TEST(io::uidFromText("abc") == "2.25.247859944228867399418143717509236138531");
  BOOST_TEST(io::uidFromText("cae") == "2.25.67211167280669559203194412574518637434");
  BOOST_TEST(io::uidFromText("abc") == io::uidFromText("abc"));
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string uid = io::uidFromText("series " + std::to_string(i));
    BOOST_TEST(validUid(uid), uid);
    BOOST_TEST(uid.rfind("2.25.", 0) == 0u);
    seen.insert(uid);
  }
  BOOST_TEST(seen.size() == 1000u);
  BOOST_TEST(!validUid("1.02"));
  BOOST_TEST(!validUid("1..2"));
  BOOST_TEST(!validUid("1.2."));
}

// ---------------------------------------------------------------------------------------------
// Inputs that are refused.

BOOST_AUTO_TEST_CASE(broken_and_unsupported_files_are_format_errors_with_a_reason) {
  // file, words the reason must contain
  const std::pair<std::string, std::string> cases[] = {
      {kFiles + "MR_truncated.dcm", "truncated"},
      // DCMTK reads badVR.dcm (NumberOfFrames "1A"); it is refused for its 32-bit pixels.
      {kFiles + "badVR.dcm", "BitsAllocated 32"},
      {kFiles + "rtdose.dcm", "BitsAllocated 32"},
      {kFiles + "liver_1frame.dcm", "BitsAllocated 1"},
      {kFiles + "rtplan.dcm", "no pixel data"},
      {kFiles + "JPEG2000.dcm", "JPEG 2000 transfer syntax 1.2.840.10008.1.2.4.91: DCMTK here"},
      {kFiles + "MR_small_jp2klossless.dcm", "JPEG 2000 transfer syntax 1.2.840.10008.1.2.4.90"},
      {kFiles + "SC_rgb_small_odd.dcm", "colour"},
      {kFiles + "SC_rgb_rle.dcm", "colour"},
      {editedMrSmall("frames_1A.dcm",
                     [](DcmDataset& ds) { ds.putAndInsertString(DCM_NumberOfFrames, "1A"); }),
       "invalid NumberOfFrames '1A'"},
      {editedMrSmall("no_sop.dcm",
                     [](DcmDataset& ds) { ds.findAndDeleteElement(DCM_SOPInstanceUID); }),
       "no SOPInstanceUID"},
      {editedMrSmall("no_series.dcm",
                     [](DcmDataset& ds) { ds.findAndDeleteElement(DCM_SeriesInstanceUID); }),
       "no SeriesInstanceUID"},
  };
  for (const auto& c : cases) {
    const std::string& path = c.first;  // a plain name: lambdas cannot capture bindings in C++17
    const std::string& reason = c.second;
    BOOST_TEST_CONTEXT(path) {
      const std::string msg = formatErrorOf([&] { io::readDicomInstance(path); });
      BOOST_TEST(msg.find(path) != std::string::npos, msg);
      BOOST_TEST(msg.find(reason) != std::string::npos, msg);
    }
  }
  const std::string text = tempPath("x.dcm");
  std::ofstream(text) << "not a DICOM file\n";
  const std::string msg = formatErrorOf([&] { io::readDicomInstance(text); });
  BOOST_TEST(msg.find(text) != std::string::npos, msg);
  BOOST_TEST(msg.find("not a DICOM file") != std::string::npos, msg);

  BOOST_CHECK_THROW(io::readDicomInstance(kFiles + "no_such_file.dcm"), cae::IoError);
  BOOST_CHECK_THROW(io::readDicomInstance(temp().dir.string()), cae::IoError);
}

// ---------------------------------------------------------------------------------------------
// dciodvfy (dicom3tools) on the outputs.

namespace {

std::string findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && ::access((fs::path(dir) / name).c_str(), X_OK) == 0)
      return (fs::path(dir) / name).string();
  return {};
}

// dciodvfy's error lines for a file: those that start with "Error" and those that name an
// element first ("(0x0009,0x1040) ... Error - ...").
std::set<std::string> dciodvfyErrors(const std::string& exe, const std::string& file) {
  std::set<std::string> errors;
  FILE* p = ::popen(("'" + exe + "' '" + file + "' 2>&1").c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string all;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), int(buf.size()), p) != nullptr) all += buf.data();
  ::pclose(p);
  BOOST_TEST_MESSAGE("dciodvfy " << file << ":\n" << all);
  std::stringstream lines(all);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("Error", 0) == 0 || line.find(" Error - ") != std::string::npos)
      errors.insert(line);
  return errors;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dciodvfy_finds_no_new_errors_in_the_outputs) {
  const std::string exe = findProgram("dciodvfy");
  BOOST_TEST_REQUIRE(!exe.empty(),
                     "dciodvfy not found on PATH: install the Debian package dicom3tools "
                     "(a declared test dependency, see scripts/setup.sh)");
  // The errors dciodvfy reports on the sources themselves, tolerated in the outputs; anything
  // else in an output is ours. dciodvfy cannot read deflated files, so image_dfl's own errors
  // are those of an explicit VR copy.
  const std::string laterality =
      "Error - Missing attribute Type 2C Conditional Element=<Laterality> Module=<GeneralSeries>";
  const std::pair<const char*, std::set<std::string>> sources[] = {
      {"CT_small.dcm", {}},
      {"MR_small.dcm", {}},
      {"JPEG-lossy.dcm", {laterality}},
      {"image_dfl.dcm", {laterality}},
  };
  for (const auto& [name, tolerated] : sources) {
    BOOST_TEST_CONTEXT(name) {
      const std::string source = std::string(name) == "image_dfl.dcm"
                                     ? explicitCopy(name, "dciodvfy_inflated.dcm")
                                     : kFiles + name;
      BOOST_TEST((dciodvfyErrors(exe, source) == tolerated));
      const io::DicomInstance src = io::readDicomInstance(kFiles + name);
      const std::string out = tempPath(std::string("dciodvfy_") + name);
      io::writeDerivedDicom(src, mapped(src.frames, [](int v) { return v * 3 / 4; }),
                            derivedFor(src), out);
      for (const std::string& e : dciodvfyErrors(exe, out))
        BOOST_TEST(tolerated.count(e) == 1u, "new dciodvfy error: " << e);
    }
  }
}
