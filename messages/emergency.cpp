#include "messages/emergency.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"

namespace brokedancer {

std::string to_string(emergency_level level) {
  switch (level) {
    case emergency_level::normal: return "NORMAL";
    case emergency_level::alert: return "ALERT";
    case emergency_level::reduce_only: return "REDUCE_ONLY";
    case emergency_level::halt: return "HALT";
    case emergency_level::shutdown: return "SHUTDOWN";
  }
  return "level(" + std::to_string(static_cast<int>(level)) + ")";
}

bool from_string(const std::string& text, emergency_level& level) {
  for (auto candidate :
       {emergency_level::normal, emergency_level::alert, emergency_level::reduce_only,
        emergency_level::halt, emergency_level::shutdown})
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

// -- the persisted level ----------------------------------------------------------------------

std::string encode_level_change(const level_change& change) {
  return dump_json({{"level", to_string(change.level)},
                    {"previous", to_string(change.previous)},
                    {"reason", change.reason},
                    {"source", to_string(change.source)},
                    {"node", change.node},
                    {"at_us", change.at_us},
                    {"sequence", change.sequence},
                    {"based_on_sequence", change.based_on_sequence},
                    {"based_on_level", to_string(change.based_on_level)},
                    {"based_on_node", change.based_on_node},
                    {"local_only", change.local_only},
                    {"cleared", [&] {
                       auto keys = nlohmann::json::array();
                       for (const auto& k : change.cleared)
                         keys.push_back({k.sequence, to_string(k.level), k.node});
                       return keys;
                     }()}});
}

namespace {

const std::string* text_field(const nlohmann::json& j, const char* key) {
  auto found = j.find(key);
  return found != j.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
}

// Written since nodes form a cluster; a record from before reads as based on nothing.
bool decode_based_on(const nlohmann::json& j, level_change& change, std::string& why) {
  if (!j.contains("based_on_sequence"))
    return true;
  const auto* based_on_level = text_field(j, "based_on_level");
  if (!j["based_on_sequence"].is_number_unsigned() || !based_on_level
      || !from_string(*based_on_level, change.based_on_level) || !text_field(j, "based_on_node")
      || !j.contains("local_only") || !j["local_only"].is_boolean()) {
    why = "the change it was based on, or local_only, is not valid";
    return false;
  }
  change.based_on_sequence = j["based_on_sequence"].get<uint64_t>();
  change.based_on_node = *text_field(j, "based_on_node");
  change.local_only = j["local_only"].get<bool>();
  return true;
}

bool decode_cleared(const nlohmann::json& j, level_change& change, std::string& why) {
  change.cleared.clear();
  if (!j.contains("cleared"))
    return true;
  const auto& keys = j["cleared"];
  if (!keys.is_array() || keys.size() > max_cleared) {
    why = "cleared is not a list of at most " + std::to_string(max_cleared) + " changes";
    return false;
  }
  for (const auto& k : keys) {
    change_key key;
    if (!k.is_array() || k.size() != 3 || !k[0].is_number_unsigned() || !k[1].is_string()
        || !from_string(k[1].get<std::string>(), key.level) || !k[2].is_string()) {
      why = "an entry of cleared is not [sequence, level, node]";
      return false;
    }
    key.sequence = k[0].get<uint64_t>();
    key.node = k[2].get<std::string>();
    change.cleared.push_back(std::move(key));
  }
  return true;
}

} // namespace

bool decode_level_change(const std::string& json, level_change& change, std::string& why) {
  auto j = parse_json_within(json);
  if (j.is_discarded() || !j.is_object()) {
    why = "not a JSON object";
    return false;
  }
  const auto* level = text_field(j, "level");
  const auto* previous = text_field(j, "previous");
  const auto* source = text_field(j, "source");
  if (!level || !from_string(*level, change.level) || !previous
      || !from_string(*previous, change.previous) || !source || !from_string(*source, change.source)
      || !text_field(j, "reason") || !text_field(j, "node")) {
    why = "a level, previous level, source, reason or node is missing or not valid";
    return false;
  }
  if (!j.contains("sequence") || !j["sequence"].is_number_unsigned() || !j.contains("at_us")
      || !j["at_us"].is_number_integer()) {
    why = "the sequence or time is missing or not a number";
    return false;
  }
  change.reason = *text_field(j, "reason");
  change.node = *text_field(j, "node");
  change.sequence = j["sequence"].get<uint64_t>();
  change.at_us = j["at_us"].get<int64_t>();
  return decode_based_on(j, change, why) && decode_cleared(j, change, why);
}

level_change as_restored(level_change found) {
  if (found.level != emergency_level::shutdown)
    return found;
  bool graceful = found.source == change_source::stop;
  auto ended = found.reason;
  found.level = graceful ? found.previous : emergency_level::halt;
  found.previous = emergency_level::shutdown;
  found.source = change_source::restore;
  if (!graceful)
    found.reason = "the previous run ended in an emergency SHUTDOWN: " + ended;
  found.local_only = false;
  return found;
}

stored_levels merge_stored_levels(const std::vector<std::string>& keys,
                                  const std::vector<maybe_value>& values,
                                  const std::string& own_key, const std::string& legacy_key,
                                  const std::string& node_name, int64_t at_us) {
  stored_levels own;
  std::vector<level_change> others;
  uint64_t newest = 0;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    if (!values[i].found)
      continue;
    level_change record;
    std::string why;
    if (!decode_level_change(values[i].json, record, why)) {
      own.unreadable.push_back({keys[i], why});
      continue;
    }
    newest = std::max(newest, record.sequence);
    bool mine = keys[i] == own_key || keys[i] == legacy_key;
    if (mine && (!own.found || key_of(record) > key_of(own.change))) {
      own.found = true;
      own.change = record;
    } else if (!mine) {
      others.push_back(record);
    }
  }
  // This node's own stop is its own business: the others' records are merged with what it
  // comes back to.
  if (own.found)
    own.change = as_restored(own.change);
  for (const auto& other : others) {
    if (!own.found) {
      if (other.local_only)
        continue;
      own.found = true;
      own.change = other;
      continue;
    }
    if (auto merged = merge_peer_change(own.change, other))
      own.change = std::move(*merged);
  }
  if (!own.unreadable.empty()) {
    // Fail safe: a level we cannot read may have been a HALT -- and it comes after everything
    // that could be read.
    const auto& first = own.unreadable.front();
    level_change base = own.found ? own.change : level_change{};
    base.sequence = std::max(base.sequence, newest);
    own.change =
        next_change(base, std::max(base.level, emergency_level::halt),
                    "the persisted level could not be read: " + first.key + ": " + first.problem,
                    change_source::restore, node_name, at_us);
    own.found = true;
  }
  return own;
}

restore_outcome restore_level(const level_change& current, const stored_levels& stored,
                              const std::optional<level_change>& deferred, bool isolated,
                              const std::string& node_name, int64_t at_us) {
  restore_outcome out;
  out.current = current;
  if (stored.found) {
    // Another node's emergency SHUTDOWN, merged in: this node comes back HALTed too.
    auto found = as_restored(stored.change);
    auto next_sequence = std::max(current.sequence, found.sequence);
    if (found.level >= current.level) {
      found.sequence = next_sequence;
      out.current = found;
      out.restored = found;
    } else {
      out.current.sequence = next_sequence;
    }
  }
  if (deferred && deferred->level > out.current.level) {
    auto change = *deferred;
    change.previous = out.current.level;
    change.sequence = out.current.sequence + 1;
    change.based_on_sequence = out.current.sequence;
    change.based_on_level = out.current.level;
    change.based_on_node = out.current.node;
    out.current = change;
    out.deferred = change;
  }
  if (isolated && out.current.level < emergency_level::halt) {
    // The dead man's switch tripped while the level was being read.
    auto change = next_change(out.current, emergency_level::halt,
                              "isolated: contact was lost before the persisted level was read",
                              change_source::node, node_name, at_us);
    change.local_only = true;
    out.current = change;
  }
  return out;
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
