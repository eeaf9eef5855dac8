// The `brokedancer` program as a user runs it: a real process, its exit code and its output.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using Catch::Matchers::Contains;
using namespace std::chrono_literals;

namespace {

struct finished {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

// Starts the CLI with `args` and extra environment entries (NAME=value); returns its pid.
pid_t start(const std::vector<std::string>& args, const std::vector<std::string>& env,
            const std::string& out_path, const std::string& err_path,
            const char* program = BROKEDANCER_CLI_PATH) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(err, 2);
    for (const auto& entry : env)
      putenv(const_cast<char*>(entry.c_str()));
    std::vector<char*> argv{const_cast<char*>(program)};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

finished wait_for(pid_t pid, const std::string& out_path, const std::string& err_path) {
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL("brokedancer did not exit within 60 s");
    }
    std::this_thread::sleep_for(10ms);
  }
  finished result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  return result;
}

std::string temp_path(const char* what) {
  return "/tmp/brokedancer-cli-" + std::to_string(getpid()) + "-" + what;
}

finished run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                 const char* program = BROKEDANCER_CLI_PATH) {
  auto out = temp_path("out"), err = temp_path("err");
  return wait_for(start(args, env, out, err, program), out, err);
}

std::string config_path(const char* name) {
  return std::string(BROKEDANCER_SOURCE_DIR) + "/config/" + name;
}

} // namespace

TEST_CASE("brokedancer --version prints the version") {
  auto r = run_cli({"--version"});
  CHECK(r.exit_code == exit_code::ok);
  CHECK_THAT(r.out, Contains("brokedancer 0."));
}

TEST_CASE("config check prints the production config with the Redis password from the "
          "environment masked") {
  auto r = run_cli({"config", "check", config_path("production.json")},
                   {"BROKEDANCER_REDIS_URL=redis://:s3cret@127.0.0.1:6379/0"});
  INFO(r.err);
  CHECK(r.exit_code == exit_code::ok);
  auto effective = nlohmann::json::parse(r.out);
  CHECK(effective["redis"]["url"] == "redis://:***@127.0.0.1:6379/0");
  CHECK(effective["state"]["backend"] == "redis");
  CHECK_THAT(r.out + r.err, !Contains("s3cret"));
  CHECK_THAT(r.err, Contains("environment overrides: BROKEDANCER_REDIS_URL"));
}

TEST_CASE("config check rejects a misspelt config with exit code 2, the file and the JSON path") {
  auto path = temp_path("bad.json");
  std::ofstream(path) << R"({"supervisor": {"max_restart": 3}})";
  auto r = run_cli({"config", "check", path});
  std::remove(path.c_str());
  CHECK(r.exit_code == exit_code::config_invalid);
  CHECK_THAT(
      r.err,
      Contains(path + ": $.supervisor.max_restart: unknown key; did you mean \"max_restarts\"?"));
}

TEST_CASE("config check rejects malformed JSON with exit code 2") {
  auto path = temp_path("broken.json");
  std::ofstream(path) << "{ \"log\": ";
  auto r = run_cli({"config", "check", path});
  std::remove(path.c_str());
  CHECK(r.exit_code == exit_code::config_invalid);
  CHECK_THAT(r.err, Contains(path + ": $: is not valid JSON"));
}

TEST_CASE("workflow validate accepts the example and lists its nodes, exit code 0") {
  auto r = run_cli({"workflow", "validate",
                    std::string(BROKEDANCER_SOURCE_DIR) + "/examples/workflows/arbitrage.json"});
  CHECK(r.exit_code == exit_code::ok);
  CHECK_THAT(r.out, Contains("workflow arb_btc_001 is valid: 9 nodes"));
  CHECK_THAT(r.out, Contains("buy_a  submit_order (actions)  when wide  sends orders"));
}

TEST_CASE("workflow validate reports every problem with the file and its JSON path, exit code 2") {
  auto path = temp_path("cycle.json");
  std::ofstream(path) << R"({"id": "w", "nodes": [
    {"id": "a", "type": "add", "inputs": {"a": "b.value"}, "parameters": {"b": 1}},
    {"id": "b", "type": "add", "inputs": {"a": "a.value"}, "parameters": {"b": 1, "c": 2}},
    {"id": "c", "type": "teleport"}]})";
  auto r = run_cli({"workflow", "validate", path});
  std::remove(path.c_str());
  CHECK(r.exit_code == exit_code::input_invalid);
  CHECK_THAT(r.err, Contains(path + ": $.nodes[0]: a cycle: a -> b -> a"));
  CHECK_THAT(r.err, Contains(path + ": $.nodes[1].parameters.c: unknown parameter of add"));
  CHECK_THAT(r.err, Contains(path + ": $.nodes[2].type: unknown node type \"teleport\""));
  CHECK_THAT(r.err, Contains("rejected (3 problems)"));
  CHECK(r.out.empty());
  auto missing = run_cli({"workflow", "validate", temp_path("absent.json")});
  CHECK(missing.exit_code == exit_code::input_invalid);
  CHECK_THAT(missing.err, Contains("cannot be read"));
  auto directory = run_cli({"workflow", "validate", "/tmp"});
  CHECK(directory.exit_code == exit_code::input_invalid);
  CHECK_THAT(directory.err, Contains("not a regular file"));
}

