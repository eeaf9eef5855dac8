// A running node's market-data stream and standard channels, read by a client none of us wrote:
// Debian's python3-redis (tests/support/trading_reader.py), as any other program would read them.

#include <chrono>
#include <csignal>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.hpp"
#include "support/child_process.hpp"
#include "support/cli_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// Debian's own interpreter, with its python3-redis: not whichever python3 comes first on PATH.
constexpr const char* debian_python = "/usr/bin/python3";

} // namespace

TEST_CASE("a python3-redis reader consumes the market stream through a consumer group and decodes "
          "every message on the standard channels") {
  redis_server redis{redis_server::persistence::none};
  environment_map env{
      {"BROKEDANCER_STATE_BACKEND", "redis"},   {"BROKEDANCER_REDIS_URL", redis.url()},
      {"BROKEDANCER_STATE_KEY_PREFIX", "py:"},  {"BROKEDANCER_RUNTIME_NODE_NAME", "node-py"},
      {"BROKEDANCER_MARKET_TICK_MS", "50"},     {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0.3"},
      {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "3"}, {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.05"},
      {"BROKEDANCER_CHANNELS_HEARTBEAT_S", "1"}};
  child_process node{BROKEDANCER_CLI_PATH, {"run", "--duration", "20", "--bots", "4"}, quiet(env)};
  child_process reader{debian_python,
                       {std::string{BROKEDANCER_SOURCE_DIR} + "/tests/support/trading_reader.py",
                        "--url", redis.url(), "--stream", "py:stream:market:data", "--seconds",
                        "10"},
                       {}};
  auto read = finish(reader, 60s);
  INFO(read.out);
  CHECK(read.exit_code == 0);
  auto summary = json::parse(read.out, nullptr, false);
  REQUIRE(summary.is_object());
  CHECK(summary["errors"].empty());
  CHECK(summary["ticks"].get<int>() > 50);
  CHECK(summary["acknowledged"] == summary["ticks"]);
  CHECK(summary["pending"] == 0);
  CHECK(summary["symbols"] == json::array({"BTC-USD", "ETH-USD"}));
  CHECK(summary["messages"].value("HEARTBEAT", 0) >= 3);
  CHECK(summary["messages"].value("ORDER_UPDATE", 0) >= 1);
  CHECK(summary["messages"].value("POSITION_UPDATE", 0) >= 1);
  node.signal(SIGINT);
  auto end = finish(node, 60s);
  CHECK(end.exit_code == exit_code::ok);
}

namespace {

// A run on `redis` as node `node` with bots `<node>-1`, `<node>-2`; its summary.
json run_summary(const redis_server& redis, const std::string& node, environment_map extra,
                 const std::string& duration) {
  environment_map env{{"BROKEDANCER_STATE_BACKEND", "redis"},
                      {"BROKEDANCER_REDIS_URL", redis.url()},
                      {"BROKEDANCER_RUNTIME_NODE_NAME", node},
                      {"BROKEDANCER_BOTS_ID_PREFIX", node + "-"},
                      {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "3"},
                      {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.05"},
                      {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0.3"},
                      {"BROKEDANCER_MARKET_TICK_MS", "50"},
                      // Each run starts from the same book: no marks from a quote another run
                      // cached a moment (or a TTL) ago.
                      {"BROKEDANCER_MARKET_QUOTE_TTL_S", "0"}};
  for (auto& [key, value] : extra)
    env[key] = value;
  child_process run{BROKEDANCER_CLI_PATH,
                    {"run", "--duration", duration, "--bots", "2", "--seed", "7", "--json"},
                    quiet(env)};
  auto end = finish(run, 120s);
  REQUIRE(end.exit_code == exit_code::ok);
  auto summary = json::parse(end.out, nullptr, false);
  REQUIRE(summary.is_object());
  return summary;
}

} // namespace

// At the original pace: the replay's clock starts with its first tick, and ticks a busy machine
// plays late still reach the bots one recorded moment at a time (actors/market/replay_pacer.hpp).
TEST_CASE("a recorded market stream played back twice with the same seed gives the same run") {
  redis_server redis{redis_server::persistence::none};
  // The recording: 60 ticks of two symbols on market:data, 150 ms apart. The same run holds as
  // long as the bots finish acting on a tick (an order through the risk monitor, the exchange,
  // a fill written to Redis) within its gap; with the sanitizers and the other tests beside it,
  // 50 ms was once not enough for one order in two runs.
  auto recorded = run_summary(
      redis, "rec", {{"BROKEDANCER_MARKET_MAX_TICKS", "60"}, {"BROKEDANCER_MARKET_TICK_MS", "150"}},
      "12");
  REQUIRE(recorded["data"]["market_stream"]["published"] == 120);
  environment_map replay{{"BROKEDANCER_MARKET_REPLAY", "market:data"},
                         {"BROKEDANCER_MARKET_STREAM", ""}};
  // The recording lasts 9 s at its pace; a start slowed by the sanitizers and a busy machine must
  // not cut its end off in one run and not in the other.
  auto first = run_summary(redis, "one", replay, "16");
  auto second = run_summary(redis, "two", replay, "16");
  const auto& a = first["totals"];
  const auto& b = second["totals"];
  INFO(first.dump() << "\n" << second.dump());
  CHECK(a["orders"].get<int>() > 0);
  CHECK(a["orders"] == b["orders"]);
  CHECK(a["fills"] == b["fills"]);
  CHECK(a["realized_pnl"].get<double>() == Approx(b["realized_pnl"].get<double>()));
  CHECK(first["risk"]["book_fills"] == second["risk"]["book_fills"]);
}
