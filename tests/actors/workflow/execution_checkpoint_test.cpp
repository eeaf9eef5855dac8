// The rules a resume reads an interrupted execution's checkpoint by, without actors: the
// checkpoint is read back from a store others may write to, so every field is checked.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "actors/workflow/execution_checkpoint.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "support/workflow_nodes.hpp"

using namespace brokedancer;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

const auto types = node_catalogue::with_builtins();
const std::string execution = "exec_arb_0123456789ab";

// c (constant) -> s (add) -> o (an order: not idempotent) -> p (publish)
workflow_definition graph(double constant = 1) {
  auto parsed = parse_workflow(
      {{"id", "arb"},
       {"nodes",
        {testing::node_json("c", "constant", {{"value", constant}}),
         testing::node_json("s", "add", {{"b", 2}}, {{"a", "c.value"}}),
         testing::node_json("o", "submit_order", {{"symbol", "BTC-USD"}, {"side", "buy"}},
                            {{"quantity", "s.value"}, {"price", "s.value"}}),
         testing::node_json("p", "constant", {{"value", 3}})}}},
      types);
  REQUIRE(parsed.workflow);
  return *parsed.workflow;
}

json checkpoint(const workflow_definition& w, json nodes) {
  return {{"execution_id", execution}, {"workflow_id", "arb"},
          {"status", "interrupted"},   {"definition", definition_digest(w)},
          {"interruptions", 1},        {"nodes", std::move(nodes)}};
}

json progress(const char* status, json outputs = nullptr) {
  json p{{"status", status}, {"attempts", 1}};
  if (!outputs.is_null())
    p["outputs"] = std::move(outputs);
  return p;
}

} // namespace

TEST_CASE("a checkpoint restores the completed nodes and runs the idempotent ones again") {
  auto w = graph();
  std::string why;
  auto point = read_checkpoint(checkpoint(w, {{"c", progress("completed", {{"value", 1}})},
                                              {"s", progress("running")},
                                              {"o", progress("waiting")},
                                              {"p", progress("completed", {{"value", 3}})}}),
                               execution, w, types, why);
  REQUIRE(point);
  CHECK(why.empty());
  REQUIRE(point->completed.size() == 2);
  CHECK(point->completed[0].index == 0);
  CHECK(point->completed[0].outputs == json{{"value", 1}});
  CHECK(point->completed[1].index == 3);
  CHECK(point->interruptions == 1);
}

TEST_CASE("a checkpoint whose non-idempotent node had started does not resume") {
  auto w = graph();
  for (const char* state : {"running", "failed", "cancelled"}) {
    std::string why;
    CHECK_FALSE(read_checkpoint(checkpoint(w, {{"c", progress("completed", {{"value", 1}})},
                                               {"s", progress("completed", {{"value", 3}})},
                                               {"o", progress(state)},
                                               {"p", progress("waiting")}}),
                                execution, w, types, why));
    CHECK_THAT(why, Contains("node o had started and is not idempotent"));
    CHECK_THAT(why, Contains(order_id_of(execution, "o")));
  }
}

TEST_CASE("a checkpoint that is not an interrupted one of this definition does not resume") {
  auto w = graph();
  json nodes{{"c", progress("waiting")},
             {"s", progress("waiting")},
             {"o", progress("waiting")},
             {"p", progress("waiting")}};
  auto refused = [&](json document) {
    std::string why;
    CHECK_FALSE(read_checkpoint(document, execution, w, types, why));
    return why;
  };
  auto good = checkpoint(w, nodes);
  std::string why;
  REQUIRE(read_checkpoint(good, execution, w, types, why));

  auto running = good;
  running["status"] = "running";
  CHECK_THAT(refused(running), Contains("only an execution reported interrupted"));
  auto evil = good;
  evil["status"] = "\x1b[2Jdone";
  CHECK_THAT(refused(evil), Contains("\\u001b"));
  CHECK_THAT(refused(checkpoint(graph(2), nodes)), Contains("definition has changed"));
  auto other = good;
  other["execution_id"] = "exec_arb_ffffffffffff";
  CHECK_THAT(refused(other), Contains("another execution"));
  for (json count : {json(0), json(-1), json("1"), json(1.5)}) {
    auto odd = good;
    odd["interruptions"] = count;
    CHECK_THAT(refused(odd), Contains("how often"));
  }
  auto missing = good;
  missing["nodes"].erase("p");
  CHECK_THAT(refused(missing), Contains("no progress for node p"));
  auto unknown = good;
  unknown["nodes"]["p"]["status"] = "sleeping";
  CHECK_THAT(refused(unknown), Contains("damaged at node p"));
  // Outputs are checked as a node's are: an order node's restored outcome must be text.
  auto lying = good;
  lying["nodes"]["c"] = progress("completed", {{"value", "one"}});
  CHECK_THAT(refused(lying), Contains("damaged at node c: its output value is not number"));
  auto bare = good;
  bare["nodes"]["c"] = progress("completed");
  CHECK_THAT(refused(bare), Contains("damaged at node c: it has no outputs"));
  CHECK_THAT(refused(json::array()), Contains("not a JSON object"));
}

