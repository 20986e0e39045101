#include "enhance/batch.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "enhance/durable.hpp"
#include "error.hpp"
#include "io/dicom.hpp"
#include "io/hash.hpp"

namespace cae::enhance {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

bool isImageName(const fs::path& p) {
  const std::string e = lower(p.extension().string());
  return e == ".png" || e == ".tif" || e == ".tiff";
}

bool isDicomName(const fs::path& p) { return lower(p.extension().string()) == ".dcm"; }

// The kind of a file found or given: DICOM by name or content, images by name. nullopt: not an
// input (only for files found in folders).
std::optional<InputKind> kindOf(const fs::path& p, bool given) {
  if (isDicomName(p)) return InputKind::Dicom;
  if (isImageName(p)) return InputKind::Image;
  if (io::hasDicomMagic(p.string())) return InputKind::Dicom;
  if (given) return InputKind::Dicom;  // read as DICOM; its failure says why
  return std::nullopt;
}

std::string csvField(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

// What the manifests of OUTDIR say was done: relative output -> its line.
std::map<std::string, json> readManifests(const fs::path& outDir) {
  std::map<std::string, json> done;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(outDir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("manifest", 0) != 0 || e.path().extension() != ".jsonl") continue;
    std::ifstream f(e.path());
    std::string line;
    while (std::getline(f, line)) {
      json j = json::parse(line, nullptr, false);  // a torn last line does not parse: skipped
      if (j.is_discarded() || !j.is_object() || !j.contains("output") || !j["output"].is_string())
        continue;
      std::string key = j["output"].get<std::string>();
      done[key] = std::move(j);
    }
  }
  return done;
}

}  // namespace

std::vector<InputFile> collectInputs(const std::vector<std::string>& paths) {
  std::vector<InputFile> files;
  for (const std::string& given : paths) {
    const fs::path p(given);
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (ec || !fs::exists(st)) throw IoError("input '" + given + "' does not exist");
    if (fs::is_directory(st)) {
      const fs::path root = fs::absolute(p).lexically_normal();
      const fs::path name = root.has_filename() ? root.filename() : root.parent_path().filename();
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(
               p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::end(it); it.increment(ec))
        if (it->is_regular_file()) found.push_back(it->path());
      if (ec) throw IoError("cannot list '" + given + "': " + ec.message());
      for (const fs::path& f : found) {
        const auto kind = kindOf(f, false);
        if (!kind) continue;
        files.push_back(
            {f.string(), (name / f.lexically_relative(p)).lexically_normal().string(), *kind});
      }
    } else {
      files.push_back({p.string(), p.filename().string(), *kindOf(p, true)});
    }
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) {
    return a.relative != b.relative ? a.relative < b.relative : a.path < b.path;
  });
  std::vector<InputFile> unique;
  for (InputFile& f : files) {
    if (!unique.empty() && unique.back().relative == f.relative) {
      std::error_code ec;
      if (fs::equivalent(unique.back().path, f.path, ec)) continue;  // the same file twice
      throw InvalidArgument("inputs '" + unique.back().path + "' and '" + f.path +
                            "' would both be written to '" + f.relative +
                            "' (give their folders, or run them in separate jobs)");
    }
    unique.push_back(std::move(f));
  }
  return unique;
}

bool inShard(const InputFile& f, int index, int count) {
  if (count < 1 || index < 0 || index >= count)
    throw InvalidArgument("shard " + std::to_string(index) + "/" + std::to_string(count) +
                          ": need 0 <= I < N");
  const io::Sha256 h = io::sha256(f.relative);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h[std::size_t(i)];
  return int(v % std::uint64_t(count)) == index;
}

std::string manifestName(int shardIndex, int shardCount) {
  return shardCount > 1 ? "manifest.shard-" + std::to_string(shardIndex) + "-of-" +
                              std::to_string(shardCount) + ".jsonl"
                        : "manifest.jsonl";
}

