#pragma once

// Who may do what to a node. Header-only and free of CAF, so that the operator API (which
// authenticates) and the node's control actor (which enforces the role once more) share one
// definition.
//
// - `viewer`: read the status, the metrics and the event stream; nothing else (a wall
//   dashboard, a Prometheus scrape: a credential that leaks from them stops nothing).
// - `operator`: read the status, raise a level (HALT, SHUTDOWN).
// - `risk`: all of that, and the only role that may lower a level (resume).

#include <cstdint>
#include <string>
#include <string_view>

namespace brokedancer {

enum class operator_role : uint8_t { operator_role = 1, risk = 2, viewer = 3 };

enum class operator_action : uint8_t { status, raise, lower };

inline std::string to_string(operator_role role) {
  return role == operator_role::risk     ? "risk"
         : role == operator_role::viewer ? "viewer"
                                         : "operator";
}

inline bool from_string(std::string_view text, operator_role& role) {
  if (text == "operator")
    role = operator_role::operator_role;
  else if (text == "risk")
    role = operator_role::risk;
  else if (text == "viewer")
    role = operator_role::viewer;
  else
    return false;
  return true;
}

inline bool permits(operator_role role, operator_action action) {
  switch (action) {
    case operator_action::status:
      return role == operator_role::operator_role || role == operator_role::risk
             || role == operator_role::viewer;
    case operator_action::raise:
      return role == operator_role::operator_role || role == operator_role::risk;
    case operator_action::lower: return role == operator_role::risk;
  }
  return false;
}

} // namespace brokedancer
