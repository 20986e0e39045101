// Training data for cae-train: what a user points the trainer at (files and folders of images,
// DICOM series, videos, WAV files, IDX sets), loaded into float images in [0, 1], split into
// training and validation sets, and served as batches of patches or whole frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/dicom.hpp"
#include "nn/rng.hpp"
#include "nn/tensor.hpp"
#include "train/line_variation.hpp"

namespace cae::train {

struct LoadOptions {
  int channels = 1;          // 1: gray, 3: RGB; every image is converted to this
  std::size_t sample = 0;    // keep at most this many images (0: all), chosen with `seed`
  int videoFrameStep = 10;   // keep every n-th frame of a video
  int maxVideoFrames = 200;  // per video file
  // WAV: log-magnitude STFT "images" (frequency × time), cut into chunks of this many frames.
  // Values: log1p(|X| / a) / log1p(stftSize / 2 / a) with a = 1e-3, see audio/stft.hpp.
  int stftSize = 512, stftHop = 256, stftChunk = 64;
  // DICOM: each file's own min..max maps to [0, 1] (default), or the full stored bit range.
  io::DicomScaling dicomScaling = io::DicomScaling::MinMax;
  // Modality values through a window (core/io/modality.hpp): when set, DICOM files are read with
  // DicomScaling::Window (dicomScaling is ignored) and pictures must be 16-bit gray: their
  // samples are stored values, made modality values by sampleRescale. Other kinds (8-bit or
  // colour pictures, video, sound, IDX) are refused with a FormatError naming the file.
  std::optional<io::Window> window;
  io::Rescale sampleRescale;
  std::uint64_t seed = 1;
};

// One loaded image: sample 0 of a {1, C, H, W} tensor in [0, 1], and where it came from.
struct Image {
  nn::Tensor pixels;
  std::string source;  // file path (and frame/slice index for videos and multi-frame files)
};

// Loads every supported file given (files, or folders searched recursively; order sorted by
// path so runs are repeatable). Kinds by extension: .png .jpg .jpeg .tif .tiff .bmp .pgm .ppm
// (8/16-bit), .dcm and extension-less DICOM files (DCMTK), .mp4 .avi .mkv .mov .webm (video),
// .wav (audio → spectrogram chunks), *-idx3-ubyte[.gz] (IDX, e.g. Fashion-MNIST).
// Errors (cae::IoError / cae::FormatError) name the offending path: a missing path, a folder
// with no supported files, an unreadable or undecodable file.
std::vector<Image> loadImages(const std::vector<std::string>& paths, const LoadOptions& opts);

// Splits off a validation set: a fraction of the images (at least one when there are two or
// more), chosen with rng; with a single image, the validation set is patches from that image's
// bottom fifth and training uses the rest (so the two never overlap).
void splitValidation(std::vector<Image>& train, std::vector<Image>& val, double fraction,
                     nn::Rng& rng);

// Copies samples [from, from + n) of an {N, C, H, W} tensor.
nn::Tensor sliceSamples(const nn::Tensor& t, int from, int n);

// Serves training batches.
class BatchSource {
 public:
  struct Options {
    int patchH = 0, patchW = 0;       // 0: whole frames (all images must then share one size)
    bool flips = false;               // random horizontal/vertical flips
    bool rotations = false;           // random multiples of 90° (non-square samples: 0° or 180°)
    LightingRange lighting{0, 0, 0};  // random lighting per sample (train/line_variation.hpp)
    double defocus = 0;               // applyDefocus's largest sigma per sample (0: none)
  };
  // Throws InvalidArgument when images are smaller than the patch, or (whole frames) when their
  // sizes differ — the message names two files of different size and suggests --patch.
  BatchSource(std::vector<Image> images, const Options& o);

  // n samples into out ({n, C, h, w}), drawn with rng only: for each, an image uniformly (with
  // replacement), a position, then flips, rotation, defocus and lighting when enabled.
  void next(int n, nn::Rng& rng, nn::Tensor& out) const;
  // A fixed set of n samples (deterministic for a seed): validation batches. Sample i comes from
  // image i mod size() at a seeded position, without flips or rotations.
  nn::Tensor fixed(int n, std::uint64_t seed) const;

  int channels() const;
  int height() const;  // of one served sample
  int width() const;
  std::size_t size() const { return images_.size(); }

 private:
  std::vector<Image> images_;
  Options o_;
};

}  // namespace cae::train
