// pipelines/enhance-slurm.sh on a real one-node Slurm (slurm-wlm) started on loopback by the
// test (../shared/INFRA.md's configuration, free ports, a private folder): an archive of real
// scans submitted as a 4-task array, waited for, merged; every input enhanced exactly once.
#define BOOST_TEST_MODULE enhance_slurm
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "io/dicom_series.hpp"
#include "servers.hpp"

namespace fs = std::filesystem;
using cae::testing::freePort;
using cae::testing::startDaemon;
using cae::testing::stopDaemon;
using json = nlohmann::json;

namespace {

const fs::path kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const fs::path kRoot = fs::path(CAE_TEST_DATA).parent_path().parent_path();

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = p ? ::pclose(p) : -1;
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

// A one-node Slurm in a private folder; stopped (scontrol shutdown, then the PIDs) at the end.
struct Slurm {
  fs::path dir = fs::temp_directory_path() / ("cae_slurm_" + std::to_string(::getpid()));
  fs::path conf = dir / "slurm.conf";
  pid_t ctld = -1, slurmd = -1;
  bool up = false;

  Slurm() {
    BOOST_TEST_REQUIRE(!run("command -v slurmctld slurmd sbatch").empty(),
                       "Slurm is not installed: apt-get install slurm-wlm (scripts/setup.sh "
                       "installs it)");
    fs::create_directories(dir / "state");
    fs::create_directories(dir / "spool");
    const std::string user = run("id -un").substr(0, run("id -un").find('\n'));
    std::ofstream f(conf);
    f << "ClusterName=cae\nSlurmctldHost=localhost\nAuthType=auth/none\nCredType=cred/none\n"
      << "SlurmUser=" << user << "\nSlurmdUser=" << user << "\n"
      << "SlurmctldPort=" << freePort() << "\nSlurmdPort=" << freePort() << "\n"
      << "StateSaveLocation=" << (dir / "state").string() << "\n"
      << "SlurmdSpoolDir=" << (dir / "spool").string() << "\n"
      << "SlurmctldPidFile=" << (dir / "slurmctld.pid").string() << "\n"
      << "SlurmdPidFile=" << (dir / "slurmd.pid").string() << "\n"
      << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n"
      << "SelectTypeParameters=CR_Core\nJobAcctGatherType=jobacct_gather/none\n"
      << "AccountingStorageType=accounting_storage/none\nMpiDefault=none\nMailProg=/bin/true\n"
      << "ReturnToService=2\n"
      << "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n"
      << "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n";
    f.close();
    ::setenv("SLURM_CONF", conf.c_str(), 1);
    ctld = startDaemon({"slurmctld", "-D", "-i", "-f", conf.string()}, dir / "slurmctld.log",
                       {{"SLURM_CONF", conf.string()}});
    slurmd = startDaemon({"slurmd", "-D", "-N", "localhost", "-f", conf.string()},
                         dir / "slurmd.log", {{"SLURM_CONF", conf.string()}});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      if (run("sinfo -h -N -o %T 2>/dev/null").rfind("idle", 0) == 0) {
        up = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  ~Slurm() {
    run("scontrol shutdown >/dev/null 2>&1");
    for (pid_t p : {ctld, slurmd}) stopDaemon(p, false);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_archive_as_a_4_task_array_is_enhanced_once) {
  Slurm slurm;
  BOOST_TEST_REQUIRE(slurm.up, "the test's Slurm did not come up in 30 s; slurmctld log:\n"
                                   << run("cat " + (slurm.dir / "slurmctld.log").string()));
  // The archive: two series of real MR and CT files in folders, 13 inputs.
  const fs::path in = slurm.dir / "archive";
  fs::create_directories(in / "mr");
  fs::create_directories(in / "ct" / "sub");
  int inputs = 0;
  for (const char* v :
       {"MR_small.dcm", "MR_small_RLE.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
        "MR_small_jpeg_ls_lossless.dcm", "MR_small_expb.dcm"}) {
    fs::copy_file(kPydicom / v, in / "mr" / v);
    ++inputs;
  }
  for (int i = 0; i < 7; ++i) {
    fs::copy_file(kPydicom / "CT_small.dcm",
                  in / "ct" / (i < 4 ? "" : "sub") / ("IM" + std::to_string(i)));
    ++inputs;
  }
  const fs::path out = slurm.dir / "out";
  int status = -1;
  const std::string log = run("CAE_BUILD_DIR=" + std::string(CAE_BUILD_ROOT) + " " +
                                  (kRoot / "pipelines" / "enhance-slurm.sh").string() + " " +
                                  in.string() + " -o " + out.string() + " --tasks 4 --wait 2>&1",
                              &status);
  BOOST_TEST_MESSAGE(log);
  BOOST_TEST(status == 0, log);
  // Four shard manifests, merged into one: every input once, every output there and derived.
  std::map<std::string, int> perShard;
  for (int s = 0; s < 4; ++s) {
    std::ifstream f(out / ("manifest.shard-" + std::to_string(s) + "-of-4.jsonl"));
    std::string line;
    while (std::getline(f, line)) ++perShard[json::parse(line)["output"].get<std::string>()];
  }
  BOOST_TEST(perShard.size() == std::size_t(inputs));
  for (const auto& [o, n] : perShard) BOOST_TEST(n == 1, o);
  std::ifstream merged(out / "manifest.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(merged, line)) {
    ++lines;
    const json j = json::parse(line);
    const fs::path o = out / j["output"].get<std::string>();
    BOOST_TEST(fs::exists(o), o);
    const cae::io::DicomInstance d = cae::io::readDicomInstance(o.string());
    BOOST_TEST(d.seriesInstanceUid == j["derived_series_uid"].get<std::string>());
  }
  BOOST_TEST(lines == inputs);
  for (int s = 0; s < 4; ++s)
    BOOST_TEST(fs::exists(out / "slurm" / ("status-" + std::to_string(s))), "task " << s);
}
