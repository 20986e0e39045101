#include "train/training_state.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "error.hpp"

namespace cae::train {
namespace {

using Json = nlohmann::json;
using Meta = TrainingState::Meta;

const std::string kStageParams = "train.stage_params.";

// Exact text for doubles in checkpoints (hex float reads back bit for bit).
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}
double fromExact(const Meta& m, const std::string& k, double d) {
  const auto it = m.find(k);
  return it == m.end() ? d : std::strtod(it->second.c_str(), nullptr);
}
long intOf(const Meta& m, const std::string& k, long d) {
  const auto it = m.find(k);
  return it == m.end() ? d : std::strtol(it->second.c_str(), nullptr, 10);
}
std::string bytesOf(const nn::Scalar* p, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n * sizeof(nn::Scalar));
}
void loadBytes(const std::string& b, nn::Scalar* p, std::size_t n, const std::string& what) {
  if (b.size() != n * sizeof(nn::Scalar))
    throw FormatError("checkpoint: " + what + " has the wrong size for this model");
  std::copy(b.data(), b.data() + b.size(), reinterpret_cast<char*>(p));
}

std::string historyText(const std::vector<EpochRecord>& history) {
  Json h = Json::array();
  for (const EpochRecord& r : history)
    h.push_back({{"stage", r.stage},
                 {"epoch", r.epoch},
                 {"loss", exact(r.loss)},
                 {"val", exact(r.valLoss)},
                 {"lr", exact(r.lr)},
                 {"s", r.seconds},
                 {"pps", r.patchesPerSecond}});
  return h.dump();
}

std::vector<EpochRecord> historyOf(const std::string& text) {
  std::vector<EpochRecord> history;
  for (const Json& r : Json::parse(text)) {
    EpochRecord e;
    e.stage = r.at("stage").get<std::string>();
    e.epoch = r.at("epoch").get<int>();
    e.loss = std::strtod(r.at("loss").get<std::string>().c_str(), nullptr);
    e.valLoss = std::strtod(r.at("val").get<std::string>().c_str(), nullptr);
    e.lr = std::strtod(r.at("lr").get<std::string>().c_str(), nullptr);
    e.seconds = r.at("s").get<double>();
    e.patchesPerSecond = r.at("pps").get<double>();
    history.push_back(e);
  }
  return history;
}

}  // namespace

void TrainingState::endEpoch(double val, const nn::Model& model) {
  if (val < bestVal) {
    bestVal = val;
    bestEpoch = epoch + 1;
    sinceBest = 0;
    bestParams.assign(model.params().data(), model.params().data() + model.numParams());
  } else {
    ++sinceBest;
  }
  lossSum = 0;
  lossCount = 0;
  stepInEpoch = 0;
}

void TrainingState::averageStep(const nn::Model& model, const std::vector<nn::Scalar>& before,
                                double decay, long t) {
  const std::size_t n = model.numParams();
  if (emaParams.size() != n) emaParams = before;
  const double d = std::min(decay, double(1 + t) / double(10 + t));
  const nn::Scalar* w = model.params().data();
  for (std::size_t i = 0; i < n; ++i)
    emaParams[i] = nn::Scalar(d * double(emaParams[i]) + (1 - d) * double(w[i]));
}

void TrainingState::swapAverage(nn::Model& model) {
  if (emaParams.size() != model.numParams()) return;
  std::swap_ranges(emaParams.begin(), emaParams.end(), model.params().data());
}

void TrainingState::finishStage(int index, const nn::Model& model) {
  stageParams[kStageParams + std::to_string(index)] =
      bytesOf(model.params().data(), model.numParams());
  stage = index + 1;
  epoch = 0;
  stepInEpoch = 0;
  bestVal = std::numeric_limits<double>::infinity();
  bestEpoch = 0;
  sinceBest = 0;
  bestParams.clear();
  emaParams.clear();
}

TrainingState::Meta TrainingState::toMeta() const {
  Meta meta = stageParams;
  meta["train.stage"] = std::to_string(stage);
  meta["train.epoch"] = std::to_string(epoch);
  meta["train.step_in_epoch"] = std::to_string(stepInEpoch);
  meta["train.loss_sum"] = exact(lossSum);
  meta["train.loss_count"] = std::to_string(lossCount);
  meta["train.best_val"] = exact(bestVal);
  meta["train.best_epoch"] = std::to_string(bestEpoch);
  meta["train.since_best"] = std::to_string(sinceBest);
  meta["train.best_params"] = bytesOf(bestParams.data(), bestParams.size());
  if (!emaParams.empty()) meta["train.ema_params"] = bytesOf(emaParams.data(), emaParams.size());
  meta["train.history"] = historyText(history);
  return meta;
}

int TrainingState::stageOf(const Meta& meta) { return int(intOf(meta, "train.stage", 0)); }

void TrainingState::restore(const Meta& m, std::size_t numParams) {
  stageParams.clear();
  for (const auto& [k, v] : m)
    if (k.rfind(kStageParams, 0) == 0) stageParams[k] = v;
  epoch = int(intOf(m, "train.epoch", 0));
  stepInEpoch = int(intOf(m, "train.step_in_epoch", 0));
  lossSum = fromExact(m, "train.loss_sum", 0);
  lossCount = intOf(m, "train.loss_count", 0);
  bestVal = fromExact(m, "train.best_val", std::numeric_limits<double>::infinity());
  bestEpoch = int(intOf(m, "train.best_epoch", 0));
  sinceBest = int(intOf(m, "train.since_best", 0));
  const auto bp = m.find("train.best_params");
  bestParams.clear();
  if (bp != m.end() && !bp->second.empty()) {
    bestParams.resize(numParams);
    loadBytes(bp->second, bestParams.data(), bestParams.size(), "the best weights");
  }
  const auto ep = m.find("train.ema_params");
  emaParams.clear();
  if (ep != m.end() && !ep->second.empty()) {
    emaParams.resize(numParams);
    loadBytes(ep->second, emaParams.data(), emaParams.size(), "the weights' average");
  }
  const auto hist = m.find("train.history");
  history.clear();
  if (hist != m.end()) history = historyOf(hist->second);
}

void TrainingState::loadStageParams(const Meta& meta, int k, nn::Model& model,
                                    const std::string& path) {
  const auto it = meta.find(kStageParams + std::to_string(k));
  if (it == meta.end()) throw FormatError("checkpoint '" + path + "' lacks stage weights");
  loadBytes(it->second, model.params().data(), model.numParams(), "a finished stage");
}

}  // namespace cae::train
