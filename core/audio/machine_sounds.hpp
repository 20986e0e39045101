// Machine sounds for the audio anomaly stage (issue 15): Debian ships no recordings of machines
// that run well and then fail, so this file makes them. A machine is a rotating part: harmonics
// of a rotation frequency that drifts slowly (speed variation), over broadband noise of the
// machine's own colour, optionally over a recorded drone (e.g. endless-sky's machinery
// ambience). Its faults are injected over a stretch of a clip:
//   bearing    clicks: a decaying 2-5 kHz resonance struck at a bearing's defect rate
//              (3-5 times the rotation frequency)
//   rubbing    noise above 1 kHz (strongest at the top of the band) in bursts, once per
//              revolution
//   imbalance  the harmonics' amplitude modulated at the rotation frequency, the first harmonic
//              raised
//   harmonic   one of harmonics 2..5 missing
//   dropout    the sound drops by 25 dB for 100-300 ms at a time
// The generator is ours (no Debian package makes such signals); the benchmark and the tests
// use it, and the card of every machine-sound model says that it was tested on nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cae::audio {

enum class Fault { None, Bearing, Rubbing, Imbalance, Harmonic, Dropout };
const char* faultName(Fault f);
Fault parseFault(const std::string& name);  // InvalidArgument for an unknown name
std::vector<Fault> allFaults();             // every fault, None excluded

// The fixed character of one machine, drawn from its id.
struct Machine {
  double rotationHz = 30;         // nominal rotation frequency
  std::vector<double> harmonics;  // amplitude of harmonic h + 1
  double noiseLevel = 0.1;        // broadband noise RMS relative to the harmonics' RMS
  double noisePole = 0.5;         // one-pole colour of the noise (-0.5 bluish .. 0.98 brown)
  double droneLevel = 0;          // recorded drone RMS relative to the harmonics' RMS
};
Machine machine(std::uint64_t id);

struct ClipOptions {
  int rate = 16000;
  double seconds = 10;
  Fault fault = Fault::None;
  double faultStart = 0, faultEnd = 0;        // seconds; a fault is active in [start, end)
  double severity = 1;                        // scales the fault's strength (1: clearly audible)
  std::uint64_t seed = 1;                     // this clip's drift, noise and fault details
  const std::vector<float>* drone = nullptr;  // a recorded drone at `rate`, looped (optional)
};
// Samples in [-1, 1] (RMS about -20 dBFS, level varying by +-3 dB between clips).
std::vector<float> machineClip(const Machine& m, const ClipOptions& o);

}  // namespace cae::audio
