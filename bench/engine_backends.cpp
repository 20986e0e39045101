// Inference backends side by side (issue 11): OpenCV DNN 4.6 against cae's oneDNN backend
// (core/infer/onednn) on the same models, inputs and machine, in one process, with Eigen's sgemm
// as the machine's arithmetic ceiling measured in the same run. Prints JSON lines; bench/
// run_backend_bench.sh runs it and bench/backend_report.py writes bench/reports/backends.md.
//
// Sections (--sections, default all, in this order):
//   ceiling  Eigen sgemm 1024³ at 1 and 2 threads (again at the end of the run, to see drift)
//   speed    every model at every size: OpenCV DNN and oneDNN (f32, and bf16 where the CPU has
//            bf16 instructions) at 1 and 2 threads, interleaved
//            (one forward of each in turn, the order rotated every round) so they share the
//            machine's noise; median and p90 ms, CPU ms per frame, GFLOP/s (oneDNN's FLOP count
//            for both), largest difference between the two backends' outputs
//   layers   every model at the first size, 2 threads: per-primitive (oneDNN, Options::profile)
//            and per-layer (OpenCV, getPerfProfile) times, FLOPs and oneDNN's implementation
//   load     the speed measurement at the first size, quiet and then under a competing load of
//            two single-threaded processes (this program's `burn` mode) started for it
//   element  caedenoise / caeanomaly in a GStreamer pipeline (appsrc → element → fakesink
//            sync=false) against Engine::run on the same frame, per backend
//
// Usage: bench_engine_backends [options] MODEL.onnx...
//   --sizes L        WxH list (default 640x480,1280x720)
//   --threads L      thread counts compared (default 1,2)
//   --reps N         timed forwards per configuration (default 20); --warmup N (default 3)
//   --gap-ms G       idle time after every timed forward (default 15). Thread pools keep spinning
//                    for a while after a forward (libgomp, TBB); without a gap that spinning runs
//                    into the next configuration's timing. The CPU time of the gap is reported:
//                    it is what an idle pool burns between frames.
//   --budget-s S     stop a measurement after the round that passes S seconds (default 15), with
//                    at least 5 rounds: on a contended machine a 2-thread forward can take 100×
//                    its quiet time, and the run must still end
//   --load-reps N    rounds quiet and under load (default 15); --load-kind spin|sgemm
//   --frames N       frames through each pipeline (default 40, the first 5 untimed)
//   --element-threads T  threads of the element and of the Engine it is compared with (default 0:
//                        the element's default, i.e. OpenCV's own, onednn::kDefaultThreads)
//   --element-backends L backends run through the element (default opencv,onednn)
//   --sections L     any of ceiling,speed,layers,load,element (default all)
// bench_engine_backends burn spin|sgemm   one competing busy thread until killed (for `load`)
#include <gst/gst.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "infer/engine.hpp"
#include "infer/onednn.hpp"
#include "onnx/graph.hpp"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace cae;

namespace {

struct Options {
  std::vector<std::string> models;
  std::vector<cv::Size> sizes = {{640, 480}, {1280, 720}};
  std::vector<int> threads = {1, 2};
  int reps = 20, warmup = 3, loadReps = 15, frames = 40, elementThreads = 0;
  double gapMs = 15, budgetS = 15;
  std::vector<infer::Backend> elementBackends = {infer::Backend::OpenCV, infer::Backend::OneDNN};
  std::string loadKind = "spin";
  std::vector<std::string> sections = {"ceiling", "speed", "layers", "load", "element"};
  bool has(const std::string& s) const {
    return std::find(sections.begin(), sections.end(), s) != sections.end();
  }
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) v.push_back(item);
  return v;
}

[[noreturn]] void usage(const std::string& msg) {
  std::fprintf(stderr,
               "bench_engine_backends: %s\nsee the comment at the top of "
               "bench/engine_backends.cpp\n",
               msg.c_str());
  std::exit(2);
}

int positive(const std::string& v, const std::string& opt) {
  const int n = std::atoi(v.c_str());
  if (n < 1) usage(opt + " needs a positive number, not '" + v + "'");
  return n;
}

