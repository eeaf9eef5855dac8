// Several nodes on one Redis: each keeps its own book and journal, a bot runs on one node at a
// time (a lease with a fencing token), a standby takes a bot over when its owner dies, and a
// node reconciles its order journal with `brokedancer exchange`, a process of its own. Real
// processes, a Redis of the test's own, loopback only.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <hiredis/hiredis.h>
#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

environment_map node_on(const redis_server& redis, const std::string& name,
                        environment_map extra = {}) {
  environment_map env{{"BROKEDANCER_STATE_BACKEND", "redis"},
                      {"BROKEDANCER_REDIS_URL", redis.url()},
                      {"BROKEDANCER_RUNTIME_NODE_NAME", name},
                      {"BROKEDANCER_MARKET_TICK_MS", "20"},
                      {"BROKEDANCER_BOTS_LOOKBACK_TICKS", "3"},
                      {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.05"},
                      {"BROKEDANCER_MARKET_VOLATILITY_PERCENT", "0.3"}};
  for (auto& [k, v] : extra)
    env[k] = v;
  return env;
}

// A Redis command's reply as text ("" for nil), for looking at what the nodes wrote.
std::string redis_get(const redis_server& redis, const std::string& key) {
  auto* c = redisConnect("127.0.0.1", redis.port());
  REQUIRE(c != nullptr);
  REQUIRE(c->err == 0);
  auto* reply = static_cast<redisReply*>(redisCommand(c, "GET %s", key.c_str()));
  std::string text = reply && reply->type == REDIS_REPLY_STRING
                         ? std::string(reply->str, reply->len)
                         : std::string{};
  if (reply)
    freeReplyObject(reply);
  redisFree(c);
  return text;
}

void redis_set(const redis_server& redis, const std::string& key, const std::string& value) {
  auto* c = redisConnect("127.0.0.1", redis.port());
  REQUIRE(c != nullptr);
  auto* reply = static_cast<redisReply*>(redisCommand(c, "SET %s %s", key.c_str(), value.c_str()));
  if (reply)
    freeReplyObject(reply);
  redisFree(c);
}

json summary_of(const outcome& o) {
  auto j = json::parse(o.out, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// `brokedancer exchange` on a free port; its port once it says it listens.
struct exchange_process {
  std::unique_ptr<child_process> process;
  uint16_t port = 0;

  explicit exchange_process(const std::string& ledger_file = {}, uint16_t at = 0) {
    std::vector<std::string> args{"exchange", "--listen", "127.0.0.1:" + std::to_string(at)};
    if (!ledger_file.empty()) {
      args.push_back("--ledger");
      args.push_back(ledger_file);
    }
    process = std::make_unique<child_process>(BROKEDANCER_CLI_PATH, args, quiet());
    auto line = process->read_line(10s);
    REQUIRE(line);
    port = static_cast<uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port);
  }

  json health() const {
    httplib::Client c{"127.0.0.1", port};
    auto r = c.Get("/health");
    REQUIRE(r);
    return json::parse(r->body);
  }

  // The account's fills, all of them.
  json fills(const std::string& account) const {
    httplib::Client c{"127.0.0.1", port};
    auto r = c.Get(("/fills?account=" + account + "&limit=10000").c_str());
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return json::parse(r->body)["fills"];
  }
};

environment_map via_exchange(const exchange_process& exchange) {
  return {{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_TYPE", "http"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_BASE_URL", exchange.url()}};
}

const json* owner_entry(const json& status, const std::string& bot) {
  for (const auto& o : status["bot_owners"])
    if (o["bot"] == bot)
      return &o;
  return nullptr;
}

} // namespace

TEST_CASE("two nodes on one Redis trade at once, and each restarted alone comes back with exactly "
          "its own book and bots",
          "[production][redis]") {
  redis_server redis{redis_server::persistence::none};
  auto env_a = node_on(redis, "a", {{"BROKEDANCER_BOTS_ID_PREFIX", "a-bot-"}});
  auto env_b = node_on(
      redis, "b", {{"BROKEDANCER_BOTS_ID_PREFIX", "b-bot-"}, {"BROKEDANCER_MARKET_SEED", "7"}});
  child_process run_a{
      BROKEDANCER_CLI_PATH, {"run", "--bots", "2", "--duration", "3", "--json"}, quiet(env_a)};
  child_process run_b{
      BROKEDANCER_CLI_PATH, {"run", "--bots", "4", "--duration", "3", "--json"}, quiet(env_b)};
  auto first_a = summary_of(finish(run_a));
  auto first_b = summary_of(finish(run_b));
  REQUIRE(first_a["risk"]["book_fills"].get<uint64_t>() > 0);
  REQUIRE(first_b["risk"]["book_fills"].get<uint64_t>() > 0);
  CHECK(redis_get(redis, "brokedancer:dev:risk:state").empty());
  CHECK_FALSE(redis_get(redis, "brokedancer:dev:node:a:risk:state").empty());
  CHECK_FALSE(redis_get(redis, "brokedancer:dev:node:b:risk:state").empty());
  CHECK_FALSE(redis_get(redis, "brokedancer:dev:bot:a-bot-1:state").empty());
  CHECK_FALSE(redis_get(redis, "brokedancer:dev:bot:b-bot-1:state").empty());
  // Each alone, without bots: the book it reads is its own, fill for fill and cent for cent.
  for (auto [env, first] : {std::pair{env_a, first_a}, std::pair{env_b, first_b}}) {
    auto again = summary_of(run_to_end({"run", "--bots", "0", "--duration", "1", "--json"}, env));
    CHECK(again["risk"]["book_fills"] == first["risk"]["book_fills"]);
    CHECK(again["risk"]["realized_pnl"].get<double>()
          == Approx(first["risk"]["realized_pnl"].get<double>()).margin(0.005));
    CHECK(again["risk"]["orders_filled"] == 0);
  }
}

TEST_CASE("a book left under the old shared key is not taken: the node halts and says what to do",
          "[production][redis]") {
  redis_server redis{redis_server::persistence::none};
  redis_set(redis, "brokedancer:dev:risk:state", R"({"version":1})");
  auto port = std::to_string(free_loopback_port());
  auto env = node_on(redis, "c", {{"BROKEDANCER_NODE_CONTROL_PORT", port}});
  child_process run{BROKEDANCER_CLI_PATH, {"run", "--bots", "1"}, quiet(env)};
  auto status =
      await_status("127.0.0.1:" + port, [](const json& s) { return s["level"] == "HALT"; });
  CHECK(status["reason"].get<std::string>().find("shared key risk:state") != std::string::npos);
  CHECK(status["reason"].get<std::string>().find("node:c:risk:state") != std::string::npos);
}

TEST_CASE("a bot configured on two nodes runs on one, the standby takes it over after a kill -9, "
          "and a paused owner that lost it places no order and writes no state",
          "[production][redis][lease]") {
  redis_server redis{redis_server::persistence::none};
  exchange_process exchange;
  auto port_a = std::to_string(free_loopback_port());
  auto port_b = std::to_string(free_loopback_port());
  auto port_c = std::to_string(free_loopback_port());
  auto with = [&](std::string name, std::string port, bool standby) {
    auto env = node_on(redis, name, via_exchange(exchange));
    env["BROKEDANCER_NODE_CONTROL_PORT"] = port;
    env["BROKEDANCER_BOTS_LEASE_S"] = "1.5";
    env["BROKEDANCER_BOTS_STANDBY"] = standby ? "true" : "false";
    return quiet(env);
  };
  auto node_a = "127.0.0.1:" + port_a;
  auto node_b = "127.0.0.1:" + port_b;
  auto node_c = "127.0.0.1:" + port_c;
  auto a = std::make_unique<child_process>(BROKEDANCER_CLI_PATH,
                                           std::vector<std::string>{"run", "--bots", "1"},
                                           with("a", port_a, false));
  await_status(node_a, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["owner"] == "a" && (*o)["state"] == "running";
  });
  // A second node that is not the standby refuses the bot, naming its owner.
  child_process c{BROKEDANCER_CLI_PATH, {"run", "--bots", "1"}, with("c", port_c, false)};
  auto refused = await_status(node_c, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["state"] == "refused";
  });
  CHECK((*owner_entry(refused, "bot-1"))["owner"] == "a");
  c.signal(SIGKILL);
  // The standby waits while a holds it.
  child_process b{BROKEDANCER_CLI_PATH, {"run", "--bots", "1"}, with("b", port_b, true)};
  await_status(node_b, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["state"] == "standby" && (*o)["owner"] == "a";
  });
  // kill -9 the owner: b takes the bot within the lease and one renewal period.
  a->kill_now();
  auto killed = std::chrono::steady_clock::now();
  auto taken = await_status(node_b, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["owner"] == "b" && (*o)["state"] == "running";
  });
  auto took = std::chrono::steady_clock::now() - killed;
  // The figure the README quotes (lease failover), measured to the status that shows it.
  WARN("takeover after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                         << " ms (lease 1.5 s)");
  // Lease + renewal period is 2 s; the status polls (a process each, under the sanitizers) add
  // their own time. The figure is the WARN above.
  CHECK(took < 6s);
  auto fence_b = (*owner_entry(taken, "bot-1"))["fence"].get<uint64_t>();
  // Now the other way round: a comes back as the standby, takes the bot when b is paused, and b,
  // resumed after losing it, neither trades nor writes.
  a = std::make_unique<child_process>(BROKEDANCER_CLI_PATH,
                                      std::vector<std::string>{"run", "--bots", "1"},
                                      with("a", port_a, true));
  await_status(node_a, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["state"] == "standby";
  });
  // b has traded as the owner, so the exchange knows its fence.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (exchange.fills("b").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  REQUIRE_FALSE(exchange.fills("b").empty());
  b.signal(SIGSTOP);
  await_status(node_a, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["owner"] == "a" && (*o)["state"] == "running";
  });
  auto state_by_a = redis_get(redis, "brokedancer:dev:bot:bot-1:state");
  auto fills_b_before = exchange.fills("b").size();
  b.signal(SIGCONT);
  // b, awake, stops the bot (its lease is gone) and stands by again.
  await_status(node_b, [](const json& s) {
    auto* o = owner_entry(s, "bot-1");
    return o && (*o)["state"] == "standby" && (*o)["owner"] == "a";
  });
  std::this_thread::sleep_for(1500ms);
  // Fencing: not one fill of b's after it lost the bot.
  CHECK(exchange.fills("b").size() == fills_b_before);
  INFO("bot state written by a: " << state_by_a);
  auto final_status = node_status(node_a);
  REQUIRE(final_status.is_object());
  CHECK((*owner_entry(final_status, "bot-1"))["owner"] == "a");
  CHECK((*owner_entry(final_status, "bot-1"))["fence"].get<uint64_t>() > fence_b);
}