TEST_CASE("the digest follows what running depends on, not names") {
  auto a = graph();
  auto b = graph();
  b.name = "another name";
  b.nodes[0].name = "renamed";
  CHECK(definition_digest(a) == definition_digest(b));
  CHECK(definition_digest(a).size() == 64);
  b.nodes[3].timeout_ms += 1;
  CHECK(definition_digest(a) != definition_digest(b));
  auto c = graph();
  c.nodes[3].idempotent = false;
  CHECK(definition_digest(a) != definition_digest(c));
}

TEST_CASE("an execution id names its workflow") {
  CHECK(workflow_of_execution("exec_arb_0123456789ab") == "arb");
  CHECK(workflow_of_execution("exec_cross_venue_arb_0123456789ab") == "cross_venue_arb");
  CHECK(workflow_of_execution(new_execution_id("w-1")) == "w-1");
  for (const char* bad : {"", "exec_", "exec_arb", "exec__0123456789ab", "exec_arb_0123456789aB",
                          "exec_arb_0123456789a", "run_arb_0123456789ab", "exec_a:b_0123456789ab",
                          "exec_a*_0123456789ab"})
    CHECK(workflow_of_execution(bad).empty());
}

TEST_CASE("a checkpoint gives a resumed run the event that started the execution") {
  auto w = graph();
  auto all_waiting = json{{"c", progress("waiting")},
                          {"s", progress("waiting")},
                          {"o", progress("waiting")},
                          {"p", progress("waiting")}};
  auto doc = checkpoint(w, all_waiting);
  std::string why;
  auto point = read_checkpoint(doc, execution, w, types, why);
  REQUIRE(point);
  CHECK(point->trigger.is_null()); // none started it
  doc["trigger"] = trigger_of("bars.BTC-USD.1m", R"({"close": 101.5})");
  point = read_checkpoint(doc, execution, w, types, why);
  REQUIRE(point);
  CHECK(point->trigger["topic"] == "bars.BTC-USD.1m");
  CHECK(point->trigger["payload"]["close"] == 101.5);
  // Written by someone else: not an event's trigger, no resume.
  for (const json& wrong : {json("bars"), json{{"topic", 7}, {"payload", 1}}, json{{"x", 1}}}) {
    doc["trigger"] = wrong;
    CHECK_FALSE(read_checkpoint(doc, execution, w, types, why));
    CHECK_THAT(why, Contains("trigger"));
  }
}

TEST_CASE("an event's payload is passed as JSON, and not when it is too big or too deep") {
  CHECK(trigger_of("t", R"({"a":1})")["payload"]["a"] == 1);
  auto refused = [](const json& trigger) {
    return is_trigger(trigger) && trigger["payload"].is_null()
           && trigger["problem"].get<std::string>().find("payload") != std::string::npos;
  };
  CHECK(refused(trigger_of("t", "plain words")));
  CHECK(refused(trigger_of("t", "\"" + std::string(max_trigger_payload_bytes, 'x') + "\"")));
  // The store's limit, when it is lower: the checkpoint holds the trigger.
  CHECK(refused(trigger_of("t", R"({"a":"0123456789"})", 10)));
  CHECK_FALSE(refused(trigger_of("t", R"({"a":"0123456789"})", 100)));
  // Nested as deep as the bus allows, and a few levels more in a checkpoint: not taken.
  std::string deep(max_trigger_depth + 2, '[');
  deep += std::string(max_trigger_depth + 2, ']');
  CHECK(refused(trigger_of("t", deep)));
  std::string fits(max_trigger_depth - 1, '[');
  fits += std::string(max_trigger_depth - 1, ']');
  CHECK_FALSE(refused(trigger_of("t", fits)));
}
