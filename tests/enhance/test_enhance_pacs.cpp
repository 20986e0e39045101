// cae-enhance --pacs against a real PACS: Debian's Orthanc started on loopback by the test
// (../shared/INFRA.md's configuration, free ports, a private folder, no plugins), loaded with
// python3-pydicom's real scans over its REST API. The tool lists the study (C-FIND), retrieves
// it (C-GET), enhances it with the shipped denoise-gray and stores the derived series back
// (C-STORE); the test reads the result back from Orthanc. Also: a rerun with --resume sends
// nothing, a failed C-GET sub-operation is counted, and the usual network failures (wrong AE
// titles, unknown study, nothing listening, a peer that never answers) end with a clear error.
//
// The noisy CT input is CT_small with Gaussian noise added, written by writeDerivedDicom (so it
// is itself marked DERIVED, with a SourceImageSequence to CT_small) into a study of its own.
#define BOOST_TEST_MODULE enhance_pacs
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

// DCMTK's config header must come first; the others depend on its macros.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

#include "io/dicom_series.hpp"
#include "servers.hpp"

namespace fs = std::filesystem;
using cae::testing::freePort;
using cae::testing::startDaemon;
using cae::testing::stopDaemon;
namespace io = cae::io;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const fs::path kRoot = fs::path(CAE_TEST_DATA).parent_path().parent_path();
const std::string kMrStudy = "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457";
const std::string kCtStudy = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";

struct Run {
  int status = -1;
  std::string out;
  double seconds = 0;
};

