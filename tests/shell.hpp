// Running shell commands from Boost.Test suites (the CLI tools and pipelines/ scripts, as a user
// runs them): quoting, the environment, and a command's exit code and output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace cae::testing {

inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// A word for the shell: single-quoted, with embedded single quotes escaped.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
inline std::string quote(const std::filesystem::path& p) { return quote(p.string()); }

struct Result {
  int rc = -1;  // exit status; -1 when the command could not run or was killed
  std::string out;
};

// Runs a shell command under `timeout` (a guard, not a measurement), stdout and stderr together.
inline Result run(const std::string& cmd, int timeoutS = 300) {
  const std::string full =
      "timeout -k 10 " + std::to_string(timeoutS) + " bash -c " + quote(cmd) + " 2>&1";
  Result r;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) r.out += buf;
  const int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace cae::testing
