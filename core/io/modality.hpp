// Modality values of medical scans: what stored samples stand for (DICOM Rescale Slope and
// Intercept: Hounsfield units for CT) and the window of them a model's units span. One affine
// map, stored sample -> model units, shared by the trainer's loader, the model metadata
// (cae.input_scale / cae.input_offset) and the elements:
//
//   u = (stored * slope + intercept - lo) / (hi - lo)  =  stored * scale + offset
//
// Unsigned 16-bit CT frames (GRAY16 video, 16-bit PNG/TIFF) usually store HU + 1024, i.e. a
// rescale of slope 1, intercept -1024.
#pragma once

namespace cae::io {

// modality value = stored * slope + intercept (slope != 0).
struct Rescale {
  double slope = 1, intercept = 0;
};

// The modality values that model units 0 and 1 stand for (lo < hi), e.g. -1000:2000 HU. Values
// outside map below 0 or above 1: nothing is clipped.
struct Window {
  double lo = 0, hi = 1;
};

// stored -> model units as one affine map: u = stored * scale + offset.
struct UnitMap {
  double scale = 1, offset = 0;
};

inline UnitMap unitMap(const Rescale& r, const Window& w) {
  const double span = w.hi - w.lo;
  return {r.slope / span, (r.intercept - w.lo) / span};
}

}  // namespace cae::io
