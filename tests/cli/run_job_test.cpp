// The main job as a user runs it: `brokedancer run` with its bots on the simulated exchange,
// the presets, a graceful SIGINT, and an operator halting and resuming it from a second
// process over the control port. Every node here is a real process on 127.0.0.1.

#include <chrono>
#include <cmath>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.hpp"
#include "support/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using json = nlohmann::json;
using testing::child_process;
using namespace brokedancer::testing;

namespace {

json summary_of(const outcome& o) {
  auto parsed = json::parse(o.out, nullptr, false);
  INFO(o.out);
  REQUIRE(parsed.is_object());
  return parsed;
}

std::string preset(const char* name) {
  return std::string(BROKEDANCER_SOURCE_DIR) + "/config/" + name;
}

} // namespace

TEST_CASE("the sample bots on a fixed seed reach the same outcome every time", "[run][bots]") {
  // A bounded market (40 ticks of 100 ms) so that every run sees the same ticks -- all of them:
  // 4 s of ticks after a start that takes a second or more under the sanitizers and a busy
  // suite, within the 7 s run. Ticks far enough apart that an order reaches the exchange before
  // the next one even on a loaded machine (40 ms was not always, once the journal added a hop).
  environment_map env{{"BROKEDANCER_MARKET_TICK_MS", "100"},
                      {"BROKEDANCER_MARKET_MAX_TICKS", "40"},
                      {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0.3"},
                      {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "3"},
                      {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.1"}};
  std::vector<std::string> args{"run", "--bots", "4", "--seed", "42", "--duration", "7", "--json"};
  auto first = summary_of(run_to_end(args, env));
  auto second = summary_of(run_to_end(args, env));
  REQUIRE(first["exit_code"] == 0);
  REQUIRE(first["bots"].size() == 4);
  CHECK(first["totals"]["fills"].get<uint64_t>() > 0);
  // Bot by bot: the same orders, fills and P&L.
  CHECK(first["bots"].dump() == second["bots"].dump());
  CHECK(first["totals"].dump() == second["totals"].dump());
  args[4] = "43";
  auto other = summary_of(run_to_end(args, env));
  CHECK(other["bots"].dump() != first["bots"].dump());
}

TEST_CASE("the daily-loss preset HALTs the node and no order is accepted after it", "[run][risk]") {
  auto port = std::to_string(testing::free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH,
                    {"run", "--config", preset("preset-daily-loss.json"), "--json"},
                    quiet({{"BROKEDANCER_NODE_CONTROL_PORT", port}})};
  auto halted = await_status(node, [](const json& s) { return s["level"] == "HALT"; });
  CHECK(halted["source"] == "risk_monitor");
  CHECK_THAT(halted["reason"].get<std::string>(), Contains("max_daily_loss"));
  CHECK_FALSE(halted["trading_allowed"].get<bool>());
  // Every bot acknowledged; from then on nothing is filled, however long the market falls.
  auto acknowledged = await_status(node, [](const json& s) {
    return s["level"] == "HALT" && s["bots_acknowledged"] == s["bots_registered"];
  });
  auto fills = acknowledged["bots"]["fills"].get<uint64_t>();
  std::this_thread::sleep_for(2s);
  auto later = node_status(node);
  REQUIRE(later.is_object());
  CHECK(later["level"] == "HALT");
  CHECK(later["bots"]["fills"].get<uint64_t>() == fills);
  run.signal(SIGINT);
  auto end = finish(run);
  CHECK(end.exit_code == exit_code::ok);
  auto summary = summary_of(end);
  bool saw_halt = false;
  for (const auto& change : summary["emergency_changes"])
    saw_halt = saw_halt || (change["level"] == "HALT" && change["source"] == "risk_monitor");
  CHECK(saw_halt);
}

TEST_CASE("the daily-loss preset with a flatten policy closes every position at the breach, and "
          "its summary says so",
          "[run][risk][flatten]") {
  auto port = std::to_string(testing::free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH,
                    {"run", "--config", preset("preset-daily-loss.json"), "--json"},
                    quiet({{"BROKEDANCER_NODE_CONTROL_PORT", port},
                           {"BROKEDANCER_RISK_ESCALATION", "ALERT:60,REDUCE_ONLY:100,HALT:150"},
                           {"BROKEDANCER_RISK_FLATTEN_ON", "max_daily_loss"}})};
  auto reduced = await_status(node, [](const json& s) {
    return s["level"] == "REDUCE_ONLY" && s["risk"]["flattens"].get<uint64_t>() > 0;
  });
  CHECK(reduced["source"] == "risk_monitor");
  CHECK_THAT(reduced["reason"].get<std::string>(), Contains("max_daily_loss"));
  CHECK(reduced["risk"]["positions_flattened"].get<uint64_t>() > 0);
  // Closed while the market runs on: the book is flat, and at REDUCE_ONLY nothing reopens it.
  auto flat = await_status(node, [](const json& s) { return s["risk"]["positions"].empty(); });
  CHECK(flat["risk"]["positions"].empty());
  std::this_thread::sleep_for(1s);
  auto later = node_status(node);
  REQUIRE(later.is_object());
  CHECK(later["risk"]["positions"].empty());
  run.signal(SIGINT);
  auto end = finish(run);
  CHECK(end.exit_code == exit_code::ok);
  auto summary = summary_of(end);
  CHECK(summary["risk"]["flattens"].get<uint64_t>() >= 1);
  CHECK(summary["risk"]["positions_flattened"].get<uint64_t>() > 0);
  CHECK(summary["risk"]["open_positions"] == 0);
}

TEST_CASE("the arbitrage example trades on both venues, and its stop closes each leg where it is "
          "held",
          "[run][workflow]") {
  // The example's node without the venues' noise: B's bid stays about 36 over A's ask, so every
  // execution sends both legs, and both fill (5 bps through the quotes).
  auto examples = std::string(BROKEDANCER_SOURCE_DIR) + "/examples/workflows/";
  environment_map env{{"BROKEDANCER_WORKFLOWS_FILES", examples + "arbitrage.json"},
                      {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_A_PRICE_NOISE_BPS", "0"},
                      {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_B_PRICE_NOISE_BPS", "0"}};
  auto summary = summary_of(run_to_end(
      {"run", "--config", examples + "arbitrage-node.json", "--duration", "6", "--json"}, env));
  CHECK(summary["exit_code"] == 0);
  REQUIRE(summary["workflows"].size() == 1);
  const auto& arbitrage = summary["workflows"][0];
  CHECK(arbitrage["workflow_id"] == "arb_btc_001");
  CHECK(arbitrage["completed"].get<uint64_t>() >= 1);
  CHECK(arbitrage["failed"] == 0);
  // Each venue filled a leg per execution, and one closing order at the stop; the node's own
  // exchange saw none.
  const auto& venues = summary["orders_by_venue"];
  INFO(venues.dump());
  CHECK(venues["venue_a"].value("FILLED", 0) >= 2);
  CHECK(venues["venue_b"].value("FILLED", 0) >= 2);
  CHECK_FALSE(venues.contains("exchange"));
  CHECK(summary["risk"]["open_positions"] == 0);
  CHECK(summary["risk"]["orders_failed"] == 0);
}

TEST_CASE("SIGINT stops gracefully: positions closed, exit code 0", "[run]") {
  auto port = std::to_string(testing::free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH,
                    {"run", "--bots", "6", "--json"},
                    quiet({{"BROKEDANCER_NODE_CONTROL_PORT", port},
                           {"BROKEDANCER_MARKET_TICK_MS", "20"},
                           {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "2"},
                           {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.01"}})};
  await_status(node, [](const json& s) { return s["bots"]["fills"].get<uint64_t>() >= 5; });
  run.signal(SIGINT);
  auto end = finish(run);
  CHECK(end.exit_code == exit_code::ok);
  auto summary = summary_of(end);
  CHECK(summary["stopped_because"] == "signal");
  CHECK(summary["level"]["level"] == "SHUTDOWN");
  CHECK(summary["level"]["source"] == "stop");
  // The risk monitor closed the node's book before the bots were let go.
  CHECK(summary["risk"]["open_positions"] == 0);
  CHECK(summary["risk"]["unrealized_pnl"].get<double>() == Approx(0).margin(1e-9));
  for (const auto& bot : summary["bots"])
    CHECK(bot["state"] == "stopped");
}

TEST_CASE("an operator halts and resumes a running node from a second process", "[run][control]") {
  auto port = std::to_string(testing::free_loopback_port());
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH,
                    {"run", "--bots", "5", "--json"},
                    quiet({{"BROKEDANCER_NODE_CONTROL_PORT", port}})};
  auto before = await_status(node, [](const json& s) { return s["bots"]["running"] == 5; });
  CHECK(before["level"] == "NORMAL");
  auto halt = run_to_end({"halt", "--node", node, "--reason", "operator test"});
  CHECK(halt.exit_code == exit_code::ok);
  CHECK_THAT(halt.out, Contains("is at HALT"));
  // It returned only once every bot had acknowledged.
  auto halted = node_status(node);
  REQUIRE(halted.is_object());
  CHECK(halted["level"] == "HALT");
  CHECK(halted["source"] == "operator");
  CHECK(halted["bots_acknowledged"] == halted["bots_registered"]);
  CHECK(halted["bots_registered"].get<uint32_t>() >= 5);
  // Lowering needs a reason and cannot go up; then it works.
  CHECK(run_to_end({"resume", "--node", node}).exit_code == exit_code::usage);
  CHECK(run_to_end({"resume", "--node", node, "--reason", "x", "--level", "SHUTDOWN"}).exit_code
        == exit_code::usage);
  auto resume = run_to_end({"resume", "--node", node, "--reason", "all clear"});
  CHECK(resume.exit_code == exit_code::ok);
  CHECK_THAT(resume.out, Contains("is at NORMAL"));
  CHECK(node_status(node)["level"] == "NORMAL");
  auto shutdown = run_to_end({"shutdown", "--node", node, "--reason", "end of test"});
  CHECK(shutdown.exit_code == exit_code::ok);
  auto end = finish(run);
  CHECK(end.exit_code == exit_code::emergency_shutdown);
}

TEST_CASE("control commands report an unreachable node and a malformed address distinctly",
          "[run][control]") {
  auto port = std::to_string(testing::free_loopback_port());
  auto o = run_to_end({"status", "--node", "127.0.0.1:" + port});
  CHECK(o.exit_code == exit_code::node_unreachable);
  CHECK(run_to_end({"halt", "--node", "localhost", "--reason", "x"}).exit_code == exit_code::usage);
  CHECK(run_to_end({"halt", "--node", "127.0.0.1:" + port}).exit_code == exit_code::usage);
}

TEST_CASE("the flaky-endpoint preset opens its breaker, fails fast, and closes it again",
          "[run][breaker]") {
  auto summary = summary_of(run_to_end(
      {"run", "--config", preset("preset-flaky-endpoint.json"), "--duration", "9", "--json"}));
  CHECK(summary["exit_code"] == 0);
  bool opened = false, closed_again = false;
  for (const auto& t : summary["breaker_transitions"]) {
    opened = opened || t["to"] == "OPEN";
    closed_again = closed_again || (opened && t["from"] == "HALF_OPEN" && t["to"] == "CLOSED");
  }
  CHECK(opened);
  CHECK(closed_again);
  CHECK(summary["totals"]["rejections"].value("breaker_open", 0) > 0);
  CHECK(summary["totals"]["fills"].get<uint64_t>() > 0);
}

TEST_CASE("in the main job an endpoint's budget and a bot's order cap refuse what exceeds them "
          "as rate_limited, unsent",
          "[run][limiter]") {
  environment_map busy{{"BROKEDANCER_MARKET_TICK_MS", "20"},
                       {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "2"},
                       {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.01"}};
  auto budget = busy;
  budget["BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_RATE_LIMIT"] = "5";
  budget["BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_RATE_WINDOW_MS"] = "1000";
  budget["BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_RATE_WAIT"] = "false";
  auto summary =
      summary_of(run_to_end({"run", "--bots", "6", "--duration", "4", "--json"}, budget));
  CHECK(summary["exit_code"] == 0);
  REQUIRE(summary["breakers"].size() == 1);
  const auto& exchange = summary["breakers"][0];
  CHECK(exchange["rate_limited"].get<uint64_t>() > 0);
  CHECK(exchange["failures"] == 0); // a spent budget is not the exchange failing
  // At most 5 calls in any second reached the exchange.
  auto seconds = std::ceil(summary["seconds"].get<double>());
  CHECK(exchange["calls"].get<double>() <= 5 * (seconds + 1));
  CHECK(summary["totals"]["rejections"].value("rate_limited", 0) > 0);

  auto capped = busy;
  capped["BROKEDANCER_BOTS_ORDER_RATE_LIMIT"] = "1";
  capped["BROKEDANCER_BOTS_ORDER_RATE_WINDOW_S"] = "2";
  summary = summary_of(run_to_end({"run", "--bots", "6", "--duration", "4", "--json"}, capped));
  CHECK(summary["exit_code"] == 0);
  CHECK(summary["breakers"][0]["rate_limited"] == 0);
  CHECK(summary["totals"]["rejections"].value("rate_limited", 0) > 0);
  seconds = std::ceil(summary["seconds"].get<double>());
  REQUIRE(summary["bots"].size() == 6);
  for (const auto& bot : summary["bots"]) {
    auto refused = bot["rejections"].value("rate_limited", 0);
    // One order per bot per 2 s went further than the cap (and one more may have been
    // cancelled while it waited for the cap's answer, at the end).
    CHECK(bot["orders"].get<double>() - refused <= seconds / 2 + 2);
  }
}

TEST_CASE("a program of the user's own embeds the runtime with a bot of its own", "[embedding]") {
  auto o = run_to_end({"--seconds", "2"}, {}, BROKEDANCER_EMBEDDED_EXAMPLE_PATH);
  CHECK(o.exit_code == exit_code::ok);
  CHECK_THAT(o.out, Contains("my-dip-buyer (dip_buyer)"));
  CHECK_THAT(o.out, Contains("bot-1 (momentum)"));
}

TEST_CASE("a program of the user's own runs a workflow with a node type of its own, as the guide's "
          "quick start does",
          "[embedding][workflow]") {
  auto o = run_to_end({}, {}, BROKEDANCER_WORKFLOW_EXAMPLE_PATH);
  INFO(o.out);
  CHECK(o.exit_code == exit_code::ok);
  CHECK_THAT(o.out, Contains("Event: execution_started - \n"));
  CHECK_THAT(o.out, Contains("Event: node_completed - spread\n"));
  // The simulated market quotes 10 bps wide: the alert goes out.
  CHECK_THAT(o.out, Contains("Event: node_completed - alert\n"));
  CHECK_THAT(o.out, Contains("Result: completed in "));
  CHECK_THAT(o.out, Contains("spread 10"));
}
