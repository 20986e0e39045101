// Trainer::Impl (trainer_impl.hpp): validation, and what follows training: the final
// validation, the task's report, the export.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "train/audio_data.hpp"
#include "train/audio_report.hpp"
#include "train/grid_mask.hpp"
#include "train/model_export.hpp"
#include "train/pca.hpp"
#include "train/sequence_data.hpp"
#include "train/task_report.hpp"
#include "train/trainer_impl.hpp"

namespace cae::train {

using trainer_detail::fmt;

// Reconstruction outputs of the model for samples (in chunks of the batch size), copied.
Tensor Trainer::Impl::predict(Stage& s, const Tensor& x, std::vector<double>* bits) {
  setTraining(s, false);
  const Rounded rounded(*this, s.built.model, false);
  Tensor out;
  const int n = x.shape().n;
  for (int at = 0; at < n; at += c.batch) {
    const int k = std::min(c.batch, n - at);
    const Tensor& y = s.built.model.forward(sliceSamples(x, at, k));
    if (out.empty()) {
      Shape os = y.shape();
      os.n = n;
      out.resize(os);
    }
    std::copy(y.data(), y.data() + y.size(), out.sample(at));
    if (bits) {  // a codec's bits per picture
      const Tensor& b = s.built.model.activation(s.built.rate);
      for (int i = 0; i < k; ++i)
        bits->push_back(std::accumulate(b.sample(i), b.sample(i) + b.shape().perSample(), 0.0));
    }
  }
  setTraining(s, true);
  return out;
}

// noHistory (clips): every older frame replaced by the noisy current frame, as caedenoise
// feeds a stream start.
double Trainer::Impl::validate(Stage& s, const nn::Loss& loss, bool noHistory) {
  if (s.built.compresses()) return validateCodec(s).total;
  if (s.built.segments()) {  // the segmentation term on fixed synthetic anomalies
    const Tensor input = objective->corruptFixed(data.valClean, 99);
    return objective->segmentationLoss(predict(s, input));
  }
  const Tensor target = toStageInput(data.valClean, s);
  Tensor buffer;
  const Tensor input = s.innerStage ? target : objective->corruptFixed(target, 99);
  const Tensor* x = &modelInput(input, buffer);
  if (noHistory && data.train->frames() > 1) {
    if (x != &buffer) buffer = *x;
    for (int n = 0; n < buffer.shape().n; ++n) dropHistory(buffer, data.train->channels(), n, 0);
    x = &buffer;
  }
  const Tensor out = predict(s, *x);
  const Tensor g = goal(target);
  if (masks()) {  // the masks' loss as trained: weighted by the input for psa
    if (const OverlapAddLoss* tl = objective->timeLoss()) return tl->compute(out, g, nullptr);
    if (const nn::WeightedMseLoss* ml = objective->maskLoss(*x, out.shape().w))
      return ml->compute(out, g, nullptr);
  }
  Tensor t(out.shape());  // dense models give {N, F, 1, 1}: the same values, flat
  std::copy(g.data(), g.data() + g.size(), t.data());
  return loss.compute(out, t, nullptr);
}

// A codec's rate-distortion loss on the validation pictures, quantised by rounding as the
// coder quantises.
nn::RateDistortion::Terms Trainer::Impl::validateCodec(Stage& s) {
  std::vector<double> bits;
  const Tensor out = predict(s, data.valClean, &bits);
  Tensor perPicture({out.shape().n, 1, 1, 1});
  for (std::size_t i = 0; i < bits.size(); ++i) perPicture[i] = Scalar(bits[i]);
  return objective->rateDistortion()->compute(out, data.valClean, perPicture, nullptr, nullptr);
}

// The final validation loss and the task's report, into metrics, the summary and (anomaly:
// the calibrated decision) the export options.
void Trainer::Impl::finish(Json& metrics, onnx::ExportOptions& eo) {
  Stage& s = stages.back();
  metrics["val_loss"] = validate(s, objective->loss(s.innerStage));
  metrics["best_epoch"] = st.bestEpoch;
  metrics["epochs_run"] = int(st.history.size());
  if (!st.history.empty()) {
    metrics["train_loss_first"] = st.history.front().loss;
    metrics["train_loss_last"] = st.history.back().loss;
  }
  std::string& sum = result.summary;
  sum += "validation loss " + fmt("%.6g", metrics["val_loss"].get<double>());
  sum += st.bestEpoch > 0 ? " (best epoch " + std::to_string(st.bestEpoch) + ")\n" : "\n";
  if (data.train->frames() > 1) {
    metrics["val_loss_no_history"] = validate(s, objective->loss(s.innerStage), true);
    sum += "validation loss with no history (a stream start) " +
           fmt("%.6g", metrics["val_loss_no_history"].get<double>()) + "\n";
  }
  if (masks()) audioReport(s, metrics, sum);
  if (c.task == TrainTask::AudioAnomaly) {
    const AudioAnomalyReport a = calibrateAudioAnomaly(
        dynamic_cast<const MelWindowSource&>(*data.val), c.analysisWindow, c.fpr,
        c.windowScore == "mse" ? WindowScore::Mse : WindowScore::Mahalanobis,
        [&](const Tensor& x) { return predict(s, x); });
    eo.anomaly = a.decision;
    a.addTo(metrics, sum, eo.extra);
  }
  if (c.task == TrainTask::Denoise) {
    const Tensor noisy = objective->corruptFixed(data.valClean, 1234);
    Tensor buffer;
    const Tensor out = predict(s, modelInput(noisy, buffer));
    denoiseReport(
        goal(data.valClean), goal(noisy), out, c.sigmaHi,
        c.corruption == CorruptionKind::Gaussian || c.corruption == CorruptionKind::Rician,
        c.window.has_value())
        .addTo(metrics, sum);
  }
  if (s.built.compresses()) {
    const nn::RateDistortion::Terms t = validateCodec(s);
    metrics["lambda"] = c.lambda;
    metrics["bpp"] = t.bpp;
    metrics["psnr"] = 10 * std::log10(1.0 / std::max(t.mse, 1e-12));
    sum += "validation " + fmt("%.4f", t.bpp) + " bits per pixel at " +
           fmt("%.2f", metrics["psnr"].get<double>()) + " dB PSNR (lambda " +
           fmt("%.4g", c.lambda) + ")\n";
  }
  if (c.task == TrainTask::Anomaly) {
    const AnomalyReport a = calibrateAnomaly(
        data.heldOut, s.spec, c, asEngineRuns(c, [&](const Tensor& x) { return predict(s, x); }));
    eo.anomaly = a.decision;
    a.addTo(metrics, sum);
  }
}

// --task audio-denoise: what the masks do to the validation frames (audio_report.hpp).
void Trainer::Impl::audioReport(Stage& s, Json& metrics, std::string& sum) {
  Tensor input, target, spectra;
  splitAudioSamples(data.valClean, input, target, c.stftSize / 2 + 1, c.arch.timeOutputs,
                    this->spectra() ? &spectra : nullptr);
  const Tensor masks = predict(s, input);
  metrics["val_mask_gain_db"] = maskGainDb(input, target, masks, c.stftSize, c.lookahead);
  sum += "validation frames: the masks' error " +
         fmt("%.2f", metrics["val_mask_gain_db"].get<double>()) +
         " dB below the noisy frames' (power-weighted, " +
         std::to_string(std::int64_t(input.shape().n) * target.shape().w) + " frames)\n";
  if (const OverlapAddLoss* tl = objective->timeLoss()) {
    // the time-domain loss is the output's error over the noise's power: its SNR improvement
    const double loss = tl->compute(masks, spectra, nullptr);
    metrics["val_time_snr_gain_db"] = -10 * std::log10(std::max(loss, 1e-30));
    sum += "validation signal: the overlap-added output's error " +
           fmt("%.2f", metrics["val_time_snr_gain_db"].get<double>()) + " dB below the noise's (" +
           std::to_string(input.shape().n) + " stretches of " + std::to_string(target.shape().w) +
           " frames)\n";
  }
}

void Trainer::Impl::exportModels(const Json& metrics, onnx::ExportOptions eo) {
  Stage& s = stages.back();
  eo.metrics = metrics.dump();
  const ExportedFiles files = exportTrained(c, s.spec, s.built, std::move(eo));
  result.output = files.output;
  result.decoderOutput = files.decoderOutput;
}

// PCA: no gradient training, an SVD of the training patches.
TrainResult Trainer::Impl::runPca() {
  const ArchSpec spec = baseSpec();
  if (spec.latent <= 0) throw InvalidArgument("--arch pca needs --latent K (components)");
  openLog();
  const Tensor train =
      data.train->fixed(std::max(c.batch * c.stepsPerEpoch, spec.latent * 4), c.seed + 3);
  Pca pca;
  pca.fit(train, spec.latent);
  stages.emplace_back("pca", pca.spec(), pca.toModel(), 0, false);
  Json metrics;
  onnx::ExportOptions eo;
  finish(metrics, eo);
  metrics["arch"] = "pca";
  exportModels(metrics, eo);
  result.metricsJson = metrics.dump();
  writeLog({{"event", "summary"}, {"metrics", metrics}, {"output", result.output}});
  return result;
}

// The trained model's report, export, last curve and summary line.
TrainResult Trainer::Impl::finishRun() {
  result.bestValLoss = st.bestVal;
  result.bestEpoch = st.bestEpoch;
  result.history = st.history;
  Json metrics;
  onnx::ExportOptions eo;
  finish(metrics, eo);
  exportModels(metrics, eo);
  drawCurve();
  result.metricsJson = metrics.dump();
  writeLog({{"event", "summary"},
            {"metrics", metrics},
            {"output", result.output},
            {"decoder", result.decoderOutput},
            {"early_stopped", result.earlyStopped},
            {"checkpoint", owner.checkpointPath()}});
  return result;
}

}  // namespace cae::train
