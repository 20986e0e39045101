// A complete check of an ONNX model before an importer that trusts the file (OpenCV DNN 4.6
// reads initializers by their dims, not their size, and takes Conv attributes as given) sees it.
// A damaged or hostile file gives a FormatError naming the problem instead of a crash.
//
//   cae::onnx::validateModel("model.onnx");         // throws FormatError naming what is wrong
//   net = cv::dnn::readNetFromONNX("model.onnx");   // now safe to hand over
//
// What is checked: onnx::checker with strict shape inference; the model and graph fields cae
// never writes are absent (functions, sparse or external tensors, subgraphs); every initializer's
// data matches its type and dims; one 4-D float graph input; every node input names a graph
// input, an initializer or an earlier node's output; the op set is the one cae exports (the
// message names an op outside it); each op's attributes are sane and agree with its weights and
// with the channel counts and sizes known along the graph. No onnx or protobuf types leak here.
#pragma once

#include <string>
#include <vector>

namespace cae::onnx {

// IoError: the file cannot be read. FormatError: anything about the model above.
void validateModel(const std::string& path);

// validateModel on bytes already in memory; `name` stands for the path in messages.
void validateModelBytes(const std::string& bytes, const std::string& name);

// The op types validateModel accepts (those exportOnnx writes), sorted.
const std::vector<std::string>& supportedOps();

}  // namespace cae::onnx
