#include "messages/time_series.hpp"

#include <algorithm>
#include <cmath>

#include "core/plain_name.hpp"

namespace brokedancer {

std::string check_series_name(const std::string& name) {
  return check_plain_name("a series' name", name, max_series_name_bytes);
}

std::string check_point(int64_t at_ms, double value) {
  if (at_ms < 0)
    return "a point's time must not be before 1970 (ms since the Unix epoch), not "
           + std::to_string(at_ms);
  if (at_ms > max_series_time_ms)
    return "a point's time must not be after the year 9999";
  if (!std::isfinite(value))
    return "a point's value must be a finite number";
  return {};
}

std::string check_series_read(int64_t from_ms, int64_t to_ms, uint32_t count) {
  if (from_ms > to_ms)
    return "a range's start (" + std::to_string(from_ms) + ") is after its end ("
           + std::to_string(to_ms) + ")";
  if (count == 0 || count > max_series_read)
    return "a read takes 1 .. " + std::to_string(max_series_read) + " points, not "
           + std::to_string(count);
  return {};
}

series_stats stats_of(const std::vector<series_point>& points) {
  series_stats stats;
  if (points.empty())
    return stats;
  stats.count = points.size();
  stats.min = points.front().value;
  stats.max = points.front().value;
  stats.first_ms = points.front().at_ms;
  stats.last_ms = points.front().at_ms;
  stats.last = points.front().value;
  double sum = 0;
  for (const auto& p : points) {
    stats.min = std::min(stats.min, p.value);
    stats.max = std::max(stats.max, p.value);
    sum += p.value;
    if (p.at_ms < stats.first_ms)
      stats.first_ms = p.at_ms;
    if (p.at_ms >= stats.last_ms) {
      stats.last_ms = p.at_ms;
      stats.last = p.value;
    }
  }
  stats.avg = sum / static_cast<double>(points.size());
  return stats;
}

} // namespace brokedancer
