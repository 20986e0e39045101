// DICOM instances for batch enhancement (tools/cae-enhance): the stored pixel values of every
// frame with what a writer needs to give them back exactly (bits, sign, rescale), and a derived
// instance written beside its source with every other tag kept. DCMTK stays in the .cpp.
//
//   DicomInstance src = readDicomInstance("in/CT_small.dcm");   // FormatError with a reason
//   std::vector<cv::Mat> out = enhance(src.frames);              // CV_32S, stored values
//   DerivedSeries d{derivedUid(src.seriesInstanceUid, modelSha), " cae", "cae-enhance: ..."};
//   writeDerivedDicom(src, out, d, "out/x.dcm.part");            // explicit VR little endian
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace cae::io {

// One DICOM file with monochrome pixel data, decoded.
struct DicomInstance {
  std::string path;
  // Identifiers (empty when the file lacks them; a file without SOPInstanceUID or
  // SeriesInstanceUID is refused by readDicomInstance).
  std::string sopClassUid, sopInstanceUid, seriesInstanceUid, studyInstanceUid;
  std::string modality, seriesDescription, photometric;  // photometric: MONOCHROME1/2
  std::string transferSyntaxUid;                         // of the source file
  int rows = 0, columns = 0;
  int bitsAllocated = 0, bitsStored = 0, highBit = 0;
  bool isSigned = false;  // PixelRepresentation 1
  // Modality LUT as a linear rescale (1 and 0 when the file has none): value = stored * slope +
  // intercept (HU for CT).
  double slope = 1.0, intercept = 0.0;
  bool hasRescale = false;  // RescaleSlope/Intercept present in the source
  // One CV_32S rows×columns matrix per frame (NumberOfFrames; 1 for single-frame files): the
  // stored values, sign-extended from bitsStored when signed, masked to bitsStored otherwise.
  std::vector<cv::Mat> frames;
  // The smallest and largest value the stored bits can hold (e.g. -2048..2047 for 12 bits
  // signed, 0..65535 for 16 bits unsigned).
  int storedMin() const;
  int storedMax() const;

  // The parsed file (DcmFileFormat), kept to write the derived instance with every tag.
  std::shared_ptr<void> file;
};

// Reads a DICOM file with one-sample (MONOCHROME1/2) pixel data of 8 or 16 bits allocated,
// any transfer syntax DCMTK decodes here (uncompressed little/big endian, deflate, RLE, JPEG,
// JPEG-LS). Throws IoError when the file cannot be read, FormatError naming the file and the
// reason otherwise: not DICOM, truncated or corrupt, no pixel data (e.g. an RT plan), colour,
// JPEG 2000 ("JPEG 2000 transfer syntax <uid>: DCMTK here has no JPEG 2000 decoder") or another
// syntax DCMTK cannot decode, BitsAllocated other than 8 or 16 (e.g. 32-bit RT dose, 1-bit
// segmentations), inconsistent BitsStored/HighBit, an invalid NumberOfFrames, no SOPInstanceUID
// or SeriesInstanceUID. Stored bits below HighBit are shifted down (HighBit + 1 - BitsStored).
DicomInstance readDicomInstance(const std::string& path);

// What makes a derived instance.
struct DerivedSeries {
  std::string seriesInstanceUid;      // the new series (one per source series)
  std::string descriptionSuffix;      // appended to SeriesDescription (" (cae enhanced)")
  std::string derivationDescription;  // DerivationDescription, e.g. model name and SHA-256
  std::string sopInstanceUid;         // the new instance UID
};

// Writes `frames` (CV_32S, the source's rows×columns, as many as the source has; values
// clamped to the source's stored range) as a derived copy of `src` to `path`: every tag of the
// source kept except SOPInstanceUID and SeriesInstanceUID (new), ImageType DERIVED\SECONDARY
// (further values kept), SeriesDescription with the suffix, DerivationDescription, a
// SourceImageSequence item referencing the source instance (its SOP class and instance UIDs),
// and the pixel data; same BitsAllocated/BitsStored/HighBit/PixelRepresentation/rescale as the
// source; written uncompressed, explicit VR little endian, with a Part 10 meta header. The
// output does not depend on when it is written (no dates or times are added): the same input
// gives the same bytes. Throws InvalidArgument for frames that do not fit the source, UIDs that
// are not valid (digits and dots, no leading zeros, at most 64 characters), a derivation
// description over 1,024 characters (ST) or a suffix with a backslash; IoError when the file
// cannot be written (no partial file is left).
// Attributes that describe the pixels or the derivation follow the new ones rather than going
// stale: a SeriesDescription over 64 characters (LO) loses the end of the source's part, not
// the suffix (the suffix alone, trimmed, when the source has none); DerivationCodeSequence (the
// source's own derivation, e.g. "Lossy Compression") is removed; Smallest/LargestImagePixelValue,
// where the source has them, hold the written pixels' extremes, and the series-wide
// Smallest/LargestPixelValueInSeries are removed (one instance cannot know them); pixels from a
// lossy transfer syntax get LossyImageCompression "01" (and its method when missing), which
// PS3.3 asks derived images to keep; the extended offset table of encapsulated data is dropped.
// Signed values with BitsStored < BitsAllocated are written sign-extended into the unused bits.
void writeDerivedDicom(const DicomInstance& src, const std::vector<cv::Mat>& frames,
                       const DerivedSeries& derived, const std::string& path);

// A DICOM UID derived from text by hashing it (ISO/IEC 9834-8 style: "2.25." and the decimal of
// the first 128 bits of its SHA-256, big-endian): the same text always gives the same UID, so a
// rerun names the derived series and instances as the first run did.
std::string uidFromText(const std::string& text);

}  // namespace cae::io
