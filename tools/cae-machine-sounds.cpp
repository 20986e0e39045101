// cae-machine-sounds: the synthetic machine-sound data set of the audio anomaly stage
// (core/audio/machine_sounds.hpp): clips of machines running normally, and clips with a fault
// injected over a stretch, as 16-bit WAV files with a labels.jsonl line per clip.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audio/machine_sounds.hpp"
#include "audio/resample.hpp"
#include "error.hpp"
#include "io/wav.hpp"

namespace fs = std::filesystem;
using cae::audio::Fault;

namespace {

struct Options {
  std::string out;
  std::vector<std::uint64_t> machines{1};
  int clips = 20, faultClips = 0, rate = 16000;
  double seconds = 10, severity = 1;
  std::vector<std::string> faults;
  std::string drone;
  std::uint64_t seed = 1;
};

void addOptions(CLI::App& app, Options& o) {
  app.add_option("out", o.out, "output folder")->required();
  app.add_option("--machines", o.machines, "machine ids (each a different machine)")
      ->capture_default_str();
  app.add_option("--clips", o.clips, "normal clips per machine")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--faults", o.faults,
                 "fault kinds to inject: bearing rubbing imbalance harmonic dropout, or all");
  app.add_option("--fault-clips", o.faultClips, "clips per machine and fault kind")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "clip length")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  app.add_option("--severity", o.severity, "fault strength (1: clearly audible)")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "sample rate, Hz")
      ->check(CLI::Range(8000, 96000))
      ->capture_default_str();
  app.add_option("--drone", o.drone,
                 "a recording mixed under every clip (looped), e.g. "
                 "/usr/share/games/endless-sky/sounds/ambient/machinery.mp3");
  app.add_option("--seed", o.seed,
                 "seed of the clips' drift, noise and faults (not of the machines: a machine id "
                 "is the same machine in every run)")
      ->capture_default_str();
}

// Writes the clips and labels.jsonl; the number of clips.
int writeSet(const Options& o) {
  std::vector<Fault> kinds;
  for (const std::string& f : o.faults) {
    if (f == "all") {
      kinds = cae::audio::allFaults();
      break;
    }
    kinds.push_back(cae::audio::parseFault(f));
  }
  if (o.faultClips > 0 && kinds.empty()) throw cae::InvalidArgument("--fault-clips needs --faults");
  std::vector<float> drone;
  if (!o.drone.empty()) {
    const cae::io::MonoAudio a = cae::io::readMonoAudio(o.drone);
    drone = cae::audio::resample(a.samples, a.sampleRate, o.rate);
  }
  fs::create_directories(o.out);
  std::ofstream labels(fs::path(o.out) / "labels.jsonl");
  std::uint64_t clipSeed = o.seed * 1000003;
  int written = 0;
  for (std::uint64_t id : o.machines) {
    const cae::audio::Machine m = cae::audio::machine(id);
    const fs::path dir = fs::path(o.out) / ("machine-" + std::to_string(id));
    fs::create_directories(dir);
    const auto write = [&](Fault f, int k) {
      cae::audio::ClipOptions c;
      c.rate = o.rate;
      c.seconds = o.seconds;
      c.fault = f;
      c.seed = ++clipSeed;
      c.severity = o.severity;
      c.drone = drone.empty() ? nullptr : &drone;
      if (f != Fault::None) {  // the fault over a stretch of 30-60 % of the clip
        const double len = o.seconds * (0.3 + 0.3 * double(clipSeed % 7) / 6);
        c.faultStart = (o.seconds - len) * double(clipSeed % 11) / 10;
        c.faultEnd = c.faultStart + len;
      }
      char name[64];
      std::snprintf(name, sizeof name, "%s-%04d.wav",
                    f == Fault::None ? "normal" : cae::audio::faultName(f), k);
      const fs::path file = dir / name;
      cae::io::writeMonoWav(file.string(), cae::audio::machineClip(m, c), o.rate);
      const nlohmann::json j{{"file", fs::relative(file, o.out).string()},
                             {"machine", id},
                             {"fault", cae::audio::faultName(f)},
                             {"start", f == Fault::None ? 0.0 : c.faultStart},
                             {"end", f == Fault::None ? 0.0 : c.faultEnd}};
      labels << j.dump() << '\n';
      ++written;
    };
    for (int k = 0; k < o.clips; ++k) write(Fault::None, k);
    for (Fault f : kinds)
      for (int k = 0; k < o.faultClips; ++k) write(f, k);
  }
  return written;
}

int run(int argc, char** argv) {
  CLI::App app{
      "Writes synthetic machine sounds: OUT/machine-<id>/normal-NNNN.wav (normal operation) and, "
      "with --faults, OUT/machine-<id>/<fault>-NNNN.wav (the fault over a stretch of the clip), "
      "and OUT/labels.jsonl (file, machine, fault, start and end in seconds). A machine is "
      "harmonics of a drifting rotation frequency over its own broadband noise (and a recorded "
      "drone with --drone); see core/audio/machine_sounds.hpp."};
  Options o;
  addOptions(app, o);
  CLI11_PARSE(app, argc, argv);
  try {
    const int n = writeSet(o);
    std::printf("wrote %d clips to %s (labels.jsonl)\n", n, o.out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-machine-sounds: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {  // a mistake in the option table itself, or bad_alloc
    std::fprintf(stderr, "cae-machine-sounds: error: %s\n", e.what());
    return 1;
  } catch (...) {
    std::fprintf(stderr, "cae-machine-sounds: error: unknown exception\n");
    return 1;
  }
}
