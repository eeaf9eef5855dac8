// The rules of one execution, driven without an actor: what starts when, what is skipped, and
// how an execution ends.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"
#include "messages/workflow_plan.hpp"

using namespace brokedancer;
using json = nlohmann::json;
using indexes = std::vector<size_t>;

namespace {

workflow_definition parsed(json nodes) {
  static const auto types = node_catalogue::with_builtins();
  auto result = parse_workflow({{"id", "w"}, {"nodes", std::move(nodes)}}, types);
  std::string problems;
  for (const auto& p : result.problems)
    problems += p.render("test") + "\n";
  INFO(problems);
  REQUIRE(result.workflow);
  return *result.workflow;
}

json price(const char* id) {
  return {{"id", id}, {"type", "latest_price"}, {"parameters", {{"symbol", "X"}}}};
}

json add(const char* id, const std::string& a, const std::string& b) {
  return {{"id", id}, {"type", "add"}, {"inputs", {{"a", a}, {"b", b}}}};
}

} // namespace

TEST_CASE("a diamond runs its two branches together and joins them") {
  auto w =
      parsed({price("top"), add("left", "top.price", "top.bid"),
              add("right", "top.price", "top.ask"), add("bottom", "left.value", "right.value")});
  execution_plan plan{w};
  auto first = plan.advance();
  CHECK(first.start == indexes{0});
  CHECK(plan.advance().start.empty()); // nothing new until the top completes
  plan.completed(0, {{"price", 10.0}, {"bid", 9.0}, {"ask", 11.0}});
  auto branches = plan.advance();
  CHECK(branches.start == indexes{1, 2}); // both at once
  CHECK(plan.inputs_of(1) == json{{"a", 10.0}, {"b", 9.0}});
  plan.completed(2, {{"value", 21.0}});
  CHECK(plan.advance().start.empty()); // the join waits for both
  plan.completed(1, {{"value", 19.0}});
  CHECK(plan.advance().start == indexes{3});
  CHECK(plan.inputs_of(3) == json{{"a", 19.0}, {"b", 21.0}});
  CHECK_FALSE(plan.finished());
  plan.completed(3, {{"value", 40.0}});
  CHECK(plan.finished());
  CHECK(plan.succeeded());
}

TEST_CASE("a condition that does not pass skips its branch and everything downstream of it") {
  json wide{{"id", "wide"},
            {"type", "compare"},
            {"parameters", {{"op", ">"}, {"right", 5}}},
            {"inputs", {{"left", "p.price"}}}};
  json buy{{"id", "buy"},
           {"type", "submit_order"},
           {"when", "wide"},
           {"parameters", {{"symbol", "X"}, {"side", "buy"}, {"quantity", 1}}},
           {"inputs", {{"price", "p.ask"}}}};
  json after{{"id", "after"},
             {"type", "state_set"},
             {"parameters", {{"key", "k"}}},
             {"inputs", {{"value", "buy.outcome"}}}};
  json otherwise{{"id", "otherwise"},
                 {"type", "state_set"},
                 {"unless", "wide"},
                 {"parameters", {{"key", "k"}}},
                 {"inputs", {{"value", "p.price"}}}};
  auto w = parsed({price("p"), wide, buy, after, otherwise});
  execution_plan plan{w};
  plan.advance();
  plan.completed(0, {{"price", 3.0}, {"ask", 3.1}});
  CHECK(plan.advance().start == indexes{1});
  CHECK(plan.inputs_of(1) == json{{"left", 3.0}});
  plan.completed(1, {{"passed", false}});
  auto step = plan.advance();
  CHECK(step.skipped == indexes{2, 3}); // the order, and what reads the order
  CHECK(step.start == indexes{4});      // the `unless` branch
  plan.completed(4, {{"written", true}});
  CHECK(plan.finished());
  CHECK(plan.succeeded());
  CHECK(plan.status(2) == node_progress::skipped);
}

TEST_CASE("a node that fails ends the execution: nothing starts after it") {
  auto w = parsed({price("a"), price("b"), add("sum", "a.price", "b.price")});
  execution_plan plan{w};
  CHECK(plan.advance().start == indexes{0, 1});
  plan.failed(0, "timeout: no answer in 5 s");
  CHECK_FALSE(plan.finished()); // b still runs
  plan.completed(1, {{"price", 1.0}});
  CHECK(plan.advance().start.empty());
  CHECK(plan.finished());
  CHECK_FALSE(plan.succeeded());
  CHECK(plan.failed_node() == 0);
  CHECK(plan.error() == "timeout: no answer in 5 s");
  CHECK(plan.status(2) == node_progress::waiting);
}

TEST_CASE("a stopped execution cancels what runs and starts nothing more") {
  auto w = parsed({price("a"), price("b"), add("sum", "a.price", "b.price")});
  execution_plan plan{w};
  plan.advance();
  plan.completed(0, {{"price", 1.0}});
  CHECK(plan.stop() == indexes{1});
  plan.completed(1, {{"price", 2.0}}); // an answer that comes after the stop changes nothing
  CHECK(plan.status(1) == node_progress::cancelled);
  CHECK(plan.advance().start.empty());
  CHECK(plan.finished());
  CHECK(plan.stopped());
  CHECK_FALSE(plan.succeeded());
}

TEST_CASE("a restored plan starts after the nodes completed before the restart") {
  auto w = parsed({price("a"), price("b"), add("sum", "a.price", "b.price")});
  execution_plan plan{w};
  plan.restore(0, {{"price", 1.0}});
  plan.restore(1, {{"price", 2.0}});
  CHECK(plan.advance().start == indexes{2});
  CHECK(plan.inputs_of(2) == json{{"a", 1.0}, {"b", 2.0}});
}