void parseList(Options& o, const std::string& a, const std::string& v) {
  if (a == "--sizes") {
    o.sizes.clear();
    for (const std::string& s : split(v, ',')) {
      int w = 0, h = 0;
      if (std::sscanf(s.c_str(), "%dx%d", &w, &h) != 2 || w < 16 || h < 16)
        usage("bad size '" + s + "' (WxH, at least 16x16)");
      o.sizes.emplace_back(w, h);
    }
  } else if (a == "--threads") {
    o.threads.clear();
    for (const std::string& s : split(v, ',')) o.threads.push_back(positive(s, a));
  } else if (a == "--element-backends") {
    o.elementBackends.clear();
    for (const std::string& s : split(v, ',')) {
      try {
        o.elementBackends.push_back(infer::parseBackend(s));
      } catch (const Error& e) {
        usage(e.what());
      }
    }
  } else {
    o.sections = split(v, ',');
  }
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      o.models.push_back(a);
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + a);
    const std::string v = argv[++i];
    if (a == "--sizes" || a == "--threads" || a == "--sections" || a == "--element-backends")
      parseList(o, a, v);
    else if (a == "--reps")
      o.reps = positive(v, a);
    else if (a == "--warmup")
      o.warmup = std::max(0, std::atoi(v.c_str()));
    else if (a == "--gap-ms")
      o.gapMs = std::max(0.0, std::atof(v.c_str()));
    else if (a == "--budget-s")
      o.budgetS = std::max(0.0, std::atof(v.c_str()));
    else if (a == "--load-reps")
      o.loadReps = positive(v, a);
    else if (a == "--load-kind")
      o.loadKind = v;
    else if (a == "--frames")
      o.frames = std::max(8, positive(v, a));
    else if (a == "--element-threads")
      o.elementThreads = std::max(0, std::atoi(v.c_str()));
    else
      usage("unknown option " + a);
  }
  if (o.models.empty()) usage("no model given");
  if (o.sizes.empty() || o.threads.empty()) usage("empty --sizes or --threads");
  if (o.loadKind != "spin" && o.loadKind != "sgemm") usage("--load-kind is spin or sgemm");
  return o;
}

// ---- measuring ---------------------------------------------------------------------------------

// CPU time of the whole process (all threads, user + system), ms.
double cpuMs() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 +
         double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Nearest-rank quantile.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const auto k = std::size_t(std::ceil(q * double(v.size())));
  return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
}

double median(const std::vector<double>& v) { return quantile(v, 0.5); }

// A number for JSON: null where it is not finite (JSON has no NaN).
std::string jsonNumber(double v, int digits = 4) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += (c == '\n' ? ' ' : c);
  }
  return o;
}

// One way to run a model: a backend at a thread count, and its timings.
struct Runner {
  using Forward = std::function<cv::Mat(const cv::Mat&)>;
  Runner(std::string b, int t, std::function<void()> p, Forward f)
      : backend(std::move(b)), threads(t), prepare(std::move(p)), forward(std::move(f)) {}
  std::string backend;
  int threads = 1;
  std::function<void()> prepare;  // untimed, before each forward (OpenCV's process-wide threads)
  Forward forward;
  std::vector<double> wall, cpu, tail;  // ms: forward wall time, its CPU time, the gap's CPU time
  void clear() { wall.clear(), cpu.clear(), tail.clear(); }
};

// `warmup` untimed rounds, then up to `reps` rounds (fewer once budgetS seconds have passed, but
// at least kMinRounds); a round runs every runner once, starting at a different runner each round
// so that none always follows the same one.
constexpr int kMinRounds = 5;
void interleave(std::vector<Runner>& rs, const cv::Mat& x, int warmup, int reps, double gapMs,
                double budgetS) {
  const auto gap = std::chrono::microseconds(long(gapMs * 1000));
  const auto start = Clock::now();
  for (Runner& r : rs) r.clear();
  for (int round = -warmup; round < reps; ++round) {
    if (round >= kMinRounds && msSince(start) > budgetS * 1e3) break;
    for (std::size_t k = 0; k < rs.size(); ++k) {
      Runner& r = rs[(k + std::size_t(round + warmup)) % rs.size()];
      if (r.prepare) r.prepare();
      const double c0 = cpuMs();
      const auto t0 = Clock::now();
      r.forward(x);
      const double wall = msSince(t0);
      const double c1 = cpuMs();
      std::this_thread::sleep_for(gap);
      if (round < 0) continue;
      r.wall.push_back(wall);
      r.cpu.push_back(c1 - c0);
      r.tail.push_back(cpuMs() - c1);
    }
  }
}

