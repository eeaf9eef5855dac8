// Several runtimes joined into one cluster, each a real `brokedancer run` process on
// 127.0.0.1: one kill switch for all of them, peers that die or hang, a node restarted into a
// HALT, and the dead man's switch.

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/loopback_socket.hpp"
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
    // TLS for peers has tests of its own; the others run plaintext on loopback, as allowed.
    n.env.emplace("BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true");
    n.env["BROKEDANCER_NODE_CONTROL_PORT"] = n.control.substr(n.control.rfind(':') + 1);
    // On a shared store a bot id is one bot across the cluster: each node runs its own, and a
    // node restarted after a crash waits out its last run's short leases.
    n.env.emplace("BROKEDANCER_BOTS_ID_PREFIX", n.name + "-bot-");
    n.env.emplace("BROKEDANCER_BOTS_LEASE_S", "1");
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

TEST_CASE("a node given its own address under another name does not take itself for a peer",
          "[cluster]") {
  auto port = std::to_string(free_loopback_port());
  auto control = "127.0.0.1:" + std::to_string(free_loopback_port());
  child_process node{
      BROKEDANCER_CLI_PATH,
      {"run", "--bots", "1", "--listen", "0.0.0.0:" + port, "--join", "127.0.0.1:" + port},
      quiet({{"BROKEDANCER_RUNTIME_NODE_NAME", "alone"},
             {"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"},
             {"BROKEDANCER_NODE_CONTROL_PORT", control.substr(control.rfind(':') + 1)},
             {"BROKEDANCER_NODE_ISOLATION_HALT_AFTER", "1"}})};
  await_status(control, [](const json& s) {
    return s["trading_allowed"] == true && s["cluster"]["members"].empty();
  });
  // No peer to miss: its dead man's switch does not trip.
  std::this_thread::sleep_for(1500ms);
  auto s = node_status(control);
  CHECK(s["level"] == "NORMAL");
  CHECK(s["isolated"] == false);
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

namespace {

// A certificate authority and node certificates made with the openssl command, in a directory
// of the test's own.
struct test_pki {
  std::string dir;

  test_pki() {
    char pattern[] = "/tmp/brokedancer-pki-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
  }

  ~test_pki() {
    std::system(("rm -rf '" + dir + "'").c_str());
  }

  void run(const std::string& command) {
    INFO(command);
    REQUIRE(std::system(("cd '" + dir + "' && " + command + " >/dev/null 2>&1").c_str()) == 0);
  }

  // `name`.pem and `name`.key, signed by the authority `ca` (made if it is not there yet), naming
  // `hosts` (subject alternative names) as where the node listens.
  void issue(const std::string& name, const std::string& ca,
             const std::string& hosts = "IP:127.0.0.1") {
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    run("test -f " + ca + ".pem || openssl req -x509 " + ec + " -keyout " + ca + ".key -out " + ca
        + ".pem -days 2 -subj /CN=" + ca);
    run("openssl req " + ec + " -keyout " + name + ".key -out " + name + ".csr -subj /CN=" + name
        + (hosts.empty() ? "" : " -addext subjectAltName=" + hosts));
    run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".pem -CAkey " + ca
        + ".key -CAcreateserial -copy_extensions copy -out " + name + ".pem -days 2");
  }

  environment_map tls_for(const std::string& name, const std::string& ca) const {
    return {{"BROKEDANCER_NODE_TLS_CERTIFICATE", dir + "/" + name + ".pem"},
            {"BROKEDANCER_NODE_TLS_KEY", dir + "/" + name + ".key"},
            {"BROKEDANCER_NODE_TLS_CA", dir + "/" + ca + ".pem"}};
  }

  // Every node with its own certificate of `ca` (issued before), `extra` in its environment,
  // started, and connected to every other.
  void start_cluster(std::vector<test_node>& nodes, const std::string& ca,
                     const environment_map& extra = {}) const {
    for (auto& n : nodes) {
      n.env.erase("BROKEDANCER_NODE_INSECURE_PLAINTEXT");
      for (auto& [key, value] : extra)
        n.env[key] = value;
      for (auto& [key, value] : tls_for(n.name, ca))
        n.env[key] = value;
      n.start();
    }
    await_connected(nodes);
  }
};

} // namespace