TEST_CASE("the exchange killed and restarted under load: orders fail fast through the breaker, "
          "nothing is filled twice, and trading resumes",
          "[production][redis]") {
  redis_server redis{redis_server::persistence::none};
  char dir[] = "/tmp/brokedancer-exchange-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  auto ledger = std::string{dir} + "/ledger.jsonl";
  auto exchange = std::make_unique<exchange_process>(ledger);
  auto exchange_port = exchange->port;
  auto port = std::to_string(free_loopback_port());
  auto env = node_on(redis, "d", via_exchange(*exchange));
  env["BROKEDANCER_NODE_CONTROL_PORT"] = port;
  env["BROKEDANCER_RISK_MAX_TRADES_PER_HOUR"] = "0";
  auto node = "127.0.0.1:" + port;
  child_process run{BROKEDANCER_CLI_PATH, {"run", "--bots", "8"}, quiet(env)};
  await_status(node, [](const json& s) { return s["bots"]["fills"].get<uint64_t>() > 20; });
  exchange->process->kill_now();
  // While it is down, orders fail, and fast: the breaker opens and refuses calls at once.
  await_status(node, [](const json& s) {
    return !s["breakers"].empty() && s["breakers"][0]["state"] == "OPEN"
           && s["breakers"][0]["rejected"].get<uint64_t>() > 0;
  });
  std::this_thread::sleep_for(1s);
  exchange = std::make_unique<exchange_process>(ledger, exchange_port);
  auto fills_then = exchange->fills("d").size();
  // Trading resumes: new fills at the exchange, and the journal settles what was in flight.
  await_status(
      node,
      [&](const json& s) {
        return s["breakers"][0]["state"] == "CLOSED"
               && exchange->fills("d").size() > fills_then + 10
               && s["risk"]["journal"]["outcome_unknown"] == 0;
      },
      60s);
  // Nothing twice: the book, once the node has stopped, holds exactly the exchange's fills.
  run.signal(SIGINT);
  auto code = run.wait(30s);
  CHECK(code == 0);
  auto book = json::parse(redis_get(redis, "brokedancer:dev:node:d:risk:state"));
  CHECK(book["fills"].get<uint64_t>() == exchange->fills("d").size());
}

