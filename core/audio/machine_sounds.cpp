#include "audio/machine_sounds.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "error.hpp"

namespace cae::audio {

namespace {
constexpr double kPi = 3.14159265358979323846;

double rms(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return x.empty() ? 0 : std::sqrt(s / double(x.size()));
}
}  // namespace

const char* faultName(Fault f) {
  switch (f) {
    case Fault::Bearing:
      return "bearing";
    case Fault::Rubbing:
      return "rubbing";
    case Fault::Imbalance:
      return "imbalance";
    case Fault::Harmonic:
      return "harmonic";
    case Fault::Dropout:
      return "dropout";
    default:
      return "none";
  }
}

Fault parseFault(const std::string& name) {
  for (Fault f : allFaults())
    if (name == faultName(f)) return f;
  if (name == "none") return Fault::None;
  throw InvalidArgument("unknown machine fault '" + name +
                        "' (choose bearing, rubbing, imbalance, harmonic, dropout or none)");
}

std::vector<Fault> allFaults() {
  return {Fault::Bearing, Fault::Rubbing, Fault::Imbalance, Fault::Harmonic, Fault::Dropout};
}

Machine machine(std::uint64_t id) {
  std::mt19937_64 g(id * 0x9E3779B97F4A7C15ull + 7);
  std::uniform_real_distribution<double> u(0, 1);
  Machine m;
  m.rotationHz = 20 + 40 * u(g);
  const int n = 8 + int(u(g) * 16);
  const double decay = 0.4 + 1.2 * u(g);
  for (int h = 1; h <= n; ++h)
    m.harmonics.push_back(std::pow(double(h), -decay) * (0.3 + 0.7 * u(g)));
  m.harmonics[1] = std::max(m.harmonics[1], 0.6);  // harmonics 2..5 carry the sound
  m.harmonics[2] = std::max(m.harmonics[2], 0.4);
  m.noiseLevel = 0.05 + 0.3 * u(g);
  m.noisePole = -0.3 + 1.25 * u(g);
  m.droneLevel = 0.3 + 0.7 * u(g);
  return m;
}

namespace {

// One clip's random draws, in the order the clip makes them (a seed gives the same clip).
struct Draws {
  explicit Draws(std::uint64_t seed) : g(seed) {}
  double u() { return uniform(g); }
  double n() { return normal(g); }
  std::mt19937_64 g;
  std::uniform_real_distribution<double> uniform{0, 1};
  std::normal_distribution<double> normal{0, 1};
};

// A fault's stretch [a, b) in samples.
struct Stretch {
  std::size_t a = 0, b = 0;
  bool has(std::size_t i) const { return i >= a && i < b; }
};

// The rotation's phase per sample: speed times a slow random drift (the drift +-2 %).
std::vector<double> rotationPhase(double speed, double rate, std::size_t n, Draws& d) {
  std::vector<double> phase(n);
  double drift = 0, ph = 0;
  for (std::size_t i = 0; i < n; ++i) {
    drift = 0.9995 * drift + 0.0005 * d.n();
    ph += 2 * kPi * speed * (1 + 0.6 * drift) / rate;
    phase[i] = ph;
  }
  return phase;
}

// The harmonics, with the harmonic and imbalance faults in their stretch; unit RMS.
std::vector<double> harmonics(const Machine& m, const ClipOptions& o, const Stretch& f,
                              const std::vector<double>& phase, double speed, Draws& d) {
  const std::size_t n = phase.size();
  const int missing = 1 + int(d.u() * 4);  // harmonic 2..5 (index 1..4) the fault removes
  std::vector<double> offsets(m.harmonics.size());
  for (double& p : offsets) p = 2 * kPi * d.u();
  std::vector<double> tone(n, 0.0);
  for (std::size_t h = 0; h < m.harmonics.size(); ++h) {
    if (double(h + 1) * speed > 0.45 * o.rate) break;
    for (std::size_t i = 0; i < n; ++i) {
      double amp = m.harmonics[h];
      if (f.has(i) && o.fault == Fault::Harmonic && int(h) == missing) amp = 0;
      if (f.has(i) && o.fault == Fault::Imbalance && h == 0) amp *= 1 + 2 * o.severity;
      tone[i] += amp * std::sin(double(h + 1) * phase[i] + offsets[h]);
    }
  }
  if (o.fault == Fault::Imbalance)
    for (std::size_t i = f.a; i < f.b; ++i) tone[i] *= 1 + 0.5 * o.severity * std::sin(phase[i]);
  const double r = std::max(rms(tone), 1e-9);
  for (double& v : tone) v /= r;
  return tone;
}

// Broadband noise of the machine's colour and level, and the drone, added to x.
void addNoise(const Machine& m, const ClipOptions& o, std::vector<double>& x, Draws& d) {
  double y = 0;
  for (double& v : x) {
    y = m.noisePole * y + d.n();
    v += m.noiseLevel * y * std::sqrt(1 - m.noisePole * m.noisePole);
  }
  if (!o.drone || o.drone->empty()) return;
  double dr = 0;
  for (float v : *o.drone) dr += double(v) * v;
  dr = std::max(std::sqrt(dr / double(o.drone->size())), 1e-9);
  std::size_t at = std::size_t(d.u() * double(o.drone->size()));
  for (double& v : x) {
    v += m.droneLevel * (*o.drone)[at] / dr;
    if (++at == o.drone->size()) at = 0;
  }
}

// Clicks of a decaying resonance at the bearing's defect rate.
void addBearing(const ClipOptions& o, const Stretch& f, double speed, std::vector<double>& x,
                Draws& d) {
  const double rate = o.rate, defectRate = speed * (3 + 2 * d.u()), resonance = 2000 + 3000 * d.u();
  const double period = rate / defectRate;
  for (double t = double(f.a) + period * d.u(); t < double(f.b); t += period) {
    const double amp = 2.5 * o.severity * (0.7 + 0.3 * d.u());
    for (std::size_t k = 0; k < std::size_t(0.004 * rate) && std::size_t(t) + k < f.b; ++k) {
      const double s = double(k) / rate;
      x[std::size_t(t) + k] += amp * std::exp(-s / 0.0008) * std::sin(2 * kPi * resonance * s);
    }
  }
}

// Noise above about 1 kHz (two one-pole sections) in a burst once per revolution.
void addRubbing(const ClipOptions& o, const Stretch& f, const std::vector<double>& phase,
                std::vector<double>& x, Draws& d) {
  double lp = 0, hp = 0, prev = 0;
  const double aLo = std::exp(-2 * kPi * 4000 / o.rate), aHi = std::exp(-2 * kPi * 1000 / o.rate);
  for (std::size_t i = f.a; i < f.b; ++i) {
    lp = aLo * lp + (1 - aLo) * d.n();
    hp = aHi * (hp + lp - prev);
    prev = lp;
    const double burst = std::max(0.0, std::sin(phase[i]));
    x[i] += 3.0 * o.severity * hp * burst * burst;
  }
}

// Drops of 25 dB (times the severity) for 0.1-0.3 s, every 0.3-0.8 s.
void applyDropout(const ClipOptions& o, const Stretch& f, std::vector<double>& x, Draws& d) {
  for (std::size_t i = f.a; i < f.b;) {
    const std::size_t len = std::size_t((0.1 + 0.2 * d.u()) * o.rate);
    for (std::size_t k = i; k < std::min(f.b, i + len); ++k)
      x[k] *= std::pow(10.0, -25 * o.severity / 20);
    i += len + std::size_t((0.2 + 0.5 * d.u()) * o.rate);
  }
}

}  // namespace

std::vector<float> machineClip(const Machine& m, const ClipOptions& o) {
  if (o.rate <= 0 || !(o.seconds > 0)) throw InvalidArgument("machine clip: bad rate or length");
  const std::size_t n = std::size_t(std::lround(o.seconds * o.rate));
  Draws d(o.seed);
  Stretch f;
  if (o.fault != Fault::None) {
    f.a = std::size_t(std::max(0.0, o.faultStart) * o.rate);
    f.b = std::min(n, std::size_t(std::max(0.0, o.faultEnd) * o.rate));
  }
  const double speed = m.rotationHz * (1 + 0.02 * (2 * d.u() - 1));
  const std::vector<double> phase = rotationPhase(speed, o.rate, n, d);
  std::vector<double> x = harmonics(m, o, f, phase, speed, d);
  addNoise(m, o, x, d);
  if (o.fault == Fault::Bearing) addBearing(o, f, speed, x, d);
  if (o.fault == Fault::Rubbing) addRubbing(o, f, phase, x, d);
  if (o.fault == Fault::Dropout) applyDropout(o, f, x, d);
  // Level: about -20 dBFS RMS, +-3 dB from clip to clip (of the part without the fault, so a
  // fault keeps its loudness relative to the machine).
  double s = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (!f.has(i)) s += x[i] * x[i], ++count;
  if (count == 0)
    for (double v : x) s += v * v, ++count;
  const double level = std::pow(10.0, (-20 + 6 * (d.u() - 0.5)) / 20) /
                       std::sqrt(std::max(s / double(count), 1e-12));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = float(std::clamp(x[i] * level, -1.0, 1.0));
  return out;
}

}  // namespace cae::audio
