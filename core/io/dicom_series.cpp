#include "io/dicom_series.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dctk.h>

#include "error.hpp"
#include "io/dicom_setup.hpp"
#include "io/hash.hpp"

namespace cae::io {

namespace {

constexpr std::size_t kMaxUid = 64;                           // UI
constexpr std::size_t kMaxLo = 64;                            // LO: SeriesDescription
constexpr std::size_t kMaxSt = 1024;                          // ST: DerivationDescription
const char* const kJpeg2000Prefix = "1.2.840.10008.1.2.4.9";  // 90..99: JPEG 2000 family

bool hasPreamble(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::array<char, 132> buf{};
  if (!f.read(buf.data(), buf.size())) return false;
  return std::memcmp(buf.data() + 128, "DICM", 4) == 0;
}

[[noreturn]] void refuse(const std::string& path, const std::string& reason) {
  throw FormatError("DICOM '" + path + "': " + reason);
}

std::string stringOf(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  if (ds.findAndGetOFStringArray(tag, v).bad()) return {};
  return v.c_str();
}

bool validUid(const std::string& uid) {
  if (uid.empty() || uid.size() > kMaxUid) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(uid.find('.', start), uid.size());
    if (end == start) return false;                          // empty component
    if (uid[start] == '0' && end - start > 1) return false;  // leading zero
    for (std::size_t i = start; i < end; ++i)
      if (uid[i] < '0' || uid[i] > '9') return false;
    if (end == uid.size()) return true;
    start = end + 1;
  }
}

std::string trimmed(const std::string& s) {
  const std::size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// Loads the file with every value in memory: DCMTK otherwise leaves large values in the file and
// reads them when they are first used, i.e. when the derived copy is written (and the source may
// have changed or gone by then); this also finds truncation now.
std::shared_ptr<DcmFileFormat> loadDicom(const std::string& path) {
  auto file = std::make_shared<DcmFileFormat>();
  OFCondition st = file->loadFile(path.c_str());
  if (st.good()) st = file->loadAllDataIntoMemory();
  if (st.bad()) {
    if (!hasPreamble(path))
      refuse(path,
             std::string("not a DICOM file (no DICM preamble, and not a readable data set: ") +
                 st.text() + ")");
    refuse(path, std::string("truncated or corrupt (") + st.text() + ")");
  }
  return file;
}

struct PixelModule {
  Uint16 samples = 1, rows = 0, columns = 0, bitsAllocated = 0, bitsStored = 0, highBit = 0;
  Uint16 pixelRepresentation = 0;
  Sint32 frames = 1;
  std::string photometric;
};

PixelModule checkPixelModule(DcmDataset& ds, const std::string& path) {
  PixelModule m;
  m.photometric = stringOf(ds, DCM_PhotometricInterpretation);
  ds.findAndGetUint16(DCM_SamplesPerPixel, m.samples);
  const bool monochrome = m.photometric == "MONOCHROME1" || m.photometric == "MONOCHROME2";
  if (m.samples != 1 || m.photometric == "PALETTE COLOR")
    refuse(path, "colour image (SamplesPerPixel " + std::to_string(m.samples) +
                     ", PhotometricInterpretation '" + m.photometric +
                     "'); only monochrome images are enhanced");
  if (!monochrome)
    refuse(path, "PhotometricInterpretation '" + m.photometric +
                     "' is neither MONOCHROME1 nor MONOCHROME2");
  if (ds.findAndGetUint16(DCM_Rows, m.rows).bad() ||
      ds.findAndGetUint16(DCM_Columns, m.columns).bad() || m.rows == 0 || m.columns == 0)
    refuse(path, "no image size (Rows/Columns missing or zero)");
  if (ds.findAndGetUint16(DCM_BitsAllocated, m.bitsAllocated).bad() ||
      (m.bitsAllocated != 8 && m.bitsAllocated != 16))
    refuse(path, "BitsAllocated " + std::to_string(m.bitsAllocated) +
                     "; only 8 or 16 bits allocated are supported");
  if (ds.findAndGetUint16(DCM_BitsStored, m.bitsStored).bad()) m.bitsStored = m.bitsAllocated;
  if (ds.findAndGetUint16(DCM_HighBit, m.highBit).bad()) m.highBit = m.bitsStored - 1;
  if (m.bitsStored < 1 || m.bitsStored > m.bitsAllocated || m.highBit >= m.bitsAllocated ||
      m.highBit + 1 < m.bitsStored)
    refuse(path, "inconsistent BitsAllocated/BitsStored/HighBit " +
                     std::to_string(m.bitsAllocated) + "/" + std::to_string(m.bitsStored) + "/" +
                     std::to_string(m.highBit));
  ds.findAndGetUint16(DCM_PixelRepresentation, m.pixelRepresentation);

  // DCMTK reads a malformed frame count such as "1A" as 1 and would silently drop frames.
  DcmElement* framesElem = nullptr;
  if (ds.findAndGetElement(DCM_NumberOfFrames, framesElem).good() && framesElem != nullptr) {
    if (framesElem->checkValue().bad() || ds.findAndGetSint32(DCM_NumberOfFrames, m.frames).bad() ||
        m.frames < 1)
      refuse(path, "invalid NumberOfFrames '" + stringOf(ds, DCM_NumberOfFrames) + "'");
  }
  return m;
}

// Gives the pixel data an uncompressed representation (a no-op for native files).
void decompress(DcmDataset& ds, const std::string& path) {
  const DcmXfer xfer(ds.getOriginalXfer());
  const std::string uid = xfer.getXferID();
  if (uid.rfind(kJpeg2000Prefix, 0) == 0 && uid.size() == std::strlen(kJpeg2000Prefix) + 1)
    refuse(path, "JPEG 2000 transfer syntax " + uid + ": DCMTK here has no JPEG 2000 decoder");
  if (xfer.isEncapsulated() &&
      !DcmCodecList::canChangeCoding(xfer.getXfer(), EXS_LittleEndianExplicit))
    refuse(path, "compressed as " + std::string(xfer.getXferName()) + " (" + uid +
                     "), which DCMTK here cannot decode");
  const OFCondition st = ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
  if (st.bad() || !ds.canWriteXfer(EXS_LittleEndianExplicit))
    refuse(path, "cannot decode its " + std::string(xfer.getXferName()) +
                     " pixel data: " + (st.bad() ? st.text() : "no uncompressed form"));
}

// One value of the stored bits: shifted down from HighBit, masked, sign-extended when signed.
struct StoredBits {
  int low = 0, bits = 16;
  bool isSigned = false;
  int operator()(unsigned raw) const {
    const unsigned v = (raw >> unsigned(low)) & ((1u << unsigned(bits)) - 1u);
    if (isSigned && (v >> unsigned(bits - 1)) != 0u) return int(v) - (1 << bits);
    return int(v);
  }
};

std::vector<cv::Mat> readFrames(DcmDataset& ds, const PixelModule& m, const std::string& path) {
  DcmElement* px = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, px).bad() || px == nullptr)
    refuse(path, "holds no pixel data");
  const std::size_t plane = std::size_t(m.rows) * m.columns;
  const std::size_t count = plane * std::size_t(m.frames);
  const std::size_t need = count * (m.bitsAllocated / 8);
  if (px->getLength() < need)
    refuse(path, "pixel data truncated (" + std::to_string(px->getLength()) + " bytes, " +
                     std::to_string(m.frames) + " frame(s) of " + std::to_string(m.rows) + "x" +
                     std::to_string(m.columns) + " at " + std::to_string(m.bitsAllocated) +
                     " bits need " + std::to_string(need) + ")");
  const StoredBits stored{m.highBit + 1 - m.bitsStored, m.bitsStored, m.pixelRepresentation == 1};
  std::vector<cv::Mat> frames;
  // DCMTK hands OW as host-order words and OB as bytes, converting when the VR differs
  // (8-bit data in implicit VR files is OW).
  Uint8* u8 = nullptr;
  Uint16* u16 = nullptr;
  const OFCondition st = m.bitsAllocated == 8 ? px->getUint8Array(u8) : px->getUint16Array(u16);
  if (st.bad() || (u8 == nullptr && u16 == nullptr))
    refuse(path, std::string("cannot access pixel data: ") + st.text());
  for (Sint32 f = 0; f < m.frames; ++f) {
    cv::Mat mat(m.rows, m.columns, CV_32S);
    auto* dst = mat.ptr<int>();
    const std::size_t off = plane * std::size_t(f);
    for (std::size_t i = 0; i < plane; ++i)
      dst[i] = stored(u8 != nullptr ? unsigned(u8[off + i]) : unsigned(u16[off + i]));
    frames.push_back(mat);
  }
  return frames;
}

