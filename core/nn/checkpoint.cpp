#include "nn/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "nn/model.hpp"
#include "nn/optim/binary_io.hpp"
#include "nn/optim/optimizer.hpp"
#include "nn/rng.hpp"

namespace cae::nn {
inline namespace CAE_NN_ABI {

namespace {

constexpr char kMagic[8] = {'C', 'A', 'E', 'C', 'K', 'P', 'T', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 8 + 4 + 4 + 8 + 4;
// Generous bounds that only a corrupt file exceeds.
constexpr std::size_t kMaxBlob = std::size_t(1) << 40;
constexpr std::size_t kMaxMetaEntries = 1 << 20;
constexpr std::size_t kMaxMetaString = std::size_t(1) << 30;

constexpr std::array<std::uint32_t, 256> makeCrcTable() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = makeCrcTable();

std::uint32_t readLe32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::uint64_t readLe64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

std::uint32_t crc32(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

Checkpoint makeCheckpoint(const Model& model, const Optimizer& opt, const Rng& rng,
                          std::uint64_t step, std::uint64_t epoch,
                          std::map<std::string, std::string> meta) {
  Checkpoint ck;
  const ConstVecMap p = model.params();
  ck.params.assign(p.data(), p.data() + p.size());
  std::ostringstream os;
  opt.saveState(os);
  ck.optimizerState = os.str();
  ck.rngState = rng.state();
  ck.step = step;
  ck.epoch = epoch;
  ck.meta = std::move(meta);
  return ck;
}

void restoreCheckpoint(const Checkpoint& ck, Model& model, Optimizer& opt, Rng& rng) {
  if (!model.compiled()) throw InvalidArgument("restoreCheckpoint: compile the model first");
  if (ck.params.size() != model.numParams())
    throw FormatError("checkpoint holds " + std::to_string(ck.params.size()) +
                      " parameters, the model has " + std::to_string(model.numParams()) +
                      " (a different architecture?)");
  Rng restored;
  restored.setState(ck.rngState);  // throws before anything changed
  std::istringstream is(ck.optimizerState);
  opt.loadState(is);  // leaves opt unchanged when it throws
  std::copy(ck.params.begin(), ck.params.end(), model.params().data());
  rng = restored;
}

std::string serializeCheckpoint(const Checkpoint& ck) {
  std::ostringstream payloadStream;
  BinaryWriter w(payloadStream);
  w.u64(ck.step);
  w.u64(ck.epoch);
  w.scalars(ck.params.data(), ck.params.size());
  w.str(ck.optimizerState);
  w.str(ck.rngState);
  w.u32(std::uint32_t(ck.meta.size()));
  for (const auto& [k, v] : ck.meta) {
    w.str(k);
    w.str(v);
  }
  const std::string payload = payloadStream.str();

  std::ostringstream out;
  BinaryWriter h(out);
  h.bytes(kMagic, sizeof kMagic);
  h.u32(kVersion);
  h.u32(std::uint32_t(sizeof(Scalar)));
  h.u64(payload.size());
  h.u32(crc32(payload.data(), payload.size()));
  h.bytes(payload.data(), payload.size());
  return out.str();
}

Checkpoint parseCheckpoint(const std::string& bytes, const std::string& what) {
  const std::size_t n = bytes.size();
  if (n < sizeof kMagic)
    throw FormatError(what + ": truncated (" + std::to_string(n) + " bytes, no header)");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw FormatError(what + ": not a cae checkpoint (bad magic)");
  if (n < kHeaderBytes)
    throw FormatError(what + ": truncated (" + std::to_string(n) + " bytes, header incomplete)");
  const char* h = bytes.data() + sizeof kMagic;
  const std::uint32_t version = readLe32(h);
  const std::uint32_t scalarBytes = readLe32(h + 4);
  const std::uint64_t payloadBytes = readLe64(h + 8);
  const std::uint32_t crc = readLe32(h + 16);
  if (version != kVersion)
    throw FormatError(what + ": unsupported checkpoint version " + std::to_string(version));
  if (scalarBytes != sizeof(Scalar))
    throw FormatError(what + ": saved by a " + std::to_string(8 * scalarBytes) +
                      "-bit engine, this one is " + std::to_string(8 * sizeof(Scalar)) + "-bit");
  if (payloadBytes != n - kHeaderBytes) {
    const char* problem =
        payloadBytes > n - kHeaderBytes ? "truncated" : "trailing bytes after the payload";
    throw FormatError(what + ": " + problem + " (header says " + std::to_string(payloadBytes) +
                      " payload bytes, file has " + std::to_string(n - kHeaderBytes) + ")");
  }
  const char* payload = bytes.data() + kHeaderBytes;
  if (crc32(payload, std::size_t(payloadBytes)) != crc)
    throw FormatError(what + ": checksum mismatch (the file is corrupt)");

  // The checksum matched, but a file written by a buggy writer is still parsed defensively.
  std::istringstream is(std::string(payload, std::size_t(payloadBytes)));
  BinaryReader r(is, what);
  Checkpoint ck;
  ck.step = r.u64();
  ck.epoch = r.u64();
  r.scalars(ck.params, "the parameters");
  ck.optimizerState = r.str(kMaxBlob, "the optimizer state");
  ck.rngState = r.str(kMaxBlob, "the generator state");
  const std::uint32_t count = r.u32();
  if (count > kMaxMetaEntries) throw FormatError(what + ": implausible key/value count");
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string k = r.str(kMaxMetaString, "a key");
    ck.meta[k] = r.str(kMaxMetaString, "a value");
  }
  if (is.peek() != std::char_traits<char>::eof())
    throw FormatError(what + ": unexpected bytes after the key/values");
  return ck;
}

void saveCheckpoint(const std::string& path, const Checkpoint& ck) {
  const std::string bytes = serializeCheckpoint(ck);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot create '" + tmp + "': " + errnoText());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t k = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      const std::string err = errnoText();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IoError(std::string("cannot write '").append(tmp).append("': ").append(err));
    }
    done += std::size_t(k);
  }
  // The data must be on disk before the rename makes it the checkpoint.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string err = errnoText();
    ::unlink(tmp.c_str());
    throw IoError("cannot flush '" + tmp + "': " + err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = errnoText();
    ::unlink(tmp.c_str());
    throw IoError("cannot rename '" + tmp + "' to '" + path + "': " + err);
  }
  // Best effort: persist the rename itself.
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Checkpoint loadCheckpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IoError("cannot open checkpoint '" + path + "': " + errnoText());
  std::ostringstream buf;
  buf << f.rdbuf();
  if (f.bad()) throw IoError("cannot read checkpoint '" + path + "'");
  return parseCheckpoint(buf.str(), "checkpoint '" + path + "'");
}

}  // namespace CAE_NN_ABI
}  // namespace cae::nn
