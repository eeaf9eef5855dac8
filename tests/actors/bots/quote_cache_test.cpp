#include <catch2/catch.hpp>

#include "actors/bots/quote_cache.hpp"

using namespace brokedancer;

namespace {

event tick(double last) {
  quote q;
  q.symbol = "BTC";
  q.bid = last - 1;
  q.ask = last + 1;
  q.last = last;
  event ev;
  ev.topic = "market.BTC";
  ev.json = encode_quote(q);
  return ev;
}

} // namespace

TEST_CASE("every reader of one tick gets the one quote decoded from it") {
  quote_cache quotes;
  auto ev = tick(100);
  quotes.begin(ev);
  const quote* first = quotes.of(ev);
  REQUIRE(first != nullptr);
  CHECK(first->last == 100);
  CHECK(quotes.of(ev) == first);
  quotes.end();
  auto next = tick(101);
  quotes.begin(next);
  REQUIRE(quotes.of(next) != nullptr);
  CHECK(quotes.of(next)->last == 101);
  quotes.end();
}

TEST_CASE("a payload that is no quote gives no quote, and another event is decoded afresh") {
  quote_cache quotes;
  auto ev = tick(100);
  event bad;
  bad.topic = "market.BTC";
  bad.json = R"({"symbol":"BTC","bid":2,"ask":1,"last":1.5})";
  quotes.begin(bad);
  CHECK(quotes.of(bad) == nullptr);
  REQUIRE(quotes.of(ev) != nullptr);
  CHECK(quotes.of(ev)->last == 100);
  CHECK(quotes.of(bad) == nullptr);
  quotes.end();
}
