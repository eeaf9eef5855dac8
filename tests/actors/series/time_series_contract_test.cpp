// The time-series store's contract, run against every backend: the memory one and Redis sorted
// sets (the real redis-server the test command starts).

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "messages/time_series.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"
#include "support/store_fixture.hpp"
#include "support/supervised_child.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using testing::memory_backend;
using testing::redis_backend;

namespace {

constexpr int64_t t0 = 1700000000000;
constexpr int64_t minute = 60000;

ohlcv_bar bar(const std::string& symbol, int64_t open_time_ms, double open, double high, double low,
              double close, double volume = 0) {
  return {symbol, timeframe::m1, open_time_ms, open, high, low, close, volume, 4};
}

struct series_fixture : testing::supervised_child {
  time_series_actor series;

  explicit series_fixture(environment settings)
    : supervised_child(std::move(settings), time_series_child),
      series(caf::actor_cast<time_series_actor>(handle)) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = testing::call<series_status>(*sys, series, status_atom::value);
      if (s && s->available)
        return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("the time-series store did not become available");
  }

  template <class T, class... Ts>
  caf::expected<T> call(Ts&&... xs) {
    return testing::call<T>(*sys, series, std::forward<Ts>(xs)...);
  }

  bool add(const std::string& metric, int64_t at_ms, double value) {
    auto added = call<bool>(series_add_atom::value, metric, at_ms, value);
    REQUIRE(added);
    return *added;
  }

  std::vector<series_point> range(const std::string& metric, int64_t from, int64_t to,
                                  uint32_t count = 1000) {
    auto points =
        call<std::vector<series_point>>(series_range_atom::value, metric, from, to, count);
    REQUIRE(points);
    return *points;
  }

  std::vector<series_point> last(const std::string& metric, uint32_t n) {
    auto points = call<std::vector<series_point>>(series_last_atom::value, metric, n);
    REQUIRE(points);
    return *points;
  }

  series_stats stats(const std::string& metric, int64_t from = 0,
                     int64_t to = std::numeric_limits<int64_t>::max()) {
    auto s = call<series_stats>(series_stats_atom::value, metric, from, to);
    REQUIRE(s);
    return *s;
  }

  uint32_t put(const std::vector<ohlcv_bar>& bars) {
    auto added = call<uint32_t>(bar_put_atom::value, bars);
    REQUIRE(added);
    return *added;
  }

  std::vector<ohlcv_bar> last_bars(const std::string& symbol, timeframe frame, uint32_t n) {
    auto bars = call<std::vector<ohlcv_bar>>(bars_last_atom::value, symbol, frame, n);
    REQUIRE(bars);
    return *bars;
  }
};

std::vector<int64_t> times(const std::vector<series_point>& points) {
  std::vector<int64_t> out;
  for (const auto& p : points)
    out.push_back(p.at_ms);
  return out;
}

std::vector<int64_t> open_times(const std::vector<ohlcv_bar>& bars) {
  std::vector<int64_t> out;
  for (const auto& b : bars)
    out.push_back(b.open_time_ms);
  return out;
}

} // namespace

TEMPLATE_TEST_CASE("points come back by time range and as the newest n, oldest first", "[series]",
                   memory_backend, redis_backend) {
  series_fixture f{testing::with<TestType>()};
  for (int64_t i = 0; i < 10; ++i)
    CHECK(f.add("metrics:latency", t0 + i * 1000, 40.0 + static_cast<double>(i) + 0.5));
  auto middle = f.range("metrics:latency", t0 + 2000, t0 + 4000);
  CHECK(times(middle) == std::vector<int64_t>{t0 + 2000, t0 + 3000, t0 + 4000});
  CHECK(middle[0].value == 42.5);
  CHECK(times(f.range("metrics:latency", t0, t0 + 9000, 2)) == std::vector<int64_t>{t0, t0 + 1000});
  CHECK(times(f.last("metrics:latency", 3))
        == std::vector<int64_t>{t0 + 7000, t0 + 8000, t0 + 9000});
  CHECK(f.last("metrics:latency", 100).size() == 10);
  CHECK(f.last("metrics:nothing", 5).empty());
}

