#include "actors/series/memory_series.hpp"

#include <set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/series/series_requests.hpp"
#include "actors/series/series_table.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

struct memory_series_data {
  explicit memory_series_data(series_settings settings) : table(settings) {}

  series_table table;
  series_status stats;
};

std::shared_ptr<memory_series_data> make_memory_series_data(series_settings settings) {
  auto data = std::make_shared<memory_series_data>(settings);
  data->stats.backend = "memory";
  data->stats.available = true;
  return data;
}

namespace {

struct memory_series_state {
  std::shared_ptr<memory_series_data> data;
};

using self_pointer = time_series_actor::stateful_pointer<memory_series_state>;

// Series this process keeps at most: every name a client writes to is a series.
constexpr size_t max_series = 100000;

caf::error full() {
  return make_error(errc::store_unavailable, "the memory time-series store holds its most ("
                                                 + std::to_string(max_series)
                                                 + " series); write to fewer names");
}

caf::result<bool> add(self_pointer self, const std::string& metric, int64_t at_ms, double value) {
  if (auto err = check_add(metric, at_ms, value))
    return err;
  auto& d = *self->state.data;
  if (!d.table.has_metric(metric) && d.table.series() >= max_series)
    return full();
  ++d.stats.points_added;
  return d.table.add(metric, at_ms, value);
}

caf::result<std::vector<series_point>> range(self_pointer self, const std::string& metric,
                                             int64_t from_ms, int64_t to_ms, uint32_t count) {
  if (auto err = check_range(metric, from_ms, to_ms, count))
    return err;
  auto& d = *self->state.data;
  ++d.stats.reads;
  return d.table.range(metric, from_ms, to_ms, count);
}

caf::result<std::vector<series_point>> last(self_pointer self, const std::string& metric,
                                            uint32_t n) {
  if (auto err = check_last(metric, n))
    return err;
  auto& d = *self->state.data;
  ++d.stats.reads;
  return d.table.last(metric, n);
}

caf::result<series_stats> stats(self_pointer self, const std::string& metric, int64_t from_ms,
                                int64_t to_ms) {
  if (auto err = check_stats(metric, from_ms, to_ms))
    return err;
  auto& d = *self->state.data;
  ++d.stats.reads;
  return d.table.stats(metric, from_ms, to_ms);
}

caf::result<uint32_t> put_bars(self_pointer self, const std::vector<ohlcv_bar>& bars) {
  if (auto err = check_bars(bars))
    return err;
  auto& d = *self->state.data;
  // Which series the batch would add is looked at only when it could cross the bound.
  if (d.table.series() + bars.size() > max_series) {
    std::set<std::pair<std::string, timeframe>> new_series;
    for (const auto& bar : bars)
      if (!d.table.has_bars(bar.symbol, bar.frame))
        new_series.emplace(bar.symbol, bar.frame);
    if (d.table.series() + new_series.size() > max_series)
      return full();
  }
  uint32_t added = 0;
  for (const auto& bar : bars)
    added += d.table.put_bar(bar) ? 1 : 0;
  d.stats.bars_written += bars.size();
  return added;
}

caf::result<std::vector<ohlcv_bar>> last_bars(self_pointer self, const std::string& symbol,
                                              timeframe frame, uint32_t n) {
  if (auto err = check_bars_last(symbol, frame, n))
    return err;
  auto& d = *self->state.data;
  ++d.stats.reads;
  return d.table.last_bars(symbol, frame, n);
}

caf::result<std::vector<ohlcv_bar>> bars_range(self_pointer self, const std::string& symbol,
                                               timeframe frame, int64_t from_ms, int64_t to_ms,
                                               uint32_t count) {
  if (auto err = check_bars_range(symbol, frame, from_ms, to_ms, count))
    return err;
  auto& d = *self->state.data;
  ++d.stats.reads;
  return d.table.bars_range(symbol, frame, from_ms, to_ms, count);
}

series_status status(self_pointer self) {
  auto stats = self->state.data->stats;
  stats.series = self->state.data->table.series();
  return stats;
}

time_series_actor::behavior_type memory_series(self_pointer self,
                                               std::shared_ptr<memory_series_data> data) {
  exit_with_exception_text(self);
  self->state.data = std::move(data);
  return {
      [self](series_add_atom, const std::string& metric, int64_t at_ms, double value) {
        return add(self, metric, at_ms, value);
      },
      [self](series_range_atom, const std::string& metric, int64_t from_ms, int64_t to_ms,
             uint32_t count) { return range(self, metric, from_ms, to_ms, count); },
      [self](series_last_atom, const std::string& metric, uint32_t n) {
        return last(self, metric, n);
      },
      [self](series_stats_atom, const std::string& metric, int64_t from_ms, int64_t to_ms) {
        return stats(self, metric, from_ms, to_ms);
      },
      [self](bar_put_atom, const std::vector<ohlcv_bar>& bars) { return put_bars(self, bars); },
      [self](bars_last_atom, const std::string& symbol, timeframe frame, uint32_t n) {
        return last_bars(self, symbol, frame, n);
      },
      [self](bars_range_atom, const std::string& symbol, timeframe frame, int64_t from_ms,
             int64_t to_ms,
             uint32_t count) { return bars_range(self, symbol, frame, from_ms, to_ms, count); },
      [self](status_atom) { return status(self); },
  };
}

} // namespace

time_series_actor spawn_memory_series(caf::actor_system& sys,
                                      std::shared_ptr<memory_series_data> data) {
  return caf::actor_cast<time_series_actor>(sys.spawn(memory_series, std::move(data)));
}

} // namespace brokedancer
