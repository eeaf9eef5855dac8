// `brokedancer exchange`'s server with its ledger file: what it answered before a crash it
// answers the same after, and a record cut short by the crash is dropped for good.

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include <catch2/catch.hpp>

// As http_server_test.cpp, the other user of httplib in this binary.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "runtime/exchange_server.hpp"

using namespace brokedancer;
using json = nlohmann::json;

namespace {

std::string temporary_ledger() {
  char dir[] = "/tmp/brokedancer-ledger-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string{dir} + "/ledger.jsonl";
}

json post(uint16_t port, const std::string& path, const json& body, int expected = 200) {
  httplib::Client client{"127.0.0.1", port};
  auto answer = client.Post(path.c_str(), body.dump(), "application/json");
  REQUIRE(answer);
  CHECK(answer->status == expected);
  return json::parse(answer->body, nullptr, false);
}

json order_body(const std::string& id) {
  return {{"client_order_id", id}, {"account", "node-a"}, {"bot_id", "bot-1"},
          {"symbol", "BTC-USD"},   {"side", "buy"},       {"quantity", 1},
          {"price", 100},          {"fence", 5}};
}

} // namespace

TEST_CASE("the exchange reads its ledger file back: the same answers, and a torn last record is "
          "dropped for good",
          "[exchange]") {
  auto file = temporary_ledger();
  json first;
  {
    exchange_server exchange{{"127.0.0.1", 0, 0.001, file, false, 2}};
    first = post(exchange.port(), "/orders", order_body("o-1"));
    CHECK(first["status"] == "filled");
    post(exchange.port(), "/orders/cancel", {{"client_order_id", "o-2"}});
    post(exchange.port(), "/orders", {{"quantity", "lots"}}, 400);
    post(exchange.port(), "/orders/status", {{"client_order_ids", "o-1"}}, 400);
  }
  // A crash in the middle of a record's write.
  {
    std::ofstream torn{file, std::ios::app};
    torn << R"({"order":{"client_order_id":"o-3","sta)";
  }
  for (int restart = 0; restart < 2; ++restart) {
    exchange_server exchange{{"127.0.0.1", 0, 0.001, file, false, 2}};
    CHECK(exchange.replayed() == 2 + static_cast<size_t>(restart));
    CHECK(post(exchange.port(), "/orders", order_body("o-1")) == first);
    CHECK(post(exchange.port(), "/orders", order_body("o-2"))["status"] == "rejected");
    auto status = post(exchange.port(), "/orders/status",
                       {{"client_order_ids", {"o-1", "o-3"}}, {"seal", false}});
    CHECK(status["orders"][1]["status"] == "unknown");
    if (restart == 0)
      post(exchange.port(), "/orders", order_body("o-4"));
    httplib::Client client{"127.0.0.1", exchange.port()};
    auto fills = client.Get("/fills?account=node-a");
    REQUIRE(fills);
    CHECK(json::parse(fills->body)["fills"].size() == 2);
  }
  // A damaged record anywhere but at the end: the file is refused, saying where.
  {
    std::ofstream damaged{file, std::ios::app};
    damaged << "not json\n" << first.dump() << "\n";
  }
  CHECK_THROWS_WITH((exchange_server{{"127.0.0.1", 0, 0.001, file, false, 2}}),
                    Catch::Matchers::Contains("not a ledger record"));
}
