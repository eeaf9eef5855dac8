// Several runtimes joined into one cluster, each a real `brokedancer run` process on
// 127.0.0.1: one kill switch for all of them, peers that die or hang, a node restarted into a
// HALT, and the dead man's switch.

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// One node of a test cluster: its name, where peers and operators reach it, and its process.
struct test_node {
  std::string name;
  std::string listen;  // host:port for peers
  std::string control; // host:port for operators
  environment_map env;
  std::unique_ptr<child_process> process;

  void start() {
    process = std::make_unique<child_process>(
        BROKEDANCER_CLI_PATH, std::vector<std::string>{"run", "--bots", "3"}, quiet(env));
  }

  json status() const {
    return node_status(control);
  }

  json await(const std::function<bool(const json&)>& wanted, std::chrono::seconds timeout = 30s) {
    return await_status(control, wanted, timeout);
  }
};

// The member called `name` in a node's status, or null.
json member(const json& status, const std::string& name) {
  for (const auto& m : status["cluster"]["members"])
    if (m["name"] == name)
      return m;
  return nullptr;
}

bool connected_to(const json& status, const std::string& name) {
  auto m = member(status, name);
  return m.is_object() && m["connected"] == true;
}

// `count` nodes, each listening on a port of its own and given every node's address as its
// peers (a node does not join itself). `extra` goes into every node's environment.
std::vector<test_node> make_cluster(int count, const environment_map& extra = {}) {
  std::vector<test_node> nodes(static_cast<size_t>(count));
  std::string peers;
  for (int i = 0; i < count; ++i) {
    auto& n = nodes[static_cast<size_t>(i)];
    n.name = std::string(1, static_cast<char>('a' + i));
    n.listen = "127.0.0.1:" + std::to_string(free_loopback_port());
    n.control = "127.0.0.1:" + std::to_string(free_loopback_port());
    peers += (peers.empty() ? "" : ",") + n.listen;
  }
  for (auto& n : nodes) {
    n.env = extra;
    n.env["BROKEDANCER_RUNTIME_NODE_NAME"] = n.name;
    n.env["BROKEDANCER_NODE_LISTEN"] = n.listen;
    n.env["BROKEDANCER_NODE_PEERS"] = peers;
    n.env["BROKEDANCER_NODE_CONTROL_PORT"] = n.control.substr(n.control.rfind(':') + 1);
  }
  return nodes;
}

// Every node connected to every other, its persisted level read and its bots trading.
void await_connected(std::vector<test_node>& nodes) {
  for (auto& n : nodes)
    n.await([&](const json& s) {
      if (s["trading_allowed"] != true)
        return false;
      for (const auto& other : nodes)
        if (other.name != n.name && !connected_to(s, other.name))
          return false;
      return true;
    });
}

// Redis as the shared state store, under a key prefix of this test's own.
environment_map shared_store(const std::string& prefix) {
  return {{"BROKEDANCER_STATE_BACKEND", "redis"},
          {"BROKEDANCER_REDIS_URL", shared_redis_url()},
          {"BROKEDANCER_STATE_KEY_PREFIX", prefix}};
}

std::string unique_prefix(const char* test) {
  return std::string{"cluster-test:"} + test + ":"
         + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
}

bool all_bots_acknowledged(const json& s) {
  return s["bots_acknowledged"] == s["bots_registered"] && s["bots"]["running"] == 3;
}

} // namespace

