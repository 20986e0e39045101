// The loss-curve PNG cae-train writes beside its model: training and validation loss per epoch.
#pragma once

#include <string>
#include <vector>

namespace cae::train {

// Draws both curves (validation skipped where < 0) on shared axes with tick labels, a legend and
// a title, and writes a PNG atomically. IoError when it cannot be written.
void writeLossCurve(const std::string& path, const std::vector<double>& train,
                    const std::vector<double>& val, const std::string& title);

}  // namespace cae::train