// ---- the two backends --------------------------------------------------------------------------

cv::dnn::Net openOpenCV(const std::string& path) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return net;
}

// One model, opened once per backend; runners for each thread count.
struct Model {
  std::string path, name;
  int channels = 1;  // of one frame
  int frames = 1;    // frames stacked along the input's channels (cae.frames; temporal models)
  onnx::Graph graph;
  cv::dnn::Net cvNet;
  std::vector<std::unique_ptr<infer::onednn::Net>> dnnl;  // one per thread count
  std::vector<std::unique_ptr<infer::onednn::Net>> bf16;  // the same in bf16 (CPUs that have it)
  bool denoiser = false;   // precision=auto runs it in bf16 where the CPU has bf16 instructions
  std::string notCovered;  // why oneDNN cannot run it ("" if it can)

  Model(const std::string& p, const std::vector<int>& threads)
      : path(p), name(fs::path(p).stem().string()) {
    const infer::ModelDescription d = infer::describeModel(p);
    channels = d.channels;
    frames = std::max(1, d.info.frames);
    denoiser = d.info.task == onnx::Task::Denoise;
    graph = onnx::readGraph(p);
    cvNet = openOpenCV(p);
    if (!infer::onednn::built())
      notCovered = "this build has no oneDNN backend";
    else if (infer::onednn::covers(graph, &notCovered))
      for (int t : threads) {
        infer::onednn::Options o;
        o.threads = t;
        dnnl.push_back(std::make_unique<infer::onednn::Net>(graph, o));
        if (!infer::onednn::nativeBf16()) continue;
        o.bf16 = true;
        bf16.push_back(std::make_unique<infer::onednn::Net>(graph, o));
      }
  }

  cv::Mat runOpenCV(const cv::Mat& x) {
    cvNet.setInput(x);
    return cvNet.forward();
  }

  std::vector<Runner> runners(const std::vector<int>& threads) {
    std::vector<Runner> rs;
    rs.reserve(threads.size() + dnnl.size() + bf16.size());
    for (int t : threads)
      rs.emplace_back(
          "opencv", t, [t] { cv::setNumThreads(t); },
          [this](const cv::Mat& x) { return runOpenCV(x); });
    for (std::size_t i = 0; i < dnnl.size(); ++i) {
      infer::onednn::Net* net = dnnl[i].get();
      rs.emplace_back("onednn", threads[i], nullptr,
                      [net](const cv::Mat& x) { return net->forward(x); });
    }
    for (std::size_t i = 0; i < bf16.size(); ++i) {
      infer::onednn::Net* net = bf16[i].get();
      rs.emplace_back("onednn-bf16", threads[i], nullptr,
                      [net](const cv::Mat& x) { return net->forward(x); });
    }
    return rs;
  }
};

// A 1×C×H×W input in [0, 1] (the models' units for 8-bit frames); fixed seed.
cv::Mat randomBlob(int c, cv::Size s) {
  const int dims[] = {1, c, s.height, s.width};
  cv::Mat x(4, dims, CV_32F);
  cv::RNG rng(11);
  rng.fill(x, cv::RNG::UNIFORM, 0.0, 1.0);
  return x;
}

double maxAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  if (a.total() != b.total()) return std::nan("");
  return cv::norm(a.reshape(1, 1), b.reshape(1, 1), cv::NORM_INF);
}

// ---- sections ----------------------------------------------------------------------------------

// Eigen's sgemm 1024³ at `threads` threads: GFLOP/s of the median call, of the fastest call
// (the least disturbed by other processes) and per CPU-second (median call's CPU time, all
// threads: for one thread, the rate while it runs, whatever else the machine does).
void ceiling(int threads, const char* when) {
  const int n = 1024, reps = 15;
  Eigen::setNbThreads(threads);
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  std::vector<double> t, cpu;
  for (int i = -2; i < reps; ++i) {
    const double c0 = cpuMs();
    const auto t0 = Clock::now();
    c.noalias() = a * b;
    if (i < 0) continue;
    t.push_back(msSince(t0));
    cpu.push_back(cpuMs() - c0);
  }
  const double flops = 2.0 * n * n * n;
  std::printf(
      "{\"type\":\"ceiling\",\"when\":\"%s\",\"what\":\"Eigen sgemm 1024^3\",\"threads\":%d,"
      "\"gflops\":%.1f,\"gflops_best\":%.1f,\"gflops_cpu\":%.1f}\n",
      when, threads, flops / (median(t) * 1e6), flops / (quantile(t, 0.0) * 1e6),
      flops / (median(cpu) * 1e6));
  std::fflush(stdout);
}

