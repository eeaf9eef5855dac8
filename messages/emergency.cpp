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

bool operator<(const change_key& a, const change_key& b) {
  if (a.sequence != b.sequence)
    return a.sequence < b.sequence;
  if (a.level != b.level)
    return a.level < b.level;
  return a.node < b.node;
}

bool operator==(const change_key& a, const change_key& b) {
  return a.sequence == b.sequence && a.level == b.level && a.node == b.node;
}

change_key key_of(const level_change& change) {
  return {change.sequence, change.level, change.node};
}

change_key based_on_key(const level_change& change) {
  return {change.based_on_sequence, change.based_on_level, change.based_on_node};
}

peer_change_action on_peer_change(const level_change& current, const level_change& incoming) {
  if (incoming.local_only || incoming.provisional || !is_valid(incoming.level)
      || !is_valid(incoming.source))
    return peer_change_action::ignore;
  auto here = key_of(current);
  auto there = key_of(incoming);
  if (there == here)
    return peer_change_action::ignore;
  if (current.local_only) {
    // This node's own level (its dead man's switch, or an operator's resume of it) knows
    // nothing of the cluster's changes: a higher level still reaches it, nothing lower does.
    if (incoming.level <= current.level)
      return peer_change_action::ignore;
    return there > here ? peer_change_action::adopt : peer_change_action::adopt_restamped;
  }
  if (incoming.level > current.level) {
    // The change in force lowered this very change, or one after it, knowingly: it stands.
    if (based_on_key(current) >= there && current.level < current.based_on_level)
      return peer_change_action::ignore;
    return there > here ? peer_change_action::adopt : peer_change_action::adopt_restamped;
  }
  if (!(there > here))
    return peer_change_action::ignore;
  if (incoming.level < current.level && based_on_key(incoming) < here)
    return peer_change_action::ignore; // decided without knowing of the level in force here
  return peer_change_action::adopt;
}

level_change restamped(const level_change& current, const level_change& incoming) {
  auto change = incoming;
  change.previous = current.level;
  change.sequence = current.sequence + 1;
  change.based_on_sequence = current.sequence;
  change.based_on_level = current.level;
  change.based_on_node = current.node;
  return change;
}

bool level_tracker::take(const level_change& change) {
  bool newer =
      !known_ || change.sequence > current_.sequence
      || (change.sequence == current_.sequence && current_.provisional && !change.provisional)
      || (change.sequence == current_.sequence && !current_.provisional && !change.provisional
          && key_of(change) > key_of(current_));
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
