#pragma once

// OHLCV bars: the time series of a symbol's price per timeframe. A bar is known by its symbol,
// timeframe and open time (the start of its interval, in ms since the Unix epoch, a multiple
// of the timeframe): a bar written again with the same open time replaces the first (a
// correction), as the time-series store keeps them.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace brokedancer {

enum class timeframe : uint8_t { s1, m1, m5, m15, h1, h4, d1 };

// "1s", "1m", "5m", "15m", "1h", "4h", "1d".
std::string to_string(timeframe tf);
bool from_string(const std::string& text, timeframe& tf);
int64_t duration_ms(timeframe tf);
// Every timeframe, shortest first.
const std::vector<timeframe>& all_timeframes();

constexpr bool is_valid(timeframe tf) {
  return tf <= timeframe::d1;
}

struct ohlcv_bar {
  std::string symbol;
  timeframe frame = timeframe::m1;
  int64_t open_time_ms = 0;
  double open = 0;
  double high = 0;
  double low = 0;
  double close = 0;
  double volume = 0;  // traded quantity in the interval (from fills), 0 when nothing traded
  uint64_t ticks = 0; // price updates folded into the bar
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ohlcv_bar& x) {
  return f(caf::meta::type_name("ohlcv_bar"), x.symbol, x.frame, x.open_time_ms, x.open, x.high,
           x.low, x.close, x.volume, x.ticks);
}

// Why a bar cannot be kept (empty when it can): a symbol that is empty or over 64 bytes, an
// unknown timeframe, an open time that is negative or not on the timeframe's grid, a price
// that is not a positive finite number, high below open or close, low above them, a negative
// or non-finite volume.
std::string check_bar(const ohlcv_bar& bar);

} // namespace brokedancer
