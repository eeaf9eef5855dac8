// The computing nodes against values worked out by hand.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/workflow/node_functions.hpp"

using namespace brokedancer;
using json = nlohmann::json;
using Catch::Matchers::Contains;

TEST_CASE("the indicators equal hand-computed values") {
  std::vector<double> rising{1, 2, 3, 4};
  CHECK(*simple_moving_average(rising, 3) == Approx(3.0));
  // Seeded (1 + 2) / 2 = 1.5, then + 2/3 of the gap: 2.5, 3.5.
  CHECK(*exponential_moving_average(rising, 2) == Approx(3.5));
  // Changes +1, -1: gains and losses 0.5 each; then +2: (0.5 + 2) / 2 = 1.25 against 0.25.
  CHECK(*relative_strength_index({10, 11, 10, 12}, 2) == Approx(100.0 - 100.0 / 6.0));
  CHECK(*relative_strength_index({1, 2, 3, 4, 5}, 2) == Approx(100.0));
  CHECK(*relative_strength_index({5, 4, 3}, 2) == Approx(0.0));
  CHECK(*relative_strength_index({7, 7, 7}, 2) == Approx(50.0));
  CHECK_FALSE(simple_moving_average(rising, 5));
  CHECK_FALSE(exponential_moving_average(rising, 0));
  CHECK_FALSE(relative_strength_index(rising, 4)); // needs 5 values
}

TEST_CASE("a computing node reads an input, else the parameter of that name") {
  auto spread = compute_node("subtract", {{"b", 100.0}}, {{"a", 130.5}});
  REQUIRE_FALSE(spread.failure);
  CHECK(spread.outputs["value"] == 30.5);
  auto wired = compute_node("subtract", {{"b", 100.0}}, {{"a", 130.5}, {"b", 30.5}});
  CHECK(wired.outputs["value"] == 100.0);
  CHECK(compute_node("compare", {{"op", ">="}, {"right", 25}}, {{"left", 30.5}}).outputs["passed"]
        == true);
  CHECK(compute_node("compare", {{"op", "<"}}, {{"left", 3}, {"right", 2}}).outputs["passed"]
        == false);
  CHECK(compute_node("condition", json::object(), {{"value", true}}).outputs["passed"] == true);
  CHECK(compute_node("sma", {{"period", 2}}, {{"values", {1, 2, 3}}}).outputs["value"] == 2.5);
  CHECK(compute_node("constant", {{"value", 7}}, json::object()).outputs["value"] == 7.0);
}

TEST_CASE("a computing node fails with a reason on an input it cannot use") {
  auto zero = compute_node("divide", json::object(), {{"a", 1}, {"b", 0}});
  REQUIRE(zero.failure);
  CHECK(zero.failure->kind == "failed");
  CHECK_THAT(zero.failure->message, Contains("division by zero"));
  // A source that did not give the output it was wired to.
  auto missing = compute_node("add", json::object(), {{"a", nullptr}, {"b", 1}});
  REQUIRE(missing.failure);
  CHECK_THAT(missing.failure->message, Contains("input a is not a finite number"));
  auto text = compute_node("add", json::object(), {{"a", "12"}, {"b", 1}});
  REQUIRE(text.failure);
  CHECK_THAT(text.failure->message, Contains("\"12\""));
  auto overflow = compute_node("multiply", json::object(), {{"a", 1e308}, {"b", 1e308}});
  REQUIRE(overflow.failure);
  CHECK_THAT(overflow.failure->message, Contains("not a finite number"));
  auto short_series = compute_node("rsi", {{"period", 14}}, {{"values", {1, 2, 3}}});
  REQUIRE(short_series.failure);
  CHECK_THAT(short_series.failure->message, Contains("needs 15 values, got 3"));
  auto junk = compute_node("ema", {{"period", 2}}, {{"values", {1, "x", 3}}});
  REQUIRE(junk.failure);
  CHECK_FALSE(compute_node("condition", json::object(), {{"value", 1}}).outputs.contains("passed"));
}
