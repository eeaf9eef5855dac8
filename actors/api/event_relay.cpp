#include "actors/api/event_relay.hpp"

#include <deque>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/emergency.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;
using sample_atom = caf::atom_constant<caf::atom("rl_sample")>;
using resubscribe_atom = caf::atom_constant<caf::atom("rl_resub")>;

constexpr auto subscribe_timeout = std::chrono::seconds(5);
constexpr auto resubscribe_after = std::chrono::seconds(1);
// Distinct keys a count may have: node types come from the workflows' definitions, but on a
// shared bus anyone can publish a workflow event.
constexpr size_t max_count_keys = 64;
// A frame kept for late pages is a level change, an alert or a breaker transition: a few
// hundred bytes. One much larger is somebody's payload, not worth a page's memory.
constexpr size_t max_kept_frame_bytes = 16 * 1024;

struct relay_state {
  event_relay_options options;
  std::shared_ptr<event_fanout> fanout;
  event_bus_actor bus;
  risk_monitor_actor risk;
  std::deque<pnl_point> pnl;
  std::deque<std::string> recent;
  std::map<std::string, uint64_t> level_changes;
  std::map<std::string, duration_counts> executions;
  std::map<std::string, duration_counts> nodes;
  uint64_t events = 0;
  logger log{"event_relay"};
};

using self_pointer = caf::stateful_actor<relay_state>*;

bool kept_for_late_pages(const std::string& topic) {
  return topic == "emergency.level_changed" || topic == "trading.alerts"
         || topic == "breaker.state_changed";
}

void count_duration(std::map<std::string, duration_counts>& counts, std::string key,
                    double milliseconds) {
  if (!(milliseconds >= 0) || milliseconds > 1e12)
    return;
  auto found = counts.find(key);
  if (found == counts.end()) {
    if (counts.size() >= max_count_keys)
      key = "other";
    found = counts.emplace(key, duration_counts{}).first;
  }
  found->second.observe(static_cast<int64_t>(milliseconds * 1000));
}

// The counts /metrics shows, from this node's own events of the few topics it counts.
void count(self_pointer self, const event& ev) {
  auto& st = self->state;
  if (ev.source_node != st.options.node_name)
    return;
  bool level = ev.topic == "emergency.level_changed";
  if (!level && ev.topic != "workflow_events")
    return;
  auto body = parse_json_within(ev.json);
  if (!body.is_object())
    return;
  if (level) {
    // Only the sources a level change can have: the label's values are a fixed set.
    change_source known{};
    auto source = text_field(body, "source");
    if (from_string(source, known))
      ++st.level_changes[source];
    return;
  }
  auto type = text_field(body, "type");
  auto status = text_field(body, "status");
  auto duration = body.contains("duration_ms") && body["duration_ms"].is_number()
                      ? body["duration_ms"].get<double>()
                      : -1.0;
  if (status.empty() || status.size() > 32)
    return;
  if (type == "execution_completed" || type == "execution_halted" || type == "execution_failed")
    count_duration(st.executions, status, duration);
  else if (type == "node_completed" || type == "node_failed") {
    auto node_type = text_field(body, "node_type");
    if (!node_type.empty() && node_type.size() <= 64)
      count_duration(st.nodes, node_type + "|" + status, duration);
  }
}

void on_event(self_pointer self, const event& ev) {
  auto& st = self->state;
  ++st.events;
  count(self, ev);
  bool keep = kept_for_late_pages(ev.topic);
  bool wanted = st.fanout->wants(ev.topic);
  if (!keep && !wanted)
    return; // nobody streams this topic: no frame to make
  auto frame = event_frame_json(ev);
  if (wanted)
    st.fanout->publish(ev.topic, sse_frame(frame, ev.sequence));
  if (keep && frame.size() <= max_kept_frame_bytes) {
    st.recent.push_back(std::move(frame));
    while (st.recent.size() > st.options.max_recent)
      st.recent.pop_front();
  }
}