// ImageType with DERIVED\SECONDARY in front of the source's further values.
std::string derivedImageType(DcmItem& ds) {
  std::string out = "DERIVED\\SECONDARY";
  DcmElement* e = nullptr;
  if (ds.findAndGetElement(DCM_ImageType, e).good() && e != nullptr) {
    for (unsigned long i = 2; i < e->getVM(); ++i) {
      OFString v;
      e->getOFString(v, i);
      out += "\\" + std::string(v.c_str());
    }
  }
  return out;
}

// SeriesDescription and the suffix within LO's 64 characters: the suffix is what says the
// series is derived, so the source's part gives way.
std::string derivedDescription(const std::string& source, const std::string& suffix) {
  if (trimmed(source).empty()) return trimmed(suffix).substr(0, kMaxLo);
  if (source.size() + suffix.size() <= kMaxLo) return source + suffix;
  if (suffix.size() >= kMaxLo) return trimmed(suffix).substr(0, kMaxLo);
  const std::string head = source.substr(0, kMaxLo - suffix.size());
  return head.substr(0, head.find_last_not_of(' ') + 1) + suffix;
}

void check(const OFCondition& st, const std::string& path, const char* what) {
  if (st.bad()) throw IoError("cannot write DICOM '" + path + "': " + what + ": " + st.text());
}