std::string failuresName(int shardIndex, int shardCount) {
  return shardCount > 1 ? "failures.shard-" + std::to_string(shardIndex) + "-of-" +
                              std::to_string(shardCount) + ".csv"
                        : "failures.csv";
}

namespace {

using Clock = std::chrono::steady_clock;

enum class Outcome { Enhanced, Resumed, Failed };

// One run of runBatch: the shard's inputs, what the manifests say, and the shared counters.
class Job {
 public:
  Job(const BatchOptions& o, ModelRef model) : o_(o), model_(std::move(model)), outDir_(o.outDir) {
    for (InputFile& f : collectInputs(o.inputs))
      if (inShard(f, o.shardIndex, o.shardCount)) inputs_.push_back(std::move(f));
    std::error_code ec;
    fs::create_directories(outDir_, ec);
    if (ec) throw IoError("cannot make output folder '" + o.outDir + "': " + ec.message());
    r_.total = int(inputs_.size());
    r_.manifestPath = (outDir_ / manifestName(o.shardIndex, o.shardCount)).string();
    r_.failuresPath = (outDir_ / failuresName(o.shardIndex, o.shardCount)).string();
    std::ofstream f(r_.failuresPath, std::ios::trunc);
    if (!f) throw IoError("cannot write '" + r_.failuresPath + "'");
    f << "input,reason\n";
    if (o.resume) done_ = readManifests(outDir_);
    progress_.total = r_.total;
  }

  int inputCount() const { return int(inputs_.size()); }
  const ModelRef& model() const { return model_; }

  // Takes inputs until none is left or the stop flag is set.
  void work(Enhancer& enhancer) {
    for (;;) {
      if (o_.stop && o_.stop->load()) return;
      const std::size_t i = next_++;
      if (i >= inputs_.size()) return;
      try {
        finish(inputs_[i].path, one(inputs_[i], enhancer), "");
      } catch (const std::exception& e) {
        finish(inputs_[i].path, Outcome::Failed, e.what());
      }
    }
  }

  BatchResult result() {
    r_.stopped = o_.stop && o_.stop->load() && r_.enhanced + r_.resumed + r_.failed < r_.total;
    return r_;
  }

 private:
  // Whether the manifest proves the output of this input done: same input, same model, the
  // output there with the hash it had.
  bool provenDone(const std::string& relOut, const std::string& inHash, const fs::path& out) const {
    const auto d = done_.find(relOut);
    return d != done_.end() && d->second.value("input_sha256", "") == inHash &&
           d->second.value("model_sha256", "") == model_.sha256 && fs::exists(out) &&
           io::hex(io::sha256File(out.string())) == d->second.value("output_sha256", "");
  }

  // New UIDs derived from the source's and the settings: a rerun names them the same.
  io::DerivedSeries derivedFor(const Slices& s, const Window& w) const {
    io::DerivedSeries d;
    if (!s.dicom) return d;
    const std::string settings = model_.sha256 + "|" + o_.window.str();
    d.seriesInstanceUid =
        io::uidFromText("cae-enhance series|" + s.dicom->seriesInstanceUid + "|" + settings);
    d.sopInstanceUid =
        io::uidFromText("cae-enhance instance|" + s.dicom->sopInstanceUid + "|" + settings);
    d.descriptionSuffix = o_.descriptionSuffix;
    d.derivationDescription = "cae-enhance: denoised by model " +
                              fs::path(model_.path).filename().string() + " (SHA-256 " +
                              model_.sha256 + "), window " + w.str();
    return d;
  }

