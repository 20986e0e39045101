// Real servers started on loopback by the tests (Orthanc for test_enhance_pacs, slurmctld and
// slurmd for test_enhance_slurm): a free port, a daemon forked with its output in a log file
// and killed with the test, and its stop (SIGTERM or the caller's own shutdown, then SIGKILL).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cae::testing {

// A TCP port nothing listens on now (the kernel's pick for port 0).
inline int freePort() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) BOOST_FAIL("cannot bind a port");
  socklen_t n = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(s);
  return ntohs(a.sin_port);
}

// Forks args[0] (looked up on PATH) with `env` set, stdout and stderr into `log`; the child is
// killed if the test process dies (PR_SET_PDEATHSIG), so a killed test leaves no server behind.
inline pid_t startDaemon(std::vector<std::string> args, const std::filesystem::path& log,
                         const std::vector<std::pair<std::string, std::string>>& env = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits up to 5 s for the daemon to end (after SIGTERM if `term`; else the caller has asked it
// to stop its own way), then kills it and reaps it.
inline void stopDaemon(pid_t pid, bool term) {
  if (pid <= 0) return;
  if (term) ::kill(pid, SIGTERM);
  for (int i = 0; i < 50 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace cae::testing
