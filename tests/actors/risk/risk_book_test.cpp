// The risk book as plain code, with explicit times and no actor system: position booking (the
// risk monitor's and the bot host's), fees, each limit at its boundary, each pre-trade
// rejection, the trades-per-hour window, the day roll, and the persisted form against hostile
// input.

#include <cmath>
#include <cstdint>
#include <string>

#include <catch2/catch.hpp>

#include "actors/risk/position.hpp"
#include "actors/risk/risk_book.hpp"
#include "core/json_text.hpp"

using namespace brokedancer;
using Catch::Matchers::StartsWith;

namespace {

constexpr int64_t second_us = 1000000;
constexpr int64_t hour_us = 3600 * second_us;
// 2026-11-30 12:00:00 UTC.
constexpr int64_t noon_us = int64_t{1796040000} * second_us;

order buy(const std::string& symbol, double quantity, double price) {
  return {"bot-1", symbol, order_side::buy, quantity, price, "o-1", ""};
}

order sell(const std::string& symbol, double quantity, double price) {
  return {"bot-1", symbol, order_side::sell, quantity, price, "o-1", ""};
}

// A book on its first day at noon, with the given limits.
risk_book started(risk_limits limits) {
  risk_book book{limits};
  book.start_afresh();
  book.roll_day(noon_us);
  return book;
}

risk_limits no_limits() {
  return risk_limits{};
}

} // namespace

// --- positions -------------------------------------------------------------------------------

TEST_CASE("a position adds at average cost and realizes on what a fill closes, before fees") {
  position p;
  CHECK(apply_fill(p, order_side::buy, 2, 100) == 0);
  CHECK(apply_fill(p, order_side::buy, 2, 110) == 0);
  CHECK(p.quantity == 4);
  CHECK(p.average_price == Approx(105));
  // A partial close realizes on the part it closes; the rest keeps its average.
  CHECK(apply_fill(p, order_side::sell, 1, 120) == Approx(15));
  CHECK(p.quantity == 3);
  CHECK(p.average_price == Approx(105));
  CHECK(unrealized_pnl(p, 100) == Approx(-15));
  CHECK(unrealized_pnl(p, 0) == 0); // no mark: nothing unrealized
}

TEST_CASE("a fill through zero closes the position and opens the rest at its own price") {
  position p;
  apply_fill(p, order_side::buy, 3, 105);
  CHECK(apply_fill(p, order_side::sell, 5, 100) == Approx(-15));
  CHECK(p.quantity == -2);
  CHECK(p.average_price == 100);
  CHECK(unrealized_pnl(p, 90) == Approx(20)); // short: gains as the price falls
  // And back through zero the other way.
  CHECK(apply_fill(p, order_side::buy, 3, 90) == Approx(20));
  CHECK(p.quantity == 1);
  CHECK(p.average_price == 90);
}

TEST_CASE("a position closed to zero is flat, average included, whatever rounding leaves") {
  position p;
  apply_fill(p, order_side::buy, 0.3, 100);
  apply_fill(p, order_side::sell, 0.1, 100);
  apply_fill(p, order_side::sell, 0.2, 100); // 0.3 - 0.1 - 0.2 is not 0 in doubles
  CHECK(is_flat(p));
  CHECK(p.average_price == 0);
  // A flat position opens afresh at the next fill's price.
  apply_fill(p, order_side::sell, 1, 50);
  CHECK(p.quantity == -1);
  CHECK(p.average_price == 50);
}

TEST_CASE("a fill without a positive finite quantity and price books nothing (no NaN average)") {
  position p;
  CHECK(apply_fill(p, order_side::buy, 0, 100) == 0);
  CHECK(is_flat(p));
  CHECK(p.average_price == 0);
  apply_fill(p, order_side::buy, 1, 100);
  CHECK(apply_fill(p, order_side::sell, NAN, 100) == 0);
  CHECK(apply_fill(p, order_side::sell, 1, INFINITY) == 0);
  CHECK(apply_fill(p, order_side::sell, -1, 100) == 0);
  CHECK(apply_fill(p, order_side::sell, 1, 0) == 0);
  CHECK(p.quantity == 1);
  CHECK(p.average_price == 100);
}

// --- the book --------------------------------------------------------------------------------

