#include <catch2/catch.hpp>

#include "actors/subscription_table.hpp"

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
