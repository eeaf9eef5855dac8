#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>

#include <catch2/catch.hpp>

#include "messages/errors.hpp"
#include "messages/registry.hpp"
#include "messages/type_list.hpp"

using namespace brokedancer;

namespace {

// A value of every registered type with no field left at its default, so that a field the
// serializer forgets shows up as a difference. A type without a sample does not link.
template <class T>
T sample();

template <>
child_status sample<child_status>() {
  return {"state_store", restart_policy::transient, 3, true, 2, "runtime_error: boom"};
}

template <>
supervisor_status sample<supervisor_status>() {
  supervisor_status status;
  status.children = {sample<child_status>(),
                     {"event_bus", restart_policy::temporary, 1, false, 0, "normal"}};
  status.restarts_in_window = 2;
  status.max_restarts = 5;
  status.window_ms = 10000;
  return status;
}

template <>
escalation sample<escalation>() {
  return {"root", "state_store", "runtime_error: boom", 6, 5, 10000, "0123456789abcdef"};
}

template <>
maybe_value sample<maybe_value>() {
  return {true, R"({"qty": 3, "note": "ünïcødé"})"};
}

template <>
key_value sample<key_value>() {
  return {"bot:7:position", "42"};
}

template <>
store_status sample<store_status>() {
  store_status s{"redis", true, 12, 3400, 5, 7, 2, "connection refused", {}};
  s.latency.observe(750);
  return s;
}

template <>
lease_grant sample<lease_grant>() {
  return {true, "node-a", "5f1c0e9a2b7d4e6f8a9b0c1d2e3f4a5b", 42, 1500, 8500};
}

template <>
log_entry sample<log_entry>() {
  return {"1795000000123-4", R"({"type":"order","client_order_id":"bot-1-7"})"};
}

template <>
event sample<event>() {
  return {
      "market.BTC-USD", R"({"bid": 101.5})", "00ff00ff00ff00ff", 1795000000123456, "node-a", 77};
}

template <>
event_draft sample<event_draft>() {
  return {"trading.alerts", R"({"limit": "daily_loss"})", "abcdefabcdefabcd"};
}

template <>
subscription_stats sample<subscription_stats>() {
  return {9, "trade.*", 1200, 3, 17};
}

template <>
bus_stats sample<bus_stats>() {
  return {
      "redis", true, 10, 20, 1, 2, 30, 4, 5, "connection reset", {sample<subscription_stats>()}};
}

template <>
pnl_point sample<pnl_point>() {
  return {1795000000123456, 12.5, -3.25, 9.25, 100009.25};
}

template <>
duration_counts sample<duration_counts>() {
  duration_counts d;
  d.buckets[0] = 3;
  d.buckets[16] = 1;
  d.count = 4;
  d.sum_seconds = 12.75;
  return d;
}

template <>
relay_snapshot sample<relay_snapshot>() {
  return {{sample<pnl_point>()},
          {R"({"topic":"trading.alerts"})"},
          {{"operator", 2}},
          {{"completed", sample<duration_counts>()}},
          {{"fetch_price|success", sample<duration_counts>()}},
          99};
}

template <>
endpoint_request sample<endpoint_request>() {
  return {"POST /api/v3/order", R"({"qty": 1})", "order-7-1", 2500, "0123456789abcdef", true};
}

template <>
endpoint_response sample<endpoint_response>() {
  return {429, R"({"error": "slow down"})", "order-7-1", 1500, 2, 1234};
}

template <>
breaker_stats sample<breaker_stats>() {
  return {"exchange",
          breaker_state::open,
          1200,
          100,
          60,
          40,
          5,
          3,
          17,
          9,
          4,
          6,
          11,
          2,
          40.0,
          100,
          "endpoint_unreachable: connection refused",
          1795000000123456};
}

template <>
emergency_level sample<emergency_level>() {
  return emergency_level::shutdown;
}

template <>
level_change sample<level_change>() {
  return {emergency_level::halt,
          emergency_level::alert,
          "daily loss 1,050 over 1,000",
          change_source::risk_monitor,
          "node-a",
          1795000000123456,
          42,
          true,
          41,
          emergency_level::alert,
          "node-b",
          true,
          {{40, emergency_level::halt, "node-c"}}};
}

template <>
quote sample<quote>() {
  return {"BTC-USD", 99.95, 100.05, 100, 17, 1795000000123456};
}

template <>
market_status sample<market_status>() {
  return {true, 17, 1000, {sample<quote>()}, "market:data", true, 34, 5, 2};
}

template <>
bot_config sample<bot_config>() {
  return {"bot-7", "momentum", R"({"symbol":"BTC-USD","quantity":0.5})"};
}

template <>
bot_stats sample<bot_stats>() {
  return {"bot-7",
          "momentum",
          "running",
          2,
          "runtime_error: boom",
          40,
          30,
          5,
          4,
          1,
          {{"halted", 3}, {"max_order_notional", 1}},
          12.5,
          -3.25,
          0.75,
          "node-b",
          4200,
          7};
}

template <>
bots_summary sample<bots_summary>() {
  return {10, 8, 1, 1, 4, 400, 300, 40, 12.5};
}

template <>
node_status sample<node_status>();

template <>
watch_status sample<watch_status>();

template <>
bot_owner sample<bot_owner>();

template <>
risk_status sample<risk_status>();

template <>
halt_scope sample<halt_scope>() {
  return {scope_kind::strategy, "momentum", sample<level_change>()};
}

template <>
scope_kind sample<scope_kind>() {
  return scope_kind::endpoint;
}

template <>
scope_table sample<scope_table>() {
  return {17, {sample<halt_scope>()}};
}

template <>
scope_subject sample<scope_subject>() {
  return {"bot-3", "momentum", "exchange"};
}

template <>
symbol_scope sample<symbol_scope>() {
  return {"BTC-USD", emergency_level::reduce_only};
}

template <>
bot_scope_view sample<bot_scope_view>() {
  return {5, emergency_level::halt, "strategy momentum: test", {sample<symbol_scope>()}};
}

template <>
scope_reply sample<scope_reply>() {
  return {sample<halt_scope>(), 6, 1000};
}

template <>
scope_status sample<scope_status>() {
  return {{sample<halt_scope>()}, 6, true, false, 10000, 1000, 998, 4200};
}

template <>
order_result sample<order_result>();

template <>
position_close sample<position_close>() {
  return {"BTC-USD@venue_b", order_side::buy, 0.25, sample<order_result>()};
}

template <>
position_status sample<position_status>();

template <>
order_cancel sample<order_cancel>() {
  return {"bot-4", sample<order_result>()};
}

template <>
cancel_report sample<cancel_report>() {
  return {3, {sample<order_cancel>()}};
}

template <>
flatten_report sample<flatten_report>() {
  return {{sample<position_close>()}, {sample<position_status>()}};
}

template <>
control_reply sample<control_reply>();

template <>
limit_status sample<limit_status>() {
  return {"max_daily_loss", 1000, 850, 85};
}

template <>
emergency_status sample<emergency_status>() {
  return {sample<level_change>(),   false, true, true, 10000, 9998, 12345,
          {sample<limit_status>()}, true};
}

template <>
node_info sample<node_info>() {
  return {"node-b", "127.0.0.1:7101", 1000, sample<level_change>(), true, {sample<halt_scope>()}};
}

template <>
peer_proof sample<peer_proof>() {
  return {"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "\x30\x45\x02",
          1795000000123456, std::string(32, '\x07'), std::string(32, '\x09')};
}

template <>
gossip_seal sample<gossip_seal>() {
  return {0x1122334455667788, 42, std::string(32, '\x5a')};
}

template <>
member_status sample<member_status>() {
  return {sample<node_info>(), true, "127.0.0.1:7101", 1795000000123456, 3, "connection refused"};
}

template <>
cluster_status sample<cluster_status>() {
  return {sample<node_info>(), {sample<member_status>()}, true, false, 1795000000000000};
}

template <>
operator_identity sample<operator_identity>() {
  return {"alice", operator_role::risk, "127.0.0.1"};
}

template <>
audit_entry sample<audit_entry>() {
  return {1795000000123456, "alice", "risk", "127.0.0.1", "resume", "all clear", "ok"};
}

template <>
node_status sample<node_status>() {
  return {"node-a",
          sample<emergency_status>(),
          sample<bots_summary>(),
          {sample<breaker_stats>()},
          true,
          sample<cluster_status>(),
          {sample<audit_entry>()},
          sample<risk_status>(),
          {sample<bot_owner>()},
          sample<watch_status>(),
          R"({"level":"NORMAL","starting":true,"workflows":[]})",
          sample<scope_status>()};
}

template <>
bot_owner sample<bot_owner>() {
  return {"bot-3", "standby", "node-b", 2500, 4};
}

template <>
control_reply sample<control_reply>() {
  return {sample<level_change>(), 10000, 19800};
}

template <>
order sample<order>() {
  return {"bot-7", "BTC-USD", order_side::sell, 0.5, 64000.5, "bot-7-42", "0123456789abcdef", 9};
}

template <>
order_result sample<order_result>() {
  return {"bot-7-42",
          order_outcome::expired,
          reject_code::not_marketable,
          "not_marketable: buy limit 64000.25 below the ask 64001",
          0.5,
          64000.25,
          32.0};
}

template <>
position_status sample<position_status>() {
  return {"BTC-USD", -0.5, 64000.25, 63000, 500.125};
}

template <>
risk_status sample<risk_status>() {
  return {emergency_level::alert,
          true,
          101000,
          102000,
          1500,
          -500,
          -300,
          "2026-11-23",
          {sample<position_status>()},
          {sample<limit_status>()},
          10,
          2,
          1,
          12,
          true,
          3,
          1,
          40,
          7,
          "exchange: endpoint_unreachable",
          2,
          3};
}

template <>
rate_limit sample<rate_limit>() {
  return {rate_algorithm::token_bucket, 1200, 60000};
}

template <>
rate_decision sample<rate_decision>() {
  return {false, 3, 250};
}

template <>
limiter_status sample<limiter_status>() {
  return {"redis", true, 1000, 40, 2, 0, "connection reset"};
}

template <>
market_tick sample<market_tick>() {
  return {"BTC-USD", 101.25, 101.2, 101.3, 0.5, 1700000000123456};
}

template <>
stream_entry sample<stream_entry>() {
  return {"1700000000123-7", sample<market_tick>()};
}

template <>
pending_entry sample<pending_entry>() {
  return {"1700000000123-7", "worker-2", 1500, 3};
}

template <>
claim_result sample<claim_result>() {
  return {{sample<stream_entry>()}, 2};
}

template <>
stream_status sample<stream_status>() {
  return {"redis", true, 500, 480, 1, 2, 3, 4, "connection reset"};
}

template <>
series_point sample<series_point>() {
  return {1700000000123, 45.5};
}

template <>
series_stats sample<series_stats>() {
  return {3, 1.5, 9.25, 4.75, 3.5, 1700000000000, 1700000002000};
}

template <>
series_status sample<series_status>() {
  return {"redis", true, 10, 20, 30, 1, 2, 0, "connection reset"};
}

template <>
bar_service_status sample<bar_service_status>() {
  return {"market:data", true, 1000, 70, 3, 1, 4, 2, "connection reset"};
}

template <>
service_health sample<service_health>() {
  return {"market_stream", false, "connection refused"};
}

template <>
watch_status sample<watch_status>() {
  return {12, {sample<service_health>()}};
}

template <>
channel_status sample<channel_status>() {
  return {true, 100, 5, 2, 7, 1, "connection reset"};
}

template <>
timeframe sample<timeframe>() {
  return timeframe::h4;
}

template <>
ohlcv_bar sample<ohlcv_bar>() {
  return {"ETH-USD", timeframe::m5, 1700000100000, 10, 12, 9, 11, 3.5, 42};
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  template <class T>
  std::vector<char> bytes_of(T& value) {
    std::vector<char> buffer;
    caf::binary_serializer sink{*sys, buffer};
    auto err = sink(value);
    REQUIRE_FALSE(err);
    return buffer;
  }

  template <class T>
  T read(const std::vector<char>& buffer) {
    T value;
    caf::binary_deserializer source{*sys, buffer};
    auto err = source(value);
    REQUIRE_FALSE(err);
    return value;
  }
};

} // namespace