TEST_CASE("the book takes each fill's fee off realized P&L: equity is net") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 10, 100, 1);
  CHECK(book.realized_pnl() == Approx(-1));
  book.book_fill("BTC", order_side::sell, 10, 90, 0.9);
  // What a bot's stats show apart: -100 realized before fees, 1.9 in fees.
  CHECK(book.realized_pnl() == Approx(-100 - 1.9));
  CHECK(book.equity() == Approx(100000 - 101.9));
}

TEST_CASE(
    "a closed position leaves the book, and its fill's price stays the mark until forgotten") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 2, 100, 0);
  CHECK(book.holds("BTC"));
  book.book_fill("BTC", order_side::sell, 2, 110, 0);
  CHECK_FALSE(book.holds("BTC"));
  CHECK(book.positions().empty());
  CHECK(book.mark("BTC", 0) == 110);
  book.forget_mark("BTC");
  CHECK(book.mark("BTC", -1) == -1);
}

TEST_CASE("a zero-quantity fill on a flat book changes nothing") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 0, 100, 0);
  CHECK(book.positions().empty());
  CHECK(book.mark_count() == 0);
  CHECK(std::isfinite(book.equity()));
  CHECK(book.equity() == 100000);
}

TEST_CASE("positions are reported at their mark, or at their average without one") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 2, 100, 0);
  book.set_mark("BTC", 110);
  book.book_fill("ETH", order_side::sell, 1, 50, 0);
  book.forget_mark("ETH");
  auto statuses = book.position_statuses();
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].symbol == "BTC");
  CHECK(statuses[0].unrealized_pnl == Approx(20));
  CHECK(statuses[1].symbol == "ETH");
  CHECK(statuses[1].mark_price == 50);
  CHECK(book.unrealized_pnl() == Approx(20));
  CHECK(book.exposure("BTC") == Approx(220));
  CHECK(book.total_exposure() == Approx(270));
}

TEST_CASE("a venue's positions are booked apart from the same symbol's, at the symbol's mark") {
  risk_limits limits;
  limits.max_position_size = 1000;
  auto book = started(limits);
  auto on_a = buy("BTC", 2, 100);
  on_a.venue = "venue_a";
  auto on_b = sell("BTC", 2, 103);
  on_b.venue = "venue_b";
  CHECK(book_symbol(on_a) == "BTC@venue_a");
  CHECK(market_symbol("BTC@venue_a") == "BTC");
  CHECK(venue_of("BTC@venue_a") == "venue_a");
  CHECK(venue_of("BTC").empty());
  book.book_fill(book_symbol(on_a), on_a.side, 2, 100, 0);
  book.book_fill(book_symbol(on_b), on_b.side, 2, 103, 0);
  // Two positions, not a flat book: each is held, and closed, where it is.
  auto statuses = book.position_statuses();
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].symbol == "BTC@venue_a");
  CHECK(statuses[0].quantity == 2);
  CHECK(statuses[1].symbol == "BTC@venue_b");
  CHECK(statuses[1].quantity == -2);
  // One mark for the asset: the last fill's price, and the market's ticks after it.
  CHECK(statuses[0].mark_price == 103);
  book.set_mark("BTC", 101);
  CHECK(book.mark("BTC@venue_b", 0) == 101);
  CHECK(book.unrealized_pnl() == Approx(2 * (101 - 100) + -2 * (101 - 103)));
  CHECK(book.total_exposure() == Approx(404));
  CHECK(book.holds("BTC"));
  CHECK_FALSE(book.holds("BT"));
  CHECK_FALSE(book.holds("BTC-USD"));
  // Each venue's position meets the limit on its own; the venue that holds none has room.
  auto more_on_a = buy("BTC", 8, 101);
  more_on_a.venue = "venue_a";
  auto refused = book.check(more_on_a, noon_us);
  REQUIRE(refused);
  CHECK(refused->reason == "max_position_size: 1010.00 in BTC@venue_a over 1000.00");
  CHECK_FALSE(book.check(buy("BTC", 8, 101), noon_us));
  // The book keeps them across a restart.
  risk_book reloaded{limits};
  std::string why;
  REQUIRE(reloaded.from_json(book.to_json().dump(), why));
  CHECK(reloaded.position_statuses().size() == 2);
}

