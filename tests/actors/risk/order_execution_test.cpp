// The risk monitor's reading of the exchange's answers, as plain code: every answer becomes one
// typed outcome and code, with the reason texts operators have always seen.

#include <catch2/catch.hpp>

#include <caf/sec.hpp>

#include "actors/risk/order_execution.hpp"
#include "messages/errors.hpp"

using namespace brokedancer;

namespace {

const order placed{"bot-1", "BTC", order_side::buy, 2, 100, "o-7", ""};

endpoint_response answer(int32_t status, std::string body) {
  endpoint_response response;
  response.status = status;
  response.json = std::move(body);
  return response;
}

} // namespace

TEST_CASE("a sane fill from the exchange is filled, with its numbers") {
  auto result = read_submit_answer(
      placed, answer(200, R"({"status":"filled","filled_quantity":2,"fill_price":99,"fee":0.2})"));
  CHECK(result.outcome == order_outcome::filled);
  CHECK(result.code == reject_code::none);
  CHECK(result.reason.empty());
  CHECK(result.filled_quantity == 2);
  CHECK(result.fill_price == 99);
  CHECK(result.fee == Approx(0.2));
}

TEST_CASE("an unmatched immediate-or-cancel order expires with the exchange's words") {
  auto result = read_submit_answer(
      placed, answer(200, R"({"status":"expired","reason":"not_marketable: below the ask"})"));
  CHECK(result.outcome == order_outcome::expired);
  CHECK(result.code == reject_code::not_marketable);
  CHECK(result.reason == "not_marketable: below the ask");
  auto bare = read_submit_answer(placed, answer(200, R"({"status":"expired"})"));
  CHECK(bare.reason == "expired");
}

TEST_CASE("an order the exchange refuses, or an answer that is no success, is exchange_rejected") {
  auto refused = read_submit_answer(
      placed, answer(200, R"({"status":"rejected","reason":"no_market_data: none yet"})"));
  CHECK(refused.outcome == order_outcome::rejected);
  CHECK(refused.code == reject_code::exchange_rejected);
  CHECK(refused.reason == "exchange_rejected: no_market_data: none yet");
  for (const auto& response : {answer(503, R"({"status":"filled"})"), answer(200, "not json")}) {
    auto result = read_submit_answer(placed, response);
    CHECK(result.outcome == order_outcome::rejected);
    CHECK(result.code == reject_code::exchange_rejected);
    CHECK(result.reason == "exchange_rejected: status " + std::to_string(response.status));
  }
}

TEST_CASE("a fill the book cannot take is answered accepted, not filled, and is not booked") {
  for (const auto* body : {R"({"status":"filled","filled_quantity":3,"fill_price":99,"fee":0})",
                           R"({"status":"filled","filled_quantity":2,"fill_price":-1,"fee":0})",
                           R"({"status":"filled","filled_quantity":2,"fill_price":99,"fee":1000})",
                           R"({"status":"filled","fill_price":99})"}) {
    INFO(body);
    auto result = read_submit_answer(placed, answer(200, body));
    CHECK(result.outcome == order_outcome::accepted);
    CHECK(result.code == reject_code::none);
  }
}

TEST_CASE("a cancel's answer is cancelled, not_open, or failed") {
  CHECK(read_cancel_answer("o-7", answer(200, R"({"status":"cancelled"})")).outcome
        == order_outcome::cancelled);
  CHECK(read_cancel_answer("o-7", answer(200, R"({"status":"not_open"})")).outcome
        == order_outcome::not_open);
  auto failed = read_cancel_answer("o-7", answer(500, R"({"status":"cancelled"})"));
  CHECK(failed.outcome == order_outcome::failed);
  CHECK(failed.code == reject_code::exchange_rejected);
  CHECK(failed.reason == "exchange_rejected: status 500");
}

TEST_CASE("a failed call carries its error's code and its rendered text") {
  auto result = failed_call("o-7", make_error(errc::breaker_open), "brokedancer: breaker_open");
  CHECK(result.outcome == order_outcome::failed);
  CHECK(result.code == reject_code::breaker_open);
  CHECK(result.reason == "brokedancer: breaker_open");
  CHECK(failed_call("o-7", caf::make_error(caf::sec::request_timeout), "").code
        == reject_code::call_failed);
}

TEST_CASE("closing orders cross the last mark by the slippage margin, one per open position") {
  risk_book book;
  book.book_fill("BTC", order_side::buy, 2, 100, 0);
  book.book_fill("ETH", order_side::sell, 1, 50, 0);
  book.set_mark("BTC", 110);
  auto closing = closing_orders(book, 42);
  REQUIRE(closing.size() == 2);
  CHECK(closing[0].symbol == "BTC");
  CHECK(closing[0].side == order_side::sell);
  CHECK(closing[0].quantity == 2);
  CHECK(closing[0].price == Approx(110 * (1 - flatten_slippage)));
  CHECK(closing[0].client_order_id == "flatten-BTC-42");
  CHECK(closing[1].side == order_side::buy);
  CHECK(closing[1].price == Approx(50 * (1 + flatten_slippage)));
}

TEST_CASE("a position held on a venue is closed on that venue, apart from the same symbol's") {
  risk_book book;
  book.book_fill("BTC", order_side::buy, 2, 100, 0);
  order on_b{"bot-1", "BTC", order_side::sell, 3, 101, "o-8", ""};
  on_b.venue = "venue_b";
  book.book_fill(book_symbol(on_b), order_side::sell, 3, 101, 0);
  auto closing = closing_orders(book, 42);
  REQUIRE(closing.size() == 2);
  CHECK(closing[0].symbol == "BTC");
  CHECK(closing[0].venue.empty());
  CHECK(closing[0].side == order_side::sell);
  CHECK(closing[1].symbol == "BTC");
  CHECK(closing[1].venue == "venue_b");
  CHECK(closing[1].side == order_side::buy);
  CHECK(closing[1].quantity == 3);
  // Both at the symbol's one mark (the last fill's price, 101).
  CHECK(closing[1].price == Approx(101 * (1 + flatten_slippage)));
  CHECK(closing[1].client_order_id == "flatten-BTC@venue_b-42");
  // What goes to the exchange does not name the venue: the endpoint is the venue.
  auto request = submit_request(closing[1], "node-1", true);
  CHECK(nlohmann::json::parse(request.json).count("venue") == 0);
}
