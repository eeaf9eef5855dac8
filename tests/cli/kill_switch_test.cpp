// The kill switch never waits: a HALT acts on every bot at once whatever the shared store is
// doing, an operator's halt in a node's first moments succeeds, and a node on its own halts
// itself when it loses its shared store. Real processes and a Redis of the test's own (DEBUG
// SLEEP stalls the whole server, so never the suite's shared one).

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

environment_map node_on(const redis_server& redis, const std::string& control_port) {
  return {{"BROKEDANCER_STATE_BACKEND", "redis"},
          {"BROKEDANCER_REDIS_URL", redis.url()},
          {"BROKEDANCER_NODE_CONTROL_PORT", control_port},
          {"BROKEDANCER_MARKET_TICK_MS", "20"}};
}

// Stalls the server for `seconds`, in the background; the future ends when it answers again.
std::future<int> stall(const redis_server& redis, int seconds) {
  auto command = "redis-cli -p " + std::to_string(redis.port()) + " DEBUG SLEEP "
                 + std::to_string(seconds) + " 2>&1 | grep -q '^OK$'";
  return std::async(std::launch::async, [command] { return std::system(command.c_str()); });
}

} // namespace

TEST_CASE("a HALT raised while Redis sleeps stops the bots at once and is persisted after",
          "[emergency][redis]") {
  redis_server redis{redis_server::persistence::none};
  auto port = std::to_string(free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH, {"run", "--bots", "4"}, quiet(node_on(redis, port))};
  await_status(node, [](const json& s) {
    return s["trading_allowed"] == true && s["bots"]["running"] == 4;
  });
  auto asleep = stall(redis, 6);
  std::this_thread::sleep_for(300ms);
  auto started = std::chrono::steady_clock::now();
  auto halt = run_to_end({"halt", "--node", node, "--reason", "while the store sleeps"});
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(halt.exit_code == exit_code::ok);
  // Before, the HALT waited for the store: 5 s, its timeout. Now it does not wait at all (the
  // figure is the benchmark's; this only tells waiting from not waiting).
  CHECK(took < 4s);
  auto during = node_status(node);
  REQUIRE(during.is_object());
  CHECK(during["level"] == "HALT");
  CHECK(during["trading_allowed"] == false);
  CHECK(during["bots_acknowledged"] == during["bots_registered"]);
  CHECK(during["persisted"] == false);
  REQUIRE(asleep.wait_for(15s) == std::future_status::ready);
  CHECK(asleep.get() == 0); // the server did sleep
  // Retried until the store took it.
  await_status(node, [](const json& s) { return s["level"] == "HALT" && s["persisted"] == true; });
}

TEST_CASE("an operator's halt in a node's first moments is in force and acknowledged, not "
          "refused",
          "[emergency][redis]") {
  redis_server redis{redis_server::persistence::none};
  auto port = std::to_string(free_loopback_port());
  auto node = "127.0.0.1:" + port;
  // The node starts while its store sleeps: it cannot read its persisted level yet. Long enough
  // for a start that first waits (a command timeout) to ask Redis for its eviction policy.
  auto asleep = stall(redis, 6);
  std::this_thread::sleep_for(200ms);
  child_process run{BROKEDANCER_CLI_PATH, {"run", "--bots", "2"}, quiet(node_on(redis, port))};
  auto up = await_status(node, [](const json&) { return true; });
  CHECK(up["restored"] == false);
  auto halt = run_to_end({"halt", "--node", node, "--reason", "at once"});
  CHECK(halt.exit_code == exit_code::ok);
  CHECK_THAT(halt.out, Catch::Contains("is at HALT"));
  auto status = node_status(node);
  REQUIRE(status.is_object());
  CHECK(status["level"] == "HALT");
  CHECK(status["reason"] == "at once");
  REQUIRE(asleep.wait_for(15s) == std::future_status::ready);
  CHECK(asleep.get() == 0); // the server did sleep
}

TEST_CASE("a node without peers halts itself when it loses its shared store, until an operator "
          "resumes it",
          "[emergency][redis]") {
  redis_server redis{redis_server::persistence::none};
  auto port = std::to_string(free_loopback_port());
  auto node = "127.0.0.1:" + port;
  auto env = node_on(redis, port);
  env["BROKEDANCER_NODE_STORE_HALT_AFTER"] = "1";
  child_process run{BROKEDANCER_CLI_PATH, {"run", "--bots", "2"}, quiet(env)};
  await_status(node, [](const json& s) { return s["trading_allowed"] == true; });
  redis.kill();
  auto halted = await_status(node, [](const json& s) { return s["isolated"] == true; });
  CHECK(halted["level"] == "HALT");
  CHECK(halted["trading_allowed"] == false);
  CHECK_THAT(halted["reason"].get<std::string>(), Catch::Contains("shared state store"));
  // Not lifted while the store is gone.
  CHECK(run_to_end({"resume", "--node", node, "--reason", "too early"}).exit_code
        == exit_code::command_refused);
  redis.start();
  await_status(
      node, [](const json& s) { return s["isolated"] == false; }, 30s);
  CHECK(run_to_end({"resume", "--node", node, "--reason", "store is back"}).exit_code
        == exit_code::ok);
  await_status(node, [](const json& s) { return s["trading_allowed"] == true; });
}

