#include "actors/resilience/breaker_registry.hpp"

#include <map>
#include <type_traits>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

struct live_endpoint {
  endpoint_actor adapter;
  breaker_actor breaker;
};

// An operator's FORCED_OPEN or DISABLED, kept here so that it outlives the breaker: a breaker
// started again after its adapter crashed gets it back before its first call.
struct operator_override {
  bool force_open = false; // else: disabled
  std::string reason;
};

struct registry_state {
  std::map<std::string, endpoint_spec> specs;
  event_bus_actor bus;
  emergency_actor emergency;
  rate_limiter_actor limiter;
  std::map<std::string, live_endpoint> live;
  std::map<std::string, operator_override> overrides;

  // Not linked (a crashing adapter must not take the registry down): stopped here instead.
  ~registry_state() {
    for (const auto& [name, e] : live) {
      caf::anon_send_exit(e.adapter, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(e.breaker, caf::exit_reason::user_shutdown);
    }
  }
  logger log{"breakers"};
};

using self_pointer = breaker_registry_actor::stateful_pointer<registry_state>;

caf::error unknown(self_pointer self, const std::string& name) {
  std::string known;
  for (const auto& [spec_name, spec] : self->state.specs)
    known += (known.empty() ? "" : ", ") + spec_name;
  return make_error(errc::unknown_endpoint,
                    "no endpoint \"" + name + "\" in resilience.endpoints (configured: "
                        + (known.empty() ? std::string{"none"} : known) + ")");
}

bool reads_market(const endpoint_spec& spec) {
  return spec.type == endpoint_spec::adapter::simulated && spec.simulated.match_market;
}

// The breaker of `name`, spawned with its adapter on first use; empty for an unknown name.
breaker_actor breaker_of(self_pointer self, const std::string& name) {
  auto& st = self->state;
  if (auto found = st.live.find(name); found != st.live.end())
    return found->second.breaker;
  auto spec = st.specs.find(name);
  if (spec == st.specs.end())
    return {};
  auto& sys = self->system();
  live_endpoint endpoint;
  if (spec->second.type == endpoint_spec::adapter::http)
    endpoint.adapter = spawn_http_endpoint(sys, spec->second.http);
  else
    endpoint.adapter = caf::actor_cast<endpoint_actor>(
        spawn_simulated_exchange(sys, spec->second.simulated, st.bus));
  auto options = spec->second.breaker;
  options.bus = st.bus;
  options.emergency = st.emergency;
  options.limiter = st.limiter;
  endpoint.breaker = spawn_circuit_breaker(sys, endpoint.adapter, options);
  // Ours: we hear when one of them stops, and they stop when we do (see ~registry_state).
  self->monitor(endpoint.adapter);
  self->monitor(endpoint.breaker);
  if (auto o = st.overrides.find(name); o != st.overrides.end()) {
    if (o->second.force_open)
      caf::anon_send(endpoint.breaker, force_open_atom::value, o->second.reason);
    else
      caf::anon_send(endpoint.breaker, disable_atom::value, o->second.reason);
  }
  st.log.info(
      "endpoint started",
      {{"endpoint", name},
       {"adapter", spec->second.type == endpoint_spec::adapter::http ? "http" : "simulated"}});
  st.live.emplace(name, endpoint);
  return endpoint.breaker;
}

template <class Atom>
caf::result<breaker_stats> operate(self_pointer self, Atom op, const std::string& name,
                                   std::string& reason) {
  auto breaker = breaker_of(self, name);
  if (!breaker)
    return unknown(self, name);
  auto& overrides = self->state.overrides;
  if constexpr (std::is_same_v<Atom, force_open_atom>)
    overrides[name] = {true, reason};
  else if constexpr (std::is_same_v<Atom, disable_atom>)
    overrides[name] = {false, reason};
  else
    overrides.erase(name);
  self->state.log.warn(
      "operator changes a circuit breaker",
      {{"endpoint", name}, {"operation", caf::to_string(Atom::value)}, {"reason", reason}});
  return self->delegate(breaker, op, std::move(reason));
}

// A partner that stopped: stop the other half too, and start both afresh on the next call.
void on_endpoint_down(self_pointer self, const caf::down_msg& down) {
  auto& s = self->state;
  for (auto it = s.live.begin(); it != s.live.end(); ++it) {
    auto& e = it->second;
    if (down.source != e.adapter.address() && down.source != e.breaker.address())
      continue;
    s.log.warn("endpoint stopped; it starts again on the next call",
               {{"endpoint", it->first}, {"reason", self->system().render(down.reason)}});
    self->demonitor(e.adapter.address());
    self->demonitor(e.breaker.address());
    caf::anon_send_exit(e.adapter, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(e.breaker, caf::exit_reason::user_shutdown);
    auto name = it->first;
    s.live.erase(it);
    if (reads_market(s.specs.at(name)))
      breaker_of(self, name);
    return;
  }
}

caf::result<endpoint_response> on_call(self_pointer self, const std::string& name,
                                       endpoint_request& request) {
  auto breaker = breaker_of(self, name);
  if (!breaker)
    return unknown(self, name);
  return self->delegate(breaker, call_atom::value, std::move(request));
}

caf::result<breaker_actor> on_breaker(self_pointer self, const std::string& name) {
  auto breaker = breaker_of(self, name);
  if (!breaker)
    return unknown(self, name);
  return breaker;
}

caf::result<std::vector<breaker_stats>> on_status(self_pointer self) {
  auto& s = self->state;
  if (s.live.empty())
    return std::vector<breaker_stats>{};
  // Ask every breaker; answer when all have.
  auto rp = self->make_response_promise<std::vector<breaker_stats>>();
  auto collected = std::make_shared<std::vector<breaker_stats>>();
  auto left = std::make_shared<size_t>(s.live.size());
  for (const auto& [name, e] : s.live) {
    auto one_done = [rp, collected, left]() mutable {
      if (--*left == 0) {
        std::sort(collected->begin(), collected->end(),
                  [](const auto& a, const auto& b) { return a.endpoint < b.endpoint; });
        rp.deliver(std::move(*collected));
      }
    };
    self->request(e.breaker, std::chrono::seconds(5), status_atom::value)
        .then(
            [collected, one_done](breaker_stats& stats) mutable {
              collected->push_back(std::move(stats));
              one_done();
            },
            [one_done](caf::error&) mutable { one_done(); });
  }
  return rp;
}

breaker_registry_actor::behavior_type
breaker_registry(self_pointer self, std::vector<endpoint_spec> endpoints, event_bus_actor bus,
                 emergency_actor emergency, rate_limiter_actor limiter) {
  exit_with_exception_text(self);
  auto& st = self->state;
  for (auto& spec : endpoints) {
    auto name = spec.name;
    st.specs.emplace(std::move(name), std::move(spec));
  }
  st.bus = std::move(bus);
  st.emergency = std::move(emergency);
  st.limiter = std::move(limiter);
  self->set_down_handler([self](caf::down_msg& down) { on_endpoint_down(self, down); });
  // An exchange that matches against market ticks must be reading them before the first
  // order: started now rather than on first use.
  for (const auto& [name, spec] : st.specs)
    if (reads_market(spec))
      breaker_of(self, name);
  return {
      [self](call_atom, const std::string& name, endpoint_request& request) {
        return on_call(self, name, request);
      },
      [self](breaker_atom, const std::string& name) { return on_breaker(self, name); },
      [self](force_open_atom op, const std::string& name, std::string& reason) {
        return operate(self, op, name, reason);
      },
      [self](force_close_atom op, const std::string& name, std::string& reason) {
        return operate(self, op, name, reason);
      },
      [self](reset_atom op, const std::string& name, std::string& reason) {
        return operate(self, op, name, reason);
      },
      [self](disable_atom op, const std::string& name, std::string& reason) {
        return operate(self, op, name, reason);
      },
      [self](status_atom) { return on_status(self); },
  };
}

} // namespace

breaker_registry_actor spawn_breaker_registry(caf::actor_system& sys,
                                              std::vector<endpoint_spec> endpoints,
                                              event_bus_actor bus, emergency_actor emergency,
                                              rate_limiter_actor limiter) {
  return sys.spawn(breaker_registry, std::move(endpoints), std::move(bus), std::move(emergency),
                   std::move(limiter));
}

} // namespace brokedancer