TEST_CASE("workflow run runs a workflow on the embedded runtime and exits by its outcome",
          "[workflow]") {
  auto path = temp_path("buy.json");
  std::ofstream(path) << R"({"id": "buy_once", "nodes": [
    {"id": "price", "type": "latest_price", "parameters": {"symbol": "BTC-USD"},
     "retry": {"attempts": 10, "first_delay_ms": 100}},
    {"id": "cheap", "type": "compare", "inputs": {"left": "price.price"},
     "parameters": {"op": "<", "right": 1000000}},
    {"id": "buy", "type": "submit_order", "when": "cheap", "inputs": {"price": "price.ask"},
     "parameters": {"symbol": "BTC-USD", "side": "buy", "quantity": 0.1}},
    {"id": "dear", "type": "submit_order", "unless": "cheap", "inputs": {"price": "price.bid"},
     "parameters": {"symbol": "BTC-USD", "side": "sell", "quantity": 0.1}}]})";
  auto r = run_cli({"workflow", "run", path, "--json"});
  INFO(r.err);
  CHECK(r.exit_code == exit_code::ok);
  auto result = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(result.is_object());
  CHECK(result["status"] == "completed");
  CHECK(result["outputs"]["buy"]["outcome"] == "filled");
  CHECK_THAT(r.err, Contains("  completed  buy in "));
  CHECK_THAT(r.err, Contains("  skipped    dear"));
  std::ofstream(path) << R"({"id": "broken", "nodes": [
    {"id": "zero", "type": "divide", "parameters": {"a": 1, "b": 0}, "inputs": {}}]})";
  auto invalid = run_cli({"workflow", "run", path});
  CHECK(invalid.exit_code == exit_code::input_invalid); // a is no parameter of divide
  std::ofstream(path) << R"({"id": "broken", "nodes": [
    {"id": "one", "type": "latest_price", "parameters": {"symbol": "BTC-USD"},
     "retry": {"attempts": 10, "first_delay_ms": 100}},
    {"id": "zero", "type": "divide", "parameters": {"b": 0}, "inputs": {"a": "one.price"}}]})";
  auto failed = run_cli({"workflow", "run", path});
  std::remove(path.c_str());
  INFO(failed.err);
  CHECK(failed.exit_code == exit_code::workflow_failed);
  CHECK_THAT(failed.out, Contains("failed"));
  CHECK_THAT(failed.out, Contains("division by zero"));
}

TEST_CASE("run refuses workflow files it cannot run, saying which file and where, exit code 2",
          "[workflow]") {
  auto bad = temp_path("teleport.json");
  auto good = temp_path("constant.json");
  std::ofstream(bad) << R"({"id": "x", "nodes": [{"id": "a", "type": "teleport"}]})";
  std::ofstream(good) << R"({"id": "x", "nodes": [{"id": "a", "type": "constant",
    "parameters": {"value": 1}}]})";
  auto refused = run_cli({"run", "--bots", "0", "--duration", "1"},
                         {"BROKEDANCER_WORKFLOWS_FILES=" + bad + ",/nowhere/at/all.json"});
  CHECK(refused.exit_code == exit_code::config_invalid);
  CHECK_THAT(refused.err,
             Contains("workflow file " + bad + ": $.nodes[0].type: unknown node type"));
  CHECK_THAT(refused.err, Contains("workflow file /nowhere/at/all.json: $: cannot be read"));
  CHECK_THAT(refused.err, !Contains("runtime starting"));
  auto twice = run_cli({"run", "--bots", "0", "--duration", "1"},
                       {"BROKEDANCER_WORKFLOWS_FILES=" + good + "," + good});
  CHECK(twice.exit_code == exit_code::config_invalid);
  CHECK_THAT(twice.err, Contains("workflow \"x\" is also defined in " + good));
  auto runs =
      run_cli({"run", "--bots", "0", "--duration", "1"}, {"BROKEDANCER_WORKFLOWS_FILES=" + good});
  std::remove(bad.c_str());
  std::remove(good.c_str());
  CHECK(runs.exit_code == exit_code::ok);
}

