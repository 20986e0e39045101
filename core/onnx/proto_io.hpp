// Internal to core/onnx: reading and writing ModelProto files. Includes libonnx's generated
// protobuf header, so only core/onnx's .cpp files include it.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace cae::onnx::detail {

// Parses an ONNX file. IoError: missing or unreadable. FormatError: empty, truncated, not ONNX.
::onnx::ModelProto readModelProto(const std::string& path);
// readModelProto on bytes already in memory; `name` stands for the path in messages.
::onnx::ModelProto parseModelProto(const std::string& bytes, const std::string& name);
// The whole file. IoError: missing, not a regular file, or unreadable.
std::string readModelBytes(const std::string& path);

// onnx::checker plus strict shape inference (Python's check_model(full_check=True)). Throws what
// libonnx throws (std::exception); callers turn it into their FormatError.
void checkModelProto(const ::onnx::ModelProto& m);

// Writes bytes to a temporary file beside path, flushes it to disk, then renames it over path,
// so that a reader sees the old file or the whole new one. IoError on failure.
void writeFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace cae::onnx::detail
