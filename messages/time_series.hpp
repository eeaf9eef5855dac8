#pragma once

// The time-series store's contract: every backend (memory; Redis sorted sets, Redis 7 as packaged
// has no time-series module) answers the same requests the same way.
//
// Two kinds of series:
//  - points of a metric ("metrics:latency"): a value at a time in ms since the Unix epoch, one
//    per millisecond -- a point added at a time that has one replaces it;
//  - OHLCV bars of a symbol and timeframe (messages/bars.hpp): one per open time -- a bar written
//    again with the same open time replaces the first (a correction). A bar is checked
//    (check_bar: high >= open, close >= low, on the timeframe's grid) before it is kept.
// Each series keeps at most max_points points (or bars), the newest, and points no older than
// retention_ms before its newest (0: no bound), as configured (timeseries.*).
//
// On Redis a metric is the sorted set <prefix>ts:<metric> (score: the time, member
// "<time>:<value>"), the bars of a symbol and timeframe <prefix>bars:<symbol>:<timeframe>
// (score: the open time, member the bar as JSON); writes are Lua scripts, so that replacing a
// point and trimming the series are one step for every reader.
//
// Errors (caf::error with errc): invalid_argument (a bad name, time, value, count or bar -- the
// message says which), store_unavailable (Redis cannot be reached: nothing was done, or it is not
// known whether it was).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/bars.hpp"

namespace brokedancer {

struct series_point {
  int64_t at_ms = 0;
  double value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_point& x) {
  return f(caf::meta::type_name("series_point"), x.at_ms, x.value);
}

// Of the points in a range; all 0 when there are none (count says so).
struct series_stats {
  uint64_t count = 0;
  double min = 0;
  double max = 0;
  double avg = 0;
  double last = 0; // the value of the newest point
  int64_t first_ms = 0;
  int64_t last_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_stats& x) {
  return f(caf::meta::type_name("series_stats"), x.count, x.min, x.max, x.avg, x.last, x.first_ms,
           x.last_ms);
}

struct series_settings {
  uint64_t max_points = 100000; // points (bars) a series keeps at most, the newest
  int64_t retention_ms = 0;     // and none older than this before its newest; 0: no bound
};

struct series_status {
  std::string backend;    // "memory" or "redis"
  bool available = false; // false while the Redis backend is disconnected
  uint64_t points_added = 0;
  uint64_t bars_written = 0;
  uint64_t reads = 0;
  uint64_t failures = 0; // requests answered with store_unavailable
  uint64_t rejected = 0; // redis: members read that were not points or bars (skipped)
  uint64_t series = 0;   // memory: series kept; redis: not counted (0)
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, series_status& x) {
  return f(caf::meta::type_name("series_status"), x.backend, x.available, x.points_added,
           x.bars_written, x.reads, x.failures, x.rejected, x.series, x.last_error);
}

// The bar service: bars built from the market-data stream's ticks, written to the store.
struct bar_service_status {
  std::string stream;         // the stream it reads live
  bool subscribed = false;    // its live subscription is in place
  uint64_t ticks = 0;         // ticks folded into bars
  uint64_t bars_written = 0;  // bars the store took (closed ones, and forming ones each second)
  uint64_t bars_buffered = 0; // bars waiting for the store (while it is away)
  uint64_t bars_dropped = 0;  // bars the bounded buffer let go of while the store was away
  uint64_t late = 0;          // ticks for an interval already closed (dropped)
  // Ticks dropped unfolded: timed more than a minute ahead of this node's clock, or of a symbol
  // past the service's bound on symbols.
  uint64_t refused = 0;
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bar_service_status& x) {
  return f(caf::meta::type_name("bar_service_status"), x.stream, x.subscribed, x.ticks,
           x.bars_written, x.bars_buffered, x.bars_dropped, x.late, x.refused, x.last_error);
}

using bar_service_actor = caf::typed_actor<caf::replies_to<status_atom>::with<bar_service_status>>;

// Bounds of a request.
constexpr size_t max_series_name_bytes = 200;
constexpr uint32_t max_series_read = 10000; // points or bars in one reply
constexpr size_t max_bar_batch = 1000;      // bars in one write
// Stats are computed over at most this many points (the newest of the range): a bound on what
// one request may make Redis do while every other client waits.
constexpr uint32_t max_stats_points = 100000;
// The latest time of a point or bar, the end of the year 9999: below 2^53, so that every time is
// exact as a Redis score (a double).
constexpr int64_t max_series_time_ms = 253402300799999;

// Why a request cannot be taken (empty when it can).
std::string check_series_name(const std::string& name);
std::string check_point(int64_t at_ms, double value);
std::string check_series_read(int64_t from_ms, int64_t to_ms, uint32_t count);

// The stats of `points` (any order).
series_stats stats_of(const std::vector<series_point>& points);

using series_add_atom = caf::atom_constant<caf::atom("ts_add")>;
using series_range_atom = caf::atom_constant<caf::atom("ts_range")>;
using series_last_atom = caf::atom_constant<caf::atom("ts_last")>;
using series_stats_atom = caf::atom_constant<caf::atom("ts_stats")>;
using bar_put_atom = caf::atom_constant<caf::atom("bar_put")>;
using bars_last_atom = caf::atom_constant<caf::atom("bars_last")>;
using bars_range_atom = caf::atom_constant<caf::atom("bars_rng")>;

using time_series_actor = caf::typed_actor<
    // (metric, at_ms, value) -> true when new, false when it replaced the point at that time.
    caf::replies_to<series_add_atom, std::string, int64_t, double>::with<bool>,
    // (metric, from_ms, to_ms, count) -> up to `count` points from <= at <= to, oldest first.
    caf::replies_to<series_range_atom, std::string, int64_t, int64_t,
                    uint32_t>::with<std::vector<series_point>>,
    // (metric, n) -> the newest n points, oldest first.
    caf::replies_to<series_last_atom, std::string, uint32_t>::with<std::vector<series_point>>,
    // (metric, from_ms, to_ms) -> count, min, max, avg, last of the newest max_stats_points
    // points in the range.
    caf::replies_to<series_stats_atom, std::string, int64_t, int64_t>::with<series_stats>,
    // (bars) -> how many were new (the others replaced a bar): all checked first, all or none.
    caf::replies_to<bar_put_atom, std::vector<ohlcv_bar>>::with<uint32_t>,
    // (symbol, timeframe, n) -> the newest n bars, oldest first.
    caf::replies_to<bars_last_atom, std::string, timeframe, uint32_t>::with<std::vector<ohlcv_bar>>,
    // (symbol, timeframe, from_ms, to_ms, count) -> bars opened from <= t <= to, oldest first.
    caf::replies_to<bars_range_atom, std::string, timeframe, int64_t, int64_t,
                    uint32_t>::with<std::vector<ohlcv_bar>>,
    caf::replies_to<status_atom>::with<series_status>>;

} // namespace brokedancer
