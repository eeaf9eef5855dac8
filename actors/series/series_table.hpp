#pragma once

// The memory backend's time series, as plain code: points per metric and OHLCV bars per symbol
// and timeframe, each kept in time order, one per timestamp (a write at a time that has one
// replaces it), trimmed to the newest max_points and to retention_ms before the newest. The
// contract (messages/time_series.hpp) says what each request means; the same contract suite
// runs against this and against Redis. Requests reach it checked.

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages/time_series.hpp"

namespace brokedancer {

class series_table {
public:
  explicit series_table(series_settings settings) : settings_(settings) {}

  // True when the time was new, false when the point replaced one.
  bool add(const std::string& metric, int64_t at_ms, double value);
  // Points from <= at <= to, oldest first, at most `count`.
  std::vector<series_point> range(const std::string& metric, int64_t from_ms, int64_t to_ms,
                                  uint32_t count) const;
  // The newest n points, oldest first.
  std::vector<series_point> last(const std::string& metric, uint32_t n) const;
  // Of the newest max_stats_points points in from..to.
  series_stats stats(const std::string& metric, int64_t from_ms, int64_t to_ms) const;

  // True when the bar's open time was new for its symbol and timeframe.
  bool put_bar(const ohlcv_bar& bar);
  std::vector<ohlcv_bar> last_bars(const std::string& symbol, timeframe frame, uint32_t n) const;
  std::vector<ohlcv_bar> bars_range(const std::string& symbol, timeframe frame, int64_t from_ms,
                                    int64_t to_ms, uint32_t count) const;

  // Metrics and bar series kept.
  size_t series() const {
    return points_.size() + bars_.size();
  }
  bool has_metric(const std::string& metric) const {
    return points_.count(metric) > 0;
  }
  bool has_bars(const std::string& symbol, timeframe frame) const {
    return bars_.count({symbol, frame}) > 0;
  }

private:
  using bar_key = std::pair<std::string, timeframe>;
  struct bar_key_hash {
    size_t operator()(const bar_key& key) const {
      return std::hash<std::string>{}(key.first) * 31 + static_cast<size_t>(key.second);
    }
  };

  template <class Value>
  void trim(std::map<int64_t, Value>& series) const;

  series_settings settings_;
  std::unordered_map<std::string, std::map<int64_t, double>> points_;
  std::unordered_map<bar_key, std::map<int64_t, ohlcv_bar>, bar_key_hash> bars_;
};

} // namespace brokedancer