TEMPLATE_TEST_CASE("a point added at a time that has one replaces it", "[series]", memory_backend,
                   redis_backend) {
  series_fixture f{testing::with<TestType>()};
  CHECK(f.add("metrics:latency", t0, 45.5));
  CHECK_FALSE(f.add("metrics:latency", t0, 52.3));
  auto points = f.last("metrics:latency", 10);
  REQUIRE(points.size() == 1);
  CHECK(points[0].value == 52.3);
}

TEMPLATE_TEST_CASE("stats give count, min, max, avg and the last value of a range", "[series]",
                   memory_backend, redis_backend) {
  series_fixture f{testing::with<TestType>()};
  f.add("metrics:latency", t0 + 3000, 30);
  f.add("metrics:latency", t0 + 1000, 10);
  f.add("metrics:latency", t0 + 2000, 50);
  f.add("metrics:latency", t0 + 9000, 1000); // outside the range below
  auto s = f.stats("metrics:latency", t0, t0 + 5000);
  CHECK(s.count == 3);
  CHECK(s.min == 10);
  CHECK(s.max == 50);
  CHECK(s.avg == Approx(30));
  CHECK(s.last == 30);
  CHECK(s.first_ms == t0 + 1000);
  CHECK(s.last_ms == t0 + 3000);
  CHECK(f.stats("metrics:latency").count == 4);
  CHECK(f.stats("metrics:nothing").count == 0);
}

TEMPLATE_TEST_CASE("a series keeps its newest max_points points and none older than its retention",
                   "[series]", memory_backend, redis_backend) {
  series_fixture f{testing::with<TestType>(
      {{"BROKEDANCER_TIMESERIES_MAX_POINTS", "5"}, {"BROKEDANCER_TIMESERIES_RETENTION_S", "3"}})};
  for (int64_t i = 0; i < 8; ++i)
    f.add("metrics:depth", t0 + i * 100, static_cast<double>(i));
  CHECK(times(f.last("metrics:depth", 100))
        == std::vector<int64_t>{t0 + 300, t0 + 400, t0 + 500, t0 + 600, t0 + 700});
  // A point 10 s later leaves only what is within 3 s of it.
  f.add("metrics:depth", t0 + 10700, 99);
  CHECK(times(f.last("metrics:depth", 100)) == std::vector<int64_t>{t0 + 10700});
}

TEMPLATE_TEST_CASE("bars are kept per symbol and timeframe, and a bar written again with its open "
                   "time replaces the first",
                   "[series]", memory_backend, redis_backend) {
  series_fixture f{testing::with<TestType>()};
  auto first = bar("AAPL", 28333333 * minute, 175, 176.5, 174.5, 175.25, 1000000);
  auto second = bar("AAPL", 28333334 * minute, 175.25, 177, 175, 176, 500);
  auto other = bar("MSFT", 28333334 * minute, 300, 301, 299, 300.5);
  auto hourly = first;
  hourly.frame = timeframe::h1;
  hourly.open_time_ms = int64_t{472222} * 3600000;
  CHECK(f.put({first, second, other, hourly}) == 4);
  auto aapl = f.last_bars("AAPL", timeframe::m1, 60);
  REQUIRE(aapl.size() == 2);
  CHECK(aapl[0].open == 175);
  CHECK(aapl[0].high == 176.5);
  CHECK(aapl[0].low == 174.5);
  CHECK(aapl[0].close == 175.25);
  CHECK(aapl[0].volume == 1000000);
  CHECK(aapl[0].ticks == 4);
  CHECK(aapl[1].close == 176);
  CHECK(f.last_bars("AAPL", timeframe::h1, 10).size() == 1);
  CHECK(f.last_bars("MSFT", timeframe::m1, 10).size() == 1);
  // A correction.
  auto corrected = first;
  corrected.close = 175.5;
  corrected.high = 177;
  CHECK(f.put({corrected}) == 0);
  aapl = f.last_bars("AAPL", timeframe::m1, 60);
  REQUIRE(aapl.size() == 2);
  CHECK(aapl[0].close == 175.5);
  CHECK(aapl[0].high == 177);
  auto ranged =
      f.call<std::vector<ohlcv_bar>>(bars_range_atom::value, std::string{"AAPL"}, timeframe::m1,
                                     28333334 * minute, 28333400 * minute, uint32_t{10});
  REQUIRE(ranged);
  CHECK(open_times(*ranged) == std::vector<int64_t>{28333334 * minute});
}

