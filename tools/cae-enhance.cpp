// cae-enhance: learned enhancement (denoising) of CT/MR scans in batch. DICOM files and folders
// (or 16-bit PNG/TIFF) in; derived series out, every clinical tag kept; outputs written under a
// temporary name and renamed, a manifest of what was done, --resume, --shard for many machines.
// The work is core/enhance (batch.hpp, slices.hpp); this is its command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "enhance/batch.hpp"
#include "enhance/pacs.hpp"
#include "error.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void onSignal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

std::string defaultModel(const char* argv0) {
  // Beside the source tree's models/ when run from a build tree, else the installed share/.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::canonical("/proc/self/exe", ec);
  const fs::path base = ec ? fs::path(argv0).parent_path() : exe.parent_path();
  for (const fs::path& c :
       {base / "../../models/denoise-gray.onnx", base / "../models/denoise-gray.onnx",
        base / "../share/cae/models/denoise-gray.onnx"})
    if (fs::exists(c, ec)) return fs::weakly_canonical(c, ec).string();
  return "models/denoise-gray.onnx";
}

std::string clock(double s) {
  char buf[32];
  const long t = std::lround(s);
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  return buf;
}

// The command line as typed, before it becomes BatchOptions.
struct Args {
  cae::enhance::BatchOptions o;
  std::string format = "same", window = "auto", backend = "auto", shard;
  bool quiet = false;
  // --pacs: the study comes from a PACS and its derived instances go back to it.
  std::string pacsAddress, aet = "CAE", aec, study;
  int pacsTimeout = 30;
  cae::enhance::Pacs pacs;  // from the four above, in convert()
};

const char* kAbout =
    "cae-enhance: denoise CT/MR scans with a learned model, in batch.\n"
    "Reads DICOM files and folders (series of single- or multi-frame instances, any transfer\n"
    "syntax DCMTK decodes; JPEG 2000 is refused) and 16-bit PNG/TIFF; writes a derived series\n"
    "per source series (new Series/SOP Instance UIDs, ImageType DERIVED\\SECONDARY, the model\n"
    "and its SHA-256 in DerivationDescription, every other tag kept) or 16-bit images.\n"
    "Outputs appear only complete (temporary name, then rename); OUTDIR/manifest.jsonl lists\n"
    "what was done and --resume skips it; broken inputs are skipped and listed in\n"
    "OUTDIR/failures.csv. With --pacs, the study is listed (C-FIND), retrieved (C-GET: no port\n"
    "of ours needs to be reachable) into OUTDIR/pacs-in/STUDY, enhanced into OUTDIR/STUDY and\n"
    "the derived instances stored back (C-STORE; OUTDIR/pushed.jsonl lists them, and --resume\n"
    "does not send them again). Exit status: 0 all done, 2 some inputs (or instances to get or\n"
    "store) failed, 1 the job could not run, 130/143 stopped by SIGINT/SIGTERM (the files in\n"
    "hand were finished; --resume goes on).";

void addPacsOptions(CLI::App& app, Args& a) {
  app.add_option("--pacs", a.pacsAddress,
                 "HOST:PORT of a PACS: enhance the study --study from it (C-FIND, C-GET) and "
                 "store the derived series back (C-STORE), instead of inputs");
  app.add_option("--aet", a.aet, "our AE title (the PACS must know it to answer find/get)")
      ->capture_default_str();
  app.add_option("--aec", a.aec, "the PACS's AE title");
  app.add_option("--study", a.study, "StudyInstanceUID of the study to enhance (with --pacs)");
  app.add_option("--pacs-timeout", a.pacsTimeout,
                 "seconds for the PACS to accept a connection, an association, each message")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
}