Run run(const std::string& cmd) {
  Run r;
  const auto t0 = Clock::now();
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) r.out += buf;
  const int rc = p ? ::pclose(p) : -1;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Orthanc in a private folder with free DICOM and HTTP ports, our AE title "CAE" listed (it
// answers find/get only to AEs it knows) and the called AE title checked; stopped (SIGTERM,
// then SIGKILL) and removed at the end.
struct Orthanc {
  fs::path dir = fs::temp_directory_path() / ("cae_orthanc_" + std::to_string(::getpid()));
  int dicomPort = freePort(), httpPort = freePort();
  pid_t pid = -1;

  Orthanc() {
    BOOST_TEST_REQUIRE(fs::exists("/usr/sbin/Orthanc"),
                       "Orthanc is not installed: apt-get "
                       "install orthanc (scripts/setup.sh)");
    BOOST_TEST_REQUIRE(!run("command -v curl").out.empty(), "curl is not installed");
    while (httpPort == dicomPort) httpPort = freePort();
    fs::create_directories(dir / "db");
    const json cfg = {{"Name", "cae-test"},
                      {"StorageDirectory", (dir / "db").string()},
                      {"IndexDirectory", (dir / "db").string()},
                      {"HttpPort", httpPort},
                      {"RemoteAccessAllowed", false},
                      {"AuthenticationEnabled", false},
                      {"DicomAet", "ORTHANC"},
                      {"DicomPort", dicomPort},
                      {"DicomCheckCalledAet", true},
                      {"DicomModalities", {{"cae", {"CAE", "127.0.0.1", freePort()}}}},
                      {"Plugins", json::array()}};
    std::ofstream(dir / "orthanc.json") << cfg.dump(2);
    pid = startDaemon({"/usr/sbin/Orthanc", (dir / "orthanc.json").string()}, dir / "orthanc.log");
    const auto until = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < until && ::waitpid(pid, nullptr, WNOHANG) == 0) {
      if (run("curl -sf " + url("/system") + " >/dev/null").status == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    BOOST_FAIL("Orthanc did not answer in 20 s; its log:\n" +
               run("cat " + q(dir / "orthanc.log")).out);
  }
  ~Orthanc() {
    stopDaemon(pid, true);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Orthanc(const Orthanc&) = delete;
  Orthanc& operator=(const Orthanc&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(httpPort) + path;
  }
  json get(const std::string& path) const {
    return json::parse(run("curl -sf " + url(path)).out, nullptr, false);
  }
  void upload(const fs::path& file) const {
    const json r =
        json::parse(run("curl -sf -X POST --data-binary @" + q(file) + " " + url("/instances")).out,
                    nullptr, false);
    BOOST_TEST_REQUIRE(r.is_object(), "Orthanc refused " << file);
    const std::string status = r.value("Status", "");  // AlreadyStored: an earlier case's
    BOOST_TEST_REQUIRE((status == "Success" || status == "AlreadyStored"),
                       file << ": " << r.dump());
  }
  // The series of a study by StudyInstanceUID: SeriesInstanceUID -> Orthanc's series object.
  std::map<std::string, json> series(const std::string& studyUid) const {
    const json found =
        json::parse(run("curl -sf -X POST --data '" + studyUid + "' " + url("/tools/lookup")).out,
                    nullptr, false);
    std::map<std::string, json> out;
    for (const json& f : found)
      if (f.value("Type", "") == "Study")
        for (const json& s : get("/studies/" + f["ID"].get<std::string>() + "/series"))
          out[s["MainDicomTags"].value("SeriesInstanceUID", "")] = s;
    return out;
  }
  fs::path download(const std::string& instanceId, const fs::path& to) const {
    BOOST_TEST_REQUIRE(
        run("curl -sf -o " + q(to) + " " + url("/instances/" + instanceId + "/file")).status == 0);
    return to;
  }
};

// One Orthanc for the whole module: the cases use distinct studies.
Orthanc& orthanc() {
  static Orthanc o;
  return o;
}

fs::path work(const std::string& name) {
  fs::path p = orthanc().dir / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

Run enhance(const std::string& args) {
  Run r = run(std::string(CAE_ENHANCE_EXE) + " " + args + " 2>&1");
  BOOST_TEST_MESSAGE("cae-enhance " << args << " -> " << r.status << " in " << r.seconds << " s\n"
                                    << r.out);
  return r;
}

std::string pacsArgs(const std::string& study, const fs::path& out) {
  return "--pacs 127.0.0.1:" + std::to_string(orthanc().dicomPort) +
         " --aet CAE --aec ORTHANC --study " + study + " -o " + q(out) + " -m " +
         q(kRoot / "models" / "denoise-gray.onnx");
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A copy of a DICOM file with tags replaced (e.g. a new SOPInstanceUID), in its own syntax.
fs::path modified(const fs::path& from, const fs::path& to,
                  const std::vector<std::pair<DcmTagKey, std::string>>& tags) {
  DcmFileFormat f;
  BOOST_TEST_REQUIRE(f.loadFile(from.c_str()).good(), from);
  for (const auto& [tag, value] : tags) {
    BOOST_TEST_REQUIRE(f.getDataset()->putAndInsertOFStringArray(tag, value.c_str()).good());
    if (tag == DCM_SOPInstanceUID)  // the meta header names the instance too
      f.getMetaInfo()->putAndInsertOFStringArray(DCM_MediaStorageSOPInstanceUID, value.c_str());
  }
  BOOST_TEST_REQUIRE(f.saveFile(to.c_str(), EXS_Unknown).good(), to);
  return to;
}

std::string tag(const fs::path& file, const DcmTagKey& key) {
  DcmFileFormat f;
  BOOST_TEST_REQUIRE(f.loadFile(file.c_str()).good(), file);
  OFString v;
  DcmItem* where = key.getGroup() == 0x0002 ? static_cast<DcmItem*>(f.getMetaInfo())
                                            : static_cast<DcmItem*>(f.getDataset());
  where->findAndGetOFStringArray(key, v);
  return v.c_str();
}

std::string referencedSource(const fs::path& file) {
  DcmFileFormat f;
  BOOST_TEST_REQUIRE(f.loadFile(file.c_str()).good(), file);
  DcmItem* item = nullptr;
  if (f.getDataset()->findAndGetSequenceItem(DCM_SourceImageSequence, item, 0).bad()) return "";
  OFString v;
  item->findAndGetOFString(DCM_ReferencedSOPInstanceUID, v);
  return v.c_str();
}

double laplacianStd(const cv::Mat& frame) {
  cv::Mat f, lap;
  frame.convertTo(f, CV_32F);
  cv::Laplacian(f, lap, CV_32F);
  cv::Scalar mean, sd;
  cv::meanStdDev(lap, mean, sd);
  return sd[0];
}

}  // namespace

// A study of two noisy CT slices: its series listed, retrieved, enhanced and stored back; in
// Orthanc the study then has a new series with both instances, derived by the tag rules, with
// less noise than the input; only the asked study was retrieved.
BOOST_AUTO_TEST_CASE(a_noisy_ct_study_comes_back_with_a_denoised_derived_series) {
  const fs::path d = work("ct");
  const io::DicomInstance clean = io::readDicomInstance((kPydicom / "CT_small.dcm").string());
  const std::string study = io::uidFromText("cae test: noisy CT study");
  const std::string series = io::uidFromText("cae test: noisy CT series");
  double lo = 0, hi = 0;
  cv::minMaxLoc(clean.frames[0], &lo, &hi);
  std::map<std::string, io::DicomInstance> inputs;  // by SOPInstanceUID
  for (int i = 0; i < 2; ++i) {
    cv::Mat noise(clean.frames[0].size(), CV_32F), f, noisy;
    cv::RNG rng(7 + i);
    rng.fill(noise, cv::RNG::NORMAL, 0, 0.06 * (hi - lo));
    clean.frames[0].convertTo(f, CV_32F);
    cv::Mat(f + noise).convertTo(noisy, CV_32S);
    const io::DerivedSeries ds{series, " noisy", "test input: CT_small with Gaussian noise",
                               io::uidFromText("cae test: noisy CT " + std::to_string(i))};
    const fs::path tmp = d / ("noisy" + std::to_string(i) + ".tmp.dcm");
    io::writeDerivedDicom(clean, {noisy}, ds, tmp.string());
    const fs::path file =
        modified(tmp, d / ("noisy" + std::to_string(i) + ".dcm"), {{DCM_StudyInstanceUID, study}});
    orthanc().upload(file);
    inputs.emplace(ds.sopInstanceUid, io::readDicomInstance(file.string()));
  }
  orthanc().upload(kPydicom / "CT_small.dcm");  // another study, not to be retrieved

  const fs::path out = d / "out";
  const Run r = enhance(pacsArgs(study, out));
  BOOST_TEST_REQUIRE(r.status == 0, r.out);
  BOOST_TEST(has(r.out, series + "  CT  "), r.out);
  BOOST_TEST(has(r.out, "\"  2 instances"), r.out);
  BOOST_TEST(has(r.out, "C-GET: 2 instances"), r.out);
  BOOST_TEST(has(r.out, "2 stored, 0 stored before"), r.out);
  int retrieved = 0;
  for (const auto& e : fs::directory_iterator(out / "pacs-in" / study)) {
    ++retrieved;
    BOOST_TEST(inputs.count(e.path().stem().string()) == 1U, e.path());
  }
  BOOST_TEST(retrieved == 2);

  const auto found = orthanc().series(study);
  BOOST_TEST_REQUIRE(found.size() == 2U);
  int checked = 0;
  for (const auto& [uid, s] : found) {
    if (uid == series) continue;
    BOOST_TEST(s["Instances"].size() == 2U);
    for (const json& id : s["Instances"]) {
      const fs::path file = orthanc().download(id.get<std::string>(), d / "derived.dcm");
      const io::DicomInstance y = io::readDicomInstance(file.string());
      const std::string source = referencedSource(file);
      BOOST_TEST_REQUIRE(inputs.count(source) == 1U, "SourceImageSequence: " << source);
      const io::DicomInstance& x = inputs.at(source);
      BOOST_TEST(tag(file, DCM_ImageType).rfind("DERIVED\\SECONDARY", 0) == 0U);
      BOOST_TEST(has(tag(file, DCM_DerivationDescription), "denoise-gray.onnx"));
      BOOST_TEST(y.seriesInstanceUid != x.seriesInstanceUid);
      BOOST_TEST(y.sopInstanceUid != x.sopInstanceUid);
      BOOST_TEST(y.studyInstanceUid == study);
      BOOST_TEST(y.bitsAllocated == 16);
      BOOST_TEST(y.bitsAllocated == x.bitsAllocated);
      BOOST_TEST(y.bitsStored == x.bitsStored);
      BOOST_TEST(y.isSigned == x.isSigned);
      BOOST_TEST(y.slope == x.slope);
      BOOST_TEST(y.intercept == x.intercept);
      // Less high-frequency noise, and closer to the clean slice than the input.
      const double before = laplacianStd(x.frames[0]), after = laplacianStd(y.frames[0]);
      auto distance = [&](const cv::Mat& a) { return cv::norm(a, clean.frames[0], cv::NORM_L2); };
      BOOST_TEST_MESSAGE("Laplacian std " << before << " -> " << after << ", error to clean "
                                          << distance(x.frames[0]) << " -> "
                                          << distance(y.frames[0]));
      BOOST_TEST(after < 0.7 * before);
      BOOST_TEST(distance(y.frames[0]) < distance(x.frames[0]));
      ++checked;
    }
  }
  BOOST_TEST(checked == 2);
  std::ifstream pushed(out / "pushed.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(pushed, line)) ++lines;
  BOOST_TEST(lines == 2);
}

// An MR series of three instances, one held RLE-compressed: retrieved as it is held (RLE kept),
// enhanced and stored; a rerun with --resume does not retrieve the derived series, enhances and
// sends nothing again, and the study keeps its two series.
BOOST_AUTO_TEST_CASE(an_mr_series_comes_back_once_and_a_rerun_with_resume_sends_nothing) {
  const fs::path d = work("mr");
  const std::string rle = io::uidFromText("cae test: MR RLE copy");
  orthanc().upload(kPydicom / "MR_small.dcm");
  orthanc().upload(
      modified(kPydicom / "MR_small_RLE.dcm", d / "rle.dcm", {{DCM_SOPInstanceUID, rle}}));
  const std::string copy = io::uidFromText("cae test: MR copy");
  orthanc().upload(
      modified(kPydicom / "MR_small.dcm", d / "copy.dcm", {{DCM_SOPInstanceUID, copy}}));

  const fs::path out = d / "out";
  const Run first = enhance(pacsArgs(kMrStudy, out) + " -q");
  BOOST_TEST_REQUIRE(first.status == 0, first.out);
  BOOST_TEST(has(first.out, "3 enhanced"), first.out);
  BOOST_TEST(has(first.out, "3 stored, 0 stored before"), first.out);
  BOOST_TEST(tag(out / "pacs-in" / kMrStudy / (rle + ".dcm"), DCM_TransferSyntaxUID) ==
             UID_RLELosslessTransferSyntax);
  auto found = orthanc().series(kMrStudy);
  BOOST_TEST_REQUIRE(found.size() == 2U);
  for (const auto& [uid, s] : found) {
    BOOST_TEST(s["Instances"].size() == 3U, uid);
    if (uid != "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457")
      BOOST_TEST(s["MainDicomTags"].value("SeriesDescription", "") == "(cae enhanced)");
  }

  const Run again = enhance(pacsArgs(kMrStudy, out) + " -q --resume");
  BOOST_TEST(again.status == 0, again.out);
  BOOST_TEST(has(again.out, "(derived by cae-enhance: not retrieved)"), again.out);
  BOOST_TEST(has(again.out, "C-GET: 3 instances"), again.out);
  BOOST_TEST(has(again.out, "0 enhanced, 3 already done"), again.out);
  BOOST_TEST(has(again.out, "0 stored, 3 stored before"), again.out);
  found = orthanc().series(kMrStudy);
  BOOST_TEST(found.size() == 2U);
}

// A study holding an RT plan besides a CT slice: the plan cannot come over (no storage context
// for it), the failed sub-operation is reported, the CT slice is enhanced and stored, exit 2.
BOOST_AUTO_TEST_CASE(a_failed_c_get_sub_operation_is_counted_and_the_rest_goes_on) {
  const fs::path d = work("rt");
  orthanc().upload(kPydicom / "CT_small.dcm");
  orthanc().upload(
      modified(kPydicom / "rtplan.dcm", d / "rtplan.dcm", {{DCM_StudyInstanceUID, kCtStudy}}));
  const Run r = enhance(pacsArgs(kCtStudy, d / "out") + " -q");
  BOOST_TEST(r.status == 2, r.out);
  BOOST_TEST(has(r.out, "RTPLAN"), r.out);
  BOOST_TEST(has(r.out, "C-GET: 1 instances"), r.out);
  BOOST_TEST(has(r.out, "1 failed"), r.out);
  BOOST_TEST(has(r.out, "1 stored"), r.out);
  BOOST_TEST(orthanc().series(kCtStudy).size() == 3U);
}

// What goes wrong on the network ends with exit 1 and a message naming the cause, in time.
BOOST_AUTO_TEST_CASE(network_failures_end_with_a_clear_error) {
  const fs::path out = work("errors") / "out";
  const std::string port = std::to_string(orthanc().dicomPort);
  const std::string study = " --study " + kMrStudy + " -o " + q(out);
  Run r = enhance("--pacs 127.0.0.1:" + port + " --aet CAE --aec NOTORTHANC" + study);
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "association rejected by NOTORTHANC@127.0.0.1:" + port), r.out);
  r = enhance("--pacs 127.0.0.1:" + port + " --aet STRANGER --aec ORTHANC" + study);
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "'STRANGER' (--aet)"), r.out);
  r = enhance("--pacs 127.0.0.1:" + port + " --aet CAE --aec ORTHANC --study 1.2.3.999 -o " +
              q(out));
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "study 1.2.3.999 not found on ORTHANC@127.0.0.1:" + port), r.out);
  // Nothing listening: refused at once.
  r = enhance("--pacs 127.0.0.1:" + std::to_string(freePort()) + " --aet CAE --aec ORTHANC" +
              study);
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "cannot reach PACS"), r.out);
  BOOST_TEST(r.seconds < 10);
  // A peer that takes the connection and never answers: the association times out.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_TEST_REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_TEST_REQUIRE(::listen(s, 4) == 0);
  socklen_t n = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  r = enhance("--pacs 127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
              " --pacs-timeout 2 --aet CAE --aec ORTHANC" + study);
  ::close(s);
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "no answer from PACS"), r.out);
  BOOST_TEST(has(r.out, "within 2 s"), r.out);
  BOOST_TEST(r.seconds < 10);
  // The command line: inputs and --pacs do not mix; --pacs needs a study.
  r = enhance("some/folder --pacs 127.0.0.1:" + port + " --aet CAE --aec ORTHANC" + study);
  BOOST_TEST(r.status == 1, r.out);
  r = enhance("--pacs 127.0.0.1:" + port + " --aec ORTHANC -o " + q(out));
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r.out, "--study"), r.out);
}