TEMPLATE_TEST_CASE("bad input is refused with a typed error, and nothing of a refused batch is "
                   "kept",
                   "[series]", memory_backend, redis_backend) {
  series_fixture f{testing::with<TestType>()};
  auto refused = [&](caf::error err, const std::string& words) {
    CHECK(is(err, errc::invalid_argument));
    CHECK_THAT(f.sys->render(err), Catch::Contains(words));
  };
  auto nan_point = f.call<bool>(series_add_atom::value, std::string{"metrics:x"}, t0,
                                std::numeric_limits<double>::quiet_NaN());
  REQUIRE_FALSE(nan_point);
  refused(nan_point.error(), "finite");
  auto empty_name = f.call<bool>(series_add_atom::value, std::string{}, t0, 1.0);
  REQUIRE_FALSE(empty_name);
  refused(empty_name.error(), "must not be empty");
  auto backwards = f.call<std::vector<series_point>>(
      series_range_atom::value, std::string{"metrics:x"}, t0 + 10, t0, uint32_t{10});
  REQUIRE_FALSE(backwards);
  refused(backwards.error(), "after its end");

  auto good = bar("AAPL", 28333333 * minute, 175, 176.5, 174.5, 175.25);
  auto low_above_close = good;
  low_above_close.low = 180;
  auto off_grid = good;
  off_grid.open_time_ms += 1;
  auto empty_symbol = good;
  empty_symbol.symbol.clear();
  auto unknown_frame = good;
  unknown_frame.frame = static_cast<timeframe>(42);
  for (const auto& [bad, words] :
       std::vector<std::pair<ohlcv_bar, std::string>>{{low_above_close, "low is above"},
                                                      {off_grid, "opens on a multiple"},
                                                      {empty_symbol, "symbol"},
                                                      {unknown_frame, "unknown timeframe"}}) {
    auto written = f.call<uint32_t>(bar_put_atom::value, std::vector<ohlcv_bar>{good, bad});
    REQUIRE_FALSE(written);
    refused(written.error(), words);
  }
  CHECK(f.last_bars("AAPL", timeframe::m1, 10).empty());
  auto unknown_read = f.call<std::vector<ohlcv_bar>>(bars_last_atom::value, std::string{"AAPL"},
                                                     static_cast<timeframe>(42), uint32_t{10});
  REQUIRE_FALSE(unknown_read);
  refused(unknown_read.error(), "unknown timeframe");
  auto too_many = f.call<std::vector<series_point>>(
      series_last_atom::value, std::string{"metrics:x"}, uint32_t{max_series_read + 1});
  REQUIRE_FALSE(too_many);
  refused(too_many.error(), "a read takes");
}

TEST_CASE("members another Redis client wrote that are not points or bars are skipped and counted",
          "[series]") {
  auto settings = testing::with<redis_backend>();
  series_fixture f{settings};
  f.add("metrics:latency", t0, 1.5);
  auto prefix = settings.at("BROKEDANCER_STATE_KEY_PREFIX");
  testing::redis_command(testing::shared_redis_url(),
                         {"ZADD", prefix + "ts:metrics:latency", std::to_string(t0 + 1), "junk"});
  testing::redis_command(testing::shared_redis_url(),
                         {"ZADD", prefix + "bars:AAPL:1m", "0", R"({"symbol":"AAPL"})"});
  auto points = f.last("metrics:latency", 10);
  REQUIRE(points.size() == 1);
  CHECK(points[0].value == 1.5);
  CHECK(f.last_bars("AAPL", timeframe::m1, 10).empty());
  auto s = f.call<series_status>(status_atom::value);
  REQUIRE(s);
  CHECK(s->rejected == 2);
}
