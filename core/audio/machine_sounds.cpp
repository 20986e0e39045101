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

std::vector<float> machineClip(const Machine& m, const ClipOptions& o) {
  if (o.rate <= 0 || !(o.seconds > 0)) throw InvalidArgument("machine clip: bad rate or length");
  const std::size_t n = std::size_t(std::lround(o.seconds * o.rate));
  std::mt19937_64 g(o.seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> nd(0, 1);
  const double rate = o.rate;
  const std::size_t a = std::size_t(std::max(0.0, o.faultStart) * rate);
  const std::size_t b = std::min(n, std::size_t(std::max(0.0, o.faultEnd) * rate));
  const auto active = [&](std::size_t i) { return o.fault != Fault::None && i >= a && i < b; };

  // Rotation frequency: the machine's, times a slow random drift (+-2 %), and its phase.
  std::vector<double> phase(n);
  double drift = 0, ph = 0;
  const double speed = m.rotationHz * (1 + 0.02 * (2 * u(g) - 1));
  for (std::size_t i = 0; i < n; ++i) {
    drift = 0.9995 * drift + 0.0005 * nd(g);
    ph += 2 * kPi * speed * (1 + 0.6 * drift) / rate;
    phase[i] = ph;
  }
  const int missing = 1 + int(u(g) * 4);  // harmonic 2..5 (index 1..4) the fault removes
  std::vector<double> offsets(m.harmonics.size());
  for (double& p : offsets) p = 2 * kPi * u(g);
  const double imbalance = 0.5 * o.severity;

  std::vector<double> tone(n, 0.0);
  for (std::size_t h = 0; h < m.harmonics.size(); ++h) {
    if ((h + 1) * speed > 0.45 * rate) break;
    for (std::size_t i = 0; i < n; ++i) {
      double amp = m.harmonics[h];
      if (active(i) && o.fault == Fault::Harmonic && int(h) == missing) amp = 0;
      if (active(i) && o.fault == Fault::Imbalance && h == 0) amp *= 1 + 2 * o.severity;
      tone[i] += amp * std::sin(double(h + 1) * phase[i] + offsets[h]);
    }
  }
  if (o.fault == Fault::Imbalance)
    for (std::size_t i = a; i < b; ++i) tone[i] *= 1 + imbalance * std::sin(phase[i]);
  const double toneRms = std::max(rms(tone), 1e-9);

  std::vector<double> x(n);
  double y = 0;
  for (std::size_t i = 0; i < n; ++i) {
    y = m.noisePole * y + nd(g);
    x[i] = tone[i] / toneRms + m.noiseLevel * y * std::sqrt(1 - m.noisePole * m.noisePole);
  }
  if (o.drone && !o.drone->empty()) {
    double dr = 0;
    for (float v : *o.drone) dr += double(v) * v;
    dr = std::sqrt(dr / double(o.drone->size()));
    std::size_t at = std::size_t(u(g) * double(o.drone->size()));
    for (std::size_t i = 0; i < n; ++i) {
      x[i] += m.droneLevel * (*o.drone)[at] / std::max(dr, 1e-9);
      if (++at == o.drone->size()) at = 0;
    }
  }

  // Faults that add sound.
  if (o.fault == Fault::Bearing) {
    const double defectRate = speed * (3 + 2 * u(g)), resonance = 2000 + 3000 * u(g);
    const double period = rate / defectRate;
    for (double t = double(a) + period * u(g); t < double(b); t += period) {
      const double amp = 2.5 * o.severity * (0.7 + 0.3 * u(g));
      for (std::size_t k = 0; k < std::size_t(0.004 * rate) && std::size_t(t) + k < b; ++k) {
        const double s = double(k) / rate;
        x[std::size_t(t) + k] += amp * std::exp(-s / 0.0008) * std::sin(2 * kPi * resonance * s);
      }
    }
  } else if (o.fault == Fault::Rubbing) {
    // Band noise (two one-pole sections: a crude 1-4 kHz band) in a burst once per revolution.
    double lp = 0, hp = 0, prev = 0;
    const double aLo = std::exp(-2 * kPi * 4000 / rate), aHi = std::exp(-2 * kPi * 1000 / rate);
    for (std::size_t i = a; i < b; ++i) {
      const double w = nd(g);
      lp = aLo * lp + (1 - aLo) * w;
      hp = aHi * (hp + lp - prev);
      prev = lp;
      const double burst = std::max(0.0, std::sin(phase[i]));
      x[i] += 3.0 * o.severity * hp * burst * burst;
    }
  } else if (o.fault == Fault::Dropout) {
    for (std::size_t i = a; i < b;) {
      const std::size_t len = std::size_t((0.1 + 0.2 * u(g)) * rate);
      for (std::size_t k = i; k < std::min(b, i + len); ++k)
        x[k] *= std::pow(10.0, -25 * o.severity / 20);
      i += len + std::size_t((0.2 + 0.5 * u(g)) * rate);
    }
  }

  // Level: about -20 dBFS RMS, +-3 dB from clip to clip (of the clean part, so a fault keeps its
  // loudness relative to the machine).
  double s = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (!active(i)) s += x[i] * x[i], ++count;
  if (count == 0)
    for (double v : x) s += v * v, ++count;
  const double level =
      std::pow(10.0, (-20 + 6 * (u(g) - 0.5)) / 20) / std::sqrt(std::max(s / double(count), 1e-12));
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = float(std::clamp(x[i] * level, -1.0, 1.0));
  return out;
}

}  // namespace cae::audio
