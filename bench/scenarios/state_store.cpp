// state-memory and state-redis: set/get/increment through the state store actor, as a bot
// reaches it (through the supervisor's stable handle), with 1 and 64 concurrent client actors.
// Each client keeps one request in flight: 64 clients means 64 concurrent requests.
//
// Baselines from the same run:
//   state-memory: the same clients against a bare actor that answers each request at once --
//                 what CAF request/reply costs before the store does any work;
//   state-redis:  raw hiredis on one connection, pipelined to the same depth as the number of
//                 clients (1 or 64), running the same commands -- the ceiling for one connection.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actor_system.hpp"
#include "actors/supervision/supervisor.hpp"
#include "harness.hpp"
#include "messages/state_store.hpp"
#include "raw_redis.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

struct load_report {
  std::mutex mutex;
  std::condition_variable finished;
  int clients_left = 0;
  std::vector<double> latencies_us;
  std::atomic<int> errors{0};
};

// One client: `ops` requests one after another, cycling set / get / increment over its own
// keys, timing each from request to reply. The next request is issued from the reply handler
// itself: a message to self per operation would cost as much as the operation.
struct client_state {
  state_store_actor store;
  int ops = 0;
  int issued = 0;
  int done = 0;
  std::vector<double> latencies;
  std::shared_ptr<load_report> report;
  std::vector<std::string> keys;
  std::string counter;
};

using client_actor = caf::stateful_actor<client_state>;

void finish(client_actor* self) {
  auto& st = self->state;
  std::lock_guard<std::mutex> guard{st.report->mutex};
  st.report->latencies_us.insert(st.report->latencies_us.end(), st.latencies.begin(),
                                 st.latencies.end());
  if (--st.report->clients_left == 0)
    st.report->finished.notify_all();
  self->quit();
}

void issue(client_actor* self);

void completed(client_actor* self, clock::time_point started) {
  auto& st = self->state;
  st.latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  if (++st.done == st.ops)
    finish(self);
  else
    issue(self);
}

void issue(client_actor* self) {
  auto& st = self->state;
  if (st.issued == st.ops)
    return;
  auto n = st.issued++;
  auto started = clock::now();
  auto failed = [self, started](caf::error&) {
    ++self->state.report->errors;
    completed(self, started);
  };
  const auto& key = st.keys[static_cast<size_t>(n % 64)];
  switch (n % 3) {
    case 0:
      self->request(st.store, std::chrono::seconds(30), set_atom::value, key, std::string{"12345"},
                    int64_t{0})
          .then([self, started] { completed(self, started); }, failed);
      break;
    case 1:
      self->request(st.store, std::chrono::seconds(30), get_atom::value, key)
          .then([self, started](maybe_value&) { completed(self, started); }, failed);
      break;
    default:
      self->request(st.store, std::chrono::seconds(30), increment_atom::value, st.counter,
                    int64_t{1})
          .then([self, started](int64_t) { completed(self, started); }, failed);
  }
}

// `depth` requests are kept in flight: 1 is a client that waits for each reply; a bot that
// fires several requests before it needs the answers keeps more.
caf::behavior store_client(client_actor* self, state_store_actor store, int id, int ops, int depth,
                           std::shared_ptr<load_report> report) {
  auto& st = self->state;
  st.store = std::move(store);
  st.ops = ops;
  st.report = std::move(report);
  st.latencies.reserve(static_cast<size_t>(ops));
  for (int i = 0; i < 64; ++i)
    st.keys.push_back("c" + std::to_string(id) + ":k" + std::to_string(i));
  st.counter = "c" + std::to_string(id) + ":counter";
  for (int i = 0; i < depth; ++i)
    issue(self);
  return {[](int) {
  }};
}