void setSourceReference(DcmDataset& ds, const DicomInstance& src, const std::string& path) {
  ds.findAndDeleteElement(DCM_SourceImageSequence);
  DcmItem* item = nullptr;
  check(ds.findOrCreateSequenceItem(DCM_SourceImageSequence, item, 0), path, "SourceImageSequence");
  check(item->putAndInsertString(DCM_ReferencedSOPClassUID, src.sopClassUid.c_str()), path,
        "ReferencedSOPClassUID");
  check(item->putAndInsertString(DCM_ReferencedSOPInstanceUID, src.sopInstanceUid.c_str()), path,
        "ReferencedSOPInstanceUID");
}

// Pixels that went through a lossy transfer syntax stay lossy when written uncompressed: PS3.3
// C.7.6.1.1.5 asks derived images to keep LossyImageCompression "01", and its method (Type 1C).
// DCMTK's JPEG decoder sets the flag itself while decoding, but not the method.
void markLossyHistory(DcmDataset& ds, const DicomInstance& src, const std::string& path) {
  const DcmXfer xfer(src.transferSyntaxUid.c_str());
  if (!xfer.isLossy()) return;
  if (stringOf(ds, DCM_LossyImageCompression) != "01")
    check(ds.putAndInsertString(DCM_LossyImageCompression, "01"), path, "LossyImageCompression");
  const char* method = xfer.getXfer() == EXS_JPEGLSLossy ? "ISO_14495_1" : "ISO_10918_1";
  if (!ds.tagExists(DCM_LossyImageCompressionMethod))
    check(ds.putAndInsertString(DCM_LossyImageCompressionMethod, method), path,
          "LossyImageCompressionMethod");
}

