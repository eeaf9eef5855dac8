#include "actors/market/simulated_market.hpp"

#include <chrono>
#include <cmath>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/bounded_buffer.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

// FNV-1a: a per-symbol seed that stays the same across runs, builds and machines.
uint64_t stable_hash(const std::string& text) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

} // namespace

struct price_path::impl {
  std::string symbol;
  std::mt19937_64 random;
  std::normal_distribution<double> shock{0.0, 1.0};
  double mid = 0;
  double drift = 0;
  double volatility = 0;
  double half_spread = 0;
  uint64_t sequence = 0;
};

price_path::price_path(const market_settings& settings, const std::string& symbol)
  : impl_(std::make_shared<impl>()) {
  impl_->symbol = symbol;
  impl_->random.seed(settings.seed ^ stable_hash(symbol));
  impl_->mid = settings.start_price;
  impl_->drift = settings.drift_percent / 100;
  impl_->volatility = settings.volatility_percent / 100;
  impl_->half_spread = settings.spread_bps / 2 / 10000;
}

quote price_path::next(int64_t at_us) {
  auto& p = *impl_;
  // The first tick shows the starting price; every later one moves it.
  if (p.sequence > 0)
    p.mid *= std::exp(p.drift + p.volatility * p.shock(p.random));
  ++p.sequence;
  quote q;
  q.symbol = p.symbol;
  q.last = p.mid;
  q.bid = p.mid * (1 - p.half_spread);
  q.ask = p.mid * (1 + p.half_spread);
  q.sequence = p.sequence;
  q.at_us = at_us;
  return q;
}

// Ticks held for the stream while it is away: a minute of 100 symbols at 10 ticks a second.
constexpr size_t stream_buffer_ticks = 60000;

struct market_data {
  market_settings settings;
  std::vector<price_path> paths;
  std::vector<quote> latest;
  bool started = false;
  uint64_t ticks = 0;
  bounded_buffer<market_tick> for_stream{stream_buffer_ticks};
  bool stream_available = false;
  uint64_t stream_published = 0;
};

std::shared_ptr<market_data> make_market_data(const market_settings& settings) {
  auto data = std::make_shared<market_data>();
  data->settings = settings;
  for (const auto& symbol : settings.symbols)
    data->paths.emplace_back(settings, symbol);
  return data;
}

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
using market_impl = market_actor::extend<caf::reacts_to<tick_atom>>;

struct market_state {
  std::shared_ptr<market_data> data;
  event_bus_actor bus;
  market_stream_actor stream;
  bool appending = false; // a batch to the stream is unanswered
  state_store_actor store;
  bool caching = false; // a write of the quote cache is unanswered
  logger log{"market"};
  std::chrono::steady_clock::time_point next_tick;
};

using self_pointer = market_impl::stateful_pointer<market_state>;

void schedule(self_pointer self) {
  auto& st = self->state;
  // On a fixed schedule: a slow tick does not push every later one back.
  st.next_tick += st.data->settings.tick;
  auto now = std::chrono::steady_clock::now();
  if (st.next_tick < now)
    st.next_tick = now;
  self->delayed_send(self, st.next_tick - now, tick_atom::value);
}

void append_to_stream(self_pointer self);

void stream_answered(self_pointer self, size_t count) {
  auto& st = self->state;
  st.appending = false;
  st.data->stream_published += count;
  if (!st.data->stream_available)
    st.log.info("the market-data stream takes ticks", {{"stream", st.data->settings.stream}});
  st.data->stream_available = true;
  append_to_stream(self);
}

void stream_refused(self_pointer self, std::vector<market_tick> batch, const caf::error& err) {
  auto& st = self->state;
  st.appending = false;
  st.data->for_stream.put_back(std::move(batch));
  // Told once per outage; the next tick tries again.
  if (st.data->stream_available)
    st.log.warn("the market-data stream does not take ticks; holding them (bounded) until it "
                "does",
                {{"stream", st.data->settings.stream}, {"error", self->system().render(err)}});
  st.data->stream_available = false;
}

// One batch in flight at a time: a slow stream holds ticks in the bounded buffer, never in the
// stream's mailbox.
void append_to_stream(self_pointer self) {
  auto& st = self->state;
  auto& buffer = st.data->for_stream;
  if (st.appending || buffer.empty() || !st.stream)
    return;
  auto batch = buffer.take(max_stream_batch);
  auto count = batch.size();
  st.appending = true;
  self->request(st.stream, std::chrono::seconds(5), stream_publish_atom::value,
                st.data->settings.stream, batch)
      .then(
          [self, count](const std::vector<std::string>&) { stream_answered(self, count); },
          [self, batch](caf::error& err) mutable { stream_refused(self, std::move(batch), err); });
}