void addOptions(CLI::App& app, Args& a, const char* argv0) {
  app.add_option("inputs", a.o.inputs,
                 "DICOM files or folders, 16-bit PNG/TIFF files (required unless --pacs)");
  app.add_option("-o,--output", a.o.outDir, "output folder (made if missing)")->required();
  a.o.model = defaultModel(argv0);
  app.add_option("-m,--model", a.o.model, "enhancement model (.onnx; a gray single-frame denoiser)")
      ->capture_default_str();
  app.add_option("-j,--jobs", a.o.jobs, "worker threads, each with the model loaded once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--shard", a.shard,
                 "I/N: only the inputs of shard I of N (0-based; a deterministic partition by "
                 "path, so N machines can split one archive; with a Slurm array: "
                 "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)");
  app.add_flag("--resume", a.o.resume,
               "skip inputs the manifest lists as done with the same input, model and output "
               "hashes; redo the rest");
  app.add_option("--format", a.format, "output: same (as the input), dicom, png16 or tiff")
      ->check(CLI::IsMember({"same", "dicom", "png16", "tiff"}))
      ->capture_default_str();
  app.add_option("--window", a.window,
                 "LO:HI modality values (HU for CT) the model's 0..1 stands for; auto: the "
                 "model's cae.window, else each scan's own range")
      ->capture_default_str();
  app.add_option("--backend", a.backend, "inference backend: auto, onednn or opencv")
      ->check(CLI::IsMember({"auto", "onednn", "opencv"}))
      ->capture_default_str();
  app.add_option("--threads", a.o.threads, "engine threads per worker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--description-suffix", a.o.descriptionSuffix,
                 "appended to the SeriesDescription of derived series")
      ->capture_default_str();
  app.add_flag("-q,--quiet", a.quiet, "no progress output");
  addPacsOptions(app, a);
}

// Inputs or a PACS study, not both; what a PACS job cannot do. InvalidArgument when wrong.
void convertPacs(Args& a) {
  if (a.pacsAddress.empty()) {
    if (a.o.inputs.empty())
      throw cae::InvalidArgument("no inputs (give files or folders, or --pacs)");
    if (!a.study.empty() || !a.aec.empty())
      throw cae::InvalidArgument("--study and --aec need --pacs");
    return;
  }
  if (!a.o.inputs.empty())
    throw cae::InvalidArgument("with --pacs the inputs come from the PACS: give no input paths");
  if (a.aec.empty() || a.study.empty())
    throw cae::InvalidArgument("--pacs needs --aec (the PACS's AE title) and --study");
  if (!cae::enhance::isDicomUid(a.study))
    throw cae::InvalidArgument("--study '" + a.study + "' is not a DICOM UID (digits and dots)");
  if (!a.shard.empty()) throw cae::InvalidArgument("--shard cannot be used with --pacs");
  if (a.o.format == cae::enhance::OutputFormat::Png16 ||
      a.o.format == cae::enhance::OutputFormat::Tiff)
    throw cae::InvalidArgument("--pacs stores DICOM back: --format must be same or dicom");
  a.pacs = cae::enhance::parsePacs(a.pacsAddress, a.aet, a.aec, a.pacsTimeout);
}

// The texts CLI11 cannot check; InvalidArgument when one is wrong.
void convert(Args& a) {
  a.o.format = cae::enhance::parseOutputFormat(a.format);
  a.o.window = cae::enhance::parseWindow(a.window);
  a.o.backend = cae::infer::parseBackend(a.backend);
  convertPacs(a);
  if (a.shard.empty()) return;
  const std::string& shard = a.shard;
  const auto slash = shard.find('/');
  std::size_t i = 0, n = 0;
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    a.o.shardIndex = std::stoi(shard.substr(0, slash), &i);
    a.o.shardCount = std::stoi(shard.substr(slash + 1), &n);
  } catch (const std::exception&) {
    i = n = std::string::npos;
  }
  if (i != slash || n != shard.size() - slash - 1 || a.o.shardCount < 1 || a.o.shardIndex < 0 ||
      a.o.shardIndex >= a.o.shardCount)
    throw cae::InvalidArgument("--shard '" + shard + "' is not I/N with 0 <= I < N");
}

// A bar with rate and ETA on a terminal, one plain line per input otherwise.
void showProgress(const cae::enhance::Progress& p, bool tty) {
  const double rate = p.seconds > 0 ? p.done / p.seconds : 0;
  const double eta = rate > 0 ? (p.total - p.done) / rate : 0;
  if (tty) {
    const int width = 30, filled = p.total ? width * p.done / p.total : width;
    std::fprintf(stderr, "\r[%s%s] %d/%d  %.1f files/s  ETA %s  failed %d ",
                 std::string(std::size_t(filled), '#').c_str(),
                 std::string(std::size_t(width - filled), '.').c_str(), p.done, p.total, rate,
                 clock(eta).c_str(), p.failed);
    if (p.done == p.total) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "cae-enhance: %d/%d %s (%.1f files/s, ETA %s)\n", p.done, p.total,
                 p.last.c_str(), rate, clock(eta).c_str());
  }
}

