// peer-hang: how long a node takes to see that a peer is gone, with the default cluster
// settings (heartbeats every 200 ms, a connection silent for 1 s is dropped). The peer is a
// real `brokedancer run` process on 127.0.0.1: stopped with SIGSTOP (hung: its socket stays
// open, nothing closes it) in three rounds, resumed after each; beside it in the same run, the
// peer killed with SIGKILL (dead: the kernel closes its socket at once).

#include <algorithm>
#include <chrono>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "actor_system.hpp"
#include "harness.hpp"
#include "messages/cluster.hpp"
#include "runtime/runtime.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int hang_rounds = 3;

// Whether this node sees the peer connected.
bool peer_connected(runtime& node) {
  auto status = testing::call<cluster_status>(
      node.system(), caf::actor_cast<cluster_actor>(node.child("cluster")), status_atom::value);
  return status
         && std::any_of(status->members.begin(), status->members.end(), [](const member_status& m) {
              return m.info.name == "peer" && m.connected;
            });
}

// Polls every 2 ms until the peer's connection is `wanted`; how long that took, in ms.
double await_peer(runtime& node, bool wanted, std::chrono::seconds limit) {
  auto started = clock::now();
  while (peer_connected(node) != wanted) {
    if (clock::now() - started > limit)
      throw std::runtime_error(std::string{"peer-hang: the peer was not "}
                               + (wanted ? "connected" : "seen gone") + " within "
                               + std::to_string(limit.count()) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return std::chrono::duration<double, std::milli>(clock::now() - started).count();
}

samples run_once(const run_context& context) {
  auto node_address = "127.0.0.1:" + std::to_string(testing::free_loopback_port());
  auto peer_address = "127.0.0.1:" + std::to_string(testing::free_loopback_port());
  environment env{
      {"BROKEDANCER_LOG_LEVEL", "error"},        {"BROKEDANCER_BOTS_COUNT", "0"},
      {"BROKEDANCER_MARKET_SYMBOLS", ""},        {"BROKEDANCER_RUNTIME_NODE_NAME", "bench"},
      {"BROKEDANCER_NODE_LISTEN", node_address}, {"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"},
      {"BROKEDANCER_NODE_PEERS", peer_address},  {"BROKEDANCER_NODE_ISOLATION_HALT_AFTER", "0"}};
  runtime node{load_config(embedded_default_config(), runtime_environment(context, env))};
  testing::child_process peer{
      BROKEDANCER_CLI_PATH,
      {"run", "--bots", "0", "--listen", peer_address, "--join", node_address},
      {{"BROKEDANCER_LOG_LEVEL", "error"},
       {"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"},
       {"BROKEDANCER_RUNTIME_NODE_NAME", "peer"},
       {"BROKEDANCER_MARKET_SYMBOLS", ""}}};
  await_peer(node, true, std::chrono::seconds(30));
  std::vector<double> hangs;
  for (int i = 0; i < hang_rounds; ++i) {
    peer.signal(SIGSTOP);
    hangs.push_back(await_peer(node, false, std::chrono::seconds(30)));
    peer.signal(SIGCONT);
    await_peer(node, true, std::chrono::seconds(30));
  }
  peer.kill_now();
  samples out;
  out["kill_detected_ms"] = await_peer(node, false, std::chrono::seconds(30));
  out["hang_detected_ms"] = percentile(hangs, 50);
  return out;
}

const bool registered = register_scenario({
    "peer-hang",
    "a peer stopped with SIGSTOP (hung) until this node sees it gone, default cluster settings, "
    "beside the peer killed with SIGKILL",
    {
        {"hang_detected_ms", "ms", "hung peer (SIGSTOP) seen gone, median of 3 rounds", false,
         "kill_detected_ms"},
        {"kill_detected_ms", "ms", "dead peer (SIGKILL) seen gone", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
