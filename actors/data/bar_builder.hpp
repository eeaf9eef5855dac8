#pragma once

// OHLCV bars from a stream of prices, as plain code with time passed in, for the time-series
// service to run on the market's ticks and the exchange's fills (not built yet: for now the
// tests and the benchmark run it alone). Ticks move the price; fills are trades: they move it too
// and add their quantity as volume.
//
// One bar is forming per symbol and timeframe. A price whose interval is later than the
// forming bar's closes that bar (it is handed out) and opens the next; intervals without any
// price get no bar. A price for an interval already closed is late: counted and dropped (a
// correction is a bar written again, not a late tick). flush(now) closes every bar whose
// interval has ended, for the quiet symbols.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/bars.hpp"

namespace brokedancer {

class bar_builder {
public:
  using symbol_id = uint32_t;

  // Throws std::invalid_argument for no timeframe or one that is not valid.
  explicit bar_builder(std::vector<timeframe> frames);

  // The id of a symbol, added on first use: the per-tick calls below take it, so that a hot
  // loop needs no string hashing.
  symbol_id intern(const std::string& symbol);
  bool knows(const std::string& symbol) const {
    return ids_.count(symbol) > 0;
  }
  size_t symbols() const {
    return ids_.size();
  }

  // A price (a tick's last) at `at_ms` since the epoch. False, and nothing changes, for a price
  // that is not positive and finite or a negative time. Closed bars are appended to `closed`.
  bool on_price(symbol_id symbol, double price, int64_t at_ms, std::vector<ohlcv_bar>& closed);
  // A fill: a trade of `quantity` at `price`.
  bool on_fill(symbol_id symbol, double price, double quantity, int64_t at_ms,
               std::vector<ohlcv_bar>& closed);

  // Closes every bar whose interval ended at or before `now_ms`.
  void flush(int64_t now_ms, std::vector<ohlcv_bar>& closed);

  // The bars forming now (open intervals), for reading the latest partial bar.
  std::vector<ohlcv_bar> forming() const;

  uint64_t late() const {
    return late_;
  }

  uint64_t refused() const {
    return refused_;
  }

private:
  struct slot {
    bool active = false;
    int64_t open_time_ms = 0;
    double open = 0, high = 0, low = 0, close = 0, volume = 0;
    uint64_t ticks = 0;
    int64_t closed_until_ms = 0; // the end of the last bar handed out: earlier prices are late
  };

  bool update(symbol_id symbol, double price, double quantity, int64_t at_ms,
              std::vector<ohlcv_bar>& closed);
  ohlcv_bar bar_of(symbol_id symbol, size_t frame, const slot& s) const;

  std::vector<timeframe> frames_;
  std::vector<int64_t> steps_ms_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, symbol_id> ids_;
  std::vector<slot> slots_; // symbol * frames_.size() + frame
  uint64_t late_ = 0;
  uint64_t refused_ = 0;
};

} // namespace brokedancer