// --- the pre-trade check ---------------------------------------------------------------------

TEST_CASE("an order without a symbol, an id, or a positive finite quantity and price is invalid") {
  CHECK_FALSE(malformed(buy("BTC", 1, 100)));
  auto no_symbol = buy("", 1, 100);
  auto no_id = buy("BTC", 1, 100);
  no_id.client_order_id.clear();
  // '@' parts a venue's book symbol: "BTC@b" on the node's endpoint would be BTC on venue b.
  auto at_in_symbol = buy("BTC@venue_b", 1, 100);
  auto at_in_venue = buy("BTC", 1, 100);
  at_in_venue.venue = "b@c";
  for (const auto& o :
       {no_symbol, no_id, buy("BTC", 0, 100), buy("BTC", -1, 100), buy("BTC", NAN, 100),
        buy("BTC", 1, INFINITY), buy("BTC", 1, 0), at_in_symbol, at_in_venue}) {
    auto problem = malformed(o);
    REQUIRE(problem);
    CHECK(problem->code == reject_code::invalid_order);
    CHECK_THAT(problem->reason, StartsWith("invalid_order: "));
  }
}

TEST_CASE("the order notional limit passes an order at the limit and refuses one above it") {
  risk_limits limits;
  limits.max_order_notional = 5000;
  auto book = started(limits);
  CHECK_FALSE(book.check(buy("BTC", 1, 5000), noon_us));
  auto refused = book.check(buy("BTC", 1, 5000.01), noon_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_order_notional);
  CHECK(refused->reason == "max_order_notional: 5000.01 over 5000.00");
}

TEST_CASE("the position size limit refuses growth past it and passes any order that reduces") {
  risk_limits limits;
  limits.max_position_size = 10000;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 2, 4000, 0);
  CHECK_FALSE(book.check(buy("BTC", 0.5, 4000), noon_us)); // 10,000: at the limit
  auto refused = book.check(buy("BTC", 0.5001, 4000), noon_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_position_size);
  CHECK(refused->reason == "max_position_size: 10000.40 in BTC over 10000.00");
  // Over the limit already (the mark rose): reducing passes, growing does not.
  book.set_mark("BTC", 6000);
  CHECK_FALSE(book.check(sell("BTC", 0.1, 6000), noon_us));
  CHECK(book.check(buy("BTC", 0.1, 6000), noon_us));
  // A short that grows is growth too.
  CHECK(book.check(sell("BTC", 5, 4000), noon_us));
}

TEST_CASE("the total position limit counts every symbol at its mark") {
  risk_limits limits;
  limits.max_total_position = 15000;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 2, 4000, 0);
  book.book_fill("ETH", order_side::buy, 1, 4000, 0);
  CHECK_FALSE(book.check(buy("SOL", 0.75, 4000), noon_us)); // 15,000: at the limit
  auto refused = book.check(buy("SOL", 0.76, 4000), noon_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_total_position);
  CHECK(refused->reason == "max_total_position: 15040.00 over 15000.00");
  CHECK_FALSE(book.check(sell("ETH", 1, 4000), noon_us));
}

TEST_CASE("the trades-per-hour window counts the orders of the last 60 minutes exactly") {
  risk_limits limits;
  limits.max_trades_per_hour = 2;
  auto book = started(limits);
  book.count_trade(noon_us);
  book.count_trade(noon_us + second_us);
  auto refused = book.check(buy("BTC", 1, 100), noon_us + 2 * second_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_trades_per_hour);
  CHECK(refused->reason == "max_trades_per_hour: 2 orders in the last hour");
  CHECK(book.limits(noon_us + 2 * second_us)[4].current == 2);
  // One microsecond short of an hour after the first, it still counts...
  CHECK(book.check(buy("BTC", 1, 100), noon_us + hour_us - 1));
  // ... and an hour after it, it has left the window.
  CHECK_FALSE(book.check(buy("BTC", 1, 100), noon_us + hour_us));
  CHECK(book.trades_in_window() == 1);
  CHECK(book.limits(noon_us + hour_us)[4].current == 1);
}

TEST_CASE("the trade window is kept only while its limit is on") {
  auto book = started(no_limits());
  for (int i = 0; i < 10; ++i)
    book.count_trade(noon_us + i);
  CHECK(book.trades_in_window() == 0);
}

