// /metrics as plain code: the families, labels and units from a node's answers, with no node.

#include <catch2/catch.hpp>

#include "runtime/metrics_exposition.hpp"
#include "runtime/operator_request.hpp"

using namespace brokedancer;
using Catch::Contains;

namespace {

node_status sample_node() {
  node_status s;
  s.node = "node-1";
  s.emergency.current.level = emergency_level::halt;
  s.emergency.trading_allowed = false;
  s.emergency.persisted = true;
  s.emergency.limits = {{"max_daily_loss", 1000, 250, 25}};
  s.bots.total = 2;
  s.bots.orders = 7;
  s.bots.fills = 5;
  s.bots.restarts = 1;
  s.breakers.push_back({});
  s.breakers.back().endpoint = "exchange";
  s.breakers.back().state = breaker_state::open;
  s.breakers.back().calls = 9;
  s.breakers.back().transitions = 2;
  s.risk.loaded = true;
  s.risk.reconciled = true;
  s.risk.realized_pnl = 12.5;
  s.risk.positions = {{"BTC-USD@venue_b", -0.5, 60000, 61000, -500}};
  s.clustered = true;
  member_status peer;
  peer.info.name = "node-2";
  peer.connected = true;
  peer.last_heard_us = 1'000'000;
  s.cluster.members.push_back(peer);
  halt_scope scope;
  scope.kind = scope_kind::symbol;
  scope.name = "BTC-USD";
  scope.change.level = emergency_level::halt;
  s.scopes.in_force.push_back(scope);
  s.risk.flattens = 2;
  s.risk.positions_flattened = 3;
  return s;
}

bot_stats bot(const std::string& id, const std::string& state) {
  bot_stats b;
  b.id = id;
  b.state = state;
  b.orders = 3;
  b.fills = 2;
  b.realized_pnl = 1.5;
  return b;
}

} // namespace

TEST_CASE("metrics name the orders by outcome and code, with the latency histogram", "[metrics]") {
  order_metrics orders;
  orders.record({"o-1", order_outcome::filled, reject_code::none, "", 1, 100, 0}, 80);
  orders.record({"o-2", order_outcome::rejected, reject_code::halted, "halted", 0, 0, 0}, 5);
  metrics_sources in;
  in.orders = &orders;
  in.missing = 6;
  auto text = render_metrics(in);
  CHECK_THAT(text, Contains("# TYPE brokedancer_orders_total counter\n"));
  CHECK_THAT(text, Contains("brokedancer_orders_total{outcome=\"filled\",code=\"none\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_orders_total{outcome=\"rejected\",code=\"halted\"} 1\n"));
  CHECK_THAT(text, !Contains("code=\"max_daily_loss\""));
  CHECK_THAT(text, Contains("brokedancer_fills_total 1\n"));
  CHECK_THAT(text, Contains("brokedancer_order_latency_seconds_bucket{le=\"5e-05\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_order_latency_seconds_bucket{le=\"0.0001\"} 2\n"));
  CHECK_THAT(text, Contains("brokedancer_order_latency_seconds_count 2\n"));
  // Nothing else answered: the families of the node are left out, and the scrape says so.
  CHECK_THAT(text, Contains("brokedancer_scrape_sources_missing 6\n"));
  CHECK_THAT(text, !Contains("brokedancer_emergency_level "));
}

TEST_CASE("metrics show the level, the book, the limits, the breakers and the peers", "[metrics]") {
  metrics_sources in;
  in.node = sample_node();
  in.now_us = 3'500'000;
  auto text = render_metrics(in);
  CHECK_THAT(text, Contains("brokedancer_emergency_level 3\n"));
  CHECK_THAT(text, Contains("brokedancer_emergency_scopes{kind=\"symbol\",level=\"HALT\"} 1\n"));
  CHECK_THAT(text,
             Contains("brokedancer_emergency_scopes{kind=\"bot\",level=\"REDUCE_ONLY\"} 0\n"));
  CHECK_THAT(text, Contains("brokedancer_flattens_total 2\n"));
  CHECK_THAT(text, Contains("brokedancer_positions_flattened_total 3\n"));
  CHECK_THAT(text, Contains("brokedancer_trading_allowed 0\n"));
  CHECK_THAT(text, Contains("brokedancer_pnl_realized 12.5\n"));
  CHECK_THAT(
      text, Contains("brokedancer_position_quantity{symbol=\"BTC-USD\",venue=\"venue_b\"} -0.5\n"));
  CHECK_THAT(text, Contains("brokedancer_exposure{symbol=\"BTC-USD\",venue=\"venue_b\"} 30500\n"));
  CHECK_THAT(text,
             Contains("brokedancer_risk_limit_utilization_ratio{limit=\"max_daily_loss\"} 0.25\n"));
  CHECK_THAT(text, Contains("brokedancer_breaker_state{endpoint=\"exchange\"} 2\n"));
  CHECK_THAT(text, Contains("brokedancer_breaker_transitions_total{endpoint=\"exchange\"} 2\n"));
  CHECK_THAT(text, Contains("brokedancer_cluster_peer_up{peer=\"node-2\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_cluster_peer_last_heard_seconds{peer=\"node-2\"} 2.5\n"));
  CHECK_THAT(text, Contains("brokedancer_bot_restarts_total 1\n"));
}

