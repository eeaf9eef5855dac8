// Reading workflow definitions: what a valid one becomes, and every problem of an invalid one
// reported at once with its JSON path.

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"
#include "support/workflow_nodes.hpp"

using namespace brokedancer;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const node_catalogue& builtins() {
  static const auto catalogue = node_catalogue::with_builtins();
  return catalogue;
}

json workflow_of(json nodes) {
  return {{"id", "w1"}, {"nodes", std::move(nodes)}};
}

// The problem at `path`, or "" when there is none there.
std::string problem_at(const workflow_parse& parsed, const std::string& path) {
  for (const auto& p : parsed.problems)
    if (p.path == path)
      return p.message;
  return {};
}

std::string all_problems(const workflow_parse& parsed) {
  std::string out;
  for (const auto& p : parsed.problems)
    out += p.render("test") + "\n";
  return out;
}

} // namespace

TEST_CASE("the arbitrage example is a valid workflow, with defaults filled in") {
  std::ifstream file{std::string(BROKEDANCER_SOURCE_DIR) + "/examples/workflows/arbitrage.json"};
  std::stringstream text;
  text << file.rdbuf();
  auto parsed = parse_workflow_text(text.str(), builtins());
  INFO(all_problems(parsed));
  REQUIRE(parsed.workflow);
  const auto& w = *parsed.workflow;
  CHECK(w.id == "arb_btc_001");
  CHECK(w.bot_id == "bot_001");
  CHECK(w.strategy_id == "arbitrage_btc");
  CHECK(w.trigger.how == workflow_trigger::kind::every);
  CHECK(w.trigger.every_ms == 1000);
  REQUIRE(w.nodes.size() == 9);
  const auto& price = w.nodes[0];
  CHECK(price.category == node_category::providers);
  CHECK(price.timeout_ms == 5000);
  CHECK(price.retry.attempts == 3); // providers retry what looks transient by default
  const auto& spread = w.nodes[2];
  CHECK(spread.timeout_ms == default_node_timeout_ms);
  CHECK(spread.retry.attempts == 1);
  CHECK(spread.inputs.at("a").node == "price_b");
  CHECK(spread.inputs.at("a").output == "bid");
  const auto& buy = w.nodes[6];
  CHECK(buy.condition == "wide");
  CHECK(buy.run_if_passed);
  CHECK(buy.sends_orders);
  CHECK_FALSE(buy.idempotent);
  CHECK(buy.parameters["venue"] == "venue_a");
  CHECK(w.nodes[8].idempotent);
}

TEST_CASE("every problem of a definition is reported at once, each at its JSON path") {
  auto doc = workflow_of({
      testing::node_json("a", "latest_price", {{"symbol", "BTC-USD"}, {"colour", "red"}}),
      testing::node_json("b", "no_such_type"),
      testing::node_json("c", "sma", {{"period", 2.5}}, {{"values", "a.price"}}),
      testing::node_json("d", "compare", {{"op", "~"}}, {{"left", "ghost.value"}}),
      testing::node_json("a", "add", json::object(), {{"a", "a.volume"}, {"b", 3}}),
  });
  doc["colour"] = "blue";
  auto parsed = parse_workflow(doc, builtins());
  INFO(all_problems(parsed));
  CHECK_FALSE(parsed.workflow);
  CHECK_THAT(problem_at(parsed, "$.colour"), Contains("unknown field"));
  CHECK_THAT(problem_at(parsed, "$.nodes[0].parameters.colour"), Contains("unknown parameter"));
  CHECK_THAT(problem_at(parsed, "$.nodes[1].type"), Contains("unknown node type \"no_such_type\""));
  CHECK_THAT(problem_at(parsed, "$.nodes[1].type"), Contains("latest_price"));
  CHECK_THAT(problem_at(parsed, "$.nodes[2].parameters.period"), Contains("whole number"));
  // a.price is a number; sma reads a list of numbers.
  CHECK_THAT(problem_at(parsed, "$.nodes[2].inputs.values"),
             Contains("expects numbers, but a.price gives number"));
  CHECK_THAT(problem_at(parsed, "$.nodes[3].parameters.op"), Contains("expected one of"));
  CHECK_THAT(problem_at(parsed, "$.nodes[3].inputs.left"), Contains("unknown node \"ghost\""));
  CHECK_THAT(problem_at(parsed, "$.nodes[3].inputs.right"), Contains("as an input or a parameter"));
  CHECK_THAT(problem_at(parsed, "$.nodes[4].id"), Contains("is used by $.nodes[0] too"));
  CHECK_THAT(problem_at(parsed, "$.nodes[4].inputs.b"), Contains("expected \"NODE.OUTPUT\""));
  CHECK(parsed.problems.size() >= 11);
}

