// Calibration statistics as JSON (format "winq.calibration" version 1).
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <limits>
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

// Integers must be JSON integers in range: nlohmann converts a float such as
// 1e300 to int64 with undefined behaviour (found by fuzz/stats).
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int64_t int_at(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer()) throw BadField(fmt::format("'{}' must be an integer", key));
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi) : v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    throw BadField(fmt::format("'{}' is out of range", key));
  return v.get<int64_t>();
}
double num_at(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number()) throw BadField(fmt::format("'{}' must be a number", key));
  return v.get<double>();
}

TensorStats from_json(const nlohmann::json& t) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  TensorStats ts;
  ts.count = int_at(t, "count", 0, kMax);
  ts.nonfinite = int_at(t, "nonfinite", 0, kMax);
  ts.zeros = int_at(t, "zeros", 0, kMax);
  ts.min = num_at(t, "min");
  ts.max = num_at(t, "max");
  ts.mean = num_at(t, "mean");
  ts.std = num_at(t, "std");
  ts.mad = num_at(t, "mad");
  ts.abs_mean_nonzero = num_at(t, "abs_mean_nonzero");
  ts.rms_nonzero = num_at(t, "rms_nonzero");
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
      auto& comps = wino[node]["F" + std::to_string(w.m) + (w.one_d ? "x1" : "")] = nlohmann::json::array();
      for (const auto& t : w.components) comps.push_back(to_json(t));
      if (!w.channel_max.empty())
        j["winograd_channel_max"][node]["F" + std::to_string(w.m) + (w.one_d ? "x1" : "")] = w.channel_max;
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
    s.images = int_at(j, "images", 0, std::numeric_limits<int64_t>::max());
    s.seed = static_cast<uint64_t>(int_at(j, "seed", 0, std::numeric_limits<int64_t>::max()));
    s.bins = static_cast<int>(int_at(j, "bins", 16, 65536));
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
          if (tile != "F2" && tile != "F4" && tile != "F6" && tile != "F2x1" && tile != "F4x1" && tile != "F6x1")
            throw Error(fmt::format("{}: Winograd statistics of '{}' for unknown tile {}", path, node, tile));
          w.m = tile[1] - '0';
          w.one_d = tile.size() == 4;
          for (const auto& c : comps) w.components.push_back(from_json(c));
          const int want = w.one_d ? w.m + 2 : (w.m + 2) * (w.m + 2);
          if (static_cast<int>(w.components.size()) != want)
            throw Error(fmt::format("{}: Winograd statistics of '{}' {} have {} components, not {}", path, node, tile,
                                    w.components.size(), want));
          if (j.contains("winograd_channel_max") && j["winograd_channel_max"].contains(node) &&
              j["winograd_channel_max"][node].contains(tile)) {
            w.channel_max = j["winograd_channel_max"][node][tile].get<std::vector<float>>();
            if (w.channel_max.empty() || w.channel_max.size() % static_cast<size_t>(want) != 0)
              throw Error(fmt::format("{}: per-channel Winograd maxima of '{}' {}: {} values, not a multiple of {}",
                                      path, node, tile, w.channel_max.size(), want));
            for (float v : w.channel_max)
              if (!(v >= 0) || !std::isfinite(v))
                throw Error(fmt::format("{}: per-channel Winograd maxima of '{}' {}: {} is not a finite value ≥ 0",
                                        path, node, tile, v));
          }
          s.winograd[node].push_back(std::move(w));
        }
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: malformed calibration statistics ({})", path, e.what()));
  } catch (const BadField& e) {
    throw Error(fmt::format("{}: malformed calibration statistics ({})", path, e.what()));
  }
  return s;
}

}  // namespace winq
