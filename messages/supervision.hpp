#pragma once

// What a supervisor says about its children, and what it says when it gives up on them.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "messages/correlation.hpp"

namespace brokedancer {

// When a child that has stopped is started again (the OTP vocabulary operators know):
enum class restart_policy : uint8_t {
  permanent, // always, whatever the exit reason
  transient, // only after an abnormal exit
  temporary, // never
};

std::string to_string(restart_policy policy);
bool from_string(const std::string& text, restart_policy& policy);

struct child_status {
  std::string name;
  restart_policy policy = restart_policy::permanent;
  // 1 for the first incarnation, incremented by every restart.
  uint32_t generation = 0;
  bool running = false;
  uint32_t restarts = 0;
  std::string last_exit_reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_status& x) {
  return f(caf::meta::type_name("child_status"), x.name, x.policy, x.generation, x.running,
           x.restarts, x.last_exit_reason);
}

struct supervisor_status {
  std::vector<child_status> children;
  uint32_t restarts_in_window = 0;
  uint32_t max_restarts = 0;
  int64_t window_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_status& x) {
  return f(caf::meta::type_name("supervisor_status"), x.children, x.restarts_in_window,
           x.max_restarts, x.window_ms);
}

// Sent (and logged) when a supervisor's restart intensity is exceeded: more than
// `max_restarts` restarts within `window_ms`. The receiver decides how far to escalate.
struct escalation {
  std::string supervisor;
  std::string child;
  std::string last_exit_reason;
  uint32_t restarts_in_window = 0;
  uint32_t max_restarts = 0;
  int64_t window_ms = 0;
  correlation_id correlation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, escalation& x) {
  return f(caf::meta::type_name("escalation"), x.supervisor, x.child, x.last_exit_reason,
           x.restarts_in_window, x.max_restarts, x.window_ms, x.correlation);
}

} // namespace brokedancer
