#include "onnx/proto_io.hpp"

#include <fcntl.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "error.hpp"

namespace cae::onnx::detail {
namespace {

std::string sysError(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// Closes a descriptor on every path out of a function.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string readModelBytes(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw IoError(sysError("cannot open ONNX model", path));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw IoError(sysError("cannot stat ONNX model", path));
  if (!S_ISREG(st.st_mode)) throw IoError("ONNX model '" + path + "' is not a regular file");
  // protobuf parses at most 2 GiB in one message.
  if (st.st_size > std::numeric_limits<int>::max())
    throw FormatError("ONNX model '" + path + "' is larger than 2 GiB");
  std::string bytes(std::size_t(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(sysError("cannot read ONNX model", path));
    if (n == 0) break;  // shrank while reading
    got += std::size_t(n);
  }
  bytes.resize(got);
  return bytes;
}

::onnx::ModelProto readModelProto(const std::string& path) {
  return parseModelProto(readModelBytes(path), path);
}

::onnx::ModelProto parseModelProto(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) throw FormatError("ONNX model '" + path + "' is empty");
  ::onnx::ModelProto m;
  if (!m.ParseFromString(bytes))
    throw FormatError("ONNX model '" + path + "' (" + std::to_string(bytes.size()) +
                      " bytes) is truncated or not an ONNX file: protobuf parse failed");
  // Random bytes or a cut at a field boundary can still parse; a real model has all of these.
  // (exportOnnx writes metadata before the graph, so a cut file of ours always lacks them.)
  const char* missing = m.ir_version() <= 0            ? "ir_version"
                        : !m.has_graph()               ? "graph"
                        : m.opset_import_size() == 0   ? "opset_import"
                        : m.graph().node_size() == 0   ? "graph nodes"
                        : m.graph().output_size() == 0 ? "graph outputs"
                                                       : nullptr;
  if (missing)
    throw FormatError("ONNX model '" + path + "' (" + std::to_string(bytes.size()) +
                      " bytes) is truncated or not an ONNX file: no " + missing);
  return m;
}

void checkModelProto(const ::onnx::ModelProto& m) {
  ::onnx::checker::check_model(m);
  ::onnx::ModelProto inferred(m);  // inference adds value_info; the caller's model stays as is
  ::onnx::shape_inference::InferShapes(inferred, ::onnx::OpSchemaRegistry::Instance(),
                                       ::onnx::ShapeInferenceOptions(true, 1, false));
}

void writeFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (f.fd < 0) throw IoError(sysError("cannot create", tmp));
    std::size_t put = 0;
    while (put < bytes.size()) {
      const ssize_t n = ::write(f.fd, bytes.data() + put, bytes.size() - put);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string msg = sysError("cannot write", tmp);
        ::unlink(tmp.c_str());
        throw IoError(msg);
      }
      put += std::size_t(n);
    }
    // Without fsync a crash after rename could leave an empty file under the final name.
    if (::fsync(f.fd) != 0) {
      const std::string msg = sysError("cannot flush", tmp);
      ::unlink(tmp.c_str());
      throw IoError(msg);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string msg = sysError("cannot rename temporary file onto", path);
    ::unlink(tmp.c_str());
    throw IoError(msg);
  }
}

}  // namespace cae::onnx::detail