// libgomp's wait policy of this process (read once, at its start): it decides how oneDNN's idle
// OpenMP threads wait, spinning or asleep.
std::string ompWaitPolicy() {
  const char* p = std::getenv("OMP_WAIT_POLICY");
  return p ? jsonEscape(p) : "";
}

void printRunner(const char* type, const Model& m, cv::Size s, const Runner& r, double flops,
                 const std::string& extra = "") {
  const double med = median(r.wall);
  std::printf(
      "{\"type\":\"%s\",\"model\":\"%s\",\"w\":%d,\"h\":%d,\"backend\":\"%s\",\"threads\":%d,"
      "\"reps\":%zu,\"median_ms\":%.3f,\"p90_ms\":%.3f,\"min_ms\":%.3f,\"cpu_ms\":%.3f,"
      "\"gap_cpu_ms\":%.3f,\"flops\":%.6g,\"gflops\":%s,\"gflops_best\":%s,"
      "\"gflops_cpu\":%s,\"omp_wait_policy\":\"%s\"%s}\n",
      type, m.name.c_str(), s.width, s.height, r.backend.c_str(), r.threads, r.wall.size(), med,
      quantile(r.wall, 0.9), quantile(r.wall, 0.0), median(r.cpu), median(r.tail), flops,
      jsonNumber(flops / (med * 1e6)).c_str(),
      jsonNumber(flops / (quantile(r.wall, 0.0) * 1e6)).c_str(),
      jsonNumber(flops / (median(r.cpu) * 1e6)).c_str(), ompWaitPolicy().c_str(), extra.c_str());
}

// oneDNN's FLOP count of one forward at x's size (the same count is used for OpenCV's time);
// OpenCV's own count where oneDNN cannot run the model.
double flopsOf(Model& m, const cv::Mat& x) {
  if (!m.dnnl.empty()) {
    m.dnnl.front()->forward(x);
    return m.dnnl.front()->flopsPerForward();
  }
  return double(m.cvNet.getFLOPS(cv::dnn::MatShape{x.size[0], x.size[1], x.size[2], x.size[3]}));
}

void speed(const Options& o, Model& m) {
  std::printf("{\"type\":\"model\",\"model\":\"%s\",\"denoiser\":%s,\"native_bf16\":%s}\n",
              m.name.c_str(), m.denoiser ? "true" : "false",
              infer::onednn::nativeBf16() ? "true" : "false");
  if (!m.notCovered.empty())
    std::printf("{\"type\":\"skip\",\"model\":\"%s\",\"backend\":\"onednn\",\"why\":\"%s\"}\n",
                m.name.c_str(), jsonEscape(m.notCovered).c_str());
  for (const cv::Size& s : o.sizes) {
    const cv::Mat x = randomBlob(m.frames * m.channels, s);
    const double flops = flopsOf(m, x);
    std::vector<Runner> rs = m.runners(o.threads);
    interleave(rs, x, o.warmup, o.reps, o.gapMs, o.budgetS);
    for (const Runner& r : rs) printRunner("speed", m, s, r, flops);
    if (!m.dnnl.empty()) {
      const cv::Mat ref = m.runOpenCV(x).clone();
      std::printf(
          "{\"type\":\"check\",\"model\":\"%s\",\"w\":%d,\"h\":%d,\"max_abs_diff\":%s,"
          "\"uses_reference\":%s}\n",
          m.name.c_str(), s.width, s.height,
          jsonNumber(maxAbsDiff(ref, m.dnnl.front()->forward(x)), 3).c_str(),
          m.dnnl.front()->usesReference() ? "true" : "false");
    }
    std::fflush(stdout);
  }
}

