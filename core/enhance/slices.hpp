// What cae-enhance reads, runs and writes per input: a scan's frames as stored integer values,
// the model run on them through a window in modality units, and the output in the input's
// format or another (DICOM derived instance, 16-bit PNG, 16-bit TIFF).
//
//   Slices s = readSlices("in/CT_small.dcm");              // FormatError with the reason
//   Enhancer e(model, 1);                                  // one per worker thread
//   std::vector<cv::Mat> out = e.run(s, Window{});          // window from the model or the scan
//   writeSlices(s, out, OutputFormat::Dicom, derived, "out/CT_small.dcm");
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "infer/engine.hpp"
#include "io/dicom_series.hpp"

namespace cae::enhance {

enum class InputKind { Dicom, Image };
enum class OutputFormat { Same, Dicom, Png16, Tiff };
OutputFormat parseOutputFormat(const std::string& s);  // same|dicom|png16|tiff
std::string formatName(OutputFormat f);
// The file extension an output of this format gets (".dcm", ".png", ".tif"); Same: the input's.
std::string outputExtension(OutputFormat f, InputKind in, const std::string& inputExtension);

// Modality values (stored * slope + intercept: HU for CT) that the model's 0 and 1 stand for.
// Unset (lo >= hi): the model's cae.window metadata if it has one, else the scan's own smallest
// and largest value (all frames): the mapping cae-train's DICOM loader uses (DicomScaling::MinMax),
// so a model trained on DICOM files sees its training contrast.
struct Window {
  double lo = 0, hi = 0;
  bool set() const { return hi > lo; }
  std::string str() const;  // "LO:HI", or "auto"
};
Window parseWindow(const std::string& s);  // "LO:HI" (numbers, LO < HI) or "auto"

// One input's frames as stored integers (CV_32S), with how they map to modality values and the
// range the stored bits hold.
struct Slices {
  InputKind kind = InputKind::Image;
  std::string path;
  std::vector<cv::Mat> frames;  // CV_32S
  double slope = 1, intercept = 0;
  int storedMin = 0, storedMax = 65535;
  int imageDepth = CV_16U;                 // images: CV_8U or CV_16U as read
  std::optional<io::DicomInstance> dicom;  // DICOM inputs
};

// DICOM by content (Part 10 magic or a .dcm name), else PNG/TIFF by OpenCV (one channel, 8 or
// 16 bits; colour and other depths refused). FormatError / IoError with the file and reason.
Slices readSlices(const std::string& path, InputKind kind);

// The model of a batch: checked once (a 1-channel single-frame image-to-image model), named
// by its file's SHA-256, loaded by each worker's Enhancer.
struct ModelRef {
  std::string path;
  std::string sha256;
  Window window;  // cae.window metadata (unset when the model has none)
  // cae.sample_rescale: how the samples of a 16-bit PNG/TIFF become modality values for this
  // model (e.g. 1 and -1024 for CT stored as HU + 1024); DICOM inputs use their own rescale.
  double sampleSlope = 1, sampleIntercept = 0;
  static ModelRef load(const std::string& path);  // IoError / FormatError / InvalidArgument
};

class Enhancer {
 public:
  Enhancer(const ModelRef& model, infer::Backend backend, int threads);
  // The model on every frame: stored -> modality value -> model units through the window (an
  // explicit `window` first, then the model's, then the scan's range) -> model -> back, rounded
  // to the nearest stored value and clamped to the stored range. An identity model gives the
  // input back exactly (16-bit values survive float32).
  std::vector<cv::Mat> run(const Slices& s, Window window);
  // The window run() uses for s.
  Window windowFor(const Slices& s, Window window) const;
  // Stored value -> modality value of s: a DICOM input's own rescale; for PNG/TIFF inputs, the
  // model's cae.sample_rescale (1 and 0 for models without one).
  std::pair<double, double> rescaleOf(const Slices& s) const;

 private:
  ModelRef model_;
  std::unique_ptr<infer::Engine> engine_;
  cv::Mat blob_, out_;
};

// Writes frames as `format` to `path` (one file; the caller makes it atomic, and the format
// follows `format`, not path's extension). Dicom needs a DICOM input (a derived instance,
// io::writeDerivedDicom); Png16 writes a single frame as a 16-bit PNG, Tiff every frame as a
// page of a 16-bit TIFF; stored values of signed scans are shifted by -storedMin so that they
// fit unsigned 16 bits; 8-bit image inputs stay 8-bit with Same. InvalidArgument for a
// multi-frame input to Png16 or a non-DICOM input to Dicom.
void writeSlices(const Slices& s, const std::vector<cv::Mat>& frames, OutputFormat format,
                 const io::DerivedSeries& derived, const std::string& path);

}  // namespace cae::enhance
