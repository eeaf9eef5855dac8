// breaker: calls through a CLOSED circuit breaker to the simulated exchange (no latency, no
// errors), beside direct requests to the same endpoint actor in the same run. Client actors
// keep one call in flight each, with 1 and 64 clients: calls/s and p50/p99 per call.

#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actor_system.hpp"
#include "actors/market/simulated_exchange.hpp"
#include "actors/resilience/circuit_breaker.hpp"
#include "call_load.hpp"
#include "core/logging.hpp"
#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using figures = call_figures;

figures load(caf::actor_system& sys, const caf::actor& target, int clients, int calls_each) {
  return load_calls(sys, target, clients, calls_each, endpoint_request{"ping", "", "", 0, ""});
}

void record(samples& out, const std::string& name, const figures& f) {
  out[name + "_calls"] = f.calls_per_s;
  out[name + "_p50_us"] = f.p50_us;
  out[name + "_p99_us"] = f.p99_us;
}

samples run_once(const run_context& context) {
  configure_logging({log_format::console, log_level::warn, ""});
  caf::actor_system_config cfg;
  configure(cfg, context);
  caf::actor_system sys{cfg};
  auto exchange = spawn_simulated_exchange(sys, {});
  circuit_breaker_options options;
  options.endpoint = "exchange";
  auto breaker = spawn_circuit_breaker(sys, caf::actor_cast<endpoint_actor>(exchange), options);
  auto through_breaker = caf::actor_cast<caf::actor>(breaker);
  auto direct = caf::actor_cast<caf::actor>(exchange);
  samples out;
  record(out, "breaker_1_client", load(sys, through_breaker, 1, 50000));
  record(out, "direct_1_client", load(sys, direct, 1, 50000));
  record(out, "breaker_64_clients", load(sys, through_breaker, 64, 2000));
  record(out, "direct_64_clients", load(sys, direct, 64, 2000));
  caf::anon_send_exit(breaker, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(exchange, caf::exit_reason::user_shutdown);
  return out;
}

std::vector<figure> breaker_figures() {
  std::vector<figure> result;
  for (const auto& [name, base] :
       {std::pair<std::string, std::string>{"breaker_1_client", "direct_1_client"},
        {"breaker_64_clients", "direct_64_clients"}}) {
    result.push_back(
        {name + "_calls", "calls/s", "through a CLOSED breaker", true, base + "_calls"});
    result.push_back({name + "_p50_us", "us", "median call latency", false, base + "_p50_us"});
    result.push_back({name + "_p99_us", "us", "99th percentile", false, base + "_p99_us"});
  }
  for (const auto& base : {"direct_1_client", "direct_64_clients"}) {
    result.push_back(
        {std::string{base} + "_calls", "calls/s", "straight to the endpoint actor", true, ""});
    result.push_back({std::string{base} + "_p50_us", "us", "median call latency", false, ""});
    result.push_back({std::string{base} + "_p99_us", "us", "99th percentile", false, ""});
  }
  return result;
}

const bool registered = register_scenario({
    "breaker",
    "calls through a CLOSED circuit breaker to the simulated exchange, beside direct calls",
    breaker_figures(),
    run_once,
});

} // namespace

} // namespace brokedancer::bench
