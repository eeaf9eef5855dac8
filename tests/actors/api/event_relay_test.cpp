// The event relay on a real memory bus: frames for the stream clients whose patterns match, the
// newest notable events kept for late pages, and this node's counts for /metrics -- with what a
// stranger on a shared bus might publish.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/api/event_relay.hpp"
#include "support/bus_fixture.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using json = nlohmann::json;

namespace {

struct relay_fixture : bus_fixture {
  std::shared_ptr<event_fanout> fanout = std::make_shared<event_fanout>();
  event_relay_actor relay;

  relay_fixture() : bus_fixture(memory_bus_backend::settings()) {
    event_relay_options options;
    options.node_name = "node-t";
    options.max_recent = 3;
    relay = spawn_event_relay(*sys, options, fanout, bus, risk_monitor_actor{});
    // Subscribed once a published event reaches it.
    REQUIRE(eventually([&] {
      publish("trading.system", R"({"type":"PING"})");
      return snapshot().events > 0;
    }));
  }

  ~relay_fixture() {
    caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
  }

  relay_snapshot snapshot() {
    auto s = brokedancer::testing::call<relay_snapshot>(*sys, relay, status_atom::value);
    REQUIRE(s);
    return *s;
  }
};

} // namespace

TEST_CASE("an event becomes one line of JSON in a server-sent-events frame", "[relay]") {
  event ev{"trading.orders", "{\n  \"a\": 1\n}", "c0ffee", 1795000000000001, "node-t", 42};
  auto line = event_frame_json(ev);
  CHECK(line.find('\n') == std::string::npos);
  auto parsed = json::parse(line);
  CHECK(parsed["topic"] == "trading.orders");
  CHECK(parsed["data"]["a"] == 1);
  CHECK(parsed["sequence"] == 42);
  CHECK(parsed["correlation_id"] == "c0ffee");
  CHECK(sse_frame(line, 42) == "id: 42\ndata: " + line + "\n\n");
  // Not JSON (it cannot come through the bus, but the relay does not rely on that): a string.
  ev.json = "not json\r\n";
  CHECK(json::parse(event_frame_json(ev))["data"] == "not json\r\n");
  ev.json = "\xEF\xBB\xBF{\"b\":2}";
  CHECK(json::parse(event_frame_json(ev))["data"]["b"] == 2);
}

TEST_CASE("the relay streams what clients asked for and keeps the newest notable events",
          "[relay]") {
  relay_fixture f;
  auto client = event_fanout::attach(f.fanout, {"trading.orders"});
  REQUIRE(f.publish("trading.orders", R"({"order_id":"o-1"})"));
  REQUIRE(f.publish("market.BTC-USD", R"({"bid":1})"));
  for (int i = 0; i < 5; ++i)
    REQUIRE(f.publish("trading.alerts", R"({"message":"alert )" + std::to_string(i) + "\"}"));
  std::vector<std::string> frames;
  REQUIRE(eventually([&] {
    for (auto& frame : client->take(std::chrono::milliseconds(10)))
      frames.push_back(frame);
    return !frames.empty();
  }));
  REQUIRE(frames.size() == 1);
  CHECK(frames[0].find("\"order_id\":\"o-1\"") != std::string::npos);
  REQUIRE(eventually([&] { return f.snapshot().recent.size() == 3; }));
  auto recent = f.snapshot().recent;
  CHECK(json::parse(recent.back())["data"]["message"] == "alert 4");
  CHECK(json::parse(recent.front())["data"]["message"] == "alert 2");
}

TEST_CASE("the relay counts this node's level changes and workflow runs, within bounds",
          "[relay]") {
  relay_fixture f;
  REQUIRE(f.publish("emergency.level_changed", R"({"level":"HALT","source":"operator"})"));
  // A source no level change has is not a label value.
  REQUIRE(f.publish("emergency.level_changed",
                    R"({"level":"HALT","source":")" + std::string(1000, 'x') + R"("})"));
  REQUIRE(f.publish("workflow_events",
                    R"({"type":"execution_completed","status":"completed","duration_ms":12.5})"));
  REQUIRE(f.publish("workflow_events", R"({"type":"node_completed","status":"success",)"
                                       R"("node_type":"fetch_price","duration_ms":0.2})"));
  // A stranger's node types on a shared bus cannot grow the counts without end.
  for (int i = 0; i < 100; ++i)
    REQUIRE(f.publish("workflow_events", R"({"type":"node_completed","status":"success",)"
                                         R"("node_type":"t)"
                                             + std::to_string(i) + R"(","duration_ms":1})"));
  REQUIRE(f.publish("workflow_events", R"({"type":"node_completed","status":"success",)"
                                       R"("node_type":"fetch_price","duration_ms":-5})"));
  REQUIRE(eventually([&] { return f.snapshot().events >= 106; }));
  auto s = f.snapshot();
  CHECK(s.level_changes["operator"] == 1);
  CHECK(s.level_changes.size() == 1);
  auto only_counts =
      brokedancer::testing::call<relay_snapshot>(*f.sys, f.relay, relay_counts_atom::value);
  REQUIRE(only_counts);
  CHECK(only_counts->level_changes == s.level_changes);
  CHECK(only_counts->recent.empty());
  CHECK(s.executions["completed"].count == 1);
  CHECK(s.executions["completed"].sum_seconds == Approx(0.0125));
  CHECK(s.nodes["fetch_price|success"].count == 1); // the negative duration is not counted
  CHECK(s.nodes.size() <= 65);
  CHECK(s.nodes.count("other") == 1);
}