TEST_CASE("a reached daily loss passes only orders that reduce a position") {
  risk_limits limits;
  limits.max_daily_loss = 100;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 90.01); // a loss of 99.90
  CHECK_FALSE(book.check(buy("BTC", 1, 90), noon_us));
  book.set_mark("BTC", 90); // 100: reached
  auto refused = book.check(buy("BTC", 1, 90), noon_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_daily_loss);
  CHECK(refused->reason
        == "max_daily_loss: 100.00 has reached the limit of 100.00; only orders "
           "that reduce a position pass");
  CHECK_FALSE(book.check(sell("BTC", 1, 90), noon_us));
  // A new position is growth as well.
  CHECK(book.check(sell("ETH", 1, 90), noon_us));
}

TEST_CASE("a reached drawdown from the peak equity passes only orders that reduce a position") {
  risk_limits limits;
  limits.starting_equity = 1000;
  limits.max_drawdown_percent = 10;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 110); // equity 1100: the new peak once evaluated
  book.evaluate();
  CHECK(book.peak_equity() == Approx(1100));
  book.set_mark("BTC", 98.9); // 989: 10.09 % down from 1100
  auto refused = book.check(buy("BTC", 1, 99), noon_us);
  REQUIRE(refused);
  CHECK(refused->code == reject_code::max_drawdown_percent);
  CHECK_THAT(refused->reason, StartsWith("max_drawdown_percent: 10.09 has reached the limit of "
                                         "10.00"));
  CHECK_FALSE(book.check(sell("BTC", 1, 99), noon_us));
  book.set_mark("BTC", 99); // 990: 10 % exactly
  CHECK(book.check(buy("BTC", 1, 99), noon_us));
  book.set_mark("BTC", 99.1); // 991: 9.9 %
  CHECK_FALSE(book.check(buy("BTC", 1, 99), noon_us));
}

// --- limits and crossings --------------------------------------------------------------------

TEST_CASE("limits are listed in the order operators see them, with their utilization") {
  risk_limits limits;
  limits.max_daily_loss = 1000;
  limits.max_position_size = 10000;
  limits.max_total_position = 15000;
  limits.max_order_notional = 5000;
  limits.max_trades_per_hour = 4;
  limits.max_drawdown_percent = 50;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 1, 2500, 0);
  book.count_trade(noon_us);
  auto all = book.limits(noon_us);
  REQUIRE(all.size() == 6);
  std::vector<std::string> names;
  for (const auto& l : all)
    names.push_back(l.name);
  CHECK(names
        == std::vector<std::string>{"max_daily_loss", "max_position_size", "max_total_position",
                                    "max_order_notional", "max_trades_per_hour",
                                    "max_drawdown_percent"});
  CHECK(all[1].utilization == Approx(25));
  CHECK(all[3].current == 0);
  CHECK(all[4].utilization == Approx(25));
}

TEST_CASE("a limit warns once at warning_percent and breaches once at 100 %, per trading day") {
  risk_limits limits;
  limits.max_daily_loss = 100;
  limits.warning_percent = 80;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 92.01); // 79.9 %
  CHECK(book.evaluate().empty());
  book.set_mark("BTC", 92); // 80 %
  auto warned = book.evaluate();
  REQUIRE(warned.size() == 1);
  CHECK(warned[0].limit.name == "max_daily_loss");
  CHECK_FALSE(warned[0].breached);
  CHECK(book.evaluate().empty());
  book.set_mark("BTC", 90); // 100 %
  auto breached = book.evaluate();
  REQUIRE(breached.size() == 1);
  CHECK(breached[0].breached);
  CHECK(breached[0].limit.utilization == Approx(100));
  CHECK(book.evaluate().empty());
  // The next day measures from its own start, and may warn and breach again.
  REQUIRE(book.roll_day(noon_us + 24 * hour_us));
  CHECK(book.day_start_equity() == Approx(99900));
  CHECK(book.evaluate().empty());
  book.set_mark("BTC", 80);
  auto again = book.evaluate();
  REQUIRE(again.size() == 1);
  CHECK(again[0].breached);
}

