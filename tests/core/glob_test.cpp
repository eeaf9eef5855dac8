#include <catch2/catch.hpp>

#include "core/glob.hpp"

using namespace brokedancer;

TEST_CASE("glob patterns follow Redis's rules") {
  CHECK(glob_match("*", ""));
  CHECK(glob_match("trade.*", "trade."));
  CHECK(glob_match("trade.*", "trade.BTC.fill"));
  CHECK_FALSE(glob_match("trade.*", "trades"));
  CHECK(glob_match("bot.123.*", "bot.123.orders"));
  CHECK(glob_match("prices:*", "prices:ETH"));
  CHECK(glob_match("h?llo", "hallo"));
  CHECK_FALSE(glob_match("h?llo", "hllo"));
  CHECK(glob_match("h[ae]llo", "hello"));
  CHECK_FALSE(glob_match("h[ae]llo", "hillo"));
  CHECK(glob_match("h[^e]llo", "hallo"));
  CHECK_FALSE(glob_match("h[^e]llo", "hello"));
  CHECK(glob_match("h[a-c]llo", "hbllo"));
  CHECK(glob_match("h[c-a]llo", "hbllo")); // a reversed range is swapped
  CHECK(glob_match("a\\*b", "a*b"));
  CHECK_FALSE(glob_match("a\\*b", "axb"));
  CHECK(glob_match("[\\]]", "]"));
  CHECK(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  CHECK_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  CHECK(glob_match("a[bc", "ab")); // an unclosed set takes the rest of the pattern
  CHECK_FALSE(glob_match("", "x"));
}

TEST_CASE("an escaped string matches only itself") {
  std::string odd = "desk[1]*?\\x";
  CHECK(glob_match(glob_escape(odd), odd));
  CHECK_FALSE(glob_match(glob_escape(odd), "desk1xx\\x"));
  CHECK(glob_match(glob_escape(odd) + "*", odd + "position"));
}