namespace {

// A workflow file of its own for this process, removed with it.
struct workflow_file_on_disk {
  std::string path;

  explicit workflow_file_on_disk(const std::string& text)
    : path("/tmp/brokedancer-wf-" + std::to_string(::getpid()) + "-"
           + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())
           + ".json") {
    std::ofstream(path) << text;
  }

  ~workflow_file_on_disk() {
    std::remove(path.c_str());
  }
};

json workflow_entry(const json& status, const std::string& id) {
  if (!status.is_object() || !status["workflows"].is_object())
    return nullptr;
  for (const auto& w : status["workflows"]["workflows"])
    if (w["workflow_id"] == id)
      return w;
  return nullptr;
}

int counter(const json& status, const char* id, const char* name) {
  auto e = workflow_entry(status, id);
  return e.is_object() ? e[name].get<int>() : -1;
}

} // namespace

TEST_CASE("a node runs its configuration's workflows on their schedule, holds them at HALT and "
          "starts them again on resume",
          "[workflow][emergency]") {
  workflow_file_on_disk file{R"({"id": "tick", "trigger": {"every_s": 0.2}, "nodes": [
    {"id": "price", "type": "latest_price", "parameters": {"symbol": "BTC-USD"},
     "retry": {"attempts": 10, "first_delay_ms": 100}}]})"};
  auto port = std::to_string(free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{
      BROKEDANCER_CLI_PATH,
      {"run", "--bots", "0"},
      quiet({{"BROKEDANCER_NODE_CONTROL_PORT", port}, {"BROKEDANCER_WORKFLOWS_FILES", file.path}})};
  auto running =
      await_status(node, [](const json& s) { return counter(s, "tick", "completed") >= 2; });
  CHECK(workflow_entry(running, "tick")["trigger"] == "every 200 ms");
  REQUIRE(run_to_end({"halt", "--node", node, "--reason", "workflows too"}).exit_code
          == exit_code::ok);
  auto held = await_status(node, [](const json& s) {
    return s["workflows"]["starting"] == false && counter(s, "tick", "running") == 0;
  });
  std::this_thread::sleep_for(1s);
  auto later = node_status(node);
  CHECK(counter(later, "tick", "started") == counter(held, "tick", "started"));
  CHECK(counter(later, "tick", "held") >= 3);
  REQUIRE(run_to_end({"resume", "--node", node, "--reason", "carry on"}).exit_code
          == exit_code::ok);
  auto before = counter(later, "tick", "completed");
  await_status(node, [&](const json& s) { return counter(s, "tick", "completed") >= before + 2; });
  // Its history, newest first, through the operator API.
  auto history = run_cli({"workflow", "history", "tick", "--node", node, "--limit", "2", "--json"});
  REQUIRE(history.exit_code == exit_code::ok);
  auto entries = json::parse(history.out);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0]["ended_at"] >= entries[1]["ended_at"]);
  CHECK(entries[0]["execution_id"].get<std::string>().rfind("exec_tick_", 0) == 0);
  auto plain = run_cli({"workflow", "history", "tick", "--node", node, "--limit", "1"});
  CHECK(plain.exit_code == exit_code::ok);
  CHECK_THAT(plain.out, Catch::Contains("  exec_tick_") && Catch::Contains("  completed  "));
  // Any operator may fence the workflow off; only the risk role may lift that.
  auto as_operator = environment_map{{"BROKEDANCER_TOKEN", credentials().operator_token}};
  CHECK(run_to_end({"workflow", "breaker", "tick", "force_open", "--node", node, "--reason",
                    "venue maintenance"},
                   as_operator)
            .exit_code
        == exit_code::ok);
  auto fenced = await_status(node, [](const json& s) {
    auto e = workflow_entry(s, "tick");
    return e.is_object() && e["breaker"]["state"] == "FORCED_OPEN";
  });
  std::this_thread::sleep_for(600ms);
  auto refused = node_status(node);
  CHECK(counter(refused, "tick", "started") == counter(fenced, "tick", "started"));
  CHECK(
      run_to_end({"workflow", "breaker", "tick", "force_close", "--node", node, "--reason", "back"},
                 as_operator)
          .exit_code
      == exit_code::command_refused);
  CHECK(
      run_to_end({"workflow", "breaker", "tick", "force_close", "--node", node, "--reason", "back"})
          .exit_code
      == exit_code::ok);
  auto again = counter(refused, "tick", "completed");
  await_status(node, [&](const json& s) { return counter(s, "tick", "completed") > again; });
  CHECK(run_to_end({"workflow", "cancel", "exec_nope_000000000000", "--node", node, "--reason",
                    "not there"})
            .exit_code
        == exit_code::command_refused);
  // Recorded, with who did it.
  auto audit = node_status(node)["audit"];
  auto recorded = [&](const std::string& command, const std::string& outcome) {
    for (const auto& a : audit)
      if (a["command"] == command && a["outcome"].get<std::string>().rfind(outcome, 0) == 0)
        return true;
    return false;
  };
  CHECK(recorded("workflow breaker force_open tick", "ok"));
  CHECK(recorded("workflow breaker force_close tick", "forbidden"));
  CHECK(recorded("workflow breaker force_close tick", "ok"));
  run.signal(SIGINT);
  CHECK(finish(run).exit_code == exit_code::ok);
}