void printLayer(const Model& m, cv::Size s, const char* backend, std::size_t i,
                const std::string& node, const std::string& op, const std::string& impl, double ms,
                double flops) {
  const bool slow = impl.find("ref") != std::string::npos || impl.find("gemm") != std::string::npos;
  std::printf(
      "{\"type\":\"layer\",\"model\":\"%s\",\"w\":%d,\"h\":%d,\"backend\":\"%s\",\"index\":%zu,"
      "\"node\":\"%s\",\"op\":\"%s\",\"impl\":\"%s\",\"ms\":%.4f,\"flops\":%.6g,"
      "\"gflops\":%.2f,\"flag\":%s}\n",
      m.name.c_str(), s.width, s.height, backend, i, jsonEscape(node).c_str(),
      jsonEscape(op).c_str(), jsonEscape(impl).c_str(), ms, flops,
      ms > 0 ? flops / (ms * 1e6) : 0.0, slow ? "true" : "false");
}

// OpenCV's per-layer times (getPerfProfile: ticks per layer id, 0 for layers fused into
// another), median over `reps` forwards, with OpenCV's own per-layer FLOP count.
void layersOpenCV(Model& m, const cv::Mat& x, int threads, int reps) {
  cv::setNumThreads(threads);
  const std::vector<std::string> names = m.cvNet.getLayerNames();
  std::vector<std::vector<double>> ms(names.size());
  for (int r = -2; r < reps; ++r) {
    m.runOpenCV(x);
    std::vector<double> ticks;
    m.cvNet.getPerfProfile(ticks);
    for (std::size_t i = 0; r >= 0 && i < names.size() && i < ticks.size(); ++i)
      ms[i].push_back(ticks[i] * 1e3 / cv::getTickFrequency());
  }
  const cv::dnn::MatShape shape{x.size[0], x.size[1], x.size[2], x.size[3]};
  const cv::Size s(x.size[3], x.size[2]);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int id = m.cvNet.getLayerId(names[i]);
    const std::string type = m.cvNet.getLayer(id)->type;
    printLayer(m, s, "opencv", i, names[i], type, "", median(ms[i]),
               double(m.cvNet.getFLOPS(id, shape)));
  }
}

// oneDNN's per-primitive times (Options::profile), median over `reps` forwards.
void layersOneDNN(Model& m, const cv::Mat& x, int threads, int reps) {
  infer::onednn::Options o;
  o.threads = threads;
  o.profile = true;
  infer::onednn::Net net(m.graph, o);
  std::vector<infer::onednn::LayerTime> first;
  std::vector<std::vector<double>> ms;
  for (int r = -2; r < reps; ++r) {
    net.forward(x);
    const std::vector<infer::onednn::LayerTime>& p = net.profile();
    if (r < 0) continue;
    if (first.empty()) first = p, ms.resize(p.size());
    for (std::size_t i = 0; i < p.size() && i < ms.size(); ++i) ms[i].push_back(p[i].ms);
  }
  const cv::Size s(x.size[3], x.size[2]);
  for (std::size_t i = 0; i < first.size(); ++i)
    printLayer(m, s, "onednn", i, first[i].node, first[i].op, first[i].impl, median(ms[i]),
               first[i].flops);
}

void layers(const Options& o, Model& m) {
  const cv::Mat x = randomBlob(m.frames * m.channels, o.sizes.front());
  const int t = o.threads.back();
  layersOpenCV(m, x, t, 7);
  if (!m.dnnl.empty()) layersOneDNN(m, x, t, 7);
  std::fflush(stdout);
}

// Competing processes: this program's `burn` mode, one busy thread each, killed on destruction
// (and by the kernel should this process die first: PR_SET_PDEATHSIG in burn()).
class Burners {
 public:
  Burners(const std::string& kind, int n) {
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args = {self, "burn", kind};
      std::vector<char*> argv;
      argv.reserve(args.size() + 1);
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = 0;
      if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start the competing load (" + self + " burn)");
      pids_.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));  // let them reach full speed
  }
  ~Burners() {
    for (pid_t p : pids_) kill(p, SIGKILL);
    for (pid_t p : pids_) waitpid(p, nullptr, 0);
  }
  Burners(const Burners&) = delete;
  Burners& operator=(const Burners&) = delete;

 private:
  std::vector<pid_t> pids_;
};

