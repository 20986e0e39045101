#include "io/dicom.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmimage/diregist.h>
#include <dcmtk/dcmimgle/dcmimage.h>

#include "error.hpp"
#include "io/dicom_setup.hpp"

namespace cae::io {

using nn::Scalar;
using nn::Shape;
using nn::Tensor;

namespace {

template <typename T>
void copyValues(const void* data, std::size_t count, std::vector<double>& out) {
  const T* p = static_cast<const T*>(data);
  out.assign(p, p + count);
}

// Stored monochrome values of every frame, as doubles, frame after frame.
std::vector<double> monochromeValues(const DiPixel& px, std::size_t count,
                                     const std::string& path) {
  std::vector<double> v;
  switch (px.getRepresentation()) {
    case EPR_Uint8:
      copyValues<Uint8>(px.getData(), count, v);
      break;
    case EPR_Sint8:
      copyValues<Sint8>(px.getData(), count, v);
      break;
    case EPR_Uint16:
      copyValues<Uint16>(px.getData(), count, v);
      break;
    case EPR_Sint16:
      copyValues<Sint16>(px.getData(), count, v);
      break;
    case EPR_Uint32:
      copyValues<Uint32>(px.getData(), count, v);
      break;
    case EPR_Sint32:
      copyValues<Sint32>(px.getData(), count, v);
      break;
    default:
      throw FormatError("DICOM '" + path + "': unsupported pixel representation");
  }
  return v;
}

// The stored values that 0 and 1 stand for: the stored values' range (MinMax), the range Bits
// Stored allows (StoredRange), or the window's ends as stored values (Window).
void storedRange(const std::vector<double>& v, DicomScaling scaling, const Window& window,
                 const std::string& path, DicomImageData& out) {
  if (scaling == DicomScaling::MinMax) {
    const auto mm = std::minmax_element(v.begin(), v.end());
    out.lo = *mm.first;
    out.hi = *mm.second > *mm.first ? *mm.second : *mm.first + 1;  // flat image: all zeros
  } else if (scaling == DicomScaling::StoredRange) {
    const int bits = std::clamp(out.bitsStored, 1, 32);
    out.lo = out.isSigned ? -std::ldexp(1.0, bits - 1) : 0.0;
    out.hi = out.lo + std::ldexp(1.0, bits) - 1;
  } else {
    const Rescale& r = out.rescale;
    if (r.slope == 0 || !std::isfinite(r.slope) || !std::isfinite(r.intercept))
      throw FormatError("DICOM '" + path + "' has an unusable Rescale Slope/Intercept (" +
                        std::to_string(r.slope) + ", " + std::to_string(r.intercept) + ")");
    out.lo = (window.lo - r.intercept) / r.slope;
    out.hi = (window.hi - r.intercept) / r.slope;
  }
}

// The frames of a monochrome image, scaled by storedRange (out.lo/out.hi set to the range
// used). Window: u = stored * scale + offset of io::unitMap, the map the model metadata states,
// so that training sees exactly what caedenoise feeds a GRAY16 model.
void readMonochromeFrames(DicomImage& img, int w, int h, int frames, DicomScaling scaling,
                          const Window& window, const std::string& path, DicomImageData& out) {
  const std::size_t plane = std::size_t(w) * std::size_t(h);
  const DiPixel* px = img.getInterData();
  if (px == nullptr || px->getData() == nullptr || px->getCount() < plane * std::size_t(frames))
    throw FormatError("cannot decode DICOM image '" + path + "': pixel data incomplete");
  const std::vector<double> v = monochromeValues(*px, plane * std::size_t(frames), path);
  storedRange(v, scaling, window, path, out);
  const bool windowed = scaling == DicomScaling::Window;
  const UnitMap m = windowed ? unitMap(out.rescale, window) : UnitMap{};
  const double scale = 1 / (out.hi - out.lo);
  for (int f = 0; f < frames; ++f) {
    Tensor t(Shape{1, 1, h, w});
    const double* src = v.data() + plane * std::size_t(f);
    for (std::size_t i = 0; i < plane; ++i)
      t[i] = Scalar(windowed ? src[i] * m.scale + m.offset : (src[i] - out.lo) * scale);
    out.frames.push_back(std::move(t));
  }
}

// The frames of a colour image: DCMTK converts YBR/palette to RGB; ask for 8 or 16 bits, planar
// (R plane, G, B).
void readColourFrames(DicomImage& img, int w, int h, int frames, const std::string& path,
                      DicomImageData& out) {
  const std::size_t plane = std::size_t(w) * std::size_t(h);
  const int bits = out.bitsStored <= 8 ? 8 : 16;
  out.lo = 0;
  out.hi = std::ldexp(1.0, bits) - 1;
  for (int f = 0; f < frames; ++f) {
    const void* data = img.getOutputData(bits, unsigned(f), 1);
    if (data == nullptr)
      throw FormatError("cannot decode DICOM colour frame " + std::to_string(f) + " of '" + path +
                        "': " + DicomImage::getString(img.getStatus()));
    Tensor t(Shape{1, 3, h, w});
    for (std::size_t i = 0; i < 3 * plane; ++i)
      t[i] = Scalar((bits == 8 ? double(static_cast<const Uint8*>(data)[i])
                               : double(static_cast<const Uint16*>(data)[i])) /
                    out.hi);
    out.frames.push_back(std::move(t));
  }
}

}  // namespace

bool hasDicomMagic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char buf[132] = {};
  if (!f.read(buf, sizeof buf)) return false;
  return std::memcmp(buf + 128, "DICM", 4) == 0;
}

