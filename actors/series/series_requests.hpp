#pragma once

// The checks every time-series backend makes of a request before it does anything, so that both
// refuse the same requests with the same words (an empty error: the request may go).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/error.hpp>

#include "messages/time_series.hpp"

namespace brokedancer {

caf::error check_add(const std::string& metric, int64_t at_ms, double value);
caf::error check_range(const std::string& metric, int64_t from_ms, int64_t to_ms, uint32_t count);
caf::error check_last(const std::string& metric, uint32_t n);
caf::error check_stats(const std::string& metric, int64_t from_ms, int64_t to_ms);
caf::error check_bars(const std::vector<ohlcv_bar>& bars);
caf::error check_bars_last(const std::string& symbol, timeframe frame, uint32_t n);
caf::error check_bars_range(const std::string& symbol, timeframe frame, int64_t from_ms,
                            int64_t to_ms, uint32_t count);

} // namespace brokedancer