// Answers every store request at once, touching nothing.
state_store_actor::behavior_type bare_replier() {
  return {
      [](get_atom, const std::string&) { return maybe_value{}; },
      [](set_atom, const std::string&, const std::string&, int64_t) {},
      [](del_atom, const std::string&) { return false; },
      [](exists_atom, const std::string&) { return false; },
      [](get_many_atom, const std::vector<std::string>&) { return std::vector<maybe_value>{}; },
      [](set_many_atom, const std::vector<key_value>&, int64_t) {},
      [](increment_atom, const std::string&, int64_t by) { return by; },
      [](set_nx_atom, const std::string&, const std::string&, int64_t) { return true; },
      [](list_keys_atom, const std::string&) { return std::vector<std::string>{}; },
      [](clear_atom) {},
      [](status_atom) { return store_status{}; },
      [](acquire_lease_atom, const std::string&, const std::string&, const std::string&, int64_t) {
        return lease_grant{};
      },
      [](renew_lease_atom, const std::string&, const std::string&, int64_t) { return false; },
      [](release_lease_atom, const std::string&, const std::string&) { return false; },
      [](lease_status_atom, const std::string&) { return lease_grant{}; },
      [](set_fenced_atom, const std::string&, const std::string&, int64_t, const std::string&,
         const std::string&) {},
      [](append_log_atom, const std::string&, const std::vector<std::string>&) {
        return std::vector<std::string>{};
      },
      [](read_log_atom, const std::string&, const std::string&, uint32_t) {
        return std::vector<log_entry>{};
      },
      [](trim_log_atom, const std::string&, const std::string&) { return uint64_t{0}; },
      [](commit_atom, const std::vector<key_value>&, const std::string&,
         const std::vector<std::string>&) {},
  };
}