TEST_CASE("a cycle is reported with the nodes on it, in the order data flows") {
  auto parsed = parse_workflow(
      workflow_of({
          testing::node_json("start", "latest_price", {{"symbol", "X"}}),
          testing::node_json("x", "add", json::object(), {{"a", "z.value"}, {"b", "start.price"}}),
          testing::node_json("y", "add", {{"b", 1}}, {{"a", "x.value"}}),
          testing::node_json("z", "add", {{"b", 1}}, {{"a", "y.value"}}),
          testing::node_json("self", "add", {{"b", 1}}, {{"a", "self.value"}}),
      }),
      builtins());
  INFO(all_problems(parsed));
  CHECK_FALSE(parsed.workflow);
  std::vector<std::string> cycles;
  for (const auto& p : parsed.problems)
    if (p.message.rfind("a cycle", 0) == 0)
      cycles.push_back(p.message);
  REQUIRE(cycles.size() == 2);
  std::sort(cycles.begin(), cycles.end());
  CHECK(cycles[0] == "a cycle: self -> self");
  CHECK(cycles[1] == "a cycle: x -> y -> z -> x");
}

TEST_CASE("conditions, retries, timeouts and triggers are checked") {
  auto order =
      testing::node_json("buy", "submit_order",
                         {{"symbol", "BTC-USD"}, {"side", "buy"}, {"quantity", 1}, {"price", 100}});
  order["when"] = "price";
  order["retry"] = {{"attempts", 3}};
  auto price = testing::node_json("price", "latest_price", {{"symbol", "BTC-USD"}});
  price["timeout"] = -1;
  price["retry"] = {
      {"attempts", 11}, {"first_delay_ms", 500}, {"cap_ms", 100}, {"on", {"timeout", "meteor"}}};
  auto both = testing::node_json("both", "state_set", {{"key", "k"}}, {{"value", "price.price"}});
  both["when"] = "buy";
  both["unless"] = "buy";
  auto doc = workflow_of({price, order, both});
  doc["trigger"] = {{"every_s", 0}};
  auto parsed = parse_workflow(doc, builtins());
  INFO(all_problems(parsed));
  CHECK_THAT(problem_at(parsed, "$.nodes[1].when"), Contains("not a condition"));
  CHECK_THAT(problem_at(parsed, "$.nodes[1].retry.attempts"), Contains("not retried"));
  CHECK_THAT(problem_at(parsed, "$.nodes[0].timeout"), Contains("expected seconds"));
  CHECK_THAT(problem_at(parsed, "$.nodes[0].retry.attempts"), Contains("from 1 to 10"));
  CHECK_THAT(problem_at(parsed, "$.nodes[0].retry.cap_ms"), Contains("shorter than the first"));
  CHECK_THAT(problem_at(parsed, "$.nodes[0].retry.on[1]"), Contains("\"meteor\""));
  CHECK_THAT(problem_at(parsed, "$.nodes[2].unless"), Contains("not both"));
  CHECK_THAT(problem_at(parsed, "$.trigger.every_s"), Contains("0.1 to 86400"));
}