TEST_CASE("kill -9 twenty times while the bots trade: after each restart the book equals the "
          "exchange's ledger",
          "[production][redis][chaos]") {
  child_process chaos{BROKEDANCER_CHAOS_PATH, {"--kills", "20", "--seed", "5"}, quiet()};
  auto result = finish(chaos, 540s);
  INFO(result.out);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("fills lost: 0, fills duplicated: 0") != std::string::npos);
}

namespace {

// A service the workflow notifies: the first request takes `first_wait` (the node is killed
// while it waits), the later ones answer at once. It keeps the Idempotency-Key of each.
struct slow_notifier {
  httplib::Server server;
  std::thread serving;
  int port = 0;
  std::mutex mutex;
  std::vector<std::string> keys;

  explicit slow_notifier(std::chrono::seconds first_wait) {
    server.Post("/notify", [this, first_wait](const httplib::Request& req, httplib::Response& res) {
      size_t seen = 0;
      {
        std::lock_guard<std::mutex> lock{mutex};
        keys.push_back(req.get_header_value("Idempotency-Key"));
        seen = keys.size();
      }
      if (seen == 1)
        std::this_thread::sleep_for(first_wait);
      res.set_content(R"({"ok":true})", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    serving = std::thread([this] { server.listen_after_bind(); });
    REQUIRE(testing::eventually([this] { return server.is_running(); }));
  }

  ~slow_notifier() {
    server.stop();
    serving.join();
  }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock{mutex};
    return keys;
  }
};

json workflow_of(const json& status, const std::string& id) {
  if (status.is_object() && status["workflows"].is_object())
    for (const auto& w : status["workflows"]["workflows"])
      if (w["workflow_id"] == id)
        return w;
  return nullptr;
}

} // namespace

TEST_CASE("a node killed mid-workflow reports the execution interrupted after its restart, and "
          "resume finishes it without sending its order again",
          "[production][redis][workflow]") {
  redis_server redis{redis_server::persistence::none};
  exchange_process exchange;
  slow_notifier notifier{std::chrono::seconds(20)};
  // An order, then a notification through an endpoint and its breaker. The notifier honours
  // the Idempotency-Key, so the definition marks that node idempotent: a resume may send it
  // again; never the order.
  auto path = "/tmp/brokedancer-wf-resume-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"id": "buy_and_tell", "bot_id": "wf-bot", "nodes": [
    {"id": "buy", "type": "submit_order",
     "parameters": {"symbol": "BTC-USD", "side": "buy", "quantity": 0.001, "price": 50000}},
    {"id": "tell", "type": "http_request", "idempotent": true,
     "parameters": {"endpoint": "notifier", "method": "POST", "path": "/notify"},
     "inputs": {"body": "buy.client_order_id"}, "retry": {"attempts": 1}}]})";
  auto port = std::to_string(free_loopback_port());
  auto node = "127.0.0.1:" + port;
  auto env = node_on(redis, "w", via_exchange(exchange));
  env["BROKEDANCER_NODE_CONTROL_PORT"] = port;
  env["BROKEDANCER_WORKFLOWS_FILES"] = path;
  env["BROKEDANCER_WORKFLOWS_HTTP_ENDPOINTS"] = "notifier";
  env["BROKEDANCER_RESILIENCE_ENDPOINTS_NOTIFIER_TYPE"] = "http";
  env["BROKEDANCER_RESILIENCE_ENDPOINTS_NOTIFIER_BASE_URL"] =
      "http://127.0.0.1:" + std::to_string(notifier.port);
  auto run = std::make_unique<child_process>(
      BROKEDANCER_CLI_PATH, std::vector<std::string>{"run", "--bots", "0"}, quiet(env));
  await_status(node, [](const json& s) { return s["workflows"]["starting"] == true; });
  auto started =
      run_cli({"workflow", "start", "buy_and_tell", "--node", node, "--reason", "one run"});
  REQUIRE(started.exit_code == exit_code::ok);
  auto id = json::parse(started.out)["execution_id"].get<std::string>();
  // The order has filled and the notification is under way: the node dies.
  REQUIRE(testing::eventually([&] { return notifier.requests().size() == 1; }, 30s));
  REQUIRE(exchange.fills("w").size() == 1);
  run->kill_now();
  run.reset();

  run = std::make_unique<child_process>(BROKEDANCER_CLI_PATH,
                                        std::vector<std::string>{"run", "--bots", "0"}, quiet(env));
  auto after = await_status(node, [&](const json& s) {
    auto w = workflow_of(s, "buy_and_tell");
    return w.is_object() && w["interrupted"].size() == 1;
  });
  CHECK(workflow_of(after, "buy_and_tell")["interrupted"][0] == id);
  auto history = run_cli({"workflow", "history", "buy_and_tell", "--node", node, "--json"});
  REQUIRE(history.exit_code == exit_code::ok);
  auto entries = json::parse(history.out);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0]["status"] == "interrupted");
  CHECK(entries[0]["execution_id"] == id);
  // The risk role decides whether it runs again.
  auto as_operator = environment_map{{"BROKEDANCER_TOKEN", credentials().operator_token}};
  CHECK(run_to_end({"workflow", "resume", id, "--node", node, "--reason", "go on"}, as_operator)
            .exit_code
        == exit_code::command_refused);
  auto resumed =
      run_cli({"workflow", "resume", id, "--node", node, "--reason", "checked the order"});
  REQUIRE(resumed.exit_code == exit_code::ok);
  CHECK(json::parse(resumed.out)["restored_nodes"] == json::array({"buy"}));
  auto done = await_status(node, [](const json& s) {
    auto w = workflow_of(s, "buy_and_tell");
    return w.is_object() && w["completed"] == 1;
  });
  CHECK(workflow_of(done, "buy_and_tell")["interrupted"].empty());
  // One order at the exchange (which would answer a repeated client order id with its first
  // answer: that the order node did not run again is shown by the executor's tests, which
  // count its runs); the notification twice, with the same key.
  CHECK(exchange.fills("w").size() == 1);
  CHECK(exchange.health()["orders"] == 1);
  auto keys = notifier.requests();
  REQUIRE(keys.size() == 2);
  CHECK(keys[0] == id + "-tell");
  CHECK(keys[1] == keys[0]);
  CHECK(run_cli({"workflow", "resume", id, "--node", node, "--reason", "again"}).exit_code
        == exit_code::command_refused);
  run->signal(SIGINT);
  CHECK(finish(*run).exit_code == exit_code::ok);
  std::remove(path.c_str());
}