void load(const Options& o, Model& m) {
  const cv::Size s = o.sizes.front();
  const cv::Mat x = randomBlob(m.frames * m.channels, s);
  const double flops = flopsOf(m, x);
  std::vector<Runner> rs = m.runners(o.threads);
  interleave(rs, x, o.warmup, o.loadReps, o.gapMs, o.budgetS);
  for (const Runner& r : rs) printRunner("load", m, s, r, flops, ",\"condition\":\"quiet\"");
  std::fflush(stdout);
  {
    const Burners burners(o.loadKind, 2);
    interleave(rs, x, o.warmup, o.loadReps, o.gapMs, o.budgetS);
  }
  const std::string extra = ",\"condition\":\"load\",\"load\":\"2 x " + o.loadKind + "\"";
  for (const Runner& r : rs) printRunner("load", m, s, r, flops, extra);
  std::fflush(stdout);
}

int burn(const std::string& kind) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0;  // the parent is already gone
  if (kind == "sgemm") {
    Eigen::setNbThreads(1);
    const Eigen::MatrixXf a = Eigen::MatrixXf::Random(512, 512);
    Eigen::MatrixXf c(512, 512);
    for (;;) c.noalias() = a * a;
  }
  volatile double v = 1.0;  // volatile: a busy loop the compiler must not remove
  for (;;) v = v * 1.0000001 + 1e-9;
}

// ---- the element -------------------------------------------------------------------------------

// A real picture for the element's frames: the texture an anomaly model was trained on where
// this machine has it (bench_anomaly_defects' sources), else skimage's camera / astronaut.
cv::Mat framePicture(const Model& m, cv::Size s) {
  const std::string sk = "/usr/lib/python3/dist-packages/skimage/data/";
  std::string path = sk + (m.channels == 3 ? "astronaut.png" : "camera.png");
  const std::string tex = m.name.rfind("anomaly-", 0) == 0 ? split(m.name, '-')[1] : "";
  const std::string nature = "/usr/share/backgrounds/mate/nature/";
  for (const std::string& p : {sk + tex + ".png", nature + (tex == "wood" ? "Wood.jpg" : ""),
                               nature + (tex == "leaf" ? "Blinds.jpg" : "")})
    if (!tex.empty() && fs::is_regular_file(p)) path = p;
  cv::Mat img = cv::imread(path, m.channels == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (img.empty()) throw std::runtime_error("cannot read " + path);
  if (m.channels == 3) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
  cv::resize(img, img, s, 0, 0, cv::INTER_AREA);
  return img;
}

// Time per frame: wall ms (median) and the process's CPU ms (all threads).
struct FrameTime {
  double ms = 0, cpuMs = 0;
};

struct PipelineResult {
  // ms: median interval between successive frames leaving the pipeline; cpuMs: the process's CPU
  // time over those frames, per frame
  FrameTime t;
  std::string inUse, error;
};

// A frame leaving the pipeline: when, and the process's CPU time then.
struct Handoff {
  Clock::time_point at;
  double cpuMs;
};

GstBuffer* frameBuffer(const cv::Mat& img, int i) {
  const std::size_t row = img.cols * img.elemSize(), size = row * std::size_t(img.rows);
  GstBuffer* b = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(b, 0, img.data, size);  // 640-pixel GRAY8 / RGB rows need no padding
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(guint64(i), GST_SECOND, 30);
  GST_BUFFER_DURATION(b) = GST_SECOND / 30;
  return b;
}

// Runs `desc` (an appsrc named src, a fakesink named sink, maybe an element named e) over
// `frames` copies of img, all queued before PLAYING; time per frame: the median interval between
// successive fakesink handoffs after frame `warm` (a median, like Engine::run's time it is
// compared with), and the CPU time from the handoff of frame `warm` to the last, per frame.
PipelineResult runPipeline(const std::string& desc, const cv::Mat& img, int frames, int warm) {
  PipelineResult res;
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe || err) {
    res.error = err ? err->message : "gst_parse_launch failed";
    if (err) g_error_free(err);
    if (pipe) gst_object_unref(pipe);
    return res;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  std::vector<Handoff> stamps;
  stamps.reserve(std::size_t(frames));
  g_signal_connect(sink, "handoff", G_CALLBACK(+[](GstElement*, GstBuffer*, GstPad*, gpointer d) {
                     static_cast<std::vector<Handoff>*>(d)->push_back({Clock::now(), cpuMs()});
                   }),
                   &stamps);
  GstFlowReturn flow = GST_FLOW_OK;
  for (int i = 0; i < frames; ++i) {
    GstBuffer* b = frameBuffer(img, i);
    g_signal_emit_by_name(src, "push-buffer", b, &flow);
    gst_buffer_unref(b);
  }
  g_signal_emit_by_name(src, "end-of-stream", &flow);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 600 * GST_SECOND,
                                               GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (!msg || GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    if (msg) gst_message_parse_error(msg, &e, nullptr);
    res.error = e ? e->message : "no end of stream within 10 minutes";
    if (e) g_error_free(e);
  } else if (int(stamps.size()) == frames) {
    std::vector<double> dt;
    for (int i = warm + 1; i < frames; ++i)
      dt.push_back(
          std::chrono::duration<double, std::milli>(stamps[i].at - stamps[i - 1].at).count());
    res.t.ms = median(dt);
    res.t.cpuMs = (stamps.back().cpuMs - stamps[warm].cpuMs) / double(frames - 1 - warm);
  } else {
    res.error =
        std::to_string(stamps.size()) + " of " + std::to_string(frames) + " frames came out";
  }
  if (msg) gst_message_unref(msg);
  if (GstElement* e = gst_bin_get_by_name(GST_BIN(pipe), "e")) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "backend-in-use")) {
      gchar* s = nullptr;
      g_object_get(e, "backend-in-use", &s, nullptr);
      res.inUse = s ? s : "";
      g_free(s);
    }
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "precision-in-use")) {
      gchar* s = nullptr;
      g_object_get(e, "precision-in-use", &s, nullptr);
      res.inUse += std::string(" ") + (s ? s : "");
      g_free(s);
    }
    gst_object_unref(e);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(src);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return res;
}