TEST_CASE("a limit that is off never warns nor refuses") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 100, 1000, 0);
  book.set_mark("BTC", 1);
  CHECK(book.evaluate().empty());
  CHECK_FALSE(book.check(buy("BTC", 1e6, 1e6), noon_us));
}

// --- the trading day -------------------------------------------------------------------------

TEST_CASE("the trading day rolls at the configured minute after midnight UTC") {
  CHECK(trading_day(noon_us, 0) == "2026-11-30");
  // 00:30 UTC with a reset at 01:00 still belongs to the day before.
  auto half_past_midnight = noon_us - 11 * hour_us - 30 * 60 * second_us;
  CHECK(trading_day(half_past_midnight, 0) == "2026-11-30");
  CHECK(trading_day(half_past_midnight, 60) == "2026-11-29");
  risk_limits limits;
  limits.daily_reset_minute_utc = 60;
  risk_book book{limits};
  book.start_afresh();
  CHECK(book.roll_day(half_past_midnight));
  CHECK(book.day() == "2026-11-29");
  CHECK_FALSE(book.roll_day(half_past_midnight + hour_us / 2 - 1));
  CHECK(book.roll_day(half_past_midnight + hour_us / 2));
  CHECK(book.day() == "2026-11-30");
}

TEST_CASE("a new day starts its daily loss from the equity at the roll") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 10, 100, 2);
  book.set_mark("BTC", 95);
  CHECK_FALSE(book.roll_day(noon_us + hour_us));
  CHECK(book.day_start_equity() == 100000);
  CHECK(book.roll_day(noon_us + 12 * hour_us));
  CHECK(book.day_start_equity() == Approx(100000 - 2 - 50));
}

// --- the persisted form ----------------------------------------------------------------------

TEST_CASE("a stored version 1 book loads and is written back byte for byte") {
  // As the risk monitor has written it since it counts fills (a book from before has no
  // "fills" and is written back with 0).
  const std::string stored =
      R"({"day":"2026-11-30","day_start_equity":100000.0,"fills":12,)"
      R"("marks":{"BTC":101.5,"ETH":3000.0},)"
      R"("peak_equity":100500.0,"positions":{"BTC":{"average_price":100.0,"quantity":2.0},)"
      R"("ETH":{"average_price":3100.0,"quantity":-0.5}},"realized":-1.25,)"
      R"("trades":[1796040000000000,1796040001000000],"version":1})";
  risk_limits limits;
  limits.max_trades_per_hour = 10;
  risk_book book{limits};
  std::string why;
  REQUIRE(book.from_json(stored, why));
  CHECK(dump_json(book.to_json()) == stored);
  CHECK(book.day() == "2026-11-30");
  CHECK(book.fills() == 12);
  CHECK(book.realized_pnl() == -1.25);
  CHECK(book.positions().at("ETH").quantity == -0.5);
  CHECK(book.unrealized_pnl() == Approx(2 * 1.5 + 50));
  CHECK(book.trades_in_window() == 2);
  // Same day: no roll, the stored day start stands.
  CHECK_FALSE(book.roll_day(noon_us));
  CHECK(book.day_start_equity() == 100000);
}

TEST_CASE("a book survives a round trip through its persisted form") {
  risk_limits limits;
  limits.max_trades_per_hour = 10;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 2, 100, 0.5);
  book.book_fill("ETH", order_side::sell, 1, 3000, 1.5);
  book.set_mark("SOL", 20);
  book.count_trade(noon_us);
  book.evaluate();
  risk_book copy{limits};
  std::string why;
  REQUIRE(copy.from_json(dump_json(book.to_json()), why));
  CHECK(dump_json(copy.to_json()) == dump_json(book.to_json()));
  CHECK(copy.equity() == book.equity());
}

