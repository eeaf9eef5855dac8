// Which prices become marks, and which fills the book takes: the rules alone, no actors.

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/risk/mark_filter.hpp"
#include "messages/risk.hpp"

using namespace brokedancer;
using verdict = mark_filter::verdict;

TEST_CASE("only symbols the node trades are marked, and only at finite positive prices") {
  mark_filter f;
  CHECK(f.consider("FAKE-1", 100, 0, false) == verdict::refused);
  CHECK(f.consider("BTC", 100, 0, true) == verdict::taken);
  CHECK(f.consider("BTC", std::numeric_limits<double>::infinity(), 100, true) == verdict::refused);
  CHECK(f.consider("BTC", std::nan(""), 100, true) == verdict::refused);
  CHECK(f.consider("BTC", -1, 100, true) == verdict::refused);
  CHECK(f.consider("BTC", 0, 100, true) == verdict::refused);
}

TEST_CASE("one price far from the last mark is held, and taken once two more agree with it") {
  mark_filter f{{20, 2}};
  CHECK(f.consider("BTC", 110, 100, true) == verdict::taken); // 10 %: a move
  CHECK(f.consider("BTC", 1e6, 100, true) == verdict::held);  // one fake print
  CHECK(f.consider("BTC", 101, 100, true) == verdict::taken); // the market goes on
  CHECK(f.held() == 0);
  // A market that really moved: the third agreeing price is taken.
  CHECK(f.consider("BTC", 150, 100, true) == verdict::held);
  CHECK(f.consider("BTC", 152, 100, true) == verdict::held);
  CHECK(f.consider("BTC", 151, 100, true) == verdict::taken);
  // Disagreeing outliers start over.
  CHECK(f.consider("ETH", 10, 0, true) == verdict::taken);
  CHECK(f.consider("ETH", 100, 10, true) == verdict::held);
  CHECK(f.consider("ETH", 1000, 10, true) == verdict::held);
  CHECK(f.consider("ETH", 1010, 10, true) == verdict::held);
  CHECK(f.consider("ETH", 1005, 10, true) == verdict::taken);
}

TEST_CASE("with the jump check off, every finite positive price of a traded symbol is taken") {
  mark_filter f{{0, 2}};
  CHECK(f.consider("BTC", 1e9, 1, true) == verdict::taken);
  CHECK(f.consider("BTC", 1e-9, 1e9, true) == verdict::taken);
}

TEST_CASE("a fill with a number that is not finite, or out of proportion, is not booked") {
  CHECK(sane_fill(1, 1, 100, 0.1));
  CHECK(sane_fill(2, 1, 100, 0)); // partial
  auto inf = std::numeric_limits<double>::infinity();
  CHECK_FALSE(sane_fill(1, 1, inf, 0.1));
  CHECK_FALSE(sane_fill(1, 1, std::nan(""), 0.1));
  CHECK_FALSE(sane_fill(1, inf, 100, 0.1));
  CHECK_FALSE(sane_fill(1, 1, 100, inf));
  CHECK_FALSE(sane_fill(1, 2, 100, 0.1));         // more than ordered
  CHECK_FALSE(sane_fill(1, 1, 0, 0));             // no price
  CHECK_FALSE(sane_fill(1, 1, 100, 500));         // a fee above the notional
  CHECK_FALSE(sane_fill(1e300, 1e300, 1e300, 0)); // a notional that overflows
  // nlohmann refuses a number JSON cannot hold as a double (1e400: "number overflow"), so an
  // answer carrying one is not JSON at all to the risk monitor.
  CHECK(nlohmann::json::parse(R"({"fill_price": 1e400})", nullptr, false).is_discarded());
}
