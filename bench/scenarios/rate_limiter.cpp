// limiter-memory and limiter-redis: rate limiter decisions (token bucket, cost 1, a budget of
// its own per client so that every decision is an admission) from 64 concurrent client actors,
// each keeping one request in flight, through the supervisor's stable handle as the breakers
// and bots reach it.
//
// Baselines from the same run:
//   limiter-memory: the same clients against a bare actor that answers each request at once
//                   -- what CAF request/reply costs before the limiter does any work;
//   limiter-redis:  raw hiredis on one connection, EVALSHA of the same script pipelined 64
//                   deep -- the ceiling for one connection running that script.

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
#include "actors/limiter/limiter_scripts.hpp"
#include "actors/supervision/supervisor.hpp"
#include "harness.hpp"
#include "messages/rate_limiter.hpp"
#include "raw_redis.hpp"
#include "runtime/infrastructure.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

// Large enough that no decision is a refusal during a run: the cost measured is a decision's.
const rate_limit budget{rate_algorithm::token_bucket, 1000000000, 1000};

struct load_report {
  std::mutex mutex;
  std::condition_variable finished;
  int clients_left = 0;
  int errors = 0;
  std::vector<double> latencies_us;
};

struct client_state {
  rate_limiter_actor limiter;
  std::string name;
  int ops = 0;
  int done = 0;
  int errors = 0;
  std::vector<double> latencies;
  std::shared_ptr<load_report> report;
};

using client_actor = caf::stateful_actor<client_state>;

void issue(client_actor* self);

void completed(client_actor* self, clock::time_point started, bool ok) {
  auto& st = self->state;
  st.latencies.push_back(std::chrono::duration<double, std::micro>(clock::now() - started).count());
  st.errors += ok ? 0 : 1;
  if (++st.done < st.ops) {
    issue(self);
    return;
  }
  std::lock_guard<std::mutex> guard{st.report->mutex};
  st.report->latencies_us.insert(st.report->latencies_us.end(), st.latencies.begin(),
                                 st.latencies.end());
  st.report->errors += st.errors;
  if (--st.report->clients_left == 0)
    st.report->finished.notify_all();
  self->quit();
}

void issue(client_actor* self) {
  auto started = clock::now();
  self->request(self->state.limiter, std::chrono::seconds(30), take_atom::value, self->state.name,
                budget, uint32_t{1})
      .then([self, started](rate_decision& d) { completed(self, started, d.allowed); },
            [self, started](caf::error&) { completed(self, started, false); });
}

caf::behavior limiter_client(client_actor* self, rate_limiter_actor limiter, std::string name,
                             int ops, std::shared_ptr<load_report> report) {
  auto& st = self->state;
  st.limiter = std::move(limiter);
  st.name = std::move(name);
  st.ops = ops;
  st.report = std::move(report);
  st.latencies.reserve(static_cast<size_t>(ops));
  issue(self);
  return {[](int) {
  }};
}

// Answers every decision at once, deciding nothing.
rate_limiter_actor::behavior_type bare_replier() {
  return {
      [](take_atom, const std::string&, const rate_limit&, uint32_t) {
        return rate_decision{true, 1, 0};
      },
      [](status_atom) { return limiter_status{}; },
  };
}