TEST_CASE_METHOD(fixture, "every registered message type survives a round trip through CAF's "
                          "binary serializer") {
  size_t types = 0;
  for_each_message_type([&](auto tag, const char* wire_name) {
    using T = typename decltype(tag)::type;
    INFO("type " << wire_name);
    ++types;
    auto original = sample<T>();
    auto bytes = bytes_of(original);
    T empty{};
    REQUIRE(bytes != bytes_of(empty));

    auto copy = read<T>(bytes);
    CHECK(bytes_of(copy) == bytes);
    CHECK(caf::deep_to_string(copy) == caf::deep_to_string(original));

    // Inside a message the type travels by its registered name, as it does between nodes.
    auto message = caf::make_message(original);
    auto message_bytes = bytes_of(message);
    auto restored = read<caf::message>(message_bytes);
    REQUIRE(restored.template match_elements<T>());
    auto inner = restored.template get_as<T>(0);
    CHECK(bytes_of(inner) == bytes);
  });
  CHECK(types >= 3);
}

TEST_CASE_METHOD(fixture, "project errors keep their code and context across serialization") {
  auto original = make_error(errc::restart_intensity_exceeded, "root: child state_store");
  auto restored = read<caf::error>(bytes_of(original));
  CHECK(is(restored, errc::restart_intensity_exceeded));
  CHECK_FALSE(is(restored, errc::subsystem_unavailable));
  CHECK(sys->render(restored)
        == "brokedancer: restart_intensity_exceeded: root: child state_store");
}

