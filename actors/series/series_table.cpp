#include "actors/series/series_table.hpp"

#include <algorithm>
#include <limits>

namespace brokedancer {

namespace {

// The entries of `series` with from <= key <= to: the newest `count` when `newest`, else the
// oldest `count`; always handed out oldest first.
template <class Value, class Out, class Convert>
std::vector<Out> window(const std::map<int64_t, Value>& series, int64_t from, int64_t to,
                        uint32_t count, bool newest, Convert convert) {
  std::vector<Out> out;
  if (from > to || count == 0)
    return out;
  auto first = series.lower_bound(from);
  auto end = series.upper_bound(to);
  if (newest) {
    for (auto i = end; i != first && out.size() < count;) {
      --i;
      out.push_back(convert(*i));
    }
    std::reverse(out.begin(), out.end());
  } else {
    for (auto i = first; i != end && out.size() < count; ++i)
      out.push_back(convert(*i));
  }
  return out;
}

series_point point_of(const std::pair<const int64_t, double>& entry) {
  return {entry.first, entry.second};
}

ohlcv_bar bar_of(const std::pair<const int64_t, ohlcv_bar>& entry) {
  return entry.second;
}

constexpr int64_t earliest = std::numeric_limits<int64_t>::min();
constexpr int64_t latest = std::numeric_limits<int64_t>::max();

} // namespace

template <class Value>
void series_table::trim(std::map<int64_t, Value>& series) const {
  if (settings_.max_points > 0)
    while (series.size() > settings_.max_points)
      series.erase(series.begin());
  if (settings_.retention_ms > 0 && !series.empty()) {
    auto oldest_kept = series.rbegin()->first - settings_.retention_ms;
    series.erase(series.begin(), series.lower_bound(oldest_kept));
  }
}

bool series_table::add(const std::string& metric, int64_t at_ms, double value) {
  auto& series = points_[metric];
  auto [where, added] = series.insert_or_assign(at_ms, value);
  (void) where;
  trim(series);
  return added;
}

std::vector<series_point> series_table::range(const std::string& metric, int64_t from_ms,
                                              int64_t to_ms, uint32_t count) const {
  auto found = points_.find(metric);
  if (found == points_.end())
    return {};
  return window<double, series_point>(found->second, from_ms, to_ms, count, false, point_of);
}

std::vector<series_point> series_table::last(const std::string& metric, uint32_t n) const {
  auto found = points_.find(metric);
  if (found == points_.end())
    return {};
  return window<double, series_point>(found->second, earliest, latest, n, true, point_of);
}

series_stats series_table::stats(const std::string& metric, int64_t from_ms, int64_t to_ms) const {
  auto found = points_.find(metric);
  if (found == points_.end())
    return {};
  return stats_of(window<double, series_point>(found->second, from_ms, to_ms, max_stats_points,
                                               true, point_of));
}

bool series_table::put_bar(const ohlcv_bar& bar) {
  auto& series = bars_[{bar.symbol, bar.frame}];
  auto [where, added] = series.insert_or_assign(bar.open_time_ms, bar);
  (void) where;
  trim(series);
  return added;
}

std::vector<ohlcv_bar> series_table::last_bars(const std::string& symbol, timeframe frame,
                                               uint32_t n) const {
  auto found = bars_.find({symbol, frame});
  if (found == bars_.end())
    return {};
  return window<ohlcv_bar, ohlcv_bar>(found->second, earliest, latest, n, true, bar_of);
}

std::vector<ohlcv_bar> series_table::bars_range(const std::string& symbol, timeframe frame,
                                                int64_t from_ms, int64_t to_ms,
                                                uint32_t count) const {
  auto found = bars_.find({symbol, frame});
  if (found == bars_.end())
    return {};
  return window<ohlcv_bar, ohlcv_bar>(found->second, from_ms, to_ms, count, false, bar_of);
}

} // namespace brokedancer