struct load_figures {
  double decisions_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

load_figures run_clients(caf::actor_system& sys, const rate_limiter_actor& limiter, int clients,
                         int ops_each, const std::string& run) {
  auto report = std::make_shared<load_report>();
  report->clients_left = clients;
  auto started = clock::now();
  for (int i = 0; i < clients; ++i)
    sys.spawn(limiter_client, limiter, "bench:" + run + ":" + std::to_string(i), ops_each, report);
  std::unique_lock<std::mutex> guard{report->mutex};
  report->finished.wait(guard, [&] { return report->clients_left == 0; });
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (report->errors > 0)
    throw std::runtime_error(std::to_string(report->errors) + " decisions failed or refused");
  return {clients * ops_each / seconds, percentile(report->latencies_us, 50),
          percentile(report->latencies_us, 99)};
}

void record(samples& out, const std::string& name, const load_figures& f) {
  out[name + "_decisions"] = f.decisions_per_s;
  out[name + "_p50_us"] = f.p50_us;
  out[name + "_p99_us"] = f.p99_us;
}

runtime_config limiter_config(const std::string& backend, const std::string& redis_url) {
  environment env{{"BROKEDANCER_LIMITER_BACKEND", backend}, {"BROKEDANCER_LOG_LEVEL", "warn"}};
  configure_logging({log_format::console, log_level::warn, ""});
  if (!redis_url.empty())
    env["BROKEDANCER_REDIS_URL"] = redis_url;
  return load_config(embedded_default_config(), env);
}

struct supervised_limiter {
  supervision_tree tree;
  rate_limiter_actor limiter;
  supervised_limiter(caf::actor_system& sys, const runtime_config& config) {
    tree = spawn_supervisor(sys, {}, {rate_limiter_child(config)});
    limiter = caf::actor_cast<rate_limiter_actor>(tree.children.at("rate_limiter"));
    caf::scoped_actor self{sys};
    for (bool up = false; !up;) {
      self->request(limiter, std::chrono::seconds(5), status_atom::value)
          .receive([&](limiter_status& s) { up = s.available; }, [](caf::error&) {});
      if (!up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~supervised_limiter() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }
};

int next_run() {
  static int run = 0;
  return ++run;
}

samples run_memory(const run_context& context) {
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  samples out;
  auto run = std::to_string(next_run());
  {
    supervised_limiter l{sys, limiter_config("memory", "")};
    record(out, "limiter_64_clients", run_clients(sys, l.limiter, 64, 10000, run));
  }
  auto bare = sys.spawn(bare_replier);
  record(out, "bare_actor_64_clients", run_clients(sys, bare, 64, 10000, run));
  caf::anon_send_exit(bare, caf::exit_reason::user_shutdown);
  return out;
}

// Raw hiredis, one connection, EVALSHA of the token-bucket script `depth` deep.
load_figures raw_evalsha(unsigned short port, int depth, int total_ops, const std::string& run) {
  timeval timeout{5, 0};
  auto* ctx = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (!ctx || ctx->err)
    throw std::runtime_error("raw hiredis baseline: cannot connect");
  auto* loaded = static_cast<redisReply*>(
      redisCommand(ctx, "SCRIPT LOAD %s", limiter_scripts::token_bucket.c_str()));
  bool ok = loaded && loaded->type == REDIS_REPLY_STRING;
  std::string sha = ok ? std::string{loaded->str, loaded->len} : std::string{};
  if (loaded)
    freeReplyObject(loaded);
  redisFree(ctx);
  if (!ok)
    throw std::runtime_error("raw hiredis baseline: SCRIPT LOAD failed");
  auto limit = std::to_string(budget.limit);
  auto window = std::to_string(budget.window_ms * 1000);
  auto f = raw_pipeline(
      port, depth, total_ops,
      [&](redisContext* c, int, int i) {
        auto key = "raw:" + run + ":ratelimit:tb:" + std::to_string(i);
        redisAppendCommand(c, "EVALSHA %s 1 %s %s %s 1", sha.c_str(), key.c_str(), limit.c_str(),
                           window.c_str());
      },
      [](const redisReply& r) { return r.type == REDIS_REPLY_ARRAY && r.elements == 3; });
  return {f.ops_per_s, f.p50_us, f.p99_us};
}

samples run_redis(const run_context& context) {
  // Its own server, without persistence: the figure is the limiter's, not the disk's.
  static testing::redis_server server{testing::redis_server::persistence::none};
  caf::actor_system_config cfg;
  configure(cfg, context);
  cfg.load<caf::io::middleman>(); // drives the limiter's Redis connection
  caf::actor_system sys{cfg};
  samples out;
  auto run = std::to_string(next_run());
  {
    supervised_limiter l{sys, limiter_config("redis", server.url())};
    record(out, "limiter_64_clients", run_clients(sys, l.limiter, 64, 1500, run));
  }
  record(out, "raw_evalsha_depth_64", raw_evalsha(server.port(), 64, 64 * 1500, run));
  return out;
}

std::vector<figure> figures_for(const std::string& name, const std::string& base,
                                const std::string& what) {
  return {
      {name + "_decisions", "decisions/s", what, true, base + "_decisions"},
      {name + "_p50_us", "us", "median decision latency", false, base + "_p50_us"},
      {name + "_p99_us", "us", "99th percentile decision latency", false, base + "_p99_us"},
      {base + "_decisions", "decisions/s", "baseline throughput", true, ""},
      {base + "_p50_us", "us", "baseline median latency", false, ""},
      {base + "_p99_us", "us", "baseline 99th percentile latency", false, ""},
  };
}

const bool memory_registered = register_scenario({
    "limiter-memory",
    "memory rate limiter, 64 clients, beside a bare CAF request/reply actor",
    figures_for("limiter_64_clients", "bare_actor_64_clients",
                "token-bucket decisions through the limiter"),
    run_memory,
});

const bool redis_registered = register_scenario({
    "limiter-redis",
    "Redis rate limiter, 64 clients, beside raw EVALSHA of the same script pipelined 64 deep",
    figures_for("limiter_64_clients", "raw_evalsha_depth_64",
                "token-bucket decisions through the limiter"),
    run_redis,
});

} // namespace

} // namespace brokedancer::bench
