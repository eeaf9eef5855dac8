// The order journal's entries as plain code: what a replay finds open, and what the exchange's
// word about an order makes of it.

#include <catch2/catch.hpp>

#include "actors/risk/journal_entries.hpp"

using namespace brokedancer;
using json = nlohmann::json;

namespace {

order sample_order(const std::string& id) {
  order o;
  o.bot_id = "bot-1";
  o.symbol = "BTC-USD";
  o.side = order_side::sell;
  o.quantity = 0.5;
  o.price = 100;
  o.client_order_id = id;
  o.fence = 3;
  return o;
}

} // namespace

TEST_CASE("a replay finds the orders without an outcome, in the order they were journaled") {
  journal_replay replay;
  replay.add({"10-0", order_entry(sample_order("o-1"), 1)});
  replay.add({"10-1", order_entry(sample_order("o-2"), 2)});
  replay.add({"9-5", "not json"});
  order_result filled{"o-1", order_outcome::filled, reject_code::none, "", 0.5, 101, 0.05};
  replay.add({"11-0", outcome_entry(filled, "answer")});
  replay.add({"11-1", order_entry(sample_order("o-3"), 3)});
  replay.add({"11-2", R"({"type":"order","client_order_id":"o-4","side":"short"})"});
  auto open = replay.open_orders();
  REQUIRE(open.size() == 2);
  CHECK(open[0].first == "10-1");
  CHECK(open[0].second.client_order_id == "o-2");
  CHECK(open[0].second.side == order_side::sell);
  CHECK(open[0].second.fence == 3);
  CHECK(open[1].second.client_order_id == "o-3");
  CHECK(replay.unreadable() == 2);
  CHECK(replay.entries() == 6);
  CHECK(replay.last_id() == "11-2");
}

TEST_CASE("an order to a venue is replayed with its venue, so that it is asked about there") {
  auto to_b = sample_order("o-1");
  to_b.venue = "venue_b";
  auto own = sample_order("o-2");
  // The node's own endpoint's entries stay as they were before venues.
  CHECK(json::parse(order_entry(own, 1)).count("venue") == 0);
  CHECK(json::parse(order_entry(to_b, 1))["venue"] == "venue_b");
  journal_replay replay;
  replay.add({"10-0", order_entry(to_b, 1)});
  replay.add({"10-1", order_entry(own, 2)});
  auto bad = json::parse(order_entry(sample_order("o-3"), 3));
  bad["venue"] = 7; // not a name: unreadable, not an order to the node's own endpoint
  replay.add({"10-2", bad.dump()});
  auto open = replay.open_orders();
  REQUIRE(open.size() == 2);
  CHECK(open[0].second.venue == "venue_b");
  CHECK(open[1].second.venue.empty());
  CHECK(replay.unreadable() == 1);
}

TEST_CASE("the exchange's word settles an order, and what it does not know leaves it open") {
  auto o = sample_order("o-1");
  auto filled = reconciled_result(o, {{"client_order_id", "o-1"},
                                      {"status", "filled"},
                                      {"filled_quantity", 0.5},
                                      {"fill_price", 99.5},
                                      {"fee", 0.05}});
  CHECK(filled.outcome == order_outcome::filled);
  CHECK(filled.fill_price == 99.5);
  CHECK(reconciled_result(o, {{"client_order_id", "o-1"}, {"status", "cancelled"}}).outcome
        == order_outcome::cancelled);
  CHECK(reconciled_result(o, {{"client_order_id", "o-1"}, {"status", "unknown"}}).outcome
        == order_outcome::failed);
  // Another order's answer, or a fill larger than ordered, is not taken.
  CHECK(reconciled_result(o, {{"client_order_id", "o-2"}, {"status", "filled"}}).outcome
        == order_outcome::failed);
  auto too_big = reconciled_result(o, {{"client_order_id", "o-1"},
                                       {"status", "filled"},
                                       {"filled_quantity", 5},
                                       {"fill_price", 99.5},
                                       {"fee", 0}});
  CHECK(too_big.outcome == order_outcome::accepted);
  auto stale = reconciled_result(
      o, {{"client_order_id", "o-1"}, {"status", "rejected"}, {"reason", "not_owner: fence"}});
  CHECK(stale.code == reject_code::not_owner);
}
