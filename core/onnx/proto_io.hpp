// Internal to core/onnx: reading and writing ModelProto files. Includes libonnx's generated
// protobuf header, so only core/onnx's .cpp files include it.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

namespace cae::onnx::detail {

// Parses an ONNX file. IoError: missing or unreadable. FormatError: empty, truncated, not ONNX.
::onnx::ModelProto readModelProto(const std::string& path);

// Writes bytes to a temporary file beside path, flushes it to disk, then renames it over path,
// so that a reader sees the old file or the whole new one. IoError on failure.
void writeFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace cae::onnx::detail
