// Calibration statistics as JSON (format "winq.calibration" version 1).
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "winq/calib.hpp"
#include "winq/file.hpp"

namespace winq {

namespace {
constexpr const char* kFormat = "winq.calibration";
constexpr int kVersion = 1;

nlohmann::json to_json(const TensorStats& t) {
  std::vector<int64_t> hist(t.hist.begin(), t.hist.end());  // counts
  return {{"count", t.count}, {"nonfinite", t.nonfinite}, {"zeros", t.zeros}, {"min", t.min},
          {"max", t.max}, {"mean", t.mean}, {"std", t.std}, {"mad", t.mad},
          {"abs_mean_nonzero", t.abs_mean_nonzero}, {"rms_nonzero", t.rms_nonzero}, {"hist", hist}};
}

TensorStats from_json(const nlohmann::json& t) {
  TensorStats ts;
  ts.count = t.at("count");
  ts.nonfinite = t.at("nonfinite");
  ts.zeros = t.at("zeros");
  ts.min = t.at("min");
  ts.max = t.at("max");
  ts.mean = t.at("mean");
  ts.std = t.at("std");
  ts.mad = t.at("mad");
  ts.abs_mean_nonzero = t.at("abs_mean_nonzero");
  ts.rms_nonzero = t.at("rms_nonzero");
  ts.hist = t.at("hist").get<std::vector<double>>();
  return ts;
}
}  // namespace

void save_stats(const CalibrationStats& s, const std::string& path) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["model"] = s.model;
  j["data"] = s.data_source;
  j["images"] = s.images;
  j["seed"] = s.seed;
  j["bins"] = s.bins;
  auto& tensors = j["tensors"] = nlohmann::json::object();
  for (const auto& [name, t] : s.tensors) tensors[name] = to_json(t);
  j["tap_mean"] = s.tap_mean;
  auto& wino = j["winograd"] = nlohmann::json::object();
  for (const auto& [node, list] : s.winograd)
    for (const auto& w : list) {
      auto& comps = wino[node]["F" + std::to_string(w.m)] = nlohmann::json::array();
      for (const auto& t : w.components) comps.push_back(to_json(t));
    }
  write_file_atomic(path, j.dump() + "\n");
}

CalibrationStats load_stats(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open calibration statistics");
  CalibrationStats s;
  try {
    nlohmann::json j;
    f >> j;
    if (j.value("format", "") != kFormat)
      throw Error(path + ": not a winq calibration file (run `winq calibrate` to make one)");
    if (j.value("version", 0) != kVersion)
      throw Error(fmt::format("{}: calibration format version {} is not supported", path, j.value("version", 0)));
    s.model = j.at("model").get<std::string>();
    s.data_source = j.at("data").get<std::vector<std::string>>();
    s.images = j.at("images");
    s.seed = j.at("seed");
    s.bins = j.at("bins");
    for (const auto& [name, t] : j.at("tensors").items()) {
      TensorStats ts = from_json(t);
      if (!ts.hist.empty() && static_cast<int>(ts.hist.size()) != s.bins)
        throw Error(fmt::format("{}: tensor '{}' has {} histogram bins, not {}", path, name, ts.hist.size(), s.bins));
      s.tensors[name] = std::move(ts);
    }
    s.tap_mean = j.at("tap_mean").get<std::map<std::string, std::vector<double>>>();
    if (j.contains("winograd"))  // absent in files made with --no-winograd
      for (const auto& [node, tiles] : j.at("winograd").items())
        for (const auto& [tile, comps] : tiles.items()) {
          WinogradStats w;
          if (tile != "F2" && tile != "F4" && tile != "F6")
            throw Error(fmt::format("{}: Winograd statistics of '{}' for unknown tile {}", path, node, tile));
          w.m = tile[1] - '0';
          for (const auto& c : comps) w.components.push_back(from_json(c));
          if (static_cast<int>(w.components.size()) != (w.m + 2) * (w.m + 2))
            throw Error(fmt::format("{}: Winograd statistics of '{}' {} have {} components, not {}", path, node, tile,
                                    w.components.size(), (w.m + 2) * (w.m + 2)));
          s.winograd[node].push_back(std::move(w));
        }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: malformed calibration statistics ({})", path, e.what()));
  }
  return s;
}

}  // namespace winq
