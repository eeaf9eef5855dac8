#include "actors/series/series_requests.hpp"

#include "messages/errors.hpp"

namespace brokedancer {

namespace {

caf::error invalid(const std::string& problem) {
  return problem.empty() ? caf::error{} : make_error(errc::invalid_argument, problem);
}

caf::error check_symbol_frame(const std::string& symbol, timeframe frame) {
  if (symbol.empty())
    return invalid("a bar series needs a symbol");
  if (!is_valid(frame))
    return invalid("unknown timeframe " + std::to_string(static_cast<int>(frame))
                   + ": one of 1s, 1m, 5m, 15m, 1h, 4h, 1d");
  return invalid(check_series_name(symbol));
}

} // namespace

caf::error check_add(const std::string& metric, int64_t at_ms, double value) {
  if (auto err = invalid(check_series_name(metric)))
    return err;
  return invalid(check_point(at_ms, value));
}

caf::error check_range(const std::string& metric, int64_t from_ms, int64_t to_ms, uint32_t count) {
  if (auto err = invalid(check_series_name(metric)))
    return err;
  return invalid(check_series_read(from_ms, to_ms, count));
}

caf::error check_last(const std::string& metric, uint32_t n) {
  if (auto err = invalid(check_series_name(metric)))
    return err;
  return invalid(check_series_read(0, 0, n));
}

caf::error check_stats(const std::string& metric, int64_t from_ms, int64_t to_ms) {
  if (auto err = invalid(check_series_name(metric)))
    return err;
  return invalid(check_series_read(from_ms, to_ms, 1));
}

caf::error check_bars(const std::vector<ohlcv_bar>& bars) {
  if (bars.empty() || bars.size() > max_bar_batch)
    return invalid("a write takes 1 .. " + std::to_string(max_bar_batch) + " bars, not "
                   + std::to_string(bars.size()));
  for (size_t i = 0; i < bars.size(); ++i) {
    auto problem = check_bar(bars[i]);
    if (problem.empty())
      problem = check_series_name(bars[i].symbol);
    if (problem.empty() && bars[i].open_time_ms > max_series_time_ms)
      problem = "a bar must not open after the year 9999";
    if (!problem.empty())
      return invalid("bar " + std::to_string(i) + ": " + problem);
  }
  return {};
}

caf::error check_bars_last(const std::string& symbol, timeframe frame, uint32_t n) {
  if (auto err = check_symbol_frame(symbol, frame))
    return err;
  return invalid(check_series_read(0, 0, n));
}

caf::error check_bars_range(const std::string& symbol, timeframe frame, int64_t from_ms,
                            int64_t to_ms, uint32_t count) {
  if (auto err = check_symbol_frame(symbol, frame))
    return err;
  return invalid(check_series_read(from_ms, to_ms, count));
}

} // namespace brokedancer
