// The simulated market and the exchange that matches against it: deterministic paths, the top
// of the book, immediate-or-cancel matching, cancels in flight.

#include <chrono>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>

#include "actors/market/simulated_exchange.hpp"
#include "actors/market/simulated_market.hpp"
#include "messages/market.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

std::vector<double> mids(const market_settings& settings, const std::string& symbol, int n) {
  price_path path{settings, symbol};
  std::vector<double> out;
  for (int i = 0; i < n; ++i)
    out.push_back(path.next(0).last);
  return out;
}

} // namespace

TEST_CASE("a price path is the same for the same seed and symbol, and only then", "[market]") {
  market_settings settings;
  settings.seed = 42;
  settings.volatility_percent = 0.5;
  CHECK(mids(settings, "BTC-USD", 200) == mids(settings, "BTC-USD", 200));
  CHECK(mids(settings, "BTC-USD", 200) != mids(settings, "ETH-USD", 200));
  auto other = settings;
  other.seed = 43;
  CHECK(mids(settings, "BTC-USD", 200) != mids(other, "BTC-USD", 200));
}

TEST_CASE("ticks carry the drift and the spread asked for", "[market]") {
  market_settings settings;
  settings.start_price = 200;
  settings.drift_percent = -1;
  settings.volatility_percent = 0;
  settings.spread_bps = 20;
  price_path path{settings, "X"};
  auto first = path.next(1);
  CHECK(first.sequence == 1);
  CHECK(first.last == Approx(200));
  CHECK(first.ask - first.bid == Approx(200 * 20 / 10000.0));
  auto second = path.next(2);
  CHECK(second.sequence == 2);
  CHECK(second.last == Approx(200 * std::exp(-0.01)));
  CHECK(second.bid < second.last);
  CHECK(second.ask > second.last);
  // What goes on the bus reads back the same.
  quote decoded;
  std::string why;
  REQUIRE(decode_quote(encode_quote(second), decoded, why));
  CHECK(decoded.ask == Approx(second.ask));
  CHECK(decoded.sequence == 2);
  CHECK_FALSE(decode_quote(R"({"symbol":"X","bid":2,"ask":1,"last":1.5})", decoded, why));
  CHECK_FALSE(decode_quote("[1,2]", decoded, why));
}