TEST_CASE("hostile stored books are refused, and leave the book as it was") {
  const std::string good =
      R"({"day":"2026-11-30","day_start_equity":100000.0,"marks":{},"peak_equity":100000.0,)"
      R"("positions":{},"realized":0.0,"trades":[],"version":1})";
  auto with = [&](const std::string& from, const std::string& to) {
    auto text = good;
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 1, 100, 0);
  auto before = dump_json(book.to_json());
  // Numbers past a double's range (1e400) are not JSON to the parser: refused before the checks
  // for finite totals, which guard what a future parser might let through.
  const std::vector<std::string> hostile{
      "",
      "not json",
      "[1,2]",
      with(R"("version":1)", R"("version":2)"),
      with(R"("version":1)", R"("version":"1")"),
      with(R"("realized":0.0)", R"("realized":"0")"),
      with(R"("realized":0.0)", R"("realized":1e400)"),
      with(R"("realized":0.0,)", ""),
      with(R"("day_start_equity":100000.0)", R"("day_start_equity":-1e999)"),
      with(R"("peak_equity":100000.0)", R"("peak_equity":null)"),
      with(R"("day":"2026-11-30")", R"("day":20261130)"),
      with(R"("trades":[])", R"("trades":["yesterday"])"),
      with(R"("trades":[])", R"("trades":[1.5e300])"), // no int64_t: was undefined behaviour
      with(R"("trades":[])", R"("trades":[1.5])"),
      with(R"("positions":{})", R"("positions":{"BTC":{"quantity":1}})"),
      with(R"("positions":{})", R"("positions":{"BTC":{"quantity":"1","average_price":1}})"),
      with(R"("positions":{})", R"("positions":{"BTC":{"quantity":1e400,"average_price":1}})"),
      with(R"("positions":{})", R"("positions":{"BTC":{"quantity":1,"average_price":-5}})"),
      with(R"("positions":{})", R"("positions":[1])"),
      with(R"("marks":{})", R"("marks":{"BTC":"high"})"),
  };
  for (const auto& text : hostile) {
    INFO(text);
    std::string why;
    CHECK_FALSE(book.from_json(text, why));
    CHECK_FALSE(why.empty());
    CHECK(dump_json(book.to_json()) == before);
  }
}

TEST_CASE("a stored position on a venue loads only as <symbol>@<plain venue>") {
  auto stored = [](const std::string& key) {
    using json = nlohmann::json;
    json book{{"version", 1},           {"realized", 0},       {"day_start_equity", 100000},
              {"peak_equity", 100000},  {"day", "2026-12-02"}, {"trades", json::array()},
              {"marks", json::object()}};
    book["positions"][key] = {{"quantity", 1}, {"average_price", 100}};
    return book.dump();
  };
  risk_book book;
  std::string why;
  CHECK(book.from_json(stored("BTC@venue_b"), why));
  for (const char* key : {"@venue_b", "BTC@", "BTC@a@b", "BTC@bad venue", "BTC@\x1b[31m"}) {
    INFO(key);
    CHECK_FALSE(book.from_json(stored(key), why));
    CHECK(why == "a position's key is not <symbol>@<venue>");
  }
}

TEST_CASE("stored marks that are not positive and finite are dropped, the rest loads") {
  const std::string text = R"({"day":"2026-11-30","day_start_equity":100000.0,)"
                           R"("marks":{"BTC":-3.0,"ETH":0.0,"SOL":20.0},"peak_equity":100000.0,)"
                           R"("positions":{},"realized":0.0,"trades":[],"version":1})";
  risk_book book;
  std::string why;
  REQUIRE(book.from_json(text, why));
  CHECK(book.mark_count() == 1);
  CHECK(book.mark("SOL", 0) == 20);
}

// --- REDUCE_ONLY and stepped escalation --------------------------------------------------------

TEST_CASE("an order reduces a position only on the other side and no further than it holds",
          "[reduce_only]") {
  CHECK(reduces_position(2, order_side::sell, 1));
  CHECK(reduces_position(2, order_side::sell, 2)); // closes it
  CHECK(reduces_position(-3, order_side::buy, 3));
  CHECK_FALSE(reduces_position(2, order_side::buy, 1));    // grows it
  CHECK_FALSE(reduces_position(2, order_side::sell, 2.5)); // flips it short
  CHECK_FALSE(reduces_position(-3, order_side::buy, 4));   // flips it long
  CHECK_FALSE(reduces_position(0, order_side::sell, 1));   // nothing held: it would open one
  CHECK_FALSE(reduces_position(2, order_side::sell, std::nan("")));
}

