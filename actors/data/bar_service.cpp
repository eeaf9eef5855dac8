#include "actors/data/bar_service.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/data/bar_builder.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/bounded_buffer.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using flush_atom = caf::atom_constant<caf::atom("bar_flush")>;
using subscribe_again_atom = caf::atom_constant<caf::atom("bar_sub")>;
using bar_service_impl = bar_service_actor::extend<
    caf::reacts_to<stream_ticks_atom, std::string, std::vector<stream_entry>>,
    caf::reacts_to<flush_atom>, caf::reacts_to<subscribe_again_atom>>;

constexpr auto flush_interval = std::chrono::seconds(1);
constexpr auto subscribe_retry = std::chrono::seconds(1);

struct bar_service_state {
  bar_service_options options;
  market_stream_actor stream;
  time_series_actor series;
  std::unique_ptr<bar_builder> builder;
  std::unique_ptr<bounded_buffer<ohlcv_bar>> to_write;
  bool writing = false;
  int64_t stream_time_ms = 0; // the newest tick's time: the clock bars close by
  std::string subscribe_error;
  std::string write_error;
  uint64_t refused_bars = 0; // bars the store refused as invalid (not sent again)
  bar_service_status stats;
  logger log{"bar_service"};
};

using self_pointer = bar_service_impl::stateful_pointer<bar_service_state>;

void write_bars(self_pointer self);

void written(self_pointer self, size_t count) {
  auto& st = self->state;
  st.writing = false;
  st.stats.bars_written += count;
  if (!st.write_error.empty())
    st.log.info("the time-series store takes bars again");
  st.write_error.clear();
  write_bars(self);
}

void not_written(self_pointer self, std::vector<ohlcv_bar> bars, const caf::error& err) {
  auto& st = self->state;
  st.writing = false;
  auto why = self->system().render(err);
  // Refused for what the bars are: sent again they would be refused again, and hold up every
  // bar behind them. Dropped, and said.
  if (is(err, errc::invalid_argument)) {
    st.refused_bars += bars.size();
    st.log.error("the time-series store refused bars; they are dropped", {{"error", why}});
    write_bars(self);
    return;
  }
  st.to_write->put_back(std::move(bars));
  if (st.write_error.empty())
    st.log.warn("the time-series store does not take bars; holding them (bounded) until it does",
                {{"error", why}});
  st.write_error = why;
}

// One batch in flight at a time; the next flush tries again after a refusal.
void write_bars(self_pointer self) {
  auto& st = self->state;
  if (st.writing || st.to_write->empty())
    return;
  auto batch = st.to_write->take(max_bar_batch);
  auto count = batch.size();
  st.writing = true;
  self->request(st.series, std::chrono::seconds(5), bar_put_atom::value, batch)
      .then([self, count](uint32_t) { written(self, count); },
            [self, batch](caf::error& err) mutable { not_written(self, std::move(batch), err); });
}

void keep(self_pointer self, std::vector<ohlcv_bar>& bars) {
  for (auto& bar : bars)
    self->state.to_write->push(std::move(bar));
  bars.clear();
}

// Bars close by the ticks' own time; one timed far ahead (a wrong clock, a hostile writer) would
// close every forming bar and make every later tick late, so it is not folded in.
constexpr int64_t max_tick_lead_ms = 1000;
// A quiet symbol's bar closes only this long after the stream's time passed its end: a tick
// within the allowed lead cannot close another symbol's bar early.
constexpr int64_t close_grace_ms = 1000;

int64_t wall_ms() {
  return now_us() / 1000;
}

void on_ticks(self_pointer self, const std::vector<stream_entry>& entries) {
  auto& st = self->state;
  std::vector<ohlcv_bar> closed;
  auto latest_allowed = wall_ms() + max_tick_lead_ms;
  for (const auto& entry : entries) {
    const auto& tick = entry.tick;
    auto at_ms = tick.at_us / 1000;
    if (at_ms > latest_allowed
        || (st.builder->symbols() >= st.options.max_symbols && !st.builder->knows(tick.symbol))) {
      ++st.stats.refused;
      continue;
    }
    auto symbol = st.builder->intern(tick.symbol);
    bool taken = tick.volume > 0
                     ? st.builder->on_fill(symbol, tick.price, tick.volume, at_ms, closed)
                     : st.builder->on_price(symbol, tick.price, at_ms, closed);
    if (taken) {
      ++st.stats.ticks;
      st.stream_time_ms = std::max(st.stream_time_ms, at_ms);
    }
  }
  keep(self, closed);
  write_bars(self);
}

// Quiet symbols' bars close by the stream's time; the forming ones are written as they stand.
void flush(self_pointer self) {
  auto& st = self->state;
  std::vector<ohlcv_bar> bars;
  if (st.stream_time_ms > close_grace_ms)
    st.builder->flush(st.stream_time_ms - close_grace_ms, bars);
  // The forming bars are snapshots: written when the store keeps up, never queued behind the
  // closed bars (a queue of stale snapshots would push out the bars that count).
  if (!st.writing && st.to_write->empty() && bars.empty()) {
    auto forming = st.builder->forming();
    bars.insert(bars.end(), forming.begin(), forming.end());
  }
  keep(self, bars);
  write_bars(self);
  self->delayed_send(self, flush_interval, flush_atom::value);
}

void subscribe(self_pointer self) {
  auto& st = self->state;
  self->request(st.stream, std::chrono::seconds(5), stream_sub_atom::value, st.options.stream,
                caf::actor_cast<caf::actor>(self))
      .then(
          [self](bool) {
            auto& s = self->state;
            s.stats.subscribed = true;
            s.subscribe_error.clear();
            s.log.info("building bars from the market-data stream", {{"stream", s.options.stream}});
          },
          [self](caf::error& err) {
            auto& s = self->state;
            s.subscribe_error = self->system().render(err);
            self->delayed_send(self, subscribe_retry, subscribe_again_atom::value);
          });
}

bar_service_status status(self_pointer self) {
  auto& st = self->state;
  auto stats = st.stats;
  stats.bars_buffered = st.to_write->size();
  stats.bars_dropped = st.to_write->dropped();
  stats.late = st.builder->late();
  stats.bars_dropped += st.refused_bars;
  stats.last_error = !st.write_error.empty() ? st.write_error : st.subscribe_error;
  return stats;
}

bar_service_impl::behavior_type bar_service(self_pointer self, bar_service_options options,
                                            market_stream_actor stream, time_series_actor series) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.stream = std::move(stream);
  st.series = std::move(series);
  st.builder = std::make_unique<bar_builder>(st.options.frames);
  st.to_write = std::make_unique<bounded_buffer<ohlcv_bar>>(st.options.max_buffered_bars);
  st.stats.stream = st.options.stream;
  subscribe(self);
  self->delayed_send(self, flush_interval, flush_atom::value);
  return {
      [self](stream_ticks_atom, const std::string&, const std::vector<stream_entry>& entries) {
        on_ticks(self, entries);
      },
      [self](flush_atom) { flush(self); },
      [self](subscribe_again_atom) { subscribe(self); },
      [self](status_atom) { return status(self); },
  };
}

} // namespace

bar_service_actor spawn_bar_service(caf::actor_system& sys, bar_service_options options,
                                    market_stream_actor stream, time_series_actor series) {
  return caf::actor_cast<bar_service_actor>(
      sys.spawn(bar_service, std::move(options), std::move(stream), std::move(series)));
}

} // namespace brokedancer