TEST_CASE("with TLS, nodes holding certificates of the cluster's authority join and share a "
          "HALT, and a node with another authority's certificate cannot join",
          "[cluster][tls]") {
  test_pki pki;
  pki.issue("a", "cluster-ca");
  pki.issue("b", "cluster-ca");
  pki.issue("intruder", "other-ca");
  auto nodes = make_cluster(3);
  for (auto& [key, value] : pki.tls_for("a", "cluster-ca"))
    nodes[0].env[key] = value;
  for (auto& [key, value] : pki.tls_for("b", "cluster-ca"))
    nodes[1].env[key] = value;
  // The intruder trusts the cluster's authority, but its own certificate is not from it.
  nodes[2].name = "intruder";
  nodes[2].env["BROKEDANCER_RUNTIME_NODE_NAME"] = "intruder";
  nodes[2].env["BROKEDANCER_NODE_TLS_CERTIFICATE"] = pki.dir + "/intruder.pem";
  nodes[2].env["BROKEDANCER_NODE_TLS_KEY"] = pki.dir + "/intruder.key";
  nodes[2].env["BROKEDANCER_NODE_TLS_CA"] = pki.dir + "/cluster-ca.pem";
  // Never joined, the intruder would halt itself once its dead man's switch trips (10 s after
  // its start); a slow machine takes that long to connect a and b. Its level must only show
  // that no HALT of the cluster reached it.
  nodes[2].env["BROKEDANCER_NODE_ISOLATION_HALT_AFTER"] = "0";
  for (auto& n : nodes) {
    n.env.erase("BROKEDANCER_NODE_INSECURE_PLAINTEXT");
    n.start();
  }
  nodes[0].await(
      [](const json& s) { return connected_to(s, "b") && s["trading_allowed"] == true; });
  nodes[1].await(
      [](const json& s) { return connected_to(s, "a") && s["trading_allowed"] == true; });
  REQUIRE(run_to_end({"halt", "--node", nodes[0].control, "--reason", "over TLS"}).exit_code
          == exit_code::ok);
  nodes[1].await([](const json& s) { return s["level"] == "HALT" && s["reason"] == "over TLS"; });
  // Long enough for the intruder to have tried a few times.
  std::this_thread::sleep_for(1500ms);
  auto intruder = nodes[2].status();
  REQUIRE(intruder.is_object());
  CHECK(intruder["level"] == "NORMAL");
  CHECK_FALSE(connected_to(intruder, "a"));
  CHECK_FALSE(connected_to(intruder, "b"));
  for (auto* n : {&nodes[0], &nodes[1]}) {
    auto s = n->status();
    REQUIRE(s.is_object()); // a node that does not answer would show nobody connected
    CHECK_FALSE(connected_to(s, "intruder"));
  }
}

TEST_CASE("TLS settings that cannot work are refused at start, not at the first connection",
          "[cluster][tls]") {
  test_pki pki;
  pki.issue("a", "cluster-ca");
  pki.issue("b", "cluster-ca");
  auto listen = "127.0.0.1:" + std::to_string(free_loopback_port());
  auto run_with = [&](environment_map env) {
    env["BROKEDANCER_NODE_LISTEN"] = listen;
    env.emplace("BROKEDANCER_RUNTIME_NODE_NAME", "a");
    return run_to_end({"run", "--bots", "0", "--duration", "1"}, env).exit_code;
  };
  auto only_certificate = environment_map{{"BROKEDANCER_NODE_TLS_CERTIFICATE", pki.dir + "/a.pem"}};
  CHECK(run_with(only_certificate) == exit_code::config_invalid);
  auto wrong_key = pki.tls_for("a", "cluster-ca");
  wrong_key["BROKEDANCER_NODE_TLS_KEY"] = pki.dir + "/b.key";
  CHECK(run_with(wrong_key) == exit_code::config_invalid);
  auto missing_ca = pki.tls_for("a", "cluster-ca");
  missing_ca["BROKEDANCER_NODE_TLS_CA"] = pki.dir + "/nowhere.pem";
  CHECK(run_with(missing_ca) == exit_code::config_invalid);
  CHECK(run_with(pki.tls_for("a", "cluster-ca")) == exit_code::ok);
  // A node must be called what its certificate names: peers would refuse it otherwise.
  CHECK(run_with(pki.tls_for("b", "cluster-ca")) == exit_code::config_invalid);
  // Without TLS a listener is refused, unless plaintext is asked for in so many words.
  CHECK(run_with({}) == exit_code::config_invalid);
  CHECK(run_with({{"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"}}) == exit_code::ok);
}

