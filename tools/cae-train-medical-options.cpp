// The options of cae-train for medical scans: see cae-train-medical-options.hpp. Split from
// cae-train-options.cpp (the other options), which calls these.
#include "cae-train-medical-options.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#include "error.hpp"
#include "io/modality.hpp"

namespace cae::train::cli {

namespace {

// Parses "A:B" (two numbers; a leading minus is a sign) for --window and --sample-rescale.
bool parseColonPair(const std::string& text, double& a, double& b) {
  const std::size_t colon = text.find(':', 1);
  if (colon == std::string::npos) return false;
  char* end = nullptr;
  a = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + colon) return false;
  b = std::strtod(text.c_str() + colon + 1, &end);
  return end != text.c_str() + colon + 1 && !*end && std::isfinite(a) && std::isfinite(b);
}

}  // namespace

// Parses "1e4" or "1e4-1e5" (photons per ray, ct-lowdose) into [lo, hi].
void parsePhotons(const std::string& text, double& lo, double& hi) {
  const std::size_t dash = text.find('-', 1);
  char* end = nullptr;
  lo = std::strtod(text.c_str(), &end);
  bool ok = end == text.c_str() + (dash == std::string::npos ? text.size() : dash);
  hi = lo;
  if (ok && dash != std::string::npos) {
    hi = std::strtod(text.c_str() + dash + 1, &end);
    ok = end != text.c_str() + dash + 1 && !*end;
  }
  if (!ok || !(lo >= 1 && hi >= lo && hi <= 1e12))
    throw InvalidArgument(
        "--photons: expected a count or range of photons per ray, e.g. 1e4 or 1e4-1e5, within "
        "1..1e12; got '" +
        text + "'");
}

// --window and --sample-rescale into c (core/io/modality.hpp); nothing without --window.
void parseModality(const std::string& window, const std::string& rescale, TrainConfig& c) {
  if (window.empty()) {
    if (!rescale.empty())
      throw InvalidArgument("--sample-rescale maps 16-bit samples into the --window: give both");
    return;
  }
  io::Window w;
  if (!parseColonPair(window, w.lo, w.hi) || !(w.lo < w.hi))
    throw InvalidArgument(
        "--window: expected LO:HI in modality values with LO < HI, e.g. "
        "-1000:2000 (HU); got '" +
        window + "'");
  io::Rescale r;
  if (!rescale.empty() && (!parseColonPair(rescale, r.slope, r.intercept) || r.slope == 0))
    throw InvalidArgument(
        "--sample-rescale: expected SLOPE:INTERCEPT with SLOPE != 0, e.g. "
        "1:-1024; got '" +
        rescale + "'");
  if (c.channels != 1)
    throw InvalidArgument("--window trains on gray scans: leave out --color rgb");
  c.window = w;
  c.sampleRescale = r;
}

// Medical scans as modality values (core/io/modality.hpp), in the Data group.
void addModalityOptions(CLI::App& app, Options& o) {
  app.add_option("--window", o.window,
                 "LO:HI in modality values (stored x Rescale Slope + Intercept: HU for CT), "
                 "e.g. -1000:2000: DICOM files are read as modality values and 16-bit gray "
                 "PNG/TIFF samples through --sample-rescale, both mapped to (v - LO) / (HI - LO), "
                 "not clipped (instead of each DICOM file's own min..max); the model reads "
                 "GRAY16_LE frames (cae.format, cae.window, cae.sample_rescale, "
                 "cae.input_scale = slope / (HI - LO), cae.input_offset = (intercept - LO) / "
                 "(HI - LO)); other kinds of files are refused; --sigma stays in 1/255 of the "
                 "window")
      ->group("Data");
  app.add_option("--sample-rescale", o.sampleRescale,
                 "with --window: SLOPE:INTERCEPT making a 16-bit sample (of PNG/TIFF training "
                 "files, and of the GRAY16_LE frames caedenoise feeds the model) a modality "
                 "value: v = sample x SLOPE + INTERCEPT; default 1:0. Unsigned 16-bit CT "
                 "usually stores HU + 1024: 1:-1024")
      ->group("Data");
}

// The low-dose CT simulation of --noise ct-lowdose (train/ct_lowdose.hpp; the same help group).
void addCtNoiseOptions(CLI::App& app, Options& o) {
  TrainConfig& c = o.c;
  app.add_option("--photons", o.photons,
                 "ct-lowdose: photons per ray and view of an unattenuated ray (I0), or a range "
                 "LO-HI drawn log-uniformly per sample (blind); noise variance ~ 1/I0; each "
                 "sample is projected, given Poisson counts, reconstructed by FBP, and only the "
                 "noise added to the clean sample")
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--ct-angles", c.ctAngles,
                 "ct-lowdose: projection angles over 180 degrees; 0: ceil(pi/2 x the sample's "
                 "larger side), 101 for 64-pixel patches")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str()
      ->group("Objective");
  app.add_option("--ct-mu-scale", c.ctMuScale,
                 "ct-lowdose: attenuation per pixel width of the value 1 (white); default: "
                 "twice water's 0.19/cm on 0.07 cm pixels, so a 300-pixel water path (value 0.5) "
                 "has a line integral of ~4")
      ->check(CLI::Range(1e-6, 10.0))
      ->capture_default_str()
      ->group("Objective");
}

}  // namespace cae::train::cli
