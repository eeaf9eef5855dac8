#include "messages/bars.hpp"

#include <algorithm>
#include <cmath>

namespace brokedancer {

namespace {

struct timeframe_row {
  timeframe tf;
  const char* name;
  int64_t ms;
};

constexpr timeframe_row rows[] = {
    {timeframe::s1, "1s", 1000},
    {timeframe::m1, "1m", 60 * 1000},
    {timeframe::m5, "5m", 5 * 60 * 1000},
    {timeframe::m15, "15m", 15 * 60 * 1000},
    {timeframe::h1, "1h", 3600 * 1000},
    {timeframe::h4, "4h", 4 * 3600 * 1000},
    {timeframe::d1, "1d", 24 * 3600 * 1000},
};

bool positive_price(double x) {
  return std::isfinite(x) && x > 0;
}

} // namespace

std::string to_string(timeframe tf) {
  for (const auto& row : rows)
    if (row.tf == tf)
      return row.name;
  return "timeframe(" + std::to_string(static_cast<int>(tf)) + ")";
}

bool from_string(const std::string& text, timeframe& tf) {
  for (const auto& row : rows)
    if (text == row.name) {
      tf = row.tf;
      return true;
    }
  return false;
}

int64_t duration_ms(timeframe tf) {
  for (const auto& row : rows)
    if (row.tf == tf)
      return row.ms;
  return 0;
}

const std::vector<timeframe>& all_timeframes() {
  static const std::vector<timeframe> all = [] {
    std::vector<timeframe> v;
    for (const auto& row : rows)
      v.push_back(row.tf);
    return v;
  }();
  return all;
}

std::string check_bar(const ohlcv_bar& bar) {
  if (bar.symbol.empty() || bar.symbol.size() > 64)
    return "a bar needs a symbol of 1 to 64 bytes";
  if (!is_valid(bar.frame))
    return "unknown timeframe " + std::to_string(static_cast<int>(bar.frame))
           + " (1s, 1m, 5m, 15m, 1h, 4h, 1d)";
  auto step = duration_ms(bar.frame);
  if (bar.open_time_ms < 0 || bar.open_time_ms % step != 0)
    return "a " + to_string(bar.frame) + " bar opens on a multiple of " + std::to_string(step)
           + " ms since the epoch, not at " + std::to_string(bar.open_time_ms);
  if (!positive_price(bar.open) || !positive_price(bar.high) || !positive_price(bar.low)
      || !positive_price(bar.close))
    return "a bar's open, high, low and close must be positive numbers";
  if (bar.high < std::max(bar.open, bar.close))
    return "a bar's high is below its open or close";
  if (bar.low > std::min(bar.open, bar.close))
    return "a bar's low is above its open or close";
  if (!std::isfinite(bar.volume) || bar.volume < 0)
    return "a bar's volume must be a finite number of at least 0";
  return {};
}

} // namespace brokedancer
