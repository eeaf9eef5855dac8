#include "actors/channels/system_watch.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using check_atom = caf::atom_constant<caf::atom("wt_check")>;
using heartbeat_atom = caf::atom_constant<caf::atom("wt_beat")>;

constexpr std::chrono::milliseconds first_check_after{3000};

struct system_watch_state {
  system_watch_options options;
  std::vector<service_probe> probes;
  event_bus_actor bus;
  std::vector<service_health> health; // one per probe, as last asked
  std::vector<bool> known;            // whether the probe has answered once
  emergency_actor emergency;
  int64_t started_us = 0;
  uint64_t heartbeats = 0;
  logger log{"system_watch"};
};

using self_pointer = caf::stateful_actor<system_watch_state>*;

void publish(self_pointer self, const nlohmann::json& data) {
  // Sent, not requested: a bus that is away is one of the things this reports.
  caf::anon_send(self->state.bus, publish_atom::value, std::string{"trading.system"},
                 dump_json(data), correlation_id{});
}

void health_changed(self_pointer self, const service_health& now) {
  auto& st = self->state;
  publish(self, {{"type", "SYSTEM_EVENT"},
                 {"event", now.available ? "service_available" : "service_unavailable"},
                 {"node", st.options.node_name},
                 {"service", now.name},
                 {"error", now.error}});
  if (now.available)
    st.log.info("service available again", {{"service", now.name}});
  else
    st.log.warn("service unavailable", {{"service", now.name}, {"error", now.error}});
}

void answered(self_pointer self, size_t index, service_health now) {
  auto& st = self->state;
  auto& before = st.health[index];
  // The first answer is news only when it is bad: a node that starts healthy says nothing.
  bool news = st.known[index] ? before.available != now.available : !now.available;
  st.known[index] = true;
  before = std::move(now);
  if (news)
    health_changed(self, before);
}

void check(self_pointer self) {
  auto& st = self->state;
  for (size_t i = 0; i < st.probes.size(); ++i)
    st.probes[i].ask(self, [self, i](service_health h) { answered(self, i, std::move(h)); });
  self->delayed_send(self, st.options.check, check_atom::value);
}

void send_heartbeat(self_pointer self, const std::string& level) {
  auto& st = self->state;
  auto services = nlohmann::json::object();
  for (const auto& h : st.health)
    services[h.name] = {{"available", h.available}, {"error", h.error}};
  publish(self, {{"type", "HEARTBEAT"},
                 {"node", st.options.node_name},
                 {"level", level},
                 {"uptime_s", static_cast<double>(now_us() - st.started_us) / 1e6},
                 {"services", services}});
  ++st.heartbeats;
}

// With the level as the controller says it now ("unknown" when it does not answer in time).
void heartbeat(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.options.heartbeat, heartbeat_atom::value);
  if (!st.emergency) {
    send_heartbeat(self, "unknown");
    return;
  }
  self->request(st.emergency, std::chrono::seconds(1), status_atom::value)
      .then([self](emergency_status& s) { send_heartbeat(self, to_string(s.current.level)); },
            [self](caf::error&) { send_heartbeat(self, "unknown"); });
}

caf::behavior system_watch(self_pointer self, system_watch_options options,
                           std::vector<service_probe> probes, event_bus_actor bus,
                           emergency_actor emergency) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.probes = std::move(probes);
  st.bus = std::move(bus);
  st.emergency = std::move(emergency);
  st.started_us = now_us();
  for (const auto& probe : st.probes)
    st.health.push_back({probe.name, false, "not asked yet"});
  st.known.assign(st.probes.size(), false);
  // The first look after the services have had time to connect: a node that starts healthy
  // says nothing.
  self->delayed_send(self, std::max(st.options.check, first_check_after), check_atom::value);
  self->delayed_send(self, st.options.heartbeat, heartbeat_atom::value);
  return {
      [self](check_atom) { check(self); },
      [self](heartbeat_atom) { heartbeat(self); },
      [self](status_atom) {
        return watch_status{self->state.heartbeats, self->state.health};
      },
  };
}

} // namespace

system_watch_actor spawn_system_watch(caf::actor_system& sys, system_watch_options options,
                                      std::vector<service_probe> probes, event_bus_actor bus,
                                      emergency_actor emergency) {
  return caf::actor_cast<system_watch_actor>(sys.spawn(
      system_watch, std::move(options), std::move(probes), std::move(bus), std::move(emergency)));
}

} // namespace brokedancer
