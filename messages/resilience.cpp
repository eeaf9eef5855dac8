#include "messages/resilience.hpp"

namespace brokedancer {

std::string to_string(breaker_state state) {
  switch (state) {
    case breaker_state::closed: return "CLOSED";
    case breaker_state::open: return "OPEN";
    case breaker_state::half_open: return "HALF_OPEN";
    case breaker_state::forced_open: return "FORCED_OPEN";
    case breaker_state::disabled: return "DISABLED";
  }
  return "breaker_state(" + std::to_string(static_cast<int>(state)) + ")";
}

} // namespace brokedancer