TEST_CASE("REDUCE_ONLY's check lets a closing order pass and refuses an opening and a flipping one",
          "[reduce_only]") {
  auto book = started(no_limits());
  book.book_fill("BTC", order_side::buy, 2, 100, 0);
  CHECK_FALSE(book.check_reduce_only(sell("BTC", 1.5, 100)));
  auto opening = book.check_reduce_only(buy("BTC", 1, 100));
  REQUIRE(opening);
  CHECK(opening->code == reject_code::reduce_only);
  CHECK_THAT(opening->reason, StartsWith("reduce_only: the emergency level is REDUCE_ONLY and the "
                                         "position in BTC is 2, and buy 1 grows it"));
  auto flipping = book.check_reduce_only(sell("BTC", 3, 100));
  REQUIRE(flipping);
  CHECK_THAT(flipping->reason, Catch::Matchers::Contains("sell 3 flips it"));
  auto fresh = book.check_reduce_only(sell("ETH", 0.001, 100));
  REQUIRE(fresh);
  CHECK_THAT(fresh->reason, Catch::Matchers::Contains("no position is left to reduce in ETH"));
  // Orders still out that reduce the position count as filled: two closing orders at once do not
  // flip it between them.
  CHECK(book.check_reduce_only(sell("BTC", 1.5, 100), 0, 1));
  CHECK_FALSE(book.check_reduce_only(sell("BTC", 1, 100), 0, 1));
  CHECK_FALSE(book.check_reduce_only(sell("BTC", 1, 100), 5, 0)); // buys out do not help it
  // A venue's position is its own: the one on the node's endpoint does not make it reducible.
  auto elsewhere = sell("BTC", 1, 100);
  elsewhere.venue = "b";
  CHECK(book.check_reduce_only(elsewhere));
}

TEST_CASE("stepped escalation raises each configured level once as the loss grows",
          "[escalation]") {
  risk_limits limits;
  limits.max_daily_loss = 100;
  limits.escalation = {{50, escalation_action::alert},
                       {100, escalation_action::reduce_only},
                       {150, escalation_action::halt}};
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 96); // 40 %
  CHECK(book.evaluate().empty());
  book.set_mark("BTC", 94); // 60 %
  auto first = book.evaluate();
  REQUIRE(first.size() == 1);
  CHECK(first[0].raise == emergency_level::alert);
  CHECK_FALSE(first[0].breached);
  book.set_mark("BTC", 93); // 70 %: no new step
  CHECK(book.evaluate().empty());
  book.set_mark("BTC", 89); // 110 %: the breach, and REDUCE_ONLY
  auto second = book.evaluate();
  REQUIRE(second.size() == 1);
  CHECK(second[0].raise == emergency_level::reduce_only);
  CHECK(second[0].breached);
  book.set_mark("BTC", 84); // 160 %: HALT, and the breach is not said twice
  auto third = book.evaluate();
  REQUIRE(third.size() == 1);
  CHECK(third[0].raise == emergency_level::halt);
  CHECK_FALSE(third[0].breached);
  book.set_mark("BTC", 99); // back under: nothing is lowered, nothing is said
  CHECK(book.evaluate().empty());
}

TEST_CASE("a loss that jumps past several steps raises the highest of them", "[escalation]") {
  risk_limits limits;
  limits.max_daily_loss = 100;
  limits.escalation = {{50, escalation_action::alert},
                       {100, escalation_action::reduce_only},
                       {150, escalation_action::halt}};
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 80); // 200 %
  auto crossed = book.evaluate();
  REQUIRE(crossed.size() == 1);
  CHECK(crossed[0].raise == emergency_level::halt);
  CHECK(crossed[0].breached);
}

TEST_CASE("without risk.escalation a limit raises ALERT at warning_percent and HALT at 100 %",
          "[escalation]") {
  risk_limits limits;
  limits.max_daily_loss = 100;
  limits.warning_percent = 80;
  auto book = started(limits);
  book.book_fill("BTC", order_side::buy, 10, 100, 0);
  book.set_mark("BTC", 91);
  auto warned = book.evaluate();
  REQUIRE(warned.size() == 1);
  CHECK(warned[0].raise == emergency_level::alert);
  book.set_mark("BTC", 89);
  auto breached = book.evaluate();
  REQUIRE(breached.size() == 1);
  CHECK(breached[0].raise == emergency_level::halt);
}
