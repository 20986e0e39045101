// cae-enhance (core/enhance and the tool) on real scans: python3-pydicom's CT and MR files and
// 16-bit PNG/TIFF made from a real photograph. An identity model (a residual autoencoder with
// zero weights) checks that values come back exactly; the shipped denoise-gray checks that noise
// goes down; the tool itself is run for the batch behaviour (manifest, resume, failures, shards,
// SIGTERM and SIGKILL).
#define BOOST_TEST_MODULE enhance
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "enhance/batch.hpp"
#include "enhance/slices.hpp"
#include "error.hpp"
#include "io/dicom_series.hpp"
#include "io/hash.hpp"
#include "onnx/export.hpp"
#include "train/architecture.hpp"

namespace fs = std::filesystem;
namespace en = cae::enhance;
namespace io = cae::io;
using json = nlohmann::json;

namespace {

const fs::path kPydicom = "/usr/lib/python3/dist-packages/pydicom/data/test_files";
const fs::path kSkimage = "/usr/lib/python3/dist-packages/skimage/data";
const fs::path kRoot = fs::path(CAE_TEST_DATA).parent_path().parent_path();

fs::path scratch() {
  struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("cae_enhance_test_" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static Scratch s;
  return s.dir;
}

fs::path fresh(const std::string& name) {
  fs::path p = scratch() / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// A gray residual autoencoder whose weights are all zero: output = input, exactly; `extra`
// metadata (e.g. cae.window) in a file of its own name.
std::string identityModel(const std::map<std::string, std::string>& extra = {},
                          const std::string& name = "identity.onnx") {
  const fs::path path = scratch() / name;
  if (fs::exists(path)) return path.string();
  cae::train::ArchSpec s;
  s.kind = cae::train::ArchKind::Conv;
  s.channels = 1;
  s.height = s.width = 32;
  s.stem = 2;
  s.stages = 2;
  s.depth = 1;
  s.width0 = 8;
  s.maxChannels = 16;
  s.skips = true;
  s.residual = true;
  cae::train::BuiltModel b = cae::train::buildAutoencoder(s);
  b.model.params().setZero();
  cae::onnx::ExportOptions o;
  o.task = cae::onnx::Task::Denoise;
  o.format = "GRAY8";
  o.extra = extra;
  cae::onnx::exportOnnx(b.model, path.string(), o);
  return path.string();
}

std::string denoiseGray() { return (kRoot / "models" / "denoise-gray.onnx").string(); }
std::string enhanceExe() { return CAE_ENHANCE_EXE; }

std::string digest(const fs::path& p) { return io::hex(io::sha256File(p.string())); }

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<json> manifest(const fs::path& p) {
  std::vector<json> lines;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line)) lines.push_back(json::parse(line));
  return lines;
}

bool sameMat(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

// A 16-bit scan-like PNG from a real photograph: camera.png spread over 12 bits.
cv::Mat photo16(int size = 256) {
  cv::Mat g = cv::imread((kSkimage / "camera.png").string(), cv::IMREAD_GRAYSCALE), r, u;
  BOOST_REQUIRE(!g.empty());
  cv::resize(g, r, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  r.convertTo(u, CV_16U, 16.0, 100.0);
  return u;
}

struct Run {
  int status = -1;
  std::string err;
};

// Runs cae-enhance with args (shell-quoted by the caller), stderr captured.
Run enhance(const std::string& args) {
  const fs::path log = scratch() / "stderr.txt";
  const std::string cmd = enhanceExe() + " " + args + " >/dev/null 2>" + log.string();
  const int rc = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.err = slurp(log);
  return r;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

// Folders are searched recursively for DICOM (by content or .dcm) and PNG/TIFF; other files in
// them are left alone; a file given by name is always taken; outputs keep the folder's name and
// the path inside it; two inputs that would write one output are refused, a missing one too.
BOOST_AUTO_TEST_CASE(inputs_are_found_in_folders_and_files) {
  const fs::path d = fresh("collect");
  fs::create_directories(d / "scans" / "sub");
  fs::copy_file(kPydicom / "CT_small.dcm", d / "scans" / "a.dcm");
  fs::copy_file(kPydicom / "MR_small.dcm", d / "scans" / "sub" / "IM0001");  // no extension
  std::ofstream(d / "scans" / "notes.txt") << "not a scan";
  cv::imwrite((d / "scans" / "b.png").string(), photo16(32));
  std::ofstream(d / "loose.txt") << "given by name";
  const auto in = en::collectInputs({(d / "scans").string(), (d / "loose.txt").string()});
  std::vector<std::string> rel;
  rel.reserve(in.size());
  for (const auto& f : in) rel.push_back(f.relative);
  const std::vector<std::string> want = {"loose.txt", "scans/a.dcm", "scans/b.png",
                                         "scans/sub/IM0001"};
  BOOST_TEST(rel == want, boost::test_tools::per_element());
  BOOST_TEST((in[3].kind == en::InputKind::Dicom));
  BOOST_TEST((in[2].kind == en::InputKind::Image));
  BOOST_TEST((in[0].kind == en::InputKind::Dicom));  // given: read as DICOM, and fails there
  BOOST_CHECK_THROW(en::collectInputs({(d / "missing").string()}), cae::IoError);
  fs::create_directories(d / "other" / "scans");
  fs::copy_file(kPydicom / "CT_small.dcm", d / "other" / "scans" / "a.dcm");
  BOOST_CHECK_THROW(en::collectInputs({(d / "scans").string(), (d / "other" / "scans").string()}),
                    cae::InvalidArgument);
  // The same folder twice is one set of inputs.
  BOOST_TEST(en::collectInputs({(d / "scans").string(), (d / "scans").string()}).size() == 3U);
}

// --shard I/N: every input in exactly one of N shards, and an input's shard does not depend on
// which other inputs the job has.
BOOST_AUTO_TEST_CASE(shards_partition_the_inputs) {
  std::vector<en::InputFile> files;
  files.reserve(200);
  for (int i = 0; i < 200; ++i)
    files.push_back({"x", "series/IM" + std::to_string(i) + ".dcm", en::InputKind::Dicom});
  for (int n : {1, 3, 4, 7}) {
    std::vector<int> count(std::size_t(n), 0);
    for (const auto& f : files) {
      int in = 0;
      for (int i = 0; i < n; ++i)
        if (en::inShard(f, i, n)) ++in, ++count[std::size_t(i)];
      BOOST_TEST(in == 1);
    }
    for (int c : count) BOOST_TEST(c > 200 / n / 3);  // no shard starved
  }
  BOOST_CHECK_THROW(en::inShard(files[0], 4, 4), cae::InvalidArgument);
}

// The identity model gives every stored value back exactly: 16-bit PNG, a 3-page TIFF, signed
// CT (with rescale) and unsigned MR as derived DICOM, whatever the window.
BOOST_AUTO_TEST_CASE(identity_model_round_trips_exactly) {
  const en::ModelRef m = en::ModelRef::load(identityModel());
  en::Enhancer e(m, cae::infer::Backend::Auto, 1);
  const fs::path d = fresh("identity");
  const cv::Mat u = photo16(96);
  cv::imwrite((d / "in.png").string(), u);
  en::Slices png = en::readSlices((d / "in.png").string(), en::InputKind::Image);
  std::vector<cv::Mat> y = e.run(png, {});
  en::writeSlices(png, y, en::OutputFormat::Png16, {}, (d / "out.png").string());
  BOOST_TEST(sameMat(cv::imread((d / "out.png").string(), cv::IMREAD_UNCHANGED), u));

  std::vector<cv::Mat> pages = {u, u * 2, u / 3};
  cv::imwritemulti((d / "in.tif").string(), pages);
  en::Slices tif = en::readSlices((d / "in.tif").string(), en::InputKind::Image);
  BOOST_TEST(tif.frames.size() == 3U);
  y = e.run(tif, en::parseWindow("0:70000"));
  en::writeSlices(tif, y, en::OutputFormat::Tiff, {}, (d / "out.tif").string());
  std::vector<cv::Mat> back;
  BOOST_TEST(cv::imreadmulti((d / "out.tif").string(), back, cv::IMREAD_UNCHANGED));
  BOOST_TEST_REQUIRE(back.size() == 3U);
  for (int k = 0; k < 3; ++k) BOOST_TEST(sameMat(back[std::size_t(k)], pages[std::size_t(k)]));

  for (const char* name : {"CT_small.dcm", "MR_small.dcm"}) {
    en::Slices s = en::readSlices((kPydicom / name).string(), en::InputKind::Dicom);
    y = e.run(s, {});
    io::DerivedSeries ds{io::uidFromText(std::string("s") + name), " (test)", "identity",
                         io::uidFromText(std::string("i") + name)};
    const fs::path out = d / name;
    en::writeSlices(s, y, en::OutputFormat::Same, ds, out.string());
    const io::DicomInstance r = io::readDicomInstance(out.string());
    BOOST_TEST_REQUIRE(r.frames.size() == s.frames.size());
    BOOST_TEST(sameMat(r.frames[0], s.frames[0]), name);
    BOOST_TEST(r.isSigned == s.dicom->isSigned);
    BOOST_TEST(r.slope == s.slope);
    BOOST_TEST(r.intercept == s.intercept);
  }
}

// A model of modality values (cae.window, cae.sample_rescale as cae-train --window writes them):
// its window is used for every input; PNG samples become modality values by the model's rescale,
// DICOM ones by the file's own; --window overrides the model's.
BOOST_AUTO_TEST_CASE(a_windowed_model_reads_png_samples_by_its_rescale) {
  const std::string path = identityModel(
      {{"cae.window", "-1000:1000"}, {"cae.sample_rescale", "1:-1024"}}, "identity-ct.onnx");
  const en::ModelRef m = en::ModelRef::load(path);
  BOOST_TEST(m.window.lo == -1000.0);
  BOOST_TEST(m.sampleIntercept == -1024.0);
  en::Enhancer e(m, cae::infer::Backend::Auto, 1);
  const fs::path d = fresh("windowed");
  cv::imwrite((d / "ct.png").string(), photo16(32));
  const en::Slices png = en::readSlices((d / "ct.png").string(), en::InputKind::Image);
  BOOST_TEST(e.rescaleOf(png).second == -1024.0);
  const en::Slices ct = en::readSlices((kPydicom / "CT_small.dcm").string(), en::InputKind::Dicom);
  BOOST_TEST(e.rescaleOf(ct).second == ct.intercept);
  BOOST_TEST(e.windowFor(ct, {}).hi == 1000.0);
  BOOST_TEST(e.windowFor(ct, en::parseWindow("0:80")).hi == 80.0);
  BOOST_TEST(sameMat(e.run(png, {})[0], png.frames[0]));  // still exact through the window
}

// denoise-gray on a CT slice with added noise: closer to the clean slice than the noisy one
// (PSNR in the stored range), written as a derived series.
BOOST_AUTO_TEST_CASE(a_real_model_takes_noise_out_of_a_ct_slice) {
  en::Slices clean = en::readSlices((kPydicom / "CT_small.dcm").string(), en::InputKind::Dicom);
  en::Slices noisy = clean;
  double lo = 0, hi = 0;
  cv::minMaxLoc(clean.frames[0], &lo, &hi);
  cv::Mat noise(clean.frames[0].size(), CV_32F), n32;
  cv::RNG rng(3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 0.06 * (hi - lo));
  cv::Mat f;
  clean.frames[0].convertTo(f, CV_32F);
  cv::Mat(f + noise).convertTo(n32, CV_32S);
  noisy.frames = {n32};
  en::Enhancer e(en::ModelRef::load(denoiseGray()), cae::infer::Backend::Auto, 1);
  // The clean slice's range as the window: what a CT model's HU window would be.
  const en::Window w{lo * clean.slope + clean.intercept, hi * clean.slope + clean.intercept};
  const std::vector<cv::Mat> y = e.run(noisy, w);
  auto psnr = [&](const cv::Mat& a) {
    cv::Mat d;
    cv::subtract(a, clean.frames[0], d, cv::noArray(), CV_64F);
    return 10 * std::log10((hi - lo) * (hi - lo) / cv::mean(d.mul(d))[0]);
  };
  BOOST_TEST_MESSAGE("CT_small, noise 6 % of its range: noisy " << psnr(n32) << " dB, denoised "
                                                                << psnr(y[0]) << " dB");
  BOOST_TEST(psnr(y[0]) > psnr(n32) + 3.0);
}

// A folder with good and broken scans through the tool: the good ones enhanced (derived series
// with the model's hash), every broken one skipped with its reason in failures.csv, exit 2;
// the manifest lists each output once with hashes that match the files.
BOOST_AUTO_TEST_CASE(broken_inputs_are_listed_and_the_job_goes_on) {
  const fs::path d = fresh("broken");
  const fs::path in = d / "in";
  fs::create_directories(in);
  for (const char* good : {"CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm"})
    fs::copy_file(kPydicom / good, in / good);
  for (const char* bad : {"MR_truncated.dcm", "rtplan.dcm", "JPEG2000.dcm"})
    fs::copy_file(kPydicom / bad, in / bad);
  std::ofstream(in / "text.dcm") << "this is not DICOM\n";
  const fs::path out = d / "out";
  const Run r = enhance(q(in) + " -o " + q(out) + " -m " + q(identityModel()));
  BOOST_TEST_MESSAGE(r.err);
  BOOST_TEST(r.status == 2);
  std::map<std::string, std::string> reasons;
  {
    std::ifstream f(out / "failures.csv");
    std::string line;
    std::getline(f, line);
    BOOST_TEST(line == "input,reason");
    while (std::getline(f, line)) {
      const auto comma = line.find("\",\"");
      BOOST_TEST_REQUIRE(comma != std::string::npos);
      reasons[fs::path(line.substr(1, comma - 1)).filename().string()] = line.substr(comma + 3);
    }
  }
  BOOST_TEST(reasons.size() == 4U);
  for (const auto& [file, why] : reasons) BOOST_TEST_MESSAGE(file << ": " << why);
  BOOST_TEST(reasons["JPEG2000.dcm"].find("JPEG 2000") != std::string::npos);
  BOOST_TEST(reasons.count("MR_truncated.dcm") == 1U);
  BOOST_TEST(reasons.count("rtplan.dcm") == 1U);
  BOOST_TEST(reasons.count("text.dcm") == 1U);
  const auto lines = manifest(out / "manifest.jsonl");
  BOOST_TEST(lines.size() == 3U);
  std::set<std::string> outputs;
  const std::string modelHash = io::hex(io::sha256File(identityModel()));
  for (const json& j : lines) {
    outputs.insert(j["output"].get<std::string>());
    BOOST_TEST(io::hex(io::sha256File((out / j["output"].get<std::string>()).string())) ==
               j["output_sha256"].get<std::string>());
    BOOST_TEST(j["model_sha256"].get<std::string>() == modelHash);
  }
  BOOST_TEST(outputs.size() == 3U);
  BOOST_TEST(fs::exists(out / "in" / "MR_small_RLE.dcm"));
  BOOST_TEST(!fs::exists(out / "in" / "rtplan.dcm"));
  // Both MR files are one source series: one derived series.
  const io::DicomInstance a = io::readDicomInstance((out / "in" / "MR_small.dcm").string());
  const io::DicomInstance b = io::readDicomInstance((out / "in" / "MR_small_RLE.dcm").string());
  const io::DicomInstance src = io::readDicomInstance((in / "MR_small.dcm").string());
  BOOST_TEST(a.seriesInstanceUid == b.seriesInstanceUid);
  BOOST_TEST(a.seriesInstanceUid != src.seriesInstanceUid);
  BOOST_TEST(a.sopInstanceUid != src.sopInstanceUid);
}

// --resume on a finished job does nothing (every output's hash checked); a deleted output and
// an output whose bytes changed are made again, identical to the first run's.
BOOST_AUTO_TEST_CASE(resume_skips_what_the_manifest_proves_done) {
  const fs::path d = fresh("resume");
  const fs::path in = d / "in";
  fs::create_directories(in);
  for (int i = 0; i < 6; ++i)
    cv::imwrite((in / ("s" + std::to_string(i) + ".png")).string(), photo16(64) + i);
  const fs::path out = d / "out";
  const std::string args = q(in) + " -o " + q(out) + " -m " + q(denoiseGray());
  BOOST_TEST(enhance(args).status == 0);
  const std::string first2 = digest(out / "in" / "s2.png"), first4 = digest(out / "in" / "s4.png");
  Run r = enhance(args + " --resume");
  BOOST_TEST(r.status == 0);
  BOOST_TEST(r.err.find("0 enhanced, 6 already done") != std::string::npos, r.err);
  fs::remove(out / "in" / "s2.png");
  std::ofstream(out / "in" / "s4.png", std::ios::app) << "x";
  r = enhance(args + " --resume");
  BOOST_TEST(r.err.find("2 enhanced, 4 already done") != std::string::npos, r.err);
  BOOST_TEST(digest(out / "in" / "s2.png") == first2);
  BOOST_TEST(digest(out / "in" / "s4.png") == first4);
  // Another model: nothing counts as done.
  r = enhance(q(in) + " -o " + q(out) + " -m " + q(identityModel()) + " --resume");
  BOOST_TEST(r.err.find("6 enhanced, 0 already done") != std::string::npos, r.err);
}

// Four shards of one folder run one after another into one output folder: every input
// enhanced exactly once over the four manifests.
BOOST_AUTO_TEST_CASE(four_shards_enhance_every_input_once) {
  const fs::path d = fresh("shards");
  const fs::path in = d / "in";
  fs::create_directories(in);
  for (int i = 0; i < 12; ++i)
    cv::imwrite((in / ("s" + std::to_string(i) + ".png")).string(), photo16(32) + i);
  const fs::path out = d / "out";
  std::map<std::string, int> seen;
  for (int s = 0; s < 4; ++s) {
    const Run r = enhance(q(in) + " -o " + q(out) + " -m " + q(identityModel()) + " --shard " +
                          std::to_string(s) + "/4 -q");
    BOOST_TEST(r.status == 0, r.err);
    for (const json& j : manifest(out / ("manifest.shard-" + std::to_string(s) + "-of-4.jsonl")))
      ++seen[j["output"].get<std::string>()];
  }
  BOOST_TEST(seen.size() == 12U);
  for (const auto& [o, n] : seen) BOOST_TEST(n == 1, o);
  BOOST_TEST(enhance(q(in) + " -o " + q(out) + " --shard 4/4").status == 1);
  BOOST_TEST(enhance(q(in) + " -o " + q(out) + " --shard x").status == 1);
}

namespace {

// Starts cae-enhance in the background; returns its pid.
pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string exe = enhanceExe();
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

std::size_t manifestLines(const fs::path& p) {
  std::ifstream f(p);
  std::size_t n = 0;
  std::string line;
  while (std::getline(f, line)) ++n;
  return n;
}

// Waits until the manifest has at least n lines (or the child ended).
void waitForLines(const fs::path& p, std::size_t n, pid_t pid) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (manifestLines(p) < n && std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::map<std::string, std::string> filesUnder(const fs::path& d) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(d))
    if (e.is_regular_file() && e.path().extension() == ".png")
      m[e.path().lexically_relative(d).string()] = digest(e.path());
  return m;
}

}  // namespace

// SIGKILL mid-job: no partial file under a final name; --resume finishes the job with every
// output present once and byte-identical to an uninterrupted run's. SIGTERM: the file in hand
// is finished, exit status 143, and --resume completes it as well.
BOOST_AUTO_TEST_CASE(killed_jobs_lose_nothing_and_resume) {
  const fs::path d = fresh("kill");
  const fs::path in = d / "in";
  fs::create_directories(in);
  const int n = 24;
  for (int i = 0; i < n; ++i)
    cv::imwrite((in / ("s" + std::to_string(100 + i) + ".png")).string(), photo16(384) + i);
  const fs::path ref = d / "ref";
  BOOST_TEST_REQUIRE(enhance(q(in) + " -o " + q(ref) + " -m " + q(denoiseGray()) + " -q").status ==
                     0);
  const auto want = filesUnder(ref);
  BOOST_TEST_REQUIRE(want.size() == std::size_t(n));

  for (int sig : {SIGKILL, SIGTERM}) {
    const fs::path out = d / ("out" + std::to_string(sig));
    const pid_t pid = spawn({in.string(), "-o", out.string(), "-m", denoiseGray(), "-j", "2"});
    waitForLines(out / "manifest.jsonl", 4, pid);
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (sig == SIGKILL) {
      BOOST_TEST(WIFSIGNALED(status));
    } else {
      BOOST_TEST(WIFEXITED(status));
      BOOST_TEST(WEXITSTATUS(status) == 143);
    }
    const auto partial = filesUnder(out);
    BOOST_TEST_MESSAGE("signal " << sig << ": " << partial.size() << " of " << n << " outputs");
    BOOST_TEST(partial.size() < std::size_t(n));
    for (const auto& [name, bytes] : partial) {
      if (name.find(".cae-part") != std::string::npos) continue;  // a temporary, not an output
      BOOST_TEST(bytes == want.at(name), name << " is not complete");
    }
    const Run r = enhance(q(in) + " -o " + q(out) + " -m " + q(denoiseGray()) + " --resume");
    BOOST_TEST(r.status == 0, r.err);
    BOOST_TEST((filesUnder(out) == want));
    std::map<std::string, int> listed;
    for (const json& j : manifest(out / "manifest.jsonl")) ++listed[j["output"].get<std::string>()];
    BOOST_TEST(listed.size() == std::size_t(n));
    for (const auto& [o, c] : listed) BOOST_TEST(c == 1, o);
  }
}

// Usage errors: a clear message and status 1, nothing written.
BOOST_AUTO_TEST_CASE(usage_errors_are_clear) {
  const fs::path d = fresh("usage");
  Run r = enhance("--help");
  BOOST_TEST(r.status == 0);
  r = enhance(q(kPydicom / "CT_small.dcm") + " -o " + q(d / "o") + " -m " + q(d / "none.onnx"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("none.onnx") != std::string::npos, r.err);
  BOOST_TEST(!fs::exists(d / "o" / "CT_small.dcm"));
  r = enhance(q(kPydicom / "CT_small.dcm") + " -o " + q(d / "o") + " --window 5:1");
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("window") != std::string::npos, r.err);
  r = enhance(q(d / "missing") + " -o " + q(d / "o"));
  BOOST_TEST(r.status == 1);
  BOOST_TEST(r.err.find("does not exist") != std::string::npos, r.err);
  BOOST_CHECK_THROW(en::parseWindow("-1000:"), cae::InvalidArgument);
  BOOST_TEST(en::parseWindow("-1000:3000").lo == -1000.0);
}