FrameTime engineTimeHere(const Model& m, const cv::Mat& img, infer::Backend b, int threads,
                         int reps, std::string* inUse) {
  infer::EngineOptions eo;
  eo.model = m.path;
  eo.backend = b;
  eo.threads = threads;
  eo.precision = infer::Precision::Auto;  // the element's default: compare like with like
  infer::Engine e(eo);
  *inUse = infer::backendName(e.backendInUse()) + " " + infer::precisionName(e.precisionInUse());
  const infer::Normalisation n = e.normalisation(8);
  cv::Mat f;
  img.convertTo(f, CV_32F, n.scale, n.offset);
  // A temporal model reads framesIn() frames stacked along the channels: a still scene's history
  // is the same frame again.
  const cv::Mat one = cv::dnn::blobFromImage(f);
  const int c = one.size[1], k = e.framesIn();
  const int dims[] = {1, k * c, img.rows, img.cols};
  cv::Mat blob(4, dims, CV_32F);
  for (int i = 0; i < k; ++i)
    std::copy(one.ptr<float>(), one.ptr<float>() + one.total(), blob.ptr<float>(0, i * c));
  std::vector<double> t, cpu;
  for (int i = -3; i < reps; ++i) {
    const double c0 = cpuMs();
    const auto t0 = Clock::now();
    e.run(blob);
    if (i < 0) continue;
    t.push_back(msSince(t0));
    cpu.push_back(cpuMs() - c0);
  }
  return {median(t), median(cpu)};
}