TEST_CASE("a HALT raised on one node reaches the bots of every node, as the same record",
          "[cluster]") {
  auto nodes = make_cluster(3);
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  auto halt = run_to_end({"halt", "--node", nodes[0].control, "--reason", "cluster test"});
  REQUIRE(halt.exit_code == exit_code::ok);
  auto on_a = nodes[0].status();
  REQUIRE(on_a.is_object());
  for (auto& n : nodes) {
    auto s =
        n.await([](const json& st) { return st["level"] == "HALT" && all_bots_acknowledged(st); });
    CHECK(s["reason"] == "cluster test");
    CHECK(s["source"] == "operator");
    CHECK(s["source_node"] == "a");
    CHECK(s["sequence"] == on_a["sequence"]);
    CHECK_FALSE(s["trading_allowed"].get<bool>());
  }
  // And an operator's resume on another node, made knowing the HALT, lifts it everywhere.
  auto resume = run_to_end({"resume", "--node", nodes[2].control, "--reason", "all clear"});
  REQUIRE(resume.exit_code == exit_code::ok);
  for (auto& n : nodes)
    n.await([](const json& st) { return st["level"] == "NORMAL" && st["source_node"] == "c"; });
}

TEST_CASE("a node killed with SIGKILL is seen gone by its peers, and restarted adopts the HALT "
          "before its bots trade",
          "[cluster][redis]") {
  auto nodes = make_cluster(3, shared_store(unique_prefix("sigkill")));
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  REQUIRE(run_to_end({"halt", "--node", nodes[0].control, "--reason", "before the crash"}).exit_code
          == exit_code::ok);
  nodes[1].await([](const json& s) { return s["level"] == "HALT"; });
  nodes[1].process->kill_now();
  for (auto* n : {&nodes[0], &nodes[2]})
    n->await([](const json& s) { return !connected_to(s, "b") && member(s, "b").is_object(); },
             10s);
  nodes[1].start();
  // Until the persisted level is read its bots hold (a provisional HALT); then the HALT is in
  // force. Not one order in between.
  auto back = nodes[1].await(
      [](const json& s) { return s["bots"]["running"] == 3 && s["level"] == "HALT"; });
  CHECK(back["reason"] == "before the crash");
  CHECK(back["bots"]["orders"] == 0);
  for (auto* n : {&nodes[0], &nodes[2]})
    n->await([](const json& s) { return connected_to(s, "b"); });
}

TEST_CASE("a stopped (SIGSTOP) node is detected within the connection timeout", "[cluster]") {
  // The defaults: heartbeats every 200 ms, a peer silent for 1 s is gone.
  auto nodes = make_cluster(2);
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  auto stopped_at = std::chrono::steady_clock::now();
  nodes[1].process->signal(SIGSTOP);
  nodes[0].await([](const json& s) { return !connected_to(s, "b"); }, 10s);
  auto took = std::chrono::steady_clock::now() - stopped_at;
  // 1 s of silence, plus the time a status query takes here (a process start under the
  // sanitizers): the benchmark's figure is the precise one.
  CHECK(took < 3s);
  nodes[1].process->signal(SIGCONT);
  nodes[0].await([](const json& s) { return connected_to(s, "b"); });
}

TEST_CASE("the dead man's switch halts a node that lost every peer until an operator resumes it",
          "[cluster]") {
  auto nodes = make_cluster(2, {{"BROKEDANCER_NODE_ISOLATION_HALT_AFTER", "1"}});
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  nodes[1].process->kill_now();
  auto isolated = nodes[0].await(
      [](const json& s) { return s["level"] == "HALT" && s["isolated"] == true; }, 15s);
  CHECK(isolated["source"] == "node");
  CHECK(isolated["source_node"] == "a");
  CHECK(all_bots_acknowledged(isolated));
  // No resume while it is cut off.
  CHECK(run_to_end({"resume", "--node", nodes[0].control, "--reason", "too early"}).exit_code
        == exit_code::command_refused);
  // Contact back: still halted, until an operator says otherwise.
  nodes[1].start();
  auto back =
      nodes[0].await([](const json& s) { return connected_to(s, "b") && s["isolated"] == false; });
  CHECK(back["level"] == "HALT");
  // b never saw a's own HALT.
  CHECK(nodes[1].await([](const json& s) { return s["bots"]["running"] == 3; })["level"]
        == "NORMAL");
  CHECK(run_to_end({"resume", "--node", nodes[0].control, "--reason", "reconnected"}).exit_code
        == exit_code::ok);
  nodes[0].await([](const json& s) { return s["level"] == "NORMAL"; });
}
