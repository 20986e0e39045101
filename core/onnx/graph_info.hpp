// What inference needs to know about an ONNX graph besides its metadata: the input's channel
// count and fixed spatial size (if any), and the multiple that height and width must be for
// every strided layer to divide evenly. Read with libonnx; works on any ONNX file, not only ours.
#pragma once

#include <string>

namespace cae::onnx {

struct GraphInfo {
  int inputChannels = 0;  // 0: not fixed in the file (symbolic dimension)
  int inputHeight = 0;    // 0: symbolic (any size); > 0: the model needs exactly this size
  int inputWidth = 0;
  int outputChannels = 0;  // 0: not stated in the file
  // Height and width must be multiples of this: the largest product of Conv / MaxPool strides
  // (divided by ConvTranspose / DepthToSpace upsampling) met along any path from the input.
  int sizeMultiple = 1;
  int numNodes = 0;
};

// IoError: unreadable; FormatError: not an ONNX model, no graph input, or an input that is not
// 4-D float.
GraphInfo readGraphInfo(const std::string& path);
// readGraphInfo on bytes already in memory; `name` stands for the path in messages.
GraphInfo readGraphInfoBytes(const std::string& bytes, const std::string& name);

}  // namespace cae::onnx
