#include <catch2/catch.hpp>

#include "actors/bus/subscription_table.hpp"

using namespace brokedancer;

TEST_CASE("a subscription is a pattern when it has an unescaped wildcard") {
  CHECK(subscription_table::is_pattern("trade.*"));
  CHECK(subscription_table::is_pattern("h?llo"));
  CHECK(subscription_table::is_pattern("bot.[12]"));
  CHECK_FALSE(subscription_table::is_pattern("trading.orders"));
  CHECK_FALSE(subscription_table::is_pattern("a\\*b"));
}

TEST_CASE("a pattern is filed under what it matches literally before its first wildcard") {
  CHECK(subscription_table::literal_prefix("bot.123.*") == "bot.123.");
  CHECK(subscription_table::literal_prefix("*") == "");
  CHECK(subscription_table::literal_prefix("a\\*b*") == "a*b");
  CHECK(subscription_table::literal_prefix("prices:[AB]*") == "prices:");
}

TEST_CASE("matching subscriptions are visited in the order they were made, patterns or not") {
  subscription_table table;
  // Handles are not needed to match; the ids tell the order.
  auto market_wide = table.add("market.*", caf::actor{});
  auto exact = table.add("market.BTC-USD", caf::actor{});
  auto everything = table.add("*", caf::actor{});
  auto other = table.add("market.ETH-USD", caf::actor{});
  auto exact_again = table.add("market.BTC-USD", caf::actor{});
  std::vector<uint64_t> seen;
  table.for_each_match("market.BTC-USD", [&](subscription& s) { seen.push_back(s.id); });
  CHECK(seen == std::vector<uint64_t>{market_wide, exact, everything, exact_again});
  seen.clear();
  table.remove(market_wide);
  table.for_each_match("market.ETH-USD", [&](subscription& s) { seen.push_back(s.id); });
  CHECK(seen == std::vector<uint64_t>{everything, other});
}
