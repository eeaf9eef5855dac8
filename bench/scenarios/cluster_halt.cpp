// cluster-halt: three runtimes joined over CAF's network layer on 127.0.0.1, 1,000 bots each.
// From an operator's HALT on the first node until every one of the 3,000 bots has received it
// (each acknowledges as it does): p50/p99 over rounds, alternating HALT and resume. Beside it,
// in the same run, the same rounds on one runtime of 1,000 bots that is not part of a cluster,
// and on one whose Redis state store sleeps (DEBUG SLEEP 1) through every HALT: the kill switch
// does not wait for its store.
// The runtimes share this process (and its two cores); their traffic goes over loopback TCP.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "actor_system.hpp"
#include "actors/bots/bot.hpp"
#include "harness.hpp"
#include "messages/cluster.hpp"
#include "runtime/runtime.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int bots_per_node = 1000;
constexpr int rounds = 10;

// Where the bots report the level they were told, and when.
struct board {
  std::mutex mutex;
  std::condition_variable changed;
  emergency_level wanted = emergency_level::normal;
  int round = 0;
  int seen = 0;
  clock::time_point last;
};

class probe final : public strategy {
public:
  explicit probe(std::shared_ptr<board> b) : board_(std::move(b)) {}

  void on_start(bot_context&, const nlohmann::json&) override {}

  void on_level(bot_context&, const level_change& change) override {
    std::lock_guard<std::mutex> guard{board_->mutex};
    if (change.level != board_->wanted || counted_ == board_->round)
      return;
    counted_ = board_->round;
    ++board_->seen;
    board_->last = clock::now();
    board_->changed.notify_all();
  }

private:
  std::shared_ptr<board> board_;
  int counted_ = -1;
};

struct node_set {
  std::shared_ptr<board> reports = std::make_shared<board>();
  std::vector<std::unique_ptr<runtime>> nodes;
  int bots = 0;
};

std::unique_ptr<runtime> make_node(const run_context& context, std::shared_ptr<board> reports,
                                   environment env) {
  env.emplace("BROKEDANCER_LOG_LEVEL", "error");
  env.emplace("BROKEDANCER_BOTS_COUNT", std::to_string(bots_per_node));
  env.emplace("BROKEDANCER_BOTS_STRATEGY", "probe");
  env.emplace("BROKEDANCER_MARKET_SYMBOLS", "");
  runtime_options options;
  options.strategies["probe"] = [reports](const nlohmann::json&) {
    return std::make_unique<probe>(reports);
  };
  return std::make_unique<runtime>(
      load_config(embedded_default_config(), runtime_environment(context, env)),
      std::move(options));
}

template <class T, class Handle, class... Ts>
T ask(runtime& node, const Handle& whom, Ts&&... xs) {
  auto answer = testing::call<T>(node.system(), whom, std::forward<Ts>(xs)...);
  if (!answer)
    throw std::runtime_error("cluster-halt: a node did not answer: "
                             + node.system().render(answer.error()));
  return std::move(*answer);
}

