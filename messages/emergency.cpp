#include "messages/emergency.hpp"

#include <algorithm>

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

namespace {

bool contains(const std::vector<change_key>& keys, const change_key& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// The union, newest first, at most max_cleared.
std::vector<change_key> merged(std::vector<change_key> a, const std::vector<change_key>& b) {
  for (const auto& key : b)
    if (!contains(a, key))
      a.push_back(key);
  std::sort(a.begin(), a.end(), [](const change_key& x, const change_key& y) { return y < x; });
  if (a.size() > max_cleared)
    a.resize(max_cleared);
  return a;
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

} // namespace

level_change next_change(const level_change& current, emergency_level level, std::string reason,
                         change_source source, std::string node, int64_t at_us) {
  level_change change;
  change.level = level;
  change.previous = current.level;
  change.reason = std::move(reason);
  change.source = source;
  change.node = std::move(node);
  change.at_us = at_us;
  change.sequence = current.sequence + 1;
  change.based_on_sequence = current.sequence;
  change.based_on_level = current.level;
  change.based_on_node = current.node;
  change.cleared = current.cleared;
  if (level < current.level)
    change.cleared = merged(std::move(change.cleared), {key_of(current)});
  return change;
}

bool acceptable_from_peer(const level_change& change) {
  constexpr uint64_t far_from_wrapping = uint64_t{1} << 62;
  return is_valid(change.level) && is_valid(change.previous) && is_valid(change.based_on_level)
         && is_valid(change.source) && change.sequence < far_from_wrapping
         && change.based_on_sequence <= change.sequence && change.reason.size() <= 4096
         && change.node.size() <= 64 && change.based_on_node.size() <= 64
         && change.cleared.size() <= max_cleared
         && std::all_of(change.cleared.begin(), change.cleared.end(), [](const change_key& k) {
              return is_valid(k.level) && k.node.size() <= 64;
            });
}

std::optional<level_change> merge_peer_change(const level_change& current,
                                              const level_change& incoming) {
  if (incoming.local_only || incoming.provisional || !acceptable_from_peer(incoming))
    return std::nullopt;
  // A sequence far ahead of ours is no change anyone made: taken, it would leave no room above
  // it (a peer once sent 2^62, after which no HALT could spread).
  if (incoming.sequence > current.sequence + max_sequence_jump)
    return std::nullopt;
  auto here = key_of(current);
  auto there = key_of(incoming);
  if (there == here)
    return std::nullopt;
  auto take = [&](bool restamp) {
    auto change =
        restamp || incoming.sequence == current.sequence ? restamped(current, incoming) : incoming;
    change.previous = current.level;
    change.cleared = merged(incoming.cleared, current.cleared);
    return std::optional<level_change>{std::move(change)};
  };
  if (current.local_only) {
    // This node's own level (its dead man's switch, or an operator's resume of it) knows
    // nothing of the cluster's changes: a higher level still reaches it, nothing lower does.
    if (incoming.level <= current.level || contains(current.cleared, there))
      return std::nullopt;
    return take(!(there > here));
  }
  if (incoming.level > current.level) {
    if (contains(current.cleared, there))
      return std::nullopt; // lowered knowingly somewhere in the history of the level here
    return take(!(there > here));
  }
  if (!(there > here))
    return std::nullopt;
  if (incoming.level < current.level) {
    bool on_top_of_here = based_on_key(incoming) == here || contains(incoming.cleared, here);
    bool here_is_a_raise = current.level > current.based_on_level;
    if (!on_top_of_here && (here_is_a_raise || based_on_key(incoming) < here))
      return std::nullopt; // decided without knowing of the level in force here
  }
  return take(false);
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