struct load_figures {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

load_figures run_clients(caf::actor_system& sys, state_store_actor store, int clients,
                         int ops_per_client, int depth = 1) {
  auto report = std::make_shared<load_report>();
  report->clients_left = clients;
  auto started = clock::now();
  for (int i = 0; i < clients; ++i)
    sys.spawn(store_client, store, i, ops_per_client, depth, report);
  std::unique_lock<std::mutex> guard{report->mutex};
  report->finished.wait(guard, [&] { return report->clients_left == 0; });
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (report->errors > 0)
    throw std::runtime_error(std::to_string(report->errors.load()) + " requests failed");
  return {clients * ops_per_client / seconds, percentile(report->latencies_us, 50),
          percentile(report->latencies_us, 99)};
}

void record(samples& out, const std::string& name, const load_figures& figures) {
  out[name + "_ops"] = figures.ops_per_s;
  out[name + "_p50_us"] = figures.p50_us;
  out[name + "_p99_us"] = figures.p99_us;
}

// The state store as the runtime builds it: a supervised child behind its stable handle.
struct supervised_store {
  supervision_tree tree;
  state_store_actor store;
  supervised_store(caf::actor_system& sys, const runtime_config& config) {
    tree = spawn_supervisor(sys, {}, {state_store_child(config)});
    store = caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
  }
  ~supervised_store() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
};

runtime_config store_config(const std::string& backend, const std::string& redis_url) {
  environment env{{"BROKEDANCER_STATE_BACKEND", backend}, {"BROKEDANCER_LOG_LEVEL", "warn"}};
  configure_logging({log_format::console, log_level::warn, ""});
  if (!redis_url.empty())
    env["BROKEDANCER_REDIS_URL"] = redis_url;
  return load_config(embedded_default_config(), env);
}

samples run_memory(const run_context& context) {
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples out;
  {
    supervised_store s{sys, store_config("memory", "")};
    record(out, "store_1_client", run_clients(sys, s.store, 1, 100000));
    record(out, "store_64_clients", run_clients(sys, s.store, 64, 10000));
    record(out, "store_64_clients_8_deep", run_clients(sys, s.store, 64, 20000, 8));
  }
  auto bare = sys.spawn(bare_replier);
  record(out, "bare_actor_1_client", run_clients(sys, bare, 1, 100000));
  record(out, "bare_actor_64_clients", run_clients(sys, bare, 64, 10000));
  record(out, "bare_actor_64_clients_8_deep", run_clients(sys, bare, 64, 20000, 8));
  caf::anon_send_exit(bare, caf::exit_reason::user_shutdown);
  return out;
}

// Raw hiredis, one connection, `depth` commands per round trip: the same set/get/incrby mix.
load_figures raw_hiredis(unsigned short port, int depth, int total_ops) {
  auto f = raw_pipeline(port, depth, total_ops, [](redisContext* ctx, int n, int i) {
    auto key = "raw:c" + std::to_string(i) + ":k" + std::to_string(n % 64);
    switch (n % 3) {
      case 0: redisAppendCommand(ctx, "SET %s 12345", key.c_str()); break;
      case 1: redisAppendCommand(ctx, "GET %s", key.c_str()); break;
      default: redisAppendCommand(ctx, "INCRBY raw:c%d:counter 1", i);
    }
  });
  return {f.ops_per_s, f.p50_us, f.p99_us};
}

samples run_redis(const run_context& context) {
  // Its own server, without persistence: the figure is the store's, not the disk's.
  static testing::redis_server server{testing::redis_server::persistence::none};
  caf::actor_system_config cfg;
  configure(cfg, context);
  cfg.load<caf::io::middleman>(); // drives the store's Redis connection
  caf::actor_system sys{cfg};
  samples out;
  {
    supervised_store s{sys, store_config("redis", server.url())};
    // The connection comes up in the background; wait for it.
    caf::scoped_actor self{sys};
    for (bool up = false; !up;) {
      self->request(s.store, std::chrono::seconds(5), status_atom::value)
          .receive([&](store_status& st) { up = st.available; }, [](caf::error&) {});
      if (!up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    record(out, "store_1_client", run_clients(sys, s.store, 1, 6000));
    record(out, "store_64_clients", run_clients(sys, s.store, 64, 1500));
  }
  record(out, "raw_hiredis_depth_1", raw_hiredis(server.port(), 1, 6000));
  record(out, "raw_hiredis_depth_64", raw_hiredis(server.port(), 64, 64 * 1500));
  return out;
}

// Each (figure, baseline) pair: throughput, p50 and p99, the baselines listed after.
std::vector<figure>
load_figures_for(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<figure> result;
  for (const auto& [name, base] : pairs) {
    result.push_back(
        {name + "_ops", "ops/s", "set/get/increment through the store", true, base + "_ops"});
    result.push_back({name + "_p50_us", "us", "median request latency", false, base + "_p50_us"});
    result.push_back({name + "_p99_us", "us", "99th percentile latency", false, base + "_p99_us"});
  }
  for (const auto& pair : pairs) {
    const auto& base = pair.second;
    result.push_back({base + "_ops", "ops/s", "baseline throughput", true, ""});
    result.push_back({base + "_p50_us", "us", "baseline median latency", false, ""});
    result.push_back({base + "_p99_us", "us", "baseline 99th percentile latency", false, ""});
  }
  return result;
}

const bool memory_registered = register_scenario({
    "state-memory",
    "memory state store, 1 and 64 clients, beside a bare CAF request/reply actor",
    load_figures_for({{"store_1_client", "bare_actor_1_client"},
                      {"store_64_clients", "bare_actor_64_clients"},
                      {"store_64_clients_8_deep", "bare_actor_64_clients_8_deep"}}),
    run_memory,
});

const bool redis_registered = register_scenario({
    "state-redis",
    "Redis state store, 1 and 64 clients, beside raw pipelined hiredis at the same depth",
    load_figures_for(
        {{"store_1_client", "raw_hiredis_depth_1"}, {"store_64_clients", "raw_hiredis_depth_64"}}),
    run_redis,
});

} // namespace

} // namespace brokedancer::bench