namespace {

// The intruder's CAF client (tests/support/intruder.cpp), to the end; like the control
// commands, a short CAF client, so without LeakSanitizer's exit check.
outcome intruder(const std::vector<std::string>& args, const environment_map& env = {}) {
  return run_to_end(args, without_exit_leak_check(env), BROKEDANCER_INTRUDER_PATH);
}

std::string host_of(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

std::string port_of(const std::string& address) {
  return address.substr(address.rfind(':') + 1);
}

} // namespace

TEST_CASE("a forged exit message to the cluster port leaves the node trading, and SIGINT still "
          "stops it with exit code 0",
          "[cluster][trust]") {
  auto nodes = make_cluster(1);
  auto& node = nodes[0];
  // The intruder's half-finished BASP handshakes can leave CAF 0.17's broker, its helper and
  // their messages in a reference cycle at exit (tests/lsan.supp); which allocations the cycle
  // holds depends on where each handshake stopped, so no suppression list covers them all (a
  // suite run once reported the broker as made by openssl's spawn). This test is about what
  // the node does while attacked and its exit code; the leak check at exit stays on for every
  // other node test.
  node.env = without_exit_leak_check(node.env);
  node.start();
  node.await([](const json& s) { return s["trading_allowed"] == true; });
  auto before = node.status()["bots"]["orders"].get<uint64_t>();
  // Plaintext (allowed here on loopback): the intruder reaches the published actor...
  auto sent = intruder({"exit", host_of(node.listen), port_of(node.listen)});
  REQUIRE(sent.exit_code == 0);
  // ... and the operator API is no CAF port at all.
  CHECK(intruder({"exit", host_of(node.control), port_of(node.control)}).exit_code == 3);
  std::this_thread::sleep_for(500ms);
  auto after = node.await([&](const json& s) {
    return s["trading_allowed"] == true && s["bots"]["orders"].get<uint64_t>() > before + 2;
  });
  CHECK(after["bots"]["running"] == 3);
  CHECK(after["level"] == "NORMAL");
  // Nor does a bare error message (a scheduled actor without an error handler quits on one),
  // and a request the published actor would have to answer gets nothing.
  auto forged = intruder({"error", host_of(node.listen), port_of(node.listen)});
  CHECK(forged.exit_code == 0);
  CHECK_THAT(forged.out, Catch::Contains("no status"));
  // The front door still takes a peer's hello after all that.
  CHECK(intruder({"claim", "x", host_of(node.listen), port_of(node.listen)}).exit_code == 1);
  node.process->signal(SIGINT);
  CHECK(finish(*node.process).exit_code == exit_code::ok);
}

TEST_CASE("with TLS, a node of the same authority cannot take another member's name, nor "
          "another's slot, nor leap the sequence, nor forge gossip, and a client without a "
          "certificate gets nowhere",
          "[cluster][tls][trust]") {
  test_pki pki;
  pki.issue("a", "cluster-ca");
  pki.issue("b", "cluster-ca");
  // c's certificate says it listens on another host.
  pki.issue("c", "cluster-ca", "IP:10.9.9.9");
  auto nodes = make_cluster(2);
  // b also expects a peer that has not come up yet.
  auto absent = "127.0.0.1:" + std::to_string(free_loopback_port());
  nodes[1].env["BROKEDANCER_NODE_PEERS"] += "," + absent;
  pki.start_cluster(nodes, "cluster-ca");
  auto& b = nodes[1];
  auto b_host = host_of(b.listen), b_port = port_of(b.listen);
  auto tls_c = std::vector<std::string>{"--tls", pki.dir + "/c.pem", pki.dir + "/c.key",
                                        pki.dir + "/cluster-ca.pem"};
  // No certificate: the TLS handshake fails before anything reaches an actor.
  CHECK(intruder({"exit", b_host, b_port}).exit_code == 3);
  // c holds a certificate of the authority, but it names c, not a.
  auto claim = std::vector<std::string>{"claim", "a", b_host, b_port};
  claim.insert(claim.end(), tls_c.begin(), tls_c.end());
  auto refused = intruder(claim);
  CHECK(refused.exit_code == 0);
  CHECK_THAT(refused.out, Catch::Contains("names \"c\", not \"a\""));
  // As itself, c is welcome; but claiming the absent peer's address (a host its certificate
  // does not name) does not give it that peer's slot.
  auto squat = std::vector<std::string>{"claim", "c", b_host, b_port};
  squat.insert(squat.end(), tls_c.begin(), tls_c.end());
  CHECK(intruder(squat, {{"INTRUDER_ADDRESS", absent}, {"INTRUDER_HOLD_MS", "500"}}).exit_code
        == 1);
  auto after_squat = b.status();
  auto squatter = member(after_squat, "c");
  REQUIRE(squatter.is_object());
  CHECK(squatter["configured_address"] == "");
  for (const auto& m : after_squat["cluster"]["members"])
    if (m["configured_address"] == absent)
      CHECK(m["connected"] == false);
  // Its leap to a sequence near 2^62 is not taken either.
  auto leap = std::vector<std::string>{"leap", "c", b_host, b_port};
  leap.insert(leap.end(), tls_c.begin(), tls_c.end());
  CHECK(intruder(leap).exit_code == 0);
  std::this_thread::sleep_for(1s);
  auto status = b.status();
  REQUIRE(status.is_object());
  CHECK(status["level"] == "NORMAL");
  auto a = member(status, "a");
  REQUIRE(a.is_object());
  CHECK(a["connected"] == true);
  CHECK(a["address"] == nodes[0].listen);
  // Nor is a plausible HALT in c's name sealed with a key c and b never agreed: what another
  // member forging gossip in c's name would have to send.
  auto with_c = [&](const char* mode) {
    auto args = std::vector<std::string>{mode, "c", b_host, b_port};
    args.insert(args.end(), tls_c.begin(), tls_c.end());
    return intruder(args);
  };
  CHECK(with_c("unsealed").exit_code == 0);
  std::this_thread::sleep_for(1s);
  CHECK(b.status()["level"] == "NORMAL");
  // The same HALT under the seal of c's own session is taken: the seal is what decided.
  CHECK(with_c("halt").exit_code == 0);
  b.await([](const json& s) { return s["level"] == "HALT" && s["source_node"] == "c"; });
  // The cluster's own kill switch still works across it: b passes the HALT on to a, and a
  // resume at a reaches b.
  nodes[0].await([](const json& s) { return s["level"] == "HALT"; });
  REQUIRE(
      run_to_end({"resume", "--node", nodes[0].control, "--reason", "after the intruder"}).exit_code
      == exit_code::ok);
  b.await([](const json& s) { return s["level"] == "NORMAL" && s["sequence"] < 1000; });
}

TEST_CASE("connections to the peer port that never authenticate are cut within seconds, and "
          "the peers stay connected",
          "[cluster][tls][trust]") {
  test_pki pki;
  pki.issue("a", "cluster-ca");
  pki.issue("b", "cluster-ca");
  auto nodes = make_cluster(2);
  pki.start_cluster(nodes, "cluster-ca", {{"BROKEDANCER_NODE_HANDSHAKE_TIMEOUT_MS", "1000"}});
  auto port = static_cast<uint16_t>(std::stoi(port_of(nodes[0].listen)));
  // More than the limit (64) of idle sockets that never send a byte.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i)
    idle.push_back(dial_loopback(port));
  auto started = std::chrono::steady_clock::now();
  size_t closed = 0;
  std::vector<bool> done(idle.size(), false);
  while (closed < idle.size() && std::chrono::steady_clock::now() - started < 20s) {
    for (size_t i = 0; i < idle.size(); ++i) {
      char byte;
      if (!done[i] && recv(idle[i], &byte, 1, MSG_DONTWAIT) == 0) {
        done[i] = true;
        ++closed;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  auto took = std::chrono::steady_clock::now() - started;
  for (int fd : idle)
    close(fd);
  CHECK(closed == idle.size());
  // Handshake timeout 1 s, looked at four times a second (the benchmark measures it precisely).
  CHECK(took < 8s);
  // The peer is connected (a connection of its that was handshaking during the flood may have
  // been cut with the strangers, and is made again within its reconnect backoff), and trading.
  auto status = nodes[0].await(
      [](const json& s) { return connected_to(s, "b") && s["trading_allowed"] == true; }, 10s);
  CHECK(connected_to(status, "b"));
}

namespace {

// Two network namespaces joined by a veth pair: two hosts, 10.213.<n>.1 and 10.213.<n>.2, as
// far as the nodes can tell. Made by the test itself, and only when it may (root, ip netns).
struct two_hosts {
  std::string name_a, name_b, veth_a, veth_b, address_a, address_b;
  bool made = false;

  two_hosts() {
    auto tag = std::to_string(getpid() % 100000);
    name_a = "bd" + tag + "a";
    name_b = "bd" + tag + "b";
    veth_a = "bdv" + tag + "a";
    veth_b = "bdv" + tag + "b";
    auto subnet = "10.213." + std::to_string(getpid() % 250) + ".";
    address_a = subnet + "1";
    address_b = subnet + "2";
  }

  // Empty when the hosts are up, else why they cannot be made here.
  std::string make() {
    if (geteuid() != 0)
      return "not running as root";
    const std::vector<std::string> steps{
        "ip netns add " + name_a,
        "ip netns add " + name_b,
        "ip link add " + veth_a + " type veth peer name " + veth_b,
        "ip link set " + veth_a + " netns " + name_a,
        "ip link set " + veth_b + " netns " + name_b,
        "ip -n " + name_a + " addr add " + address_a + "/24 dev " + veth_a,
        "ip -n " + name_b + " addr add " + address_b + "/24 dev " + veth_b,
        "ip -n " + name_a + " link set lo up",
        "ip -n " + name_b + " link set lo up",
        "ip -n " + name_a + " link set " + veth_a + " up",
        "ip -n " + name_b + " link set " + veth_b + " up"};
    for (const auto& step : steps) {
      if (std::system((step + " >/dev/null 2>&1").c_str()) != 0)
        return "\"" + step + "\" failed (no ip command, or no permission for network namespaces)";
      made = true;
    }
    return {};
  }

  void link(bool up) const {
    REQUIRE(
        std::system(("ip -n " + name_a + " link set " + veth_a + (up ? " up" : " down")).c_str())
        == 0);
  }

  ~two_hosts() {
    if (!made)
      return;
    std::system(("ip netns del " + name_a + " >/dev/null 2>&1").c_str());
    std::system(("ip netns del " + name_b + " >/dev/null 2>&1").c_str());
  }
};

// Runs a command inside a namespace.
launcher in(const std::string& netns) {
  return {"/usr/sbin/ip", "netns", "exec", netns};
}

json await_status_in(const std::string& netns, const std::string& control,
                     const std::function<bool(const json&)>& wanted) {
  return await_status(control, wanted, 30s, in(netns));
}

} // namespace

TEST_CASE("two hosts in network namespaces: a HALT crosses, and a partition halts both sides",
          "[cluster][netns]") {
  two_hosts hosts;
  if (auto why = hosts.make(); !why.empty()) {
    WARN("skipped: the two-host test makes network namespaces and a veth pair, and cannot here: "
         << why);
    return;
  }
  auto port = std::to_string(free_loopback_port());
  auto control = "127.0.0.1:" + std::to_string(free_loopback_port());
  auto node_in = [&](const std::string& netns, const std::string& name, const std::string& own,
                     const std::string& peer) {
    environment_map env{{"BROKEDANCER_RUNTIME_NODE_NAME", name},
                        {"BROKEDANCER_NODE_LISTEN", own + ":" + port},
                        {"BROKEDANCER_NODE_PEERS", peer + ":" + port},
                        {"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"},
                        {"BROKEDANCER_NODE_CONTROL_PORT", control.substr(control.rfind(':') + 1)},
                        {"BROKEDANCER_NODE_ISOLATION_HALT_AFTER", "1"}};
    return std::make_unique<child_process>("/usr/sbin/ip",
                                           std::vector<std::string>{"netns", "exec", netns,
                                                                    BROKEDANCER_CLI_PATH, "run",
                                                                    "--bots", "3"},
                                           quiet(env));
  };
  auto a = node_in(hosts.name_a, "a", hosts.address_a, hosts.address_b);
  auto b = node_in(hosts.name_b, "b", hosts.address_b, hosts.address_a);
  auto joined = [](const std::string& peer) {
    return [peer](const json& s) {
      return connected_to(s, peer) && s["trading_allowed"] == true;
    };
  };
  await_status_in(hosts.name_a, control, joined("b"));
  await_status_in(hosts.name_b, control, joined("a"));
  auto halt = run_cli({"halt", "--node", control, "--reason", "across hosts"}, in(hosts.name_a));
  REQUIRE(halt.exit_code == exit_code::ok);
  await_status_in(hosts.name_b, control, [](const json& s) {
    return s["level"] == "HALT" && s["reason"] == "across hosts";
  });
  REQUIRE(run_cli({"resume", "--node", control, "--reason", "both sides agree"}, in(hosts.name_b))
              .exit_code
          == exit_code::ok);
  await_status_in(hosts.name_a, control, [](const json& s) { return s["level"] == "NORMAL"; });
  // The cable is pulled: no FIN, no RST. Each side detects the silence and, isolated, halts
  // its own bots.
  hosts.link(false);
  for (const auto& ns : {hosts.name_a, hosts.name_b})
    await_status_in(ns, control, [](const json& s) {
      return s["level"] == "HALT" && s["isolated"] == true && s["source"] == "node";
    });
  hosts.link(true);
  for (const auto& ns : {hosts.name_a, hosts.name_b})
    await_status_in(ns, control, [](const json& s) { return s["isolated"] == false; });
  CHECK(node_status(control, in(hosts.name_a))["level"] == "HALT"); // until an operator resumes
}

namespace {

// The node's book position in `symbol` (0 when it holds none).
double position_in(const json& status, const std::string& symbol) {
  for (const auto& p : status["risk"]["positions"])
    if (p["symbol"] == symbol)
      return p["quantity"].get<double>();
  return 0;
}

bool scope_in_force(const json& status, const std::string& kind, const std::string& name,
                    const std::string& level) {
  for (const auto& s : status["scopes"])
    if (s["kind"] == kind && s["name"] == name && s["level"] == level)
      return true;
  return false;
}

} // namespace

TEST_CASE("REDUCE_ONLY raised on one node is in force on every node, and a HALT above it too",
          "[cluster][reduce_only]") {
  auto nodes = make_cluster(3);
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  auto reduce = run_to_end({"reduce-only", "--node", nodes[2].control, "--reason", "risk off"},
                           {{"BROKEDANCER_TOKEN", credentials().operator_token}});
  REQUIRE(reduce.exit_code == exit_code::ok);
  for (auto& n : nodes) {
    auto s = n.await([](const json& st) { return st["level"] == "REDUCE_ONLY"; });
    CHECK(s["reason"] == "risk off");
    CHECK(s["trading_allowed"] == true); // reducing orders still go
  }
  REQUIRE(run_to_end({"halt", "--node", nodes[0].control, "--reason", "stop"}).exit_code
          == exit_code::ok);
  for (auto& n : nodes)
    n.await([](const json& st) { return st["level"] == "HALT"; });
  REQUIRE(run_to_end({"resume", "--node", nodes[1].control, "--reason", "close only", "--level",
                      "REDUCE_ONLY"})
              .exit_code
          == exit_code::ok);
  for (auto& n : nodes)
    n.await([](const json& st) { return st["level"] == "REDUCE_ONLY"; });
}

TEST_CASE("a symbol halt on one node blocks that symbol on every node and nothing else, survives "
          "a kill -9 and restart on Redis, and only the risk role lifts it",
          "[cluster][redis][scope]") {
  auto env = shared_store(unique_prefix("symbol-scope"));
  // Busy bots: each symbol trades every few ticks.
  env["BROKEDANCER_MARKET_TICK_MS"] = "20";
  env["BROKEDANCER_BOTS_LOOKBACK_TICKS"] = "3";
  env["BROKEDANCER_BOTS_THRESHOLD_PERCENT"] = "0.05";
  env["BROKEDANCER_MARKET_VOLATILITY_PERCENT"] = "0.3";
  auto nodes = make_cluster(3, env);
  for (auto& n : nodes)
    n.start();
  await_connected(nodes);
  auto halt = run_to_end(
      {"halt", "--node", nodes[0].control, "--symbol", "BTC-USD", "--reason", "a bad feed"},
      {{"BROKEDANCER_TOKEN", credentials().operator_token}});
  REQUIRE(halt.exit_code == exit_code::ok);
  CHECK_THAT(halt.out, Catch::Contains("symbol BTC-USD is at HALT"));
  // The peer takes it from gossip; the node's own level stays NORMAL on both.
  for (auto& n : nodes) {
    auto s =
        n.await([](const json& st) { return scope_in_force(st, "symbol", "BTC-USD", "HALT"); });
    CHECK(s["level"] == "NORMAL");
    CHECK(s["scopes_status"]["restored"] == true);
  }
  // No BTC-USD fill on either node from now on, while the ETH-USD bots go on trading.
  std::this_thread::sleep_for(500ms); // orders out before the halt have their answers
  std::vector<json> before;
  for (auto& n : nodes)
    before.push_back(n.status());
  std::this_thread::sleep_for(3s);
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto after = nodes[i].status();
    INFO("node " << nodes[i].name);
    CHECK(position_in(after, "BTC-USD") == position_in(before[i], "BTC-USD"));
    CHECK(after["bots"]["orders"].get<uint64_t>() > before[i]["bots"]["orders"].get<uint64_t>());
  }
  // kill -9 the node that made it: back from Redis with the scope before its bots trade.
  nodes[0].process->kill_now();
  nodes[0].start();
  auto back = nodes[0].await([](const json& s) {
    return s["trading_allowed"] == true && scope_in_force(s, "symbol", "BTC-USD", "HALT");
  });
  CHECK(back["scopes"][0]["reason"] == "a bad feed");
  // Lifting is the risk role's; once lifted on one node, it is lifted on both.
  auto refused = run_to_end(
      {"resume", "--node", nodes[1].control, "--symbol", "BTC-USD", "--reason", "feed fixed"},
      {{"BROKEDANCER_TOKEN", credentials().operator_token}});
  CHECK(refused.exit_code == exit_code::command_refused);
  auto lifted = run_to_end(
      {"resume", "--node", nodes[2].control, "--symbol", "BTC-USD", "--reason", "feed fixed"});
  REQUIRE(lifted.exit_code == exit_code::ok);
  for (auto& n : nodes)
    n.await([](const json& s) { return s["scopes"].empty(); });
}
