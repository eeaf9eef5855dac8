#include "messages/emergency.hpp"

namespace brokedancer {

std::string to_string(emergency_level level) {
  switch (level) {
    case emergency_level::normal: return "NORMAL";
    case emergency_level::alert: return "ALERT";
    case emergency_level::halt: return "HALT";
    case emergency_level::shutdown: return "SHUTDOWN";
  }
  return "level(" + std::to_string(static_cast<int>(level)) + ")";
}

bool from_string(const std::string& text, emergency_level& level) {
  for (auto candidate : {emergency_level::normal, emergency_level::alert, emergency_level::halt,
                         emergency_level::shutdown})
    if (text == to_string(candidate)) {
      level = candidate;
      return true;
    }
  return false;
}

std::string to_string(change_source source) {
  switch (source) {
    case change_source::operator_request: return "operator";
    case change_source::risk_monitor: return "risk_monitor";
    case change_source::supervisor: return "supervisor";
    case change_source::node: return "node";
    case change_source::restore: return "restore";
    case change_source::stop: return "stop";
  }
  return "source(" + std::to_string(static_cast<int>(source)) + ")";
}

bool level_tracker::take(const level_change& change) {
  bool newer =
      !known_ || change.sequence > current_.sequence
      || (change.sequence == current_.sequence && current_.provisional && !change.provisional);
  if (newer) {
    current_ = change;
    known_ = true;
  }
  return newer;
}

bool from_string(const std::string& text, change_source& source) {
  for (auto candidate :
       {change_source::operator_request, change_source::risk_monitor, change_source::supervisor,
        change_source::node, change_source::restore, change_source::stop})
    if (text == to_string(candidate)) {
      source = candidate;
      return true;
    }
  return false;
}

} // namespace brokedancer