TEST_CASE("per-bot series appear up to the configured bound and not beyond", "[metrics]") {
  metrics_sources in;
  in.node = sample_node();
  in.bots = std::vector<bot_stats>{bot("b-1", "running"), bot("b-2", "given_up")};
  in.max_bot_labels = 2;
  auto text = render_metrics(in);
  CHECK_THAT(text, Contains("brokedancer_bots{state=\"running\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_bots{state=\"given_up\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_bot_orders_total{bot=\"b-1\"} 3\n"));
  CHECK_THAT(text, Contains("brokedancer_bots_orders_total 7\n"));
  in.max_bot_labels = 1;
  text = render_metrics(in);
  CHECK_THAT(text, !Contains("bot=\"b-1\""));
  CHECK_THAT(text, Contains("brokedancer_bots_orders_total 7\n"));
}

TEST_CASE("a hostile bot id or endpoint name cannot break the exposition", "[metrics]") {
  metrics_sources in;
  in.node = sample_node();
  in.node->breakers.back().endpoint = "x\"} 1\nevil_metric 666\n#";
  in.bots = std::vector<bot_stats>{bot("a\nb", "weird\"state")};
  auto text = render_metrics(in);
  CHECK_THAT(text, !Contains("\nevil_metric 666"));
  CHECK_THAT(text, Contains("endpoint=\"x\\\"} 1\\nevil_metric 666\\n#\""));
}

TEST_CASE("bus, store, relay and stream counts have their families", "[metrics]") {
  metrics_sources in;
  in.bus = bus_stats{};
  in.bus->backend = "redis";
  in.bus->published = 10;
  in.bus->reconnects = 2;
  in.store = store_status{};
  in.store->backend = "redis";
  in.store->requests = 7;
  in.store->reconnects = 1;
  relay_snapshot relay;
  relay.level_changes = {{"operator", 2}};
  duration_counts d;
  d.buckets[3] = 1;
  d.count = 1;
  d.sum_seconds = 0.0004;
  relay.executions = {{"completed", d}};
  relay.nodes = {{"fetch_price|success", d}};
  in.relay = relay;
  in.market_stream = stream_status{};
  in.market_stream->backend = "memory";
  in.market_stream->lagged = 4;
  in.streams.clients = 1;
  in.streams.clients_dropped = 3;
  auto text = render_metrics(in);
  CHECK_THAT(text, Contains("brokedancer_bus_events_published_total{backend=\"redis\"} 10\n"));
  CHECK_THAT(text, Contains("brokedancer_store_operations_total{backend=\"redis\"} 7\n"));
  CHECK_THAT(text, Contains("brokedancer_redis_reconnects_total{client=\"bus\"} 2\n"));
  CHECK_THAT(text, Contains("brokedancer_redis_reconnects_total{client=\"store\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_emergency_level_changes_total{source=\"operator\"} 2\n"));
  CHECK_THAT(text, Contains("brokedancer_workflow_executions_total{status=\"completed\"} 1\n"));
  CHECK_THAT(text,
             Contains("brokedancer_workflow_node_duration_seconds_bucket{type=\"fetch_price\","
                      "status=\"success\",le=\"0.0005\"} 1\n"));
  CHECK_THAT(text, Contains("brokedancer_event_stream_clients_dropped_total 3\n"));
  CHECK_THAT(text, Contains("brokedancer_market_stream_lagged_total{backend=\"memory\"} 4\n"));
}

TEST_CASE("the event stream's query is read as outside input", "[metrics][events]") {
  events_request r;
  CHECK(parse_events_query("", r).empty());
  CHECK(r.patterns == std::vector<std::string>{"*"});
  CHECK_FALSE(r.status);
  CHECK(parse_events_query("topics=trading.*,emergency.level_changed&status=1", r).empty());
  CHECK(r.patterns == std::vector<std::string>{"trading.*", "emergency.level_changed"});
  CHECK(r.status);
  CHECK(parse_events_query("topics=trading.%2A", r).empty());
  CHECK(r.patterns == std::vector<std::string>{"trading.*"});
  CHECK_FALSE(parse_events_query("topics=a,,b", r).empty());
  CHECK_FALSE(parse_events_query("topics=a%2", r).empty());
  CHECK_FALSE(parse_events_query("topics=a%zz", r).empty());
  CHECK_FALSE(parse_events_query("topics=a%20b", r).empty());
  CHECK_FALSE(parse_events_query("topics=" + std::string(129, 'a'), r).empty());
  CHECK_FALSE(parse_events_query("status=yes", r).empty());
  CHECK_FALSE(parse_events_query("other=1", r).empty());
  std::string many = "topics=a";
  for (int i = 0; i < 16; ++i)
    many += ",a";
  CHECK_FALSE(parse_events_query(many, r).empty());
}