TEST_CASE("a hostile definition is refused with a reason, not a crash") {
  const auto& types = builtins();
  // Keys and names from the file reach a terminal quoted and escaped.
  auto odd =
      workflow_of({testing::node_json("p", "latest_price", {{"symbol", "X"}, {"\x1b[2Jx", 1}}),
                   testing::node_json("q", "add", {{"b", 1}}, {{"a", "p\x1b.price"}})});
  auto escaped = parse_workflow(odd, types);
  CHECK_THAT(problem_at(escaped, "$.nodes[0].parameters[\"\\u001b[2Jx\"]"),
             Contains("unknown parameter"));
  CHECK_THAT(problem_at(escaped, "$.nodes[1].inputs.a"), Contains("\"p\\u001b\""));
  for (const auto& p : escaped.problems)
    CHECK(p.render("f").find('\x1b') == std::string::npos);
  // Periods and counts are bounded.
  CHECK_THAT(
      problem_at(
          parse_workflow(
              workflow_of(
                  {testing::node_json("s", "sma", {{"period", 1e12}}, {{"values", "b.closes"}}),
                   testing::node_json("b", "bars",
                                      {{"symbol", "X"}, {"timeframe", "1m"}, {"count", 5000}})}),
              types),
          "$.nodes[0].parameters.period"),
      Contains("at most 10000"));
  CHECK_THAT(parse_workflow_text("{\"id\": ", types).problems.at(0).message,
             Contains("not valid JSON"));
  CHECK_THAT(parse_workflow_text(std::string(100000, '[') + std::string(100000, ']'), types)
                 .problems.at(0)
                 .message,
             Contains("deeper than"));
  CHECK_THAT(parse_workflow_text(std::string(max_workflow_text_bytes + 1, ' '), types)
                 .problems.at(0)
                 .message,
             Contains("more than"));
  CHECK_THAT(problem_at(parse_workflow(json::array(), types), "$"), Contains("workflow object"));
  CHECK_THAT(problem_at(parse_workflow(workflow_of(json::array()), types), "$.nodes"),
             Contains("non-empty"));
  json many = json::array();
  for (size_t i = 0; i <= max_workflow_nodes; ++i)
    many.push_back(testing::node_json(("n" + std::to_string(i)).c_str(), "condition"));
  CHECK_THAT(problem_at(parse_workflow(workflow_of(many), types), "$.nodes"),
             Contains("more than"));
  // Ids become parts of Redis keys: no colon, no dot, no control byte.
  auto bad_ids = workflow_of({testing::node_json("a:b", "latest_price", {{"symbol", "X"}})});
  bad_ids["id"] = "w\n1";
  auto parsed = parse_workflow(bad_ids, types);
  CHECK_FALSE(problem_at(parsed, "$.id").empty());
  CHECK_THAT(problem_at(parsed, "$.nodes[0].id"), Contains("letters, digits"));
  // A chain as long as the bound is accepted (the cycle check walks it without recursion).
  json chain = json::array({testing::node_json("n0", "latest_price", {{"symbol", "X"}})});
  for (size_t i = 1; i < max_workflow_nodes; ++i)
    chain.push_back(testing::node_json(
        ("n" + std::to_string(i)).c_str(), "add", {{"b", 1}},
        {{"a", (i == 1 ? "n0.price" : "n" + std::to_string(i - 1) + ".value")}}));
  CHECK(parse_workflow(workflow_of(chain), types).workflow);
}

TEST_CASE("a custom node type is checked like a built-in one") {
  auto types = node_catalogue::with_builtins();
  node_signature spread{"basis_points",
                        node_category::transforms,
                        {},
                        {{"a", value_kind::number}, {"b", value_kind::number}},
                        {{"bps", value_kind::number}},
                        true,
                        false,
                        "spread in basis points"};
  std::string why;
  REQUIRE(types.add(spread, why));
  CHECK_FALSE(types.add(spread, why));
  CHECK_THAT(why, Contains("already defined"));
  node_signature broken;
  broken.type = "broken";
  broken.inputs = {{"x", value_kind::number, true, true}};
  CHECK_FALSE(types.add(broken, why));
  CHECK_THAT(why, Contains("no parameter has that name"));
  node_signature mute;
  mute.type = "mute_condition";
  mute.category = node_category::conditions;
  CHECK_FALSE(types.add(mute, why));
  CHECK_THAT(why, Contains("without a boolean output \"passed\""));
  auto parsed =
      parse_workflow(workflow_of({testing::node_json("p", "latest_price", {{"symbol", "X"}}),
                                  testing::node_json("s", "basis_points", json::object(),
                                                     {{"a", "p.bid"}, {"b", "p.ask"}}),
                                  testing::node_json("t", "compare", {{"op", ">"}, {"right", 5}},
                                                     {{"left", "s.bps"}})}),
                     types);
  INFO(all_problems(parsed));
  CHECK(parsed.workflow);
  CHECK_FALSE(
      parse_workflow(workflow_of({testing::node_json("s", "basis_points")}), builtins()).workflow);
}

TEST_CASE("retry waits grow by the factor up to the cap") {
  node_retry p;
  p.attempts = 6;
  p.first_delay_ms = 100;
  p.factor = 3;
  p.cap_ms = 1000;
  CHECK(p.delay_before_ms(1) == 0);
  CHECK(p.delay_before_ms(2) == 100);
  CHECK(p.delay_before_ms(3) == 300);
  CHECK(p.delay_before_ms(4) == 900);
  CHECK(p.delay_before_ms(5) == 1000);
  CHECK(p.delay_before_ms(10) == 1000);
  CHECK(p.retries("timeout"));
  CHECK_FALSE(p.retries("failed"));
}