// The pixel data, clamped to the stored range and placed at HighBit; signed values keep their
// two's complement bits above BitsStored (sign extension), as most writers do.
void setPixels(DcmDataset& ds, const DicomInstance& src, const std::vector<cv::Mat>& frames,
               const std::string& path) {
  const std::size_t plane = std::size_t(src.rows) * std::size_t(src.columns);
  const int low = src.highBit + 1 - src.bitsStored;
  const unsigned allocMask = (1u << unsigned(src.bitsAllocated)) - 1u;
  const int lo = src.storedMin(), hi = src.storedMax();
  int seenMin = hi, seenMax = lo;
  std::vector<Uint16> words(plane * frames.size());
  for (std::size_t f = 0; f < frames.size(); ++f) {
    for (int y = 0; y < src.rows; ++y) {
      const int* row = frames[f].ptr<int>(y);
      for (int x = 0; x < src.columns; ++x) {
        const int v = std::clamp(row[x], lo, hi);
        seenMin = std::min(seenMin, v);
        seenMax = std::max(seenMax, v);
        words[f * plane + std::size_t(y) * src.columns + x] =
            Uint16((unsigned(v) << unsigned(low)) & allocMask);
      }
    }
  }

  ds.findAndDeleteElement(DCM_PixelData);
  // Offsets into encapsulated fragments mean nothing for native pixel data.
  ds.findAndDeleteElement(DCM_ExtendedOffsetTable);
  ds.findAndDeleteElement(DCM_ExtendedOffsetTableLengths);
  auto px = std::make_unique<DcmPixelData>(
      DcmTag(DCM_PixelData, src.bitsAllocated == 8 ? EVR_OB : EVR_OW));
  if (src.bitsAllocated == 8) {
    std::vector<Uint8> bytes(words.begin(), words.end());
    check(px->putUint8Array(bytes.data(), bytes.size()), path, "PixelData");
  } else {
    check(px->putUint16Array(words.data(), words.size()), path, "PixelData");
  }
  check(ds.insert(px.release(), true), path, "PixelData");

  // These describe this image's pixels: say what the new ones hold. The series-wide pair cannot
  // be known from one instance, so it goes.
  const std::pair<DcmTagKey, int> extremes[] = {{DCM_SmallestImagePixelValue, seenMin},
                                                {DCM_LargestImagePixelValue, seenMax}};
  for (const auto& [key, value] : extremes) {
    if (!ds.tagExists(key)) continue;
    ds.findAndDeleteElement(key);
    if (src.isSigned)
      check(ds.putAndInsertSint16(DcmTag(key, EVR_SS), Sint16(value)), path, "pixel extremes");
    else
      check(ds.putAndInsertUint16(DcmTag(key, EVR_US), Uint16(value)), path, "pixel extremes");
  }
  ds.findAndDeleteElement(DCM_SmallestPixelValueInSeries);
  ds.findAndDeleteElement(DCM_LargestPixelValueInSeries);
}

}  // namespace

int DicomInstance::storedMin() const { return isSigned ? -(1 << (bitsStored - 1)) : 0; }

int DicomInstance::storedMax() const {
  return isSigned ? (1 << (bitsStored - 1)) - 1 : (1 << bitsStored) - 1;
}

DicomInstance readDicomInstance(const std::string& path) {
  detail::checkReadableDicom(path);
  detail::initDcmtk();
  const std::shared_ptr<DcmFileFormat> file = loadDicom(path);
  DcmDataset& ds = *file->getDataset();

  DicomInstance d;
  d.path = path;
  d.sopClassUid = stringOf(ds, DCM_SOPClassUID);
  d.sopInstanceUid = stringOf(ds, DCM_SOPInstanceUID);
  d.seriesInstanceUid = stringOf(ds, DCM_SeriesInstanceUID);
  d.studyInstanceUid = stringOf(ds, DCM_StudyInstanceUID);
  d.modality = stringOf(ds, DCM_Modality);
  d.seriesDescription = stringOf(ds, DCM_SeriesDescription);
  d.transferSyntaxUid = DcmXfer(ds.getOriginalXfer()).getXferID();
  const bool preamble = hasPreamble(path);
  if (d.sopInstanceUid.empty() || d.seriesInstanceUid.empty()) {
    // DCMTK parses almost any bytes as a data set without a meta header.
    if (!preamble && !ds.tagExists(DCM_PixelData))
      refuse(path, "not a DICOM file (no DICM preamble, no identifiers, no pixel data)");
    refuse(path, std::string("no ") + (d.sopInstanceUid.empty() ? "SOPInstanceUID" : "") +
                     (d.sopInstanceUid.empty() && d.seriesInstanceUid.empty() ? " and no " : "") +
                     (d.seriesInstanceUid.empty() ? "SeriesInstanceUID" : "") +
                     "; a derived instance must reference its source");
  }
  if (!ds.tagExists(DCM_PixelData))
    refuse(path, "holds no pixel data (Modality '" + d.modality + "', SOP class " +
                     dcmFindNameOfUID(d.sopClassUid.c_str(), d.sopClassUid.c_str()) +
                     "): nothing to enhance");

  const PixelModule m = checkPixelModule(ds, path);
  decompress(ds, path);
  d.frames = readFrames(ds, m, path);
  d.photometric = m.photometric;
  d.rows = m.rows;
  d.columns = m.columns;
  d.bitsAllocated = m.bitsAllocated;
  d.bitsStored = m.bitsStored;
  d.highBit = m.highBit;
  d.isSigned = m.pixelRepresentation == 1;
  const bool hasSlope = ds.findAndGetFloat64(DCM_RescaleSlope, d.slope).good();
  const bool hasIntercept = ds.findAndGetFloat64(DCM_RescaleIntercept, d.intercept).good();
  if (!hasSlope) d.slope = 1.0;
  if (!hasIntercept) d.intercept = 0.0;
  d.hasRescale = hasSlope || hasIntercept;
  d.file = file;
  return d;
}

