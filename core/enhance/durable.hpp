// Writes that survive a crash, shared by the batch (manifest, failures, outputs) and the PACS
// client (received instances, pushed.jsonl): POSIX open/write/fsync, nothing more.
#pragma once

#include <string>

namespace cae::enhance {

// Appends `line` to `path` (created 0644 if absent) with one write(2) under O_APPEND, so that
// lines from concurrent workers never interleave, then fsyncs it. IoError when it cannot.
void appendLineSynced(const std::string& path, const std::string& line);

// fsyncs a written file before it is renamed to its final name (a crash after the rename must
// not leave an empty file there). IoError when it cannot.
void syncFile(const std::string& path);

}  // namespace cae::enhance