  Outcome one(const InputFile& in, Enhancer& enhancer) {
    const auto t0 = Clock::now();
    const fs::path rel(in.relative);
    const std::string ext = outputExtension(o_.format, in.kind, rel.extension().string());
    const fs::path relOut = fs::path(rel).replace_extension(ext);
    const fs::path out = outDir_ / relOut;
    // Where the output is written before the rename. One left by a killed run is removed when
    // its input comes up again (not at the start: shards of one job share OUTDIR, and another
    // shard's temporary files are in use).
    const fs::path part = fs::path(out).replace_extension(".cae-part" + ext);
    std::error_code stale;
    fs::remove(part, stale);
    const std::string inHash = io::hex(io::sha256File(in.path));
    if (o_.resume && provenDone(relOut.string(), inHash, out)) return Outcome::Resumed;

    const Slices s = readSlices(in.path, in.kind);
    const std::vector<cv::Mat> y = enhancer.run(s, o_.window);
    const Window w = enhancer.windowFor(s, o_.window);
    const io::DerivedSeries derived = derivedFor(s, w);
    fs::create_directories(out.parent_path());
    try {
      writeSlices(s, y, o_.format, derived, part.string());
      syncFile(part.string());
      fs::rename(part, out);
    } catch (...) {
      std::error_code rm;
      fs::remove(part, rm);
      throw;
    }
    json line = {{"input", in.path},
                 {"input_sha256", inHash},
                 {"output", relOut.string()},
                 {"output_sha256", io::hex(io::sha256File(out.string()))},
                 {"model", model_.path},
                 {"model_sha256", model_.sha256},
                 {"window", w.str()},
                 {"frames", s.frames.size()},
                 {"seconds", std::chrono::duration<double>(Clock::now() - t0).count()}};
    if (s.dicom) {
      line["series_uid"] = s.dicom->seriesInstanceUid;
      line["derived_series_uid"] = derived.seriesInstanceUid;
    }
    std::lock_guard<std::mutex> lock(mu_);
    appendLineSynced(r_.manifestPath, line.dump() + "\n");
    return Outcome::Enhanced;
  }

  void finish(const std::string& input, Outcome what, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    if (what == Outcome::Failed) {
      ++r_.failed;
      std::string row = csvField(input);
      row += ',';
      row += csvField(reason);
      row += '\n';
      appendLineSynced(r_.failuresPath, row);
    } else {
      ++(what == Outcome::Resumed ? r_.resumed : r_.enhanced);
    }
    progress_.done = r_.enhanced + r_.resumed + r_.failed;
    progress_.failed = r_.failed;
    progress_.resumed = r_.resumed;
    progress_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    progress_.last = input;
    if (o_.progress) o_.progress(progress_);
  }

  const BatchOptions& o_;
  const ModelRef model_;
  const fs::path outDir_;
  const Clock::time_point start_ = Clock::now();
  std::vector<InputFile> inputs_;
  std::map<std::string, json> done_;
  std::mutex mu_;  // guards r_, progress_, and appends to the manifest and failure files
  std::atomic<std::size_t> next_{0};
  BatchResult r_;
  Progress progress_;
};

}  // namespace

BatchResult runBatch(const BatchOptions& o) {
  if (o.jobs < 1) throw InvalidArgument("--jobs must be at least 1");
  Job job(o, ModelRef::load(o.model));
  // Each worker loads the model once, before taking inputs; a model that cannot be built
  // stops the job before anything is written.
  const int jobs = std::max(1, std::min(o.jobs, job.inputCount()));
  std::vector<std::unique_ptr<Enhancer>> enhancers;
  enhancers.reserve(std::size_t(jobs));
  for (int j = 0; j < jobs; ++j)
    enhancers.push_back(std::make_unique<Enhancer>(job.model(), o.backend, o.threads));
  std::vector<std::thread> threads;
  threads.reserve(std::size_t(jobs));
  for (int j = 1; j < jobs; ++j)
    threads.emplace_back([&job, e = enhancers[std::size_t(j)].get()] { job.work(*e); });
  job.work(*enhancers[0]);
  for (std::thread& t : threads) t.join();
  return job.result();
}

}  // namespace cae::enhance
