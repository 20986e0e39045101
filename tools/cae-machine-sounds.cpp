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

int main(int argc, char** argv) {
  CLI::App app{
      "Writes synthetic machine sounds: OUT/<machine>/normal-NNNN.wav (normal operation) and, "
      "with --faults, OUT/<machine>/<fault>-NNNN.wav (the fault over a stretch of the clip), "
      "and OUT/labels.jsonl (file, machine, fault, start and end in seconds). A machine is "
      "harmonics of a drifting rotation frequency over its own broadband noise (and a recorded "
      "drone with --drone); see core/audio/machine_sounds.hpp."};
  std::string out;
  std::vector<std::uint64_t> machines{1};
  int clips = 20, faultClips = 0, rate = 16000;
  double seconds = 10, severity = 1;
  std::vector<std::string> faults;
  std::string drone;
  std::uint64_t seed = 1;
  app.add_option("out", out, "output folder")->required();
  app.add_option("--machines", machines, "machine ids (each a different machine)")
      ->capture_default_str();
  app.add_option("--clips", clips, "normal clips per machine")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--faults", faults,
                 "fault kinds to inject: bearing rubbing imbalance harmonic dropout, or all")
      ->capture_default_str();
  app.add_option("--fault-clips", faultClips, "clips per machine and fault kind")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--seconds", seconds, "clip length")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  app.add_option("--severity", severity, "fault strength (1: clearly audible)")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  app.add_option("--rate", rate, "sample rate, Hz")
      ->check(CLI::Range(8000, 96000))
      ->capture_default_str();
  app.add_option("--drone", drone,
                 "a recording mixed under every clip (looped), e.g. "
                 "/usr/share/games/endless-sky/sounds/ambient/machinery.mp3");
  app.add_option("--seed", seed,
                 "seed of the clips' drift, noise and faults (not of the "
                 "machines: a machine id is the same machine in every run)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    std::vector<Fault> kinds;
    for (const std::string& f : faults) {
      if (f == "all") {
        kinds = cae::audio::allFaults();
        break;
      }
      kinds.push_back(cae::audio::parseFault(f));
    }
    if (faultClips > 0 && kinds.empty()) throw cae::InvalidArgument("--fault-clips needs --faults");
    std::vector<float> droneSamples;
    if (!drone.empty()) {
      const cae::io::MonoAudio a = cae::io::readMonoAudio(drone);
      droneSamples = cae::audio::resample(a.samples, a.sampleRate, rate);
    }
    fs::create_directories(out);
    std::ofstream labels(fs::path(out) / "labels.jsonl");
    std::uint64_t clipSeed = seed * 1000003;
    int written = 0;
    for (std::uint64_t id : machines) {
      const cae::audio::Machine m = cae::audio::machine(id);
      const fs::path dir = fs::path(out) / ("machine-" + std::to_string(id));
      fs::create_directories(dir);
      const auto write = [&](Fault f, int k) {
        cae::audio::ClipOptions o;
        o.rate = rate;
        o.seconds = seconds;
        o.fault = f;
        o.seed = ++clipSeed;
        o.severity = severity;
        o.drone = droneSamples.empty() ? nullptr : &droneSamples;
        if (f != Fault::None) {  // the fault over a stretch of 30-60 % of the clip
          const double len = seconds * (0.3 + 0.3 * double(clipSeed % 7) / 6);
          o.faultStart = (seconds - len) * double(clipSeed % 11) / 10;
          o.faultEnd = o.faultStart + len;
        }
        char name[64];
        std::snprintf(name, sizeof name, "%s-%04d.wav",
                      f == Fault::None ? "normal" : cae::audio::faultName(f), k);
        const fs::path file = dir / name;
        cae::io::writeMonoWav(file.string(), cae::audio::machineClip(m, o), rate);
        nlohmann::json j{{"file", fs::relative(file, out).string()},
                         {"machine", id},
                         {"fault", cae::audio::faultName(f)},
                         {"start", f == Fault::None ? 0.0 : o.faultStart},
                         {"end", f == Fault::None ? 0.0 : o.faultEnd}};
        labels << j.dump() << '\n';
        ++written;
      };
      for (int k = 0; k < clips; ++k) write(Fault::None, k);
      for (Fault f : kinds)
        for (int k = 0; k < faultClips; ++k) write(f, k);
    }
    std::printf("wrote %d clips to %s (labels.jsonl)\n", written, out.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cae-machine-sounds: %s\n", e.what());
    return 1;
  }
}
