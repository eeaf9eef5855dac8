// bar-builder: ticks into OHLCV bars on one core, plain code without an actor (the target:
// 5 M ticks/s into 1m bars). 8 symbols taking turns, one tick every 100 us of market time, so
// that bars close as they would in a busy market.
//
// Baseline from the same run: the same ticks read from the same array and folded into a
// running high/low per symbol -- the loop and its memory traffic without the builder.

#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "actors/data/bar_builder.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

// 4 M ticks (96 MB) read 5 times, each pass later in market time: 20 M ticks.
constexpr size_t tick_count = 4'000'000;
constexpr int passes = 5;
constexpr uint32_t symbols = 8;

struct tick {
  uint32_t symbol;
  double price;
  int64_t at_ms;
};

const std::vector<tick>& ticks() {
  static const std::vector<tick> all = [] {
    std::vector<tick> v;
    v.reserve(tick_count);
    std::mt19937_64 random{42};
    std::normal_distribution<double> step{0, 0.0005};
    std::vector<double> price(symbols, 100.0);
    for (size_t i = 0; i < tick_count; ++i) {
      auto s = static_cast<uint32_t>(i % symbols);
      price[s] *= std::exp(step(random));
      v.push_back({s, price[s], 1795000000000 + static_cast<int64_t>(i / 10)});
    }
    return v;
  }();
  return all;
}

double build(std::vector<timeframe> frames, size_t& bars) {
  bar_builder builder{std::move(frames)};
  std::vector<bar_builder::symbol_id> ids;
  for (uint32_t s = 0; s < symbols; ++s)
    ids.push_back(builder.intern("SYM-" + std::to_string(s)));
  std::vector<ohlcv_bar> closed;
  const auto& all = ticks();
  auto span_ms = all.back().at_ms - all.front().at_ms + 1;
  auto started = clock::now();
  for (int pass = 0; pass < passes; ++pass)
    for (const auto& t : all) {
      builder.on_price(ids[t.symbol], t.price, t.at_ms + pass * span_ms, closed);
      if (closed.size() > 4096) {
        bars += closed.size();
        closed.clear();
      }
    }
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  bars += closed.size();
  return static_cast<double>(all.size()) * passes / seconds;
}

double fold(double& sink) {
  std::vector<double> high(symbols, 0), low(symbols, 1e300);
  const auto& all = ticks();
  auto started = clock::now();
  for (int pass = 0; pass < passes; ++pass)
    for (const auto& t : all) {
      high[t.symbol] = std::max(high[t.symbol], t.price);
      low[t.symbol] = std::min(low[t.symbol], t.price);
    }
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  for (uint32_t s = 0; s < symbols; ++s)
    sink += high[s] - low[s];
  return static_cast<double>(all.size()) * passes / seconds;
}

samples run(const run_context&) {
  samples out;
  size_t bars = 0;
  out["ticks_into_1m_bars"] = build({timeframe::m1}, bars);
  out["ticks_into_every_timeframe"] = build(all_timeframes(), bars);
  double sink = 0;
  out["fold_baseline"] = fold(sink);
  // Keeps the bars and the fold from being optimised away.
  out["bars_closed"] = static_cast<double>(bars) + (sink > 0 ? 0 : 1);
  return out;
}

const bool registered = register_scenario({
    "bar-builder",
    "20 M ticks of 8 symbols (4 M read 5 times) into OHLCV bars on one core, beside a fold of "
    "the same ticks",
    {
        {"ticks_into_1m_bars", "ticks/s", "ticks folded into 1m bars", true, "fold_baseline"},
        {"ticks_into_every_timeframe", "ticks/s", "into 1s, 1m, 5m, 15m, 1h, 4h and 1d bars", true,
         "fold_baseline"},
        {"fold_baseline", "ticks/s", "the same ticks into a running high/low", true, ""},
        {"bars_closed", "bars", "bars handed out over both builds", true, ""},
    },
    run,
});

} // namespace

} // namespace brokedancer::bench