void writeDerivedDicom(const DicomInstance& src, const std::vector<cv::Mat>& frames,
                       const DerivedSeries& derived, const std::string& path) {
  if (!src.file) throw InvalidArgument("writeDerivedDicom: the source has no parsed DICOM file");
  if (frames.size() != src.frames.size())
    throw InvalidArgument("writeDerivedDicom: " + std::to_string(frames.size()) +
                          " frames for a source of " + std::to_string(src.frames.size()));
  for (const cv::Mat& f : frames)
    if (f.type() != CV_32S || f.rows != src.rows || f.cols != src.columns)
      throw InvalidArgument("writeDerivedDicom: frames must be CV_32S " + std::to_string(src.rows) +
                            "x" + std::to_string(src.columns));
  for (const std::string* uid : {&derived.seriesInstanceUid, &derived.sopInstanceUid})
    if (!validUid(*uid)) throw InvalidArgument("writeDerivedDicom: invalid UID '" + *uid + "'");
  if (derived.derivationDescription.size() > kMaxSt)
    throw InvalidArgument("writeDerivedDicom: DerivationDescription longer than 1024 characters");
  if (derived.descriptionSuffix.find('\\') != std::string::npos)
    throw InvalidArgument("writeDerivedDicom: a backslash in the description suffix");

  detail::initDcmtk();
  // A copy: the source stays as read, so it can be written again (and gives the same bytes).
  DcmFileFormat out(*std::static_pointer_cast<DcmFileFormat>(src.file));
  DcmDataset& ds = *out.getDataset();
  check(ds.putAndInsertString(DCM_SOPInstanceUID, derived.sopInstanceUid.c_str()), path,
        "SOPInstanceUID");
  check(ds.putAndInsertString(DCM_SeriesInstanceUID, derived.seriesInstanceUid.c_str()), path,
        "SeriesInstanceUID");
  check(ds.putAndInsertOFStringArray(DCM_ImageType, derivedImageType(ds).c_str()), path,
        "ImageType");
  const std::string description =
      derivedDescription(stringOf(ds, DCM_SeriesDescription), derived.descriptionSuffix);
  check(ds.putAndInsertString(DCM_SeriesDescription, description.c_str()), path,
        "SeriesDescription");
  check(ds.putAndInsertString(DCM_DerivationDescription, derived.derivationDescription.c_str()),
        path, "DerivationDescription");
  setSourceReference(ds, src, path);
  // It coded how the source came from its own source (e.g. "Lossy Compression"), which the new
  // SourceImageSequence and DerivationDescription no longer describe.
  ds.findAndDeleteElement(DCM_DerivationCodeSequence);
  markLossyHistory(ds, src, path);
  setPixels(ds, src, frames, path);

  // A new meta header from the data set: SOP class and instance, explicit VR little endian, and
  // DCMTK's own implementation UID and version name (no dates).
  const OFCondition st = out.saveFile(path.c_str(), EXS_LittleEndianExplicit, EET_ExplicitLength,
                                      EGL_recalcGL, EPD_noChange, 0, 0, EWM_createNewMeta);
  if (st.bad()) {
    std::remove(path.c_str());  // no half-written file left behind
    throw IoError("cannot write DICOM '" + path + "': " + st.text());
  }
}

std::string uidFromText(const std::string& text) {
  const Sha256 digest = sha256(text);
  // The first 16 bytes as a big-endian integer, printed by repeated division by 10.
  std::array<unsigned, 16> n{};
  std::copy_n(digest.begin(), n.size(), n.begin());
  std::string digits;
  bool zero = false;
  while (!zero) {
    unsigned rem = 0;
    zero = true;
    for (unsigned& b : n) {
      const unsigned cur = rem * 256 + b;
      b = cur / 10;
      rem = cur % 10;
      zero = zero && b == 0;
    }
    digits.push_back(char('0' + rem));
  }
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

}  // namespace cae::io