// Engine::run on the frame's blob, back to back like the pipeline's frames: median wall and CPU
// ms. On a thread of its own, like the element's streaming thread: its OpenMP pool ends with it,
// before the pipeline starts.
FrameTime engineTime(const Model& m, const cv::Mat& img, infer::Backend b, int threads, int reps,
                     std::string* inUse) {
  FrameTime ms;
  std::exception_ptr failed;
  std::thread worker([&] {
    try {
      ms = engineTimeHere(m, img, b, threads, reps, inUse);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  worker.join();
  if (failed) std::rethrow_exception(failed);
  return ms;
}

// Best run in a process of its own per model and backend (run_backend_bench.sh does): libgomp
// spins less at its barriers once the process holds more OpenMP threads than CPUs, so a pool
// left on the main thread by the other sections would make the element's oneDNN threads wait
// otherwise than they do in gst-launch-1.0. The element's pipeline runs before Engine::run: its
// streaming thread then gets a malloc arena as cold as in gst-launch (after Engine::run's thread
// it would inherit that thread's grown heap, and the element's per-frame page faults, 3x the
// forward's CPU time for denoise-fast here, would not show).
void element(const Options& o, Model& m) {
  const onnx::Task task = infer::describeModel(m.path).info.task;
  const char* name = task == onnx::Task::Denoise   ? "caedenoise"
                     : task == onnx::Task::Anomaly ? "caeanomaly"
                                                   : nullptr;
  if (!name) return;
  const cv::Size s = o.sizes.front();
  const cv::Mat img = framePicture(m, s);
  const std::string caps = std::string("video/x-raw,format=") +
                           (m.channels == 3 ? "RGB" : "GRAY8") +
                           ",width=" + std::to_string(s.width) +
                           ",height=" + std::to_string(s.height) + ",framerate=30/1";
  const std::string src = "appsrc name=src format=time max-bytes=0 caps=\"" + caps + "\" ! ";
  const std::string sink = " ! fakesink name=sink sync=false signal-handoffs=true";
  const int warm = 5;
  const PipelineResult base = runPipeline(src + "identity" + sink, img, o.frames, warm);
  for (infer::Backend b : o.elementBackends) {
    std::string desc = src + name + std::string(" name=e model=\"") + m.path +
                       "\" backend=" + infer::backendName(b) +
                       " threads=" + std::to_string(o.elementThreads) + " precision=auto";
    if (task == onnx::Task::Anomaly) desc += " inference-interval=1";
    const PipelineResult r = runPipeline(desc + sink, img, o.frames, warm);
    std::string engineInUse;
    const FrameTime eng = engineTime(m, img, b, o.elementThreads, o.reps, &engineInUse);
    std::printf(
        "{\"type\":\"element\",\"model\":\"%s\",\"element\":\"%s\",\"w\":%d,\"h\":%d,"
        "\"backend\":\"%s\",\"in_use\":\"%s\",\"engine_in_use\":\"%s\",\"threads\":%d,"
        "\"frames\":%d,\"element_ms\":%.3f,\"baseline_ms\":%.4f,\"engine_ms\":%.3f,"
        "\"ratio\":%s,\"element_cpu_ms\":%.3f,\"baseline_cpu_ms\":%.4f,\"engine_cpu_ms\":%.3f,"
        "\"cpu_ratio\":%s,\"error\":\"%s\"}\n",
        m.name.c_str(), name, s.width, s.height, infer::backendName(b).c_str(), r.inUse.c_str(),
        engineInUse.c_str(), o.elementThreads, o.frames - 1 - warm, r.t.ms, base.t.ms, eng.ms,
        jsonNumber(r.error.empty() ? (r.t.ms - base.t.ms) / eng.ms : std::nan("")).c_str(),
        r.t.cpuMs, base.t.cpuMs, eng.cpuMs,
        jsonNumber(r.error.empty() ? (r.t.cpuMs - base.t.cpuMs) / eng.cpuMs : std::nan("")).c_str(),
        jsonEscape(r.error).c_str());
    std::fflush(stdout);
  }
}

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  std::printf(
      "{\"type\":\"config\",\"opencv\":\"%s\",\"onednn_built\":%s,\"reps\":%d,\"warmup\":%d,"
      "\"gap_ms\":%g,\"load_reps\":%d,\"load_kind\":\"%s\",\"frames\":%d,"
      "\"element_threads\":%d,\"onednn_default_threads\":%d,\"budget_s\":%g}\n",
      CV_VERSION, infer::onednn::built() ? "true" : "false", o.reps, o.warmup, o.gapMs, o.loadReps,
      o.loadKind.c_str(), o.frames, o.elementThreads, infer::onednn::kDefaultThreads, o.budgetS);
  std::vector<std::unique_ptr<Model>> models;
  for (const std::string& p : o.models) models.push_back(std::make_unique<Model>(p, o.threads));
  if (o.has("ceiling"))
    for (int t : o.threads) ceiling(t, "start");
  const std::vector<std::pair<std::string, void (*)(const Options&, Model&)>> sections = {
      {"speed", speed}, {"layers", layers}, {"load", load}, {"element", element}};
  if (o.has("element")) gst_init(nullptr, nullptr);
  for (const auto& [section, fn] : sections) {
    if (!o.has(section)) continue;
    const auto t0 = Clock::now();
    for (auto& m : models) fn(o, *m);
    std::fprintf(stderr, "bench_engine_backends: %s took %.0f s\n", section.c_str(),
                 msSince(t0) / 1e3);
  }
  if (o.has("ceiling"))
    for (int t : o.threads) ceiling(t, "end");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 3 && std::string(argv[1]) == "burn") return burn(argv[2]);
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_engine_backends: %s\n", e.what());
    return 1;
  }
}