// One write of the tick's quotes at a time: the cache wants the latest, so a tick whose write
// would wait behind a slow store is skipped (the next one carries newer quotes anyway).
void cache_quotes(self_pointer self) {
  auto& st = self->state;
  auto ttl = st.data->settings.quote_ttl_ms;
  if (!st.store || ttl <= 0 || st.caching || st.data->latest.empty())
    return;
  std::vector<key_value> values;
  for (const auto& q : st.data->latest)
    values.push_back({quote_cache_key(q.symbol), encode_quote(q)});
  st.caching = true;
  self->request(st.store, std::chrono::seconds(5), set_many_atom::value, std::move(values), ttl)
      .then([self]() { self->state.caching = false; },
            [self](caf::error&) { self->state.caching = false; });
}

market_tick tick_of(const quote& q) {
  return {q.symbol, q.last, q.bid, q.ask, 0, q.at_us};
}

void tick(self_pointer self) {
  auto& st = self->state;
  auto& d = *st.data;
  if (d.settings.max_ticks > 0 && d.ticks >= d.settings.max_ticks)
    return; // the market has run its course: no more ticks, nothing scheduled
  auto at = now_us();
  std::vector<event_draft> batch;
  batch.reserve(d.paths.size());
  d.latest.clear();
  for (auto& path : d.paths) {
    auto q = path.next(at);
    batch.push_back({"market." + q.symbol, encode_quote(q), {}});
    if (st.stream)
      d.for_stream.push(tick_of(q));
    d.latest.push_back(std::move(q));
  }
  ++d.ticks;
  if (!batch.empty())
    self->request(st.bus, std::chrono::seconds(5), publish_batch_atom::value, std::move(batch))
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.warn("a market tick could not be published",
                                     {{"error", self->system().render(err)}});
              });
  append_to_stream(self);
  cache_quotes(self);
  if (d.settings.max_ticks > 0 && d.ticks == d.settings.max_ticks)
    st.log.info("the market has published its last tick", {{"ticks", d.ticks}});
  schedule(self);
}

market_impl::behavior_type simulated_market(self_pointer self, std::shared_ptr<market_data> data,
                                            event_bus_actor bus, market_stream_actor stream,
                                            state_store_actor store) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.bus = std::move(bus);
  if (!st.data->settings.stream.empty())
    st.stream = std::move(stream);
  st.store = std::move(store);
  if (st.data->started) {
    // A restarted incarnation goes on where the last one stopped.
    st.next_tick = std::chrono::steady_clock::now();
    schedule(self);
  }
  return {
      [self](start_atom) {
        auto& s = self->state;
        if (!s.data->started) {
          s.data->started = true;
          s.log.info("market opens", {{"symbols", s.data->paths.size()},
                                      {"tick_ms", s.data->settings.tick.count()},
                                      {"seed", s.data->settings.seed}});
          s.next_tick = std::chrono::steady_clock::now();
          tick(self); // the first tick at once: everyone is waiting for it
        }
        return true;
      },
      [self](tick_atom) { tick(self); },
      [self](status_atom) {
        auto& d = *self->state.data;
        market_status status;
        status.running = d.started && (d.settings.max_ticks == 0 || d.ticks < d.settings.max_ticks);
        status.ticks = d.ticks;
        status.max_ticks = d.settings.max_ticks;
        status.quotes = d.latest;
        status.stream = self->state.stream ? d.settings.stream : std::string{};
        status.stream_available = d.stream_available;
        status.stream_published = d.stream_published;
        status.stream_buffered = d.for_stream.size();
        status.stream_dropped = d.for_stream.dropped();
        return status;
      },
  };
}

} // namespace

market_actor spawn_simulated_market(caf::actor_system& sys, std::shared_ptr<market_data> data,
                                    event_bus_actor bus, market_stream_actor stream,
                                    state_store_actor store) {
  return caf::actor_cast<market_actor>(sys.spawn(simulated_market, std::move(data), std::move(bus),
                                                 std::move(stream), std::move(store)));
}

} // namespace brokedancer
