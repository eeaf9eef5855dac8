#include "actors/market/stream_replayer.hpp"

#include <algorithm>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/market/replay_pacer.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using pace_atom = caf::atom_constant<caf::atom("rp_pace")>;
using replayer_impl = market_actor::extend<caf::reacts_to<pace_atom>>;

// Ticks handed to the bus in one batch; the next waits for its answer (as fast as it takes
// them, and no faster).
constexpr size_t batch_ticks = 64;

struct replayer_state {
  stream_replayer_options options;
  market_stream_actor stream;
  event_bus_actor bus;
  state_store_actor store;
  std::unique_ptr<replay_pacer> pacer;
  std::chrono::steady_clock::time_point began;
  bool started = false;
  bool publishing = false;
  bool pace_armed = false;
  bool caching = false; // a write of the quote cache is unanswered
  uint64_t ticks = 0;
  std::map<std::string, quote> latest;
  std::map<std::string, uint64_t> sequences;
  logger log{"market"};
};

using self_pointer = replayer_impl::stateful_pointer<replayer_state>;

void pace(self_pointer self);

void read_more(self_pointer self) {
  auto& st = self->state;
  if (!st.pacer->wants_more())
    return;
  st.pacer->reading();
  self->request(st.stream, std::chrono::seconds(10), replay_atom::value, st.options.stream,
                st.pacer->next_from(), std::string{"+"}, static_cast<uint32_t>(replay_pacer::chunk))
      .then(
          [self](const std::vector<stream_entry>& entries) {
            self->state.pacer->add(entries);
            pace(self);
          },
          [self](caf::error& err) {
            auto& s = self->state;
            s.log.warn("the recording could not be read; trying again in a second",
                       {{"stream", s.options.stream}, {"error", self->system().render(err)}});
            s.pacer->read_failed();
            if (!s.pace_armed) {
              s.pace_armed = true;
              self->delayed_send(self, std::chrono::seconds(1), pace_atom::value);
            }
          });
}

quote quote_of(replayer_state& st, const market_tick& tick) {
  quote q;
  q.symbol = tick.symbol;
  q.last = tick.price;
  q.bid = tick.bid > 0 ? tick.bid : tick.price;
  q.ask = tick.ask > 0 ? tick.ask : tick.price;
  q.sequence = ++st.sequences[tick.symbol];
  q.at_us = now_us();
  return q;
}

// One write of the quote cache at a time, as the market does: a batch whose write would wait
// behind a slow store is skipped (the next carries newer quotes).
void cache(self_pointer self) {
  auto& st = self->state;
  if (!st.store || st.options.quote_ttl_ms <= 0 || st.caching)
    return;
  std::vector<key_value> values;
  for (const auto& [symbol, q] : st.latest)
    values.push_back({quote_cache_key(symbol), encode_quote(q)});
  st.caching = true;
  self->request(st.store, std::chrono::seconds(5), set_many_atom::value, std::move(values),
                st.options.quote_ttl_ms)
      .then([self]() { self->state.caching = false; },
            [self](caf::error&) { self->state.caching = false; });
}

bool finished(const replayer_state& st) {
  return st.pacer->done() || (st.options.max_ticks > 0 && st.ticks >= st.options.max_ticks);
}

void publish(self_pointer self, const std::vector<market_tick>& ticks) {
  auto& st = self->state;
  std::vector<event_draft> batch;
  for (const auto& tick : ticks) {
    auto q = quote_of(st, tick);
    batch.push_back({"market." + q.symbol, encode_quote(q), {}});
    st.latest[q.symbol] = std::move(q);
  }
  st.ticks += ticks.size();
  cache(self);
  // Appended as they are published, not awaited: a stream that is away loses these (status).
  if (!st.options.stream_out.empty() && st.options.stream_out != st.options.stream)
    caf::anon_send(st.stream, stream_publish_atom::value, st.options.stream_out, ticks);
  st.publishing = true;
  self->request(st.bus, std::chrono::seconds(5), publish_batch_atom::value, std::move(batch))
      .then(
          [self](uint64_t) {
            self->state.publishing = false;
            pace(self);
          },
          [self](caf::error& err) {
            auto& s = self->state;
            s.publishing = false;
            s.log.warn("replayed ticks could not be published",
                       {{"error", self->system().render(err)}});
            pace(self);
          });
}

// Publishes what is due, then waits for the bus, the recording or the next tick's time.
void pace(self_pointer self) {
  auto& st = self->state;
  if (!st.started || st.publishing || finished(st))
    return;
  read_more(self);
  auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - st.began)
                     .count();
  auto room = st.options.max_ticks > 0
                  ? std::min<uint64_t>(batch_ticks, st.options.max_ticks - st.ticks)
                  : batch_ticks;
  auto ticks = st.pacer->due(elapsed, room);
  if (!ticks.empty()) {
    publish(self, ticks);
  } else if (auto next = st.pacer->next_due_us(); next && !st.pace_armed) {
    st.pace_armed = true;
    // At most the pacer's longest gap: due() has moved its clock to that, whatever the stamp.
    auto wait_us = std::clamp<int64_t>(*next - elapsed, 0, replay_pacer::max_gap_us);
    self->delayed_send(self, std::chrono::microseconds(wait_us), pace_atom::value);
  }
  if (finished(st))
    st.log.info("the recording has been played back",
                {{"stream", st.options.stream}, {"ticks", st.ticks}});
}

market_status status(self_pointer self) {
  auto& st = self->state;
  market_status s;
  s.running = st.started && !finished(st);
  s.ticks = st.ticks;
  s.max_ticks = st.options.max_ticks;
  for (const auto& [symbol, q] : st.latest)
    s.quotes.push_back(q);
  s.stream = st.options.stream;
  s.stream_available = true;
  return s;
}

replayer_impl::behavior_type stream_replayer(self_pointer self, stream_replayer_options options,
                                             market_stream_actor stream, event_bus_actor bus,
                                             state_store_actor store) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.stream = std::move(stream);
  st.bus = std::move(bus);
  st.store = std::move(store);
  st.pacer = std::make_unique<replay_pacer>(st.options.original_pace);
  return {
      [self](start_atom) {
        auto& s = self->state;
        if (!s.started) {
          s.started = true;
          s.began = std::chrono::steady_clock::now();
          s.log.info("market opens: playing back a recording",
                     {{"stream", s.options.stream},
                      {"pace", s.options.original_pace ? "original" : "fast"}});
          pace(self);
        }
        return true;
      },
      [self](pace_atom) {
        self->state.pace_armed = false;
        pace(self);
      },
      [self](status_atom) { return status(self); },
  };
}

} // namespace

market_actor spawn_stream_replayer(caf::actor_system& sys, stream_replayer_options options,
                                   market_stream_actor stream, event_bus_actor bus,
                                   state_store_actor store) {
  return caf::actor_cast<market_actor>(sys.spawn(
      stream_replayer, std::move(options), std::move(stream), std::move(bus), std::move(store)));
}

} // namespace brokedancer
