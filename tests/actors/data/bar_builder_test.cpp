// The bar builder on a known sequence of ticks and fills: every bar below is worked out by hand.

#include <catch2/catch.hpp>

#include "actors/data/bar_builder.hpp"

using namespace brokedancer;

namespace {

constexpr int64_t minute = 60 * 1000;
constexpr int64_t t0 = 1795000020000 - 1795000020000 % (5 * minute); // on the 5m grid

} // namespace

TEST_CASE("ticks become 1m and 5m bars equal to the hand-computed OHLCV", "[bars]") {
  bar_builder b{{timeframe::m1, timeframe::m5}};
  auto btc = b.intern("BTC-USD");
  std::vector<ohlcv_bar> closed;
  // Minute 0: 100, 103, 99, 101 and a fill of 2 at 102. Minute 1: 104, 98. Minute 6: 110.
  b.on_price(btc, 100, t0 + 1000, closed);
  b.on_price(btc, 103, t0 + 15000, closed);
  b.on_fill(btc, 102, 2, t0 + 20000, closed);
  b.on_price(btc, 99, t0 + 30000, closed);
  b.on_price(btc, 101, t0 + 59999, closed);
  CHECK(closed.empty());
  b.on_price(btc, 104, t0 + minute, closed);
  REQUIRE(closed.size() == 1);
  auto first = closed[0];
  CHECK(first.symbol == "BTC-USD");
  CHECK(first.frame == timeframe::m1);
  CHECK(first.open_time_ms == t0);
  CHECK(first.open == 100);
  CHECK(first.high == 103);
  CHECK(first.low == 99);
  CHECK(first.close == 101);
  CHECK(first.volume == 2);
  CHECK(first.ticks == 5);
  CHECK(check_bar(first).empty());
  b.on_price(btc, 98, t0 + minute + 10, closed);
  closed.clear();
  b.on_price(btc, 110, t0 + 6 * minute, closed);
  // The second minute, and the first five minutes (both minutes; minutes 2-4 had nothing).
  REQUIRE(closed.size() == 2);
  CHECK(closed[0].frame == timeframe::m1);
  CHECK(closed[0].open_time_ms == t0 + minute);
  CHECK((closed[0].open == 104 && closed[0].high == 104 && closed[0].low == 98
         && closed[0].close == 98 && closed[0].volume == 0 && closed[0].ticks == 2));
  CHECK(closed[1].frame == timeframe::m5);
  CHECK(closed[1].open_time_ms == t0);
  CHECK((closed[1].open == 100 && closed[1].high == 104 && closed[1].low == 98
         && closed[1].close == 98 && closed[1].volume == 2 && closed[1].ticks == 7));
  // What is forming: minute 6 and the 5m bar from minute 5.
  auto forming = b.forming();
  REQUIRE(forming.size() == 2);
  CHECK(forming[0].open_time_ms == t0 + 6 * minute);
  CHECK(forming[1].open_time_ms == t0 + 5 * minute);
  CHECK(forming[1].close == 110);
}

TEST_CASE("a late tick is dropped and counted, and flush closes the bars of a quiet symbol",
          "[bars]") {
  bar_builder b{{timeframe::s1}};
  auto eth = b.intern("ETH-USD");
  std::vector<ohlcv_bar> closed;
  b.on_price(eth, 10, 5000, closed);
  b.on_price(eth, 11, 6000, closed);
  REQUIRE(closed.size() == 1);
  b.on_price(eth, 50, 5500, closed); // for the bar already closed
  CHECK(b.late() == 1);
  CHECK(closed.size() == 1);
  b.flush(6999, closed);
  CHECK(closed.size() == 1); // its second has not ended
  b.flush(7000, closed);
  REQUIRE(closed.size() == 2);
  CHECK(closed[1].open_time_ms == 6000);
  CHECK(closed[1].close == 11);
  // A tick for the flushed second is late too: it must not open that bar again.
  b.on_price(eth, 12, 6500, closed);
  CHECK(b.late() == 2);
  CHECK(b.forming().empty());
}

TEST_CASE("prices and fills that are not numbers a bar can hold are refused", "[bars]") {
  bar_builder b{{timeframe::m1}};
  auto s = b.intern("X");
  std::vector<ohlcv_bar> closed;
  CHECK_FALSE(b.on_price(s, std::nan(""), 1000, closed));
  CHECK_FALSE(b.on_price(s, -1, 1000, closed));
  CHECK_FALSE(b.on_price(s, 0, 1000, closed));
  CHECK_FALSE(b.on_price(s, 1, -1, closed));
  CHECK_FALSE(b.on_fill(s, 1, -2, 1000, closed));
  CHECK_FALSE(b.on_price(s + 1, 1, 1000, closed)); // not interned
  CHECK(b.refused() == 6);
  CHECK(b.forming().empty());
}

TEST_CASE("a bar is checked: high at or above open and close, low at or below, on its grid",
          "[bars]") {
  ohlcv_bar bar{"BTC-USD", timeframe::m1, 120000, 100, 105, 95, 101, 3, 4};
  CHECK(check_bar(bar).empty());
  auto low_high = bar;
  low_high.high = 100.5;
  CHECK(check_bar(low_high) == "a bar's high is below its open or close");
  auto high_low = bar;
  high_low.low = 100.5;
  CHECK(check_bar(high_low) == "a bar's low is above its open or close");
  auto off_grid = bar;
  off_grid.open_time_ms = 120001;
  CHECK(check_bar(off_grid).find("multiple of 60000") != std::string::npos);
  auto nan_price = bar;
  nan_price.close = std::nan("");
  CHECK_FALSE(check_bar(nan_price).empty());
  auto no_symbol = bar;
  no_symbol.symbol.clear();
  CHECK_FALSE(check_bar(no_symbol).empty());
  auto unknown = bar;
  unknown.frame = static_cast<timeframe>(9);
  CHECK(check_bar(unknown).find("unknown timeframe") != std::string::npos);
  timeframe tf{};
  CHECK(from_string("5m", tf));
  CHECK(tf == timeframe::m5);
  CHECK_FALSE(from_string("7m", tf));
  CHECK(duration_ms(timeframe::d1) == 86400000);
}