DicomImageData readDicom(const std::string& path, DicomScaling scaling, const Window& window) {
  if (scaling == DicomScaling::Window &&
      !(window.lo < window.hi && std::isfinite(window.lo) && std::isfinite(window.hi)))
    throw InvalidArgument("readDicom: the window must have finite lo < hi, got " +
                          std::to_string(window.lo) + ":" + std::to_string(window.hi));
  detail::checkReadableDicom(path);
  detail::initDcmtk();
  DcmFileFormat file;
  const OFCondition st = file.loadFile(path.c_str());
  if (st.bad()) throw FormatError("cannot read DICOM '" + path + "': " + st.text());
  DcmDataset* ds = file.getDataset();
  if (ds == nullptr || !ds->tagExists(DCM_PixelData))
    throw FormatError("DICOM '" + path + "' holds no image (no Pixel Data element)");

  // DCMTK reads a malformed frame count such as "1A" as 1 and would silently drop frames.
  DcmElement* framesElem = nullptr;
  if (ds->findAndGetElement(DCM_NumberOfFrames, framesElem).good() && framesElem != nullptr &&
      framesElem->checkValue().bad()) {
    OFString value;
    framesElem->getOFStringArray(value);
    throw FormatError("DICOM '" + path + "' has an invalid Number of Frames '" + value.c_str() +
                      "'");
  }

  DicomImageData out;
  Uint16 bitsStored = 0, pixelRep = 0;
  ds->findAndGetUint16(DCM_BitsStored, bitsStored);
  ds->findAndGetUint16(DCM_PixelRepresentation, pixelRep);
  out.bitsStored = bitsStored;
  out.isSigned = pixelRep == 1;
  if (ds->findAndGetFloat64(DCM_RescaleSlope, out.rescale.slope).bad()) out.rescale.slope = 1;
  if (ds->findAndGetFloat64(DCM_RescaleIntercept, out.rescale.intercept).bad())
    out.rescale.intercept = 0;

  const DcmXfer xfer(ds->getOriginalXfer());
  if (xfer.isEncapsulated() &&
      !DcmCodecList::canChangeCoding(xfer.getXfer(), EXS_LittleEndianExplicit))
    throw FormatError("DICOM '" + path + "' is compressed as " + xfer.getXferName() +
                      ", which this build of DCMTK cannot decode");

  // Stored values, not modality (rescale) output: the mapping back to the file stays simple.
  DicomImage img(&file, xfer.getXfer(), CIF_IgnoreModalityTransformation, 0, 0);
  if (img.getStatus() != EIS_Normal)
    throw FormatError("cannot decode DICOM image '" + path +
                      "': " + DicomImage::getString(img.getStatus()));
  const int w = int(img.getWidth()), h = int(img.getHeight());
  const int frames = int(img.getFrameCount());
  if (w < 1 || h < 1 || frames < 1) throw FormatError("DICOM '" + path + "' has an empty image");

  if (img.isMonochrome())
    readMonochromeFrames(img, w, h, frames, scaling, window, path, out);
  else
    readColourFrames(img, w, h, frames, path, out);
  return out;
}

}  // namespace cae::io