TEST_CASE("every order outcome and reject code reads back from its name, and a byte off the wire "
          "that is none is invalid") {
  for (int i = 0; i <= 255; ++i) {
    auto outcome = static_cast<order_outcome>(i);
    if (!is_valid(outcome)) {
      CHECK(i > static_cast<int>(order_outcome::accepted));
      continue;
    }
    order_outcome back = i == 0 ? order_outcome::accepted : order_outcome::filled;
    REQUIRE(from_string(to_string(outcome), back));
    CHECK(back == outcome);
  }
  size_t codes = 0;
  for (int i = 0; i <= 255; ++i) {
    auto code = static_cast<reject_code>(i);
    if (!is_valid(code)) {
      CHECK(i > static_cast<int>(last_reject_code));
      continue;
    }
    ++codes;
    reject_code back = i == 0 ? reject_code::call_failed : reject_code::none;
    REQUIRE(from_string(to_string(code), back));
    CHECK(back == code);
  }
  CHECK(codes == 28);
  order_outcome outcome = order_outcome::filled;
  CHECK_FALSE(from_string("partially_filled", outcome));
  CHECK(outcome == order_outcome::filled);
  CHECK(to_string(order_outcome::not_open) == "not_open");
  CHECK(to_string(reject_code::max_daily_loss) == "max_daily_loss");
  order_result garbled;
  garbled.outcome = static_cast<order_outcome>(17);
  CHECK_FALSE(is_valid(garbled));
  garbled.outcome = order_outcome::rejected;
  garbled.code = static_cast<reject_code>(200);
  CHECK_FALSE(is_valid(garbled));
  CHECK(to_string(garbled.code) == "reject_code(200)");
}

TEST_CASE("a failed call keeps its error's name as its reject code") {
  CHECK(reject_code_of(make_error(errc::breaker_open, "exchange")) == reject_code::breaker_open);
  CHECK(reject_code_of(make_error(errc::endpoint_timeout)) == reject_code::endpoint_timeout);
  CHECK(reject_code_of(make_error(errc::subsystem_unavailable))
        == reject_code::subsystem_unavailable);
  CHECK(reject_code_of(make_error(errc::trading_halted)) == reject_code::trading_halted);
  CHECK(reject_code_of(make_error(errc::store_unavailable)) == reject_code::call_failed);
  CHECK(reject_code_of(caf::make_error(caf::sec::request_timeout)) == reject_code::call_failed);
  // The name operators see is the errc's own.
  CHECK(to_string(reject_code_of(make_error(errc::endpoint_unreachable)))
        == to_string(errc::endpoint_unreachable));
}