// Every node's bots running, its level read, and (in a cluster) every peer connected.
void await_ready(node_set& set, bool clustered) {
  auto deadline = clock::now() + std::chrono::seconds(60);
  for (auto& node : set.nodes) {
    for (std::string missing;;) {
      if (clock::now() > deadline)
        throw std::runtime_error("cluster-halt: the nodes did not come up within 60 s: " + missing);
      // Up: registered, state read, strategy started (the summary also counts those starting).
      auto all = ask<std::vector<bot_stats>>(*node, node->bots(), bots_atom::value);
      auto up = std::count_if(all.begin(), all.end(),
                              [](const bot_stats& b) { return b.state == "running"; });
      auto level = ask<emergency_status>(*node, node->emergency(), status_atom::value);
      bool peers = true;
      if (clustered) {
        auto cluster = ask<cluster_status>(
            *node, caf::actor_cast<cluster_actor>(node->child("cluster")), status_atom::value);
        peers = cluster.members.size() + 1 == set.nodes.size();
        for (const auto& m : cluster.members)
          peers = peers && m.connected;
      }
      if (up == bots_per_node && level.trading_allowed && peers)
        break;
      for (const auto& b : all)
        if (b.state != "running")
          missing = "bot " + b.id + " is " + b.state + " (restarts " + std::to_string(b.restarts)
                    + ", " + b.last_error + "); ";
      missing += std::to_string(up) + " bots up, trading " + (level.trading_allowed ? "yes" : "no")
                 + ", peers " + (peers ? "connected" : "not all connected");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// One level change from the first node's operator, until every bot of every node has it: ms.
double change_everywhere(node_set& set, emergency_level level) {
  auto& first = *set.nodes.front();
  {
    std::lock_guard<std::mutex> guard{set.reports->mutex};
    set.reports->wanted = level;
    ++set.reports->round;
    set.reports->seen = 0;
  }
  auto started = clock::now();
  if (level == emergency_level::halt)
    ask<level_change>(first, first.emergency(), raise_atom::value, level, std::string{"benchmark"},
                      change_source::operator_request);
  else
    ask<level_change>(first, first.emergency(), resume_atom::value, level, std::string{"benchmark"},
                      change_source::operator_request);
  std::unique_lock<std::mutex> guard{set.reports->mutex};
  if (!set.reports->changed.wait_for(guard, std::chrono::seconds(30),
                                     [&] { return set.reports->seen >= set.bots; }))
    throw std::runtime_error("cluster-halt: only " + std::to_string(set.reports->seen) + " of "
                             + std::to_string(set.bots) + " bots heard the change in 30 s");
  return std::chrono::duration<double, std::milli>(set.reports->last - started).count();
}

void measure(node_set& set, samples& out, const std::string& prefix) {
  std::vector<double> halts;
  for (int i = 0; i < rounds; ++i) {
    halts.push_back(change_everywhere(set, emergency_level::halt));
    change_everywhere(set, emergency_level::normal);
  }
  out[prefix + "_p50_ms"] = percentile(halts, 50);
  out[prefix + "_p99_ms"] = percentile(halts, 99);
}

// As measure(), but every HALT is raised while the node's Redis sleeps for a second.
void measure_with_store_asleep(node_set& set, const testing::redis_server& redis, samples& out,
                               const std::string& prefix) {
  auto sleep_command =
      "redis-cli -p " + std::to_string(redis.port()) + " DEBUG SLEEP 1 2>&1 | grep -q '^OK$'";
  std::vector<double> halts;
  for (int i = 0; i < rounds; ++i) {
    auto asleep =
        std::async(std::launch::async, [&] { return std::system(sleep_command.c_str()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    halts.push_back(change_everywhere(set, emergency_level::halt));
    if (asleep.get() != 0)
      throw std::runtime_error("cluster-halt: redis-server refused DEBUG SLEEP");
    // A resume is persisted before it is in force: after the store woke.
    change_everywhere(set, emergency_level::normal);
  }
  out[prefix + "_p50_ms"] = percentile(halts, 50);
  out[prefix + "_p99_ms"] = percentile(halts, 99);
}

samples run_once(const run_context& context) {
  samples out;
  {
    node_set cluster;
    std::vector<std::string> listen;
    std::string peers;
    for (int i = 0; i < 3; ++i) {
      listen.push_back("127.0.0.1:" + std::to_string(testing::free_loopback_port()));
      peers += (peers.empty() ? "" : ",") + listen.back();
    }
    for (int i = 0; i < 3; ++i)
      cluster.nodes.push_back(
          make_node(context, cluster.reports,
                    {{"BROKEDANCER_RUNTIME_NODE_NAME", "bench-" + std::to_string(i)},
                     {"BROKEDANCER_NODE_LISTEN", listen[static_cast<size_t>(i)]},
                     {"BROKEDANCER_NODE_INSECURE_PLAINTEXT", "true"},
                     {"BROKEDANCER_NODE_PEERS", peers}}));
    cluster.bots = 3 * bots_per_node;
    await_ready(cluster, true);
    measure(cluster, out, "cluster_3x1000");
  }
  node_set single;
  single.nodes.push_back(make_node(context, single.reports, {}));
  single.bots = bots_per_node;
  await_ready(single, false);
  measure(single, out, "single_1000");
  {
    testing::redis_server redis{testing::redis_server::persistence::none};
    node_set asleep;
    asleep.nodes.push_back(make_node(
        context, asleep.reports,
        {{"BROKEDANCER_STATE_BACKEND", "redis"}, {"BROKEDANCER_REDIS_URL", redis.url()}}));
    asleep.bots = bots_per_node;
    await_ready(asleep, false);
    measure_with_store_asleep(asleep, redis, out, "redis_asleep_1000");
  }
  return out;
}

const bool registered = register_scenario({
    "cluster-halt",
    "an operator's HALT on one of three clustered runtimes (1,000 bots each, loopback) until "
    "every bot has it, beside one runtime of 1,000 bots on its own",
    {
        {"cluster_3x1000_p50_ms", "ms", "HALT on node 1 until all 3,000 bots have it", false,
         "single_1000_p50_ms"},
        {"cluster_3x1000_p99_ms", "ms", "99th percentile", false, "single_1000_p99_ms"},
        {"single_1000_p50_ms", "ms", "the same on one runtime, 1,000 bots, no cluster", false, ""},
        {"redis_asleep_1000_p50_ms", "ms",
         "HALT on one runtime of 1,000 bots while its Redis store sleeps (DEBUG SLEEP 1)", false,
         "single_1000_p50_ms"},
        {"redis_asleep_1000_p99_ms", "ms", "99th percentile", false, "single_1000_p99_ms"},
        {"single_1000_p99_ms", "ms", "99th percentile", false, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
