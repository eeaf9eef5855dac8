#include "runtime/metrics_exposition.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "actors/risk/risk_book.hpp"

namespace brokedancer {

namespace {

using metric = metric_type;

// Positions and peers are few by configuration, but a book read from a shared store is outside
// input: at most this many series each.
constexpr size_t max_series = 200;

double level_number(emergency_level level) {
  return static_cast<double>(static_cast<int>(level));
}

double breaker_number(breaker_state state) {
  switch (state) {
    case breaker_state::closed: return 0;
    case breaker_state::half_open: return 1;
    case breaker_state::open: return 2;
    case breaker_state::forced_open: return 3;
    case breaker_state::disabled: return 4;
  }
  return 2;
}

// A family of one sample.
void one_sample(prometheus_text& out, const char* name, metric type, const char* help,
                const metric_labels& labels, double value) {
  out.family(name, type, help);
  out.sample(labels, value);
}

void orders(prometheus_text& out, const order_metrics& m) {
  out.family("brokedancer_orders_total", metric::counter,
             "Orders the risk monitor answered, by outcome and reject code (none when filled)");
  for (size_t o = 0; o < order_metrics::outcomes; ++o)
    for (size_t c = 0; c < order_metrics::codes; ++c) {
      auto outcome = static_cast<order_outcome>(o);
      auto code = static_cast<reject_code>(c);
      auto n = m.results(outcome, code);
      // The usual outcomes always (so that rate() has a series from the start); other pairs
      // once they happened: 7 outcomes by 28 codes would be mostly zeros.
      bool usual = code == reject_code::none
                   && (outcome == order_outcome::filled || outcome == order_outcome::accepted);
      if (n > 0 || usual)
        out.sample({{"outcome", to_string(outcome)}, {"code", to_string(code)}},
                   static_cast<double>(n));
    }
  out.family("brokedancer_fills_total", metric::counter, "Orders filled");
  out.sample({}, static_cast<double>(m.fills()));
  out.family("brokedancer_order_latency_seconds", metric::histogram,
             "From an order reaching the risk monitor to its result (refusals included)");
  out.histogram({}, m.latency());
}

void risk(prometheus_text& out, const node_status& s) {
  const auto& r = s.risk;
  out.family("brokedancer_risk_book_loaded", metric::gauge,
             "1 once the risk book has been read and the order journal reconciled");
  out.sample({}, r.loaded && r.reconciled ? 1 : 0);
  out.family("brokedancer_pnl_realized", metric::gauge,
             "Realized P&L of the book, in the quote currency");
  out.sample({}, r.realized_pnl);
  out.family("brokedancer_pnl_unrealized", metric::gauge,
             "Unrealized P&L of the open positions at their marks, in the quote currency");
  out.sample({}, r.unrealized_pnl);
  out.family("brokedancer_pnl_daily", metric::gauge,
             "P&L of the trading day (since risk.daily_reset_utc), in the quote currency");
  out.sample({}, r.daily_pnl);
  out.family("brokedancer_equity", metric::gauge, "Equity of the book, in the quote currency");
  out.sample({}, r.equity);
  // One series per symbol and venue ("X" and "X@" in a book read from a store are one).
  std::vector<const position_status*> positions;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& p : r.positions)
    if (positions.size() < max_series
        && seen.emplace(market_symbol(p.symbol), venue_of(p.symbol)).second)
      positions.push_back(&p);
  out.family("brokedancer_position_quantity", metric::gauge,
             "Signed quantity held, by symbol and venue (empty venue: risk.endpoint)");
  for (const auto* p : positions)
    out.sample({{"symbol", market_symbol(p->symbol)}, {"venue", venue_of(p->symbol)}}, p->quantity);
  out.family("brokedancer_exposure", metric::gauge,
             "Absolute notional of a position at its mark, by symbol and venue, in the quote "
             "currency");
  for (const auto* p : positions)
    out.sample({{"symbol", market_symbol(p->symbol)}, {"venue", venue_of(p->symbol)}},
               std::fabs(p->quantity * (p->mark_price > 0 ? p->mark_price : p->average_price)));
  out.family("brokedancer_risk_limit_utilization_ratio", metric::gauge,
             "Share of each risk limit in use (1 = at the limit; 0 when the limit is off)");
  for (const auto& l : s.emergency.limits)
    out.sample({{"limit", l.name}}, l.utilization / 100);
  out.family("brokedancer_risk_limit", metric::gauge, "Each risk limit's setting (0: off)");
  for (const auto& l : s.emergency.limits)
    out.sample({{"limit", l.name}}, l.limit);
  out.family("brokedancer_journal_open_orders", metric::gauge,
             "Orders sent whose outcome is not booked yet");
  out.sample({}, static_cast<double>(r.journal_open));
  out.family("brokedancer_journal_outcome_unknown_orders", metric::gauge,
             "Orders whose outcome the exchange has not told yet (asked again in the background)");
  out.sample({}, static_cast<double>(r.outcome_unknown));
  out.family("brokedancer_flattens_total", metric::counter,
             "Flattens (brokedancer flatten, or a limit's flatten policy) since the monitor "
             "started");
  out.sample({}, static_cast<double>(r.flattens));
  out.family("brokedancer_positions_flattened_total", metric::counter,
             "Positions the flattens' closing orders closed");
  out.sample({}, static_cast<double>(r.positions_flattened));
}

void level(prometheus_text& out, const node_status& s) {
  out.family("brokedancer_emergency_level", metric::gauge,
             "The emergency level in force: 0 NORMAL, 1 ALERT, 2 REDUCE_ONLY, 3 HALT, 4 SHUTDOWN");
  out.sample({}, level_number(s.emergency.current.level));
  out.family("brokedancer_trading_allowed", metric::gauge, "1 when new orders may go out");
  out.sample({}, s.emergency.trading_allowed ? 1 : 0);
  out.family("brokedancer_emergency_level_persisted", metric::gauge,
             "1 when the level in force is safely in the state store");
  out.sample({}, s.emergency.persisted ? 1 : 0);
  // Every kind and level, zero included: a query over them needs no absent() guard.
  out.family("brokedancer_emergency_scopes", metric::gauge,
             "Scoped halts in force, by kind (bot, strategy, symbol, endpoint) and level");
  for (auto kind :
       {scope_kind::bot, scope_kind::strategy, scope_kind::symbol, scope_kind::endpoint})
    for (auto lvl : {emergency_level::reduce_only, emergency_level::halt}) {
      auto count = std::count_if(
          s.scopes.in_force.begin(), s.scopes.in_force.end(),
          [&](const halt_scope& h) { return h.kind == kind && h.change.level == lvl; });
      out.sample({{"kind", to_string(kind)}, {"level", to_string(lvl)}},
                 static_cast<double>(count));
    }
}

void bots(prometheus_text& out, const node_status& s, const std::vector<bot_stats>* list,
          uint32_t max_bot_labels) {
  out.family("brokedancer_bots", metric::gauge, "Bots hosted by this node, by state");
  if (list != nullptr) {
    std::map<std::string, size_t> by_state{
        {"starting", 0}, {"running", 0}, {"halted", 0}, {"stopped", 0}, {"given_up", 0}};
    for (const auto& b : *list)
      if (by_state.count(b.state) > 0 || by_state.size() < 16)
        ++by_state[b.state];
    for (const auto& [state, count] : by_state)
      out.sample({{"state", state}}, static_cast<double>(count));
  } else {
    out.sample({{"state", "running"}}, s.bots.running);
    out.sample({{"state", "stopped"}}, s.bots.stopped);
    out.sample({{"state", "given_up"}}, s.bots.given_up);
  }
  out.family("brokedancer_bot_restarts_total", metric::counter,
             "Restarts of crashed bots, over every bot");
  out.sample({}, static_cast<double>(s.bots.restarts));
  out.family("brokedancer_bots_orders_total", metric::counter, "Orders the bots sent");
  out.sample({}, static_cast<double>(s.bots.orders));
  out.family("brokedancer_bots_fills_total", metric::counter, "Fills of the bots' orders");
  out.sample({}, static_cast<double>(s.bots.fills));
  out.family("brokedancer_bots_pnl", metric::gauge,
             "P&L of all bots (realized + unrealized - fees), in the quote currency");
  out.sample({}, s.bots.pnl);
  // One series per bot costs Prometheus a series per bot: only up to the configured bound.
  if (list == nullptr || list->size() > max_bot_labels)
    return;
  out.family("brokedancer_bot_orders_total", metric::counter,
             "Orders each bot sent (while the node runs at most node.metrics_max_bot_labels)");
  for (const auto& b : *list)
    out.sample({{"bot", b.id}}, static_cast<double>(b.orders));
  out.family("brokedancer_bot_fills_total", metric::counter, "Fills of each bot's orders");
  for (const auto& b : *list)
    out.sample({{"bot", b.id}}, static_cast<double>(b.fills));
  out.family("brokedancer_bot_pnl", metric::gauge,
             "Each bot's P&L (realized + unrealized - fees), in the quote currency");
  for (const auto& b : *list)
    out.sample({{"bot", b.id}}, b.realized_pnl + b.unrealized_pnl - b.fees);
}

void breakers(prometheus_text& out, const std::vector<breaker_stats>& all) {
  auto each = [&](const char* name, metric type, const char* help, auto value) {
    out.family(name, type, help);
    for (const auto& b : all)
      out.sample({{"endpoint", b.endpoint}}, static_cast<double>(value(b)));
  };
  each("brokedancer_breaker_state", metric::gauge,
       "Circuit breaker of each endpoint: 0 closed, 1 half-open, 2 open, 3 forced open by an "
       "operator, 4 disabled by an operator",
       [](const breaker_stats& b) { return breaker_number(b.state); });
  each("brokedancer_breaker_calls_total", metric::counter,
       "Calls that reached the endpoint (each attempt counts)",
       [](const breaker_stats& b) { return b.calls; });
  each("brokedancer_breaker_failures_total", metric::counter,
       "Failed calls: errors, 5xx and 429 answers, timeouts, slow calls",
       [](const breaker_stats& b) { return b.failures; });
  each("brokedancer_breaker_timeouts_total", metric::counter, "Calls that missed their deadline",
       [](const breaker_stats& b) { return b.timeouts; });
  each("brokedancer_breaker_rejected_total", metric::counter,
       "Calls refused by an open breaker without touching the endpoint",
       [](const breaker_stats& b) { return b.rejected; });
  each("brokedancer_breaker_retries_total", metric::counter, "Attempts after the first",
       [](const breaker_stats& b) { return b.retries; });
  each("brokedancer_breaker_transitions_total", metric::counter, "State changes of the breaker",
       [](const breaker_stats& b) { return b.transitions; });
  each("brokedancer_breaker_rate_limited_total", metric::counter,
       "Calls refused because the endpoint's request budget was spent",
       [](const breaker_stats& b) { return b.rate_limited; });
}

void bus(prometheus_text& out, const bus_stats& b) {
  auto one = [&](const char* name, metric type, const char* help, double value) {
    one_sample(out, name, type, help, {{"backend", b.backend}}, value);
  };
  one("brokedancer_bus_connected", metric::gauge, "1 while the event bus's backend is reachable",
      b.connected ? 1 : 0);
  one("brokedancer_bus_events_published_total", metric::counter,
      "Events published (with Redis: confirmed by Redis)", static_cast<double>(b.published));
  one("brokedancer_bus_events_delivered_total", metric::counter,
      "Events sent to local subscribers (one per subscriber)", static_cast<double>(b.delivered));
  one("brokedancer_bus_events_dropped_total", metric::counter,
      "Events skipped for a subscriber whose backlog was full", static_cast<double>(b.dropped));
  one("brokedancer_bus_publishes_refused_total", metric::counter,
      "Publishes refused because the backend was unreachable", static_cast<double>(b.refused));
}

void store(prometheus_text& out, const store_status& s) {
  auto one = [&](const char* name, metric type, const char* help, double value) {
    one_sample(out, name, type, help, {{"backend", s.backend}}, value);
  };
  one("brokedancer_store_available", metric::gauge, "1 while the state store is reachable",
      s.available ? 1 : 0);
  one("brokedancer_store_operations_total", metric::counter,
      "Requests the state store handled (since its actor last started)",
      static_cast<double>(s.requests));
  one("brokedancer_store_errors_total", metric::counter,
      "Requests answered with store_unavailable (since its actor last started)",
      static_cast<double>(s.failures));
  if (s.backend == "redis") {
    out.family("brokedancer_store_operation_latency_seconds", metric::histogram,
               "From a request's commands going to Redis to their replies (key walks and "
               "requests refused while Redis is away not timed; since the store's actor last "
               "started)");
    out.histogram({{"backend", s.backend}}, s.latency.as_snapshot());
  }
}

void market_stream(prometheus_text& out, const stream_status& s) {
  auto one = [&](const char* name, metric type, const char* help, double value) {
    one_sample(out, name, type, help, {{"backend", s.backend}}, value);
  };
  one("brokedancer_market_stream_available", metric::gauge,
      "1 while the market-data stream's backend is reachable", s.available ? 1 : 0);
  one("brokedancer_market_stream_ticks_published_total", metric::counter,
      "Ticks appended to the market-data stream (since its actor last started)",
      static_cast<double>(s.published));
  one("brokedancer_market_stream_ticks_delivered_total", metric::counter,
      "Ticks sent to live readers (since its actor last started)",
      static_cast<double>(s.delivered));
  one("brokedancer_market_stream_lagged_total", metric::counter,
      "Live deliveries that went on past entries trimmed before the reader got them (a reader "
      "too slow for the stream's bound; memory backend)",
      static_cast<double>(s.lagged));
  one("brokedancer_market_stream_readers", metric::gauge, "Live readers of the stream",
      static_cast<double>(s.subscribers));
}

void redis_reconnects(prometheus_text& out, const metrics_sources& in) {
  out.family("brokedancer_redis_reconnects_total", metric::counter,
             "Connections to Redis re-established after a loss, by client");
  if (in.bus)
    out.sample({{"client", "bus"}}, static_cast<double>(in.bus->reconnects));
  if (in.store)
    out.sample({{"client", "store"}}, static_cast<double>(in.store->reconnects));
}

void cluster(prometheus_text& out, const node_status& s, int64_t now_us) {
  if (!s.clustered)
    return;
  // A configured peer that has not joined yet has no name: its address stands in. One series
  // per peer, however the status lists them.
  std::vector<std::pair<std::string, const member_status*>> peers;
  std::set<std::string> seen;
  for (const auto& m : s.cluster.members) {
    auto name = !m.info.name.empty() ? m.info.name : m.configured_address;
    if (!name.empty() && peers.size() < max_series && seen.insert(name).second)
      peers.emplace_back(name, &m);
  }
  out.family("brokedancer_cluster_peer_up", metric::gauge,
             "1 while a peer is connected (a peer not met yet: by its configured address)");
  for (const auto& [name, m] : peers)
    out.sample({{"peer", name}}, m->connected ? 1 : 0);
  out.family("brokedancer_cluster_peer_last_heard_seconds", metric::gauge,
             "Seconds since the peer's last gossip (absent: never heard)");
  for (const auto& [name, m] : peers)
    if (m->last_heard_us > 0)
      out.sample({{"peer", name}}, static_cast<double>(now_us - m->last_heard_us) / 1e6);
  out.family("brokedancer_cluster_peer_reconnects_total", metric::counter,
             "Connections to a peer re-established");
  for (const auto& [name, m] : peers)
    out.sample({{"peer", name}}, m->reconnects);
}

void workflows(prometheus_text& out, const relay_snapshot& relay) {
  out.family("brokedancer_emergency_level_changes_total", metric::counter,
             "Level changes this node made since it started, by source");
  for (const auto& [source, count] : relay.level_changes)
    out.sample({{"source", source}}, static_cast<double>(count));
  out.family("brokedancer_workflow_executions_total", metric::counter,
             "Workflow executions this node ended, by outcome");
  for (const auto& [status, counts] : relay.executions)
    out.sample({{"status", status}}, static_cast<double>(counts.count));
  out.family("brokedancer_workflow_execution_duration_seconds", metric::histogram,
             "How long the workflow executions ran, by outcome");
  for (const auto& [status, counts] : relay.executions)
    out.histogram({{"status", status}}, counts.as_snapshot());
  out.family("brokedancer_workflow_node_duration_seconds", metric::histogram,
             "How long the workflow nodes ran, by node type and outcome");
  for (const auto& [key, counts] : relay.nodes) {
    auto bar = key.rfind('|');
    auto type = bar == std::string::npos ? key : key.substr(0, bar);
    auto status = bar == std::string::npos ? std::string{} : key.substr(bar + 1);
    out.histogram({{"type", type}, {"status", status}}, counts.as_snapshot());
  }
}

void streams(prometheus_text& out, const fanout_counters& c, const relay_snapshot* relay) {
  out.family("brokedancer_event_stream_clients", metric::gauge,
             "Clients of /api/events (dashboards included) connected now");
  out.sample({}, static_cast<double>(c.clients));
  out.family("brokedancer_event_stream_clients_dropped_total", metric::counter,
             "Stream clients cut off for falling behind");
  out.sample({}, static_cast<double>(c.clients_dropped));
  out.family("brokedancer_event_stream_clients_refused_total", metric::counter,
             "Stream clients refused because node.max_event_streams were connected");
  out.sample({}, static_cast<double>(c.clients_refused));
  if (relay != nullptr) {
    out.family("brokedancer_event_relay_events_total", metric::counter,
               "Bus events the operator API's relay took");
    out.sample({}, static_cast<double>(relay->events));
  }
}

} // namespace

std::string render_metrics(const metrics_sources& in) {
  prometheus_text out;
  out.family("brokedancer_scrape_sources_missing", metric::gauge,
             "Sources that did not answer this scrape in time (their families are left out)");
  out.sample({}, in.missing);
  const auto* relay = in.relay ? &*in.relay : nullptr;
  if (in.orders != nullptr)
    orders(out, *in.orders);
  if (in.node) {
    level(out, *in.node);
    risk(out, *in.node);
    bots(out, *in.node, in.bots ? &*in.bots : nullptr, in.max_bot_labels);
    breakers(out, in.node->breakers);
    cluster(out, *in.node, in.now_us);
  }
  if (in.bus)
    bus(out, *in.bus);
  if (in.store)
    store(out, *in.store);
  if (in.market_stream)
    market_stream(out, *in.market_stream);
  redis_reconnects(out, in);
  if (relay != nullptr)
    workflows(out, *relay);
  streams(out, in.streams, relay);
  return out.text();
}

} // namespace brokedancer
