// Synthetic surface defects with exact pixel masks, for the defect benchmark (bench/) and the
// inspection demo's simulated camera (tools/cae-inspect): what a production line shows when
// something went wrong, painted onto real texture photographs.
//
//   cv::Mat img = ...;                          // CV_32FC1 or CV_32FC3, values in [0, 1]
//   cae::anomaly::DefectSpec d{cae::anomaly::DefectKind::Scratch, 24, 0.3, 60, 40, 0.7};
//   cv::Mat mask = cae::anomaly::paintDefect(img, d);   // CV_8U, 255 where the defect is
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace cae::anomaly {

enum class DefectKind {
  Scratch,  // a thin (1-3 px) slightly curved line, lighter or darker than the surface
  Spot,     // a round stain: a soft-edged disk shifted in brightness
  Cut,      // a missing patch: a hole with a flat shaded floor where the texture is gone
  Blob,     // a discoloration: a smooth Gaussian colour (RGB) or brightness (gray) shift
  Stain,    // a light stain: a soft-edged elongated ellipse, always lighter than the surface
  Tint,     // colour only: a soft-edged ellipse whose hue changes and gray level does not (RGB)
};

const std::vector<DefectKind>& allDefectKinds();
// The kinds an image of this many channels can show: all but Tint for gray.
std::vector<DefectKind> defectKindsFor(int channels);
// "scratch", "spot", "cut", "blob", "stain", "tint"
std::string defectKindName(DefectKind k);
DefectKind parseDefectKind(const std::string& name);  // InvalidArgument otherwise

struct DefectSpec {
  DefectKind kind = DefectKind::Spot;
  int size = 16;           // extent in pixels: scratch length, spot / cut / blob diameter
  double contrast = 0.3;   // intensity change in image units ([0, 1] images), sign chosen by seed
  int x = 0, y = 0;        // centre
  double angle = 0;        // radians: scratch direction, cut orientation
  std::uint64_t seed = 1;  // sign, colour, curvature, small shape variations
};

// Paints the defect into img (CV_32FC1 or CV_32FC3, modified in place, clamped to [0, 1]) and
// returns its mask (CV_8U, img's size): 255 where the defect changed the surface visibly (by at
// least a quarter of the contrast for the soft kinds), 0 elsewhere. Parts outside the image are
// clipped. InvalidArgument for another image type, size < 2, contrast outside (0, 1], or a Tint
// on a gray image.
cv::Mat paintDefect(cv::Mat& img, const DefectSpec& spec);

}  // namespace cae::anomaly