// Runs the batch with progress and its summary on stderr.
cae::enhance::BatchResult batch(const Args& a, cae::enhance::BatchOptions o) {
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  if (!a.quiet) o.progress = [tty](const cae::enhance::Progress& p) { showProgress(p, tty); };
  if (!a.quiet)
    std::cerr << "cae-enhance: model " << o.model << ", output " << o.outDir
              << (o.shardCount > 1 ? ", shard " + a.shard : std::string()) << "\n";
  cae::enhance::BatchResult r = cae::enhance::runBatch(o);
  if (tty && !a.quiet && r.enhanced + r.resumed + r.failed < r.total) std::fputc('\n', stderr);
  std::cerr << "cae-enhance: " << r.enhanced << " enhanced, " << r.resumed
            << " already done (--resume), " << r.failed << " failed, of " << r.total
            << " inputs; manifest " << r.manifestPath << "\n";
  if (r.failed > 0) std::cerr << "cae-enhance: failures and reasons: " << r.failuresPath << "\n";
  return r;
}

int stopped() {
  std::cerr << "cae-enhance: stopped by signal " << g_signal.load()
            << " after finishing the files in hand; rerun with --resume to go on\n";
  return 128 + g_signal.load();
}

int runJob(const Args& a) {
  const cae::enhance::BatchResult r = batch(a, a.o);
  if (r.stopped) return stopped();
  return r.failed > 0 ? 2 : 0;
}

// C-FIND: the study's series, listed; those to retrieve (not derived by us) returned.
std::vector<std::string> listStudy(const Args& a) {
  namespace en = cae::enhance;
  const std::vector<en::SeriesInfo> all = en::findSeries(a.pacs, a.study);
  if (all.empty()) throw en::PacsError("study " + a.study + " not found on " + a.pacs.str());
  const std::vector<en::SeriesInfo> source =
      en::sourceSeries(all, a.o.outDir, a.o.descriptionSuffix);
  std::cerr << "cae-enhance: study " << a.study << " on " << a.pacs.str() << ": " << all.size()
            << " series\n";
  std::vector<std::string> uids;
  for (const en::SeriesInfo& s : all) {
    const bool take = std::any_of(source.begin(), source.end(), [&](const en::SeriesInfo& x) {
      return x.seriesInstanceUid == s.seriesInstanceUid;
    });
    if (take) uids.push_back(s.seriesInstanceUid);
    std::cerr << "  " << s.seriesInstanceUid << "  " << (s.modality.empty() ? "-" : s.modality)
              << "  \"" << s.description << "\"  "
              << (s.instances < 0 ? std::string("?") : std::to_string(s.instances)) << " instances"
              << (take ? "" : "  (derived by cae-enhance: not retrieved)") << "\n";
  }
  if (uids.empty())
    throw en::PacsError("study " + a.study + " holds only series cae-enhance derived");
  return uids;
}

// --pacs: list, retrieve, enhance, store back.
int runPacsJob(const Args& a) {
  namespace en = cae::enhance;
  const std::vector<std::string> series = listStudy(a);
  const std::string in = (std::filesystem::path(a.o.outDir) / "pacs-in" / a.study).string();
  const en::Retrieved got = en::getStudy(a.pacs, a.study, series, in);
  std::cerr << "cae-enhance: C-GET: " << got.files.size() << " instances into " << in << " ("
            << got.completed << " sub-operations completed, " << got.failed << " failed, "
            << got.warning << " with warnings)\n";
  for (const std::string& e : got.errors) std::cerr << "cae-enhance: C-GET: " << e << "\n";
  if (got.files.empty())
    throw en::PacsError("C-GET from " + a.pacs.str() + " brought no instance of study " + a.study);
  en::BatchOptions o = a.o;
  o.inputs = {in};
  const en::BatchResult r = batch(a, o);
  if (r.stopped) return stopped();
  const en::PushResult p = en::pushDerived(a.pacs, o.outDir, a.study, o.resume);
  std::cerr << "cae-enhance: C-STORE to " << a.pacs.str() << ": " << p.pushed << " stored, "
            << p.skipped << " stored before (--resume), " << p.failed.size() << " failed; "
            << p.pushedPath << "\n";
  for (const std::string& f : p.failed) std::cerr << "cae-enhance: C-STORE: " << f << "\n";
  const bool partial = got.failed > 0 || !got.errors.empty() || r.failed > 0 || !p.failed.empty();
  return partial ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{kAbout};
    Args a;
    addOptions(app, a, argv[0]);
    CLI11_PARSE(app, argc, argv);
    convert(a);
    // SIGINT/SIGTERM: finish the inputs in hand, write their manifest lines, stop.
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    a.o.stop = &g_stop;
    return a.pacsAddress.empty() ? runJob(a) : runPacsJob(a);
  } catch (const std::exception& e) {
    std::cerr << "cae-enhance: " << e.what() << "\n";
    return 1;
  }
}