TEST_CASE("run refuses a bad environment override with exit code 2 before starting anything") {
  auto r = run_cli({"run", "--duration", "5"}, {"BROKEDANCER_LOG_FORMAT=xml"});
  CHECK(r.exit_code == exit_code::config_invalid);
  CHECK_THAT(r.err, Contains("environment: BROKEDANCER_LOG_FORMAT: $.log.format: expected one of"));
  CHECK_THAT(r.err, !Contains("runtime starting"));
}

TEST_CASE("run refuses a Redis that may evict any key, with exit code 4 and how to fix it") {
  testing::redis_server redis{testing::redis_server::persistence::none};
  testing::redis_command(redis.url(), {"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  auto r = run_cli({"run", "--duration", "5"},
                   {"BROKEDANCER_STATE_BACKEND=redis", "BROKEDANCER_REDIS_URL=" + redis.url()});
  CHECK(r.exit_code == exit_code::startup_failed);
  CHECK_THAT(r.err, Contains("maxmemory-policy allkeys-lru"));
  CHECK_THAT(r.err, Contains("CONFIG SET maxmemory-policy noeviction"));
  CHECK_THAT(r.err, !Contains("runtime starting"));
  // The same Redis with a policy that keeps keys without a TTL is taken.
  testing::redis_command(redis.url(), {"CONFIG", "SET", "maxmemory-policy", "volatile-lru"});
  auto taken = run_cli({"run", "--duration", "1", "--bots", "0"},
                       {"BROKEDANCER_STATE_BACKEND=redis", "BROKEDANCER_REDIS_URL=" + redis.url()});
  CHECK(taken.exit_code == exit_code::ok);
}

TEST_CASE("an unknown option is a usage error with its own exit code") {
  auto r = run_cli({"run", "--bots-typo", "3"});
  CHECK(r.exit_code == exit_code::usage);
}

TEST_CASE("run boots the runtime on the embedded default and stops cleanly on SIGTERM and SIGINT") {
  for (int sig : {SIGTERM, SIGINT}) {
    INFO("signal " << sig);
    auto out = temp_path("out"), err = temp_path("err");
    auto pid = start({"run"}, {"BROKEDANCER_LOG_FORMAT=json"}, out, err);
    // Wait until it says it has started, then ask it to stop.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(err);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("runtime started") != std::string::npos)
        break;
      std::this_thread::sleep_for(10ms);
    }
    kill(pid, sig);
    auto r = wait_for(pid, out, err);
    CHECK(r.exit_code == exit_code::ok);
    CHECK_THAT(r.err, Contains("\"message\":\"runtime stopping\""));
    CHECK_THAT(r.err, Contains("\"message\":\"runtime stopped\""));
    std::istringstream lines(r.err);
    for (std::string line; std::getline(lines, line);)
      CHECK_NOTHROW(nlohmann::json::parse(line));
  }
}

TEST_CASE("run --duration stops by itself with exit code 0") {
  auto r = run_cli({"run", "--duration", "0.3"});
  CHECK(r.exit_code == exit_code::ok);
  CHECK_THAT(r.err, Contains("runtime stopping reason=\"duration elapsed\""));
}

TEST_CASE(
    "brokedancer-bench prints the raw CAF baseline as JSON, each figure beside its baseline") {
  auto r = run_cli({"--scenario", "caf-baseline", "--repetitions", "2", "--json", "-"}, {},
                   BROKEDANCER_BENCH_PATH);
  INFO(r.err);
  REQUIRE(r.exit_code == exit_code::ok);
  auto report = nlohmann::json::parse(r.out);
  REQUIRE(report["scenarios"].size() == 1);
  const auto& scenario = report["scenarios"][0];
  CHECK(scenario["name"] == "caf-baseline");
  std::map<std::string, nlohmann::json> figures;
  for (const auto& f : scenario["figures"])
    figures[f["name"].get<std::string>()] = f;
  for (auto name : {"caf_one_to_one", "thread_queue_one_to_one", "caf_fan_out_10k_loop",
                    "caf_fan_out_10k_group"}) {
    INFO(name);
    REQUIRE(figures.count(name) == 1);
    CHECK(figures[name]["samples"].size() == 2);
    CHECK(figures[name]["median"].get<double>() > 0);
  }
  CHECK(figures["caf_one_to_one"]["baseline"]["name"] == "thread_queue_one_to_one");
  CHECK(figures["caf_fan_out_10k_loop"]["baseline"]["name"] == "caf_fan_out_10k_group");
}

TEST_CASE("brokedancer-bench rejects an unknown scenario as a usage error") {
  auto r = run_cli({"--scenario", "no-such-thing"}, {}, BROKEDANCER_BENCH_PATH);
  CHECK(r.exit_code == exit_code::usage);
  CHECK_THAT(r.err, Contains("no scenario named no-such-thing"));
}
