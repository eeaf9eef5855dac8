// The exchange's ledger as plain code: an order decided once whatever the retries, fills per
// account in order, cancels that came first, fences that keep a node that lost a bot out.

#include <catch2/catch.hpp>

#include "actors/market/exchange_ledger.hpp"

using namespace brokedancer;
using json = nlohmann::json;

namespace {

json order_body(const std::string& id, const std::string& account = "node-a",
                const std::string& bot = "bot-1", uint64_t fence = 0, double price = 100) {
  return {{"client_order_id", id}, {"account", account}, {"bot_id", bot},  {"symbol", "BTC-USD"},
          {"side", "buy"},         {"quantity", 2},      {"price", price}, {"fence", fence}};
}

const exchange_ledger::quote_lookup no_quotes = [](const std::string&) -> const quote* {
  return nullptr;
};

} // namespace

TEST_CASE("an order sent again gets its first answer, and fills once") {
  exchange_ledger ledger{{0.001, 100}};
  auto first = ledger.submit(order_body("o-1"), 1, false, no_quotes);
  REQUIRE(first.status == 200);
  CHECK(first.body["status"] == "filled");
  CHECK(first.body["fill_seq"] == 1);
  CHECK(first.body["fee"].get<double>() == Approx(0.2));
  auto retry = ledger.submit(order_body("o-1", "node-a", "bot-1", 0, 999), 2, false, no_quotes);
  CHECK(retry.body == first.body);
  CHECK(ledger.fills() == 1);
  auto fills = ledger.fills_since("node-a", 0, 10);
  CHECK(fills["fills"].size() == 1);
  CHECK(ledger.fills_since("node-b", 0, 10)["fills"].empty());
}

TEST_CASE("a cancel that arrives first keeps the order from filling, and sealing does the same") {
  exchange_ledger ledger;
  CHECK(ledger.cancel("o-2", 1).body["status"] == "cancelled");
  auto late = ledger.submit(order_body("o-2"), 2, false, no_quotes);
  CHECK(late.body["status"] == "rejected");
  CHECK(ledger.fills() == 0);
  auto status = ledger.status_of({"o-3", "o-2"}, true, 3);
  CHECK(status["orders"][0]["status"] == "cancelled");
  CHECK(ledger.submit(order_body("o-3"), 4, false, no_quotes).body["status"] == "rejected");
  ledger.submit(order_body("o-4"), 5, false, no_quotes);
  CHECK(ledger.cancel("o-4", 6).body["status"] == "not_open");
  CHECK(ledger.status_of({"o-9"}, false, 7)["orders"][0]["status"] == "unknown");
}

TEST_CASE("an order whose fence is older than one seen for its bot is refused as not_owner") {
  exchange_ledger ledger;
  CHECK(ledger.submit(order_body("a-1", "node-a", "bot-1", 3), 1, false, no_quotes).body["status"]
        == "filled");
  CHECK(ledger.submit(order_body("b-1", "node-b", "bot-1", 4), 2, false, no_quotes).body["status"]
        == "filled");
  auto stale = ledger.submit(order_body("a-2", "node-a", "bot-1", 3), 3, false, no_quotes);
  CHECK(stale.body["status"] == "rejected");
  CHECK(stale.body["reason"].get<std::string>().rfind("not_owner", 0) == 0);
  CHECK(ledger.submit(order_body("c-1", "node-a", "bot-2", 0), 4, false, no_quotes).body["status"]
        == "filled");
}

TEST_CASE("an order cannot pin a bot's fence beyond what /fences accepts") {
  exchange_ledger ledger;
  auto pinned =
      ledger.submit(order_body("x-1", "intruder", "bot-1", UINT64_MAX), 1, false, no_quotes);
  CHECK(pinned.status == 400);
  // The bot's real owner still trades.
  CHECK(ledger.submit(order_body("a-1", "node-a", "bot-1", 3), 2, false, no_quotes).body["status"]
        == "filled");
}

TEST_CASE("malformed orders are refused and remembered nowhere") {
  exchange_ledger ledger;
  auto body = order_body("bad");
  body["quantity"] = -1;
  CHECK(ledger.submit(body, 1, false, no_quotes).status == 400);
  body = order_body("bad");
  body["side"] = "hold";
  CHECK(ledger.submit(body, 1, false, no_quotes).status == 400);
  body = order_body(std::string(200, 'x'));
  CHECK(ledger.submit(body, 1, false, no_quotes).status == 400);
  CHECK(ledger.submit(json::array(), 1, false, no_quotes).status == 400);
  CHECK(ledger.orders() == 0);
}

TEST_CASE("a ledger read back from its records answers as the one that wrote them") {
  exchange_ledger writer;
  std::vector<json> records;
  writer.on_record = [&](const json& r) {
    records.push_back(r);
  };
  writer.submit(order_body("o-1"), 1, false, no_quotes);
  writer.cancel("o-2", 2);
  writer.submit(order_body("o-3", "node-a", "bot-1", 7), 3, false, no_quotes);
  exchange_ledger reader;
  for (const auto& r : records) {
    std::string why;
    REQUIRE(reader.replay(r, why));
  }
  CHECK(reader.orders() == 3);
  CHECK(reader.fills() == 2);
  CHECK(reader.submit(order_body("o-1", "node-a", "bot-1", 0, 5), 4, false, no_quotes).body
        == writer.submit(order_body("o-1"), 4, false, no_quotes).body);
  CHECK(reader.submit(order_body("o-2"), 5, false, no_quotes).body["status"] == "rejected");
  CHECK(reader.submit(order_body("o-4", "node-a", "bot-1", 6), 6, false, no_quotes).body["status"]
        == "rejected");
  std::string why;
  CHECK_FALSE(reader.replay(json{{"order", {{"status", "filled"}}}}, why));
}

TEST_CASE("a fence told before the new owner's first order refuses the old owner's at once") {
  exchange_ledger ledger;
  std::vector<json> records;
  ledger.on_record = [&](const json& r) {
    records.push_back(r);
  };
  CHECK(ledger.submit(order_body("a-1", "node-a", "bot-1", 3), 1, false, no_quotes).body["status"]
        == "filled");
  CHECK(ledger.raise_fence({{"bot_id", "bot-1"}, {"fence", 4}}).body["fence"] == 4);
  // A lower one changes nothing.
  CHECK(ledger.raise_fence({{"bot_id", "bot-1"}, {"fence", 2}}).body["fence"] == 4);
  CHECK(ledger.submit(order_body("a-2", "node-a", "bot-1", 3), 2, false, no_quotes).body["status"]
        == "rejected");
  CHECK(ledger.raise_fence({{"bot_id", 7}, {"fence", 4}}).status == 400);
  CHECK(ledger.raise_fence({{"bot_id", "bot-1"}, {"fence", -1}}).status == 400);
  // The fence survives a restart from the file.
  exchange_ledger reader;
  for (const auto& r : records) {
    std::string why;
    REQUIRE(reader.replay(r, why));
  }
  CHECK(reader.submit(order_body("a-3", "node-a", "bot-1", 3), 3, false, no_quotes).body["status"]
        == "rejected");
}
