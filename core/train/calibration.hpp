// Anomaly-score calibration lives in core/anomaly (the caeanomaly element uses it too); cae-train
// keeps its old names.
#pragma once

#include "anomaly/calibration.hpp"

namespace cae::train {

using anomaly::calibrate;
using anomaly::Calibration;

}  // namespace cae::train