void subscribe(self_pointer self) {
  self->request(self->state.bus, subscribe_timeout, subscribe_atom::value, std::string{"*"},
                caf::actor_cast<caf::actor>(self))
      .then([](uint64_t) {},
            [self](caf::error& err) {
              self->state.log.warn("cannot subscribe to the bus yet; streams stay empty until "
                                   "it answers",
                                   {{"error", self->system().render(err)}});
              self->delayed_send(self, resubscribe_after, resubscribe_atom::value);
            });
}

void keep_point(relay_state& st, pnl_point point) {
  st.pnl.push_back(point);
  if (st.pnl.size() <= st.options.max_pnl_points)
    return;
  // Every other point goes: the chart keeps the whole run at half the resolution.
  std::deque<pnl_point> thinned;
  for (size_t i = 0; i < st.pnl.size(); i += 2)
    thinned.push_back(st.pnl[i]);
  if (thinned.back().t_us != st.pnl.back().t_us)
    thinned.push_back(st.pnl.back());
  st.pnl = std::move(thinned);
}

void sample(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, st.options.sample_every, sample_atom::value);
  if (!st.risk)
    return;
  self->request(st.risk, st.options.sample_every, status_atom::value)
      .then(
          [self](risk_status& r) {
            if (r.loaded)
              keep_point(self->state,
                         {now_us(), r.realized_pnl, r.unrealized_pnl, r.daily_pnl, r.equity});
          },
          [](caf::error&) {}); // a busy or restarting monitor: the chart has a gap
}

relay_snapshot counts(self_pointer self) {
  auto& st = self->state;
  relay_snapshot s;
  s.level_changes = st.level_changes;
  s.executions = st.executions;
  s.nodes = st.nodes;
  s.events = st.events;
  return s;
}

relay_snapshot snapshot(self_pointer self) {
  auto& st = self->state;
  return {{st.pnl.begin(), st.pnl.end()},
          {st.recent.begin(), st.recent.end()},
          st.level_changes,
          st.executions,
          st.nodes,
          st.events};
}

caf::behavior event_relay(self_pointer self, event_relay_options options,
                          std::shared_ptr<event_fanout> fanout, event_bus_actor bus,
                          risk_monitor_actor risk) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.fanout = std::move(fanout);
  st.bus = std::move(bus);
  st.risk = std::move(risk);
  subscribe(self);
  sample(self);
  return {
      [self](const event& ev) { on_event(self, ev); },
      [self](resubscribe_atom) { subscribe(self); },
      [self](sample_atom) { sample(self); },
      [self](status_atom) { return snapshot(self); },
      [self](relay_counts_atom) { return counts(self); },
  };
}

} // namespace

std::string event_frame_json(const event& ev) {
  // The bus has checked the payload is JSON; one that is not, or spans lines, is re-written
  // (a newline would end the frame's data line early).
  std::string data = ev.json;
  // A payload may begin with a UTF-8 byte-order mark (JSON parsers skip it): inside the frame
  // it would not be JSON.
  bool bom = data.size() >= 3 && data.compare(0, 3, "\xEF\xBB\xBF") == 0;
  if (bom || data.find_first_of("\r\n") != std::string::npos || data.empty()) {
    auto parsed = parse_json_within(data);
    data = parsed.is_discarded() ? dump_json(json(ev.json)) : dump_json(parsed);
  }
  return "{\"topic\":" + dump_json(json(ev.topic)) + ",\"data\":" + data
         + ",\"published_at_us\":" + std::to_string(ev.published_at_us) + ",\"source_node\":"
         + dump_json(json(ev.source_node)) + ",\"sequence\":" + std::to_string(ev.sequence)
         + ",\"correlation_id\":" + dump_json(json(ev.correlation)) + "}";
}

std::string sse_frame(const std::string& json_line, uint64_t id) {
  return "id: " + std::to_string(id) + "\ndata: " + json_line + "\n\n";
}

event_relay_actor spawn_event_relay(caf::actor_system& sys, event_relay_options options,
                                    std::shared_ptr<event_fanout> fanout, event_bus_actor bus,
                                    risk_monitor_actor risk) {
  return caf::actor_cast<event_relay_actor>(sys.spawn(
      event_relay, std::move(options), std::move(fanout), std::move(bus), std::move(risk)));
}

} // namespace brokedancer
