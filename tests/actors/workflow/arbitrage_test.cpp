// The arbitrage example (examples/workflows/arbitrage.json) on two simulated venues that quote
// one simulated market apart: each venue's quote is asked of its own endpoint, the paired
// orders go through the risk monitor to their venues, and the book holds them apart.

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"
#include "support/requests.hpp"
#include "support/workflow_fixture.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// One market at 60,000 that does not move, a spread of 2 bps; venue_a quotes it
// `offset_a_bps` away, venue_b `offset_b_bps` away, without noise.
environment two_venues(const char* offset_a_bps, const char* offset_b_bps) {
  return {{"BROKEDANCER_MARKET_SYMBOLS", "BTC-USD"},
          {"BROKEDANCER_MARKET_START_PRICE", "60000"},
          {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0"},
          {"BROKEDANCER_MARKET_SPREAD_BPS", "2"},
          {"BROKEDANCER_MARKET_TICK_MS", "20"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_A_TYPE", "simulated"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_A_PRICE_OFFSET_BPS", offset_a_bps},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_B_TYPE", "simulated"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_B_PRICE_OFFSET_BPS", offset_b_bps},
          {"BROKEDANCER_RISK_VENUES", "venue_a,venue_b"}};
}

std::shared_ptr<const workflow_definition> example(const testing::execution_fixture& f) {
  std::ifstream file{std::string(BROKEDANCER_SOURCE_DIR) + "/examples/workflows/arbitrage.json"};
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = parse_workflow_text(text.str(), f.nodes->catalogue());
  REQUIRE(parsed.workflow);
  return std::make_shared<const workflow_definition>(std::move(*parsed.workflow));
}

// Until both venues have had a tick to quote.
void await_quotes(testing::execution_fixture& f) {
  for (const char* venue : {"venue_a", "venue_b"}) {
    bool quoted = false;
    for (int i = 0; i < 2000 && !quoted; ++i) {
      endpoint_request request;
      request.operation = "quote";
      request.json = R"({"symbol":"BTC-USD"})";
      auto answer = testing::call<endpoint_response>(*f.sys, f.services.breakers, call_atom::value,
                                                     std::string{venue}, request);
      quoted = answer && answer->status == 200;
      if (!quoted)
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(quoted);
  }
}

json run_example(testing::execution_fixture& f) {
  await_quotes(f);
  caf::scoped_actor listener{*f.sys};
  spawn_workflow_execution(
      *f.sys, {example(f), f.nodes, f.services, "", listener, {}, "test-node", std::nullopt});
  return f.result_from(listener);
}

std::map<std::string, double> positions(testing::execution_fixture& f) {
  auto risk = testing::call<risk_status>(*f.sys, f.services.risk, status_atom::value);
  REQUIRE(risk);
  std::map<std::string, double> held;
  for (const auto& p : risk->positions)
    held[p.symbol] = p.quantity;
  return held;
}

} // namespace

TEST_CASE("the arbitrage example buys on the cheaper venue and sells on the dearer one",
          "[workflow][arbitrage]") {
  // B quotes 40 bps over A: B's bid less A's ask is about 228, over the example's 25.
  testing::execution_fixture f{two_venues("-20", "20")};
  auto result = run_example(f);
  INFO(result.dump());
  REQUIRE(result["status"] == "completed");
  const auto& out = result["outputs"];
  // Each price is the venue's own: the market's mid moved by the venue's offset.
  CHECK(out["price_a"]["price"].get<double>() == Approx(60000 * 0.998));
  CHECK(out["price_b"]["price"].get<double>() == Approx(60000 * 1.002));
  CHECK(out["spread"]["value"].get<double>() > 25);
  // Both legs filled, each at its venue's price.
  CHECK(out["buy_a"]["outcome"] == "filled");
  CHECK(out["buy_a"]["fill_price"].get<double>() == Approx(out["price_a"]["ask"].get<double>()));
  CHECK(out["sell_b"]["outcome"] == "filled");
  CHECK(out["sell_b"]["fill_price"].get<double>() == Approx(out["price_b"]["bid"].get<double>()));
  // The book holds the two legs apart: long on A, short on B.
  CHECK(positions(f)
        == std::map<std::string, double>{{"BTC-USD@venue_a", 0.01}, {"BTC-USD@venue_b", -0.01}});
}

TEST_CASE("the arbitrage example sends nothing when the spread does not pay",
          "[workflow][arbitrage]") {
  // B quotes under A: buying on A and selling on B would lose.
  testing::execution_fixture f{two_venues("10", "-10")};
  auto result = run_example(f);
  INFO(result.dump());
  REQUIRE(result["status"] == "completed");
  CHECK(result["outputs"]["spread"]["value"].get<double>() < 0);
  CHECK_FALSE(result["outputs"].contains("buy_a"));
  CHECK_FALSE(result["outputs"].contains("sell_b"));
  auto types = f.types_of(f.events_of(result["execution_id"].get<std::string>()));
  INFO(json(types).dump());
  CHECK(std::count(types.begin(), types.end(), "node_skipped:buy_a") == 1);
  CHECK(std::count(types.begin(), types.end(), "node_skipped:sell_b") == 1);
  CHECK(positions(f).empty());
}