TEST_CASE("the exchange matches immediate-or-cancel orders against the market's top of the book",
          "[market][exchange]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto config = load_config(embedded_default_config(), {{"BROKEDANCER_LOG_LEVEL", "error"}});
  auto bus = caf::actor_cast<event_bus_actor>(event_bus_child(config).start(sys));
  simulated_exchange_settings settings;
  settings.match_market = true;
  settings.fee_rate = 0.001;
  auto exchange = spawn_simulated_exchange(sys, settings, bus);
  // As the risk monitor does: an order's request id is its client order id.
  auto call = [&](const std::string& operation, json body, const std::string& id) {
    auto response = testing::call<endpoint_response>(
        sys, exchange, call_atom::value, endpoint_request{operation, body.dump(), id, 0, ""});
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return json::parse(response->json);
  };
  auto order = [&](const std::string& symbol, const char* side, double price,
                   const std::string& id) {
    return call("submit_order",
                {{"symbol", symbol},
                 {"side", side},
                 {"quantity", 2},
                 {"price", price},
                 {"client_order_id", id}},
                id);
  };
  // No quote yet: nothing to match against.
  CHECK(order("BTC-USD", "buy", 100, "early")["status"] == "rejected");
  quote q{"BTC-USD", 99.9, 100.1, 100, 1, 0};
  REQUIRE(testing::call<uint64_t>(sys, bus, publish_atom::value, std::string{"market.BTC-USD"},
                                  encode_quote(q), correlation_id{}));
  // The exchange reads the tick from the bus; wait until it has.
  json answer;
  for (int i = 0; i < 2000; ++i) {
    answer = order("BTC-USD", "buy", 100.1, "b-" + std::to_string(i));
    if (answer["status"] != "rejected")
      break;
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(answer["status"] == "filled");
  CHECK(answer["fill_price"] == Approx(100.1));
  CHECK(answer["fee"] == Approx(2 * 100.1 * 0.001));
  auto sell = order("BTC-USD", "sell", 99.0, "s-1"); // below the bid: fills at the bid
  CHECK(sell["status"] == "filled");
  CHECK(sell["fill_price"] == Approx(99.9));
  auto low = order("BTC-USD", "buy", 100.0, "b-low");
  CHECK(low["status"] == "expired");
  CHECK_THAT(low["reason"].get<std::string>(), Catch::Matchers::StartsWith("not_marketable"));
  CHECK(order("ETH-USD", "buy", 100, "other")["status"] == "rejected");
  // A cancel that overtakes its order: the order is refused when it arrives.
  CHECK(call("cancel_order", {{"client_order_id", "late"}}, "cancel:late")["status"]
        == "cancelled");
  auto late = order("BTC-USD", "buy", 101, "late");
  CHECK(late["status"] == "rejected");
  CHECK_THAT(late["reason"].get<std::string>(), Catch::Matchers::StartsWith("cancelled"));
  // A cancel for an order already executed finds nothing open.
  CHECK(call("cancel_order", {{"client_order_id", "s-1"}}, "cancel:s-1")["status"] == "not_open");
  for (const caf::actor& a :
       {caf::actor_cast<caf::actor>(exchange), caf::actor_cast<caf::actor>(bus)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("a simulated venue quotes the market moved by its offset, and matches at its quotes",
          "[market][exchange]") {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto config = load_config(embedded_default_config(), {{"BROKEDANCER_LOG_LEVEL", "error"}});
  auto bus = caf::actor_cast<event_bus_actor>(event_bus_child(config).start(sys));
  simulated_exchange_settings settings;
  settings.name = "venue_b";
  settings.match_market = true;
  settings.price_offset_bps = 50; // 0.5 % above the market
  auto venue = spawn_simulated_exchange(sys, settings, bus);
  auto call = [&](const std::string& operation, json body, const std::string& id) {
    return testing::call<endpoint_response>(sys, venue, call_atom::value,
                                            endpoint_request{operation, body.dump(), id, 0, ""});
  };
  // No tick yet: nothing to quote.
  auto none = call("quote", {{"symbol", "BTC-USD"}}, "");
  REQUIRE(none);
  CHECK(none->status == 404);
  quote q{"BTC-USD", 99.9, 100.1, 100, 1, 0};
  REQUIRE(testing::call<uint64_t>(sys, bus, publish_atom::value, std::string{"market.BTC-USD"},
                                  encode_quote(q), correlation_id{}));
  quote quoted;
  for (int i = 0; i < 2000; ++i) {
    auto answer = call("quote", {{"symbol", "BTC-USD"}}, "");
    REQUIRE(answer);
    std::string why;
    if (answer->status == 200 && decode_quote(answer->json, quoted, why))
      break;
    std::this_thread::sleep_for(5ms);
  }
  CHECK(quoted.symbol == "BTC-USD");
  CHECK(quoted.bid == Approx(99.9 * 1.005));
  CHECK(quoted.ask == Approx(100.1 * 1.005));
  CHECK(quoted.last == Approx(100 * 1.005));
  // The market's ask does not buy here; the venue's does, at the venue's price.
  auto order = [&](double price, const std::string& id) {
    auto answer = call("submit_order",
                       {{"symbol", "BTC-USD"},
                        {"side", "buy"},
                        {"quantity", 1},
                        {"price", price},
                        {"client_order_id", id}},
                       id);
    REQUIRE(answer);
    return json::parse(answer->json);
  };
  CHECK(order(100.1, "at-market")["status"] == "expired");
  auto filled = order(quoted.ask, "at-venue");
  CHECK(filled["status"] == "filled");
  CHECK(filled["fill_price"] == Approx(quoted.ask));
  for (const caf::actor& a : {caf::actor_cast<caf::actor>(venue), caf::actor_cast<caf::actor>(bus)})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
