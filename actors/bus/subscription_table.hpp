#pragma once

// Who gets an event: the bus's subscriptions, indexed so that a publish costs one hash lookup
// for exact topics plus one per character of the topic for patterns -- never a scan of every
// pattern. A pattern is filed under its literal prefix (what precedes its first wildcard), and
// only the patterns filed under a prefix of the topic are matched against it.
//
// It also keeps each subscription's flow-control counters; the actor decides what to do with them.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "messages/event_bus.hpp"

namespace brokedancer {

struct subscription {
  uint64_t id = 0;
  std::string pattern;
  bool is_pattern = false;
  caf::actor subscriber;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t acknowledged = 0; // delivered events known to be processed
  // The same in bytes (topic and payload): a backlog is bounded in size as well as in number.
  uint64_t delivered_bytes = 0;
  uint64_t acknowledged_bytes = 0;
  uint64_t asked_bytes = 0; // delivered_bytes when the last acknowledgement was asked for

  uint64_t backlog() const {
    return delivered - acknowledged;
  }
  uint64_t backlog_bytes() const {
    return delivered_bytes - acknowledged_bytes;
  }
};

class subscription_table {
public:
  // True when `text` has an unescaped *, ? or [ and so subscribes to a pattern.
  static bool is_pattern(std::string_view text);
  // What a pattern matches literally before its first wildcard, escapes resolved.
  static std::string literal_prefix(std::string_view pattern);

  uint64_t add(std::string pattern, caf::actor subscriber);
  bool remove(uint64_t id);
  // Removes every subscription of `subscriber`; returns them.
  std::vector<subscription> remove_subscriber(const caf::actor_addr& subscriber);

  subscription* find(uint64_t id);
  // Whether `subscriber` has any subscription left (the bus monitors each subscriber once).
  bool has_subscriber(const caf::actor_addr& subscriber) const;

  // Calls f(subscription&) for every subscription matching `topic`, oldest subscription
  // first. That order is part of the contract: a subscriber that subscribed before another has
  // each event in its mailbox before the other can react to it (the simulated exchange relies
  // on it to see a tick before any order placed on that tick). `f` must not change the table.
  template <class F>
  void for_each_match(const std::string& topic, F&& f) {
    auto exact = exact_.find(topic);
    if (patterns_.empty()) {
      if (exact != exact_.end())
        for (auto id : exact->second) // filed in subscription order
          f(by_id_.at(id));
      return;
    }
    matched_.clear();
    if (exact != exact_.end())
      matched_.insert(matched_.end(), exact->second.begin(), exact->second.end());
    auto longest = std::min(topic.size(), longest_prefix_);
    // Patterns are few next to events: the prefix walk allocates once per event, only when
    // any pattern subscription exists.
    std::string prefix;
    prefix.reserve(longest);
    for (size_t length = 0;; ++length) {
      if (auto filed = patterns_.find(prefix); filed != patterns_.end())
        for (auto id : filed->second)
          if (matches(by_id_.at(id).pattern, topic))
            matched_.push_back(id);
      if (length == longest)
        break;
      prefix += topic[length];
    }
    // Ids grow with every subscription: their order is the order of subscribing.
    std::sort(matched_.begin(), matched_.end());
    for (auto id : matched_)
      f(by_id_.at(id));
  }

  // Calls f(subscription&) for every subscription to exactly `topic` (no pattern).
  template <class F>
  void for_each_exact(const std::string& topic, F&& f) {
    if (auto exact = exact_.find(topic); exact != exact_.end())
      for (auto id : exact->second)
        f(by_id_.at(id));
  }

  // Calls f(subscription&) for every subscription to the glob `pattern`, as written.
  template <class F>
  void for_each_of_pattern(const std::string& pattern, F&& f) {
    if (auto filed = patterns_.find(literal_prefix(pattern)); filed != patterns_.end())
      for (auto id : filed->second)
        if (auto& sub = by_id_.at(id); sub.pattern == pattern)
          f(sub);
  }

  template <class F>
  void for_each(F&& f) const {
    for (const auto& [id, sub] : by_id_)
      f(sub);
  }

  template <class F>
  void for_each_mutable(F&& f) {
    for (auto& [id, sub] : by_id_)
      f(sub);
  }

  size_t size() const {
    return by_id_.size();
  }

private:
  static bool matches(const std::string& pattern, std::string_view topic);

  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, subscription> by_id_;
  std::unordered_map<std::string, std::vector<uint64_t>> exact_;
  std::unordered_map<std::string, std::vector<uint64_t>> patterns_; // by literal prefix
  std::vector<uint64_t> matched_; // for_each_match's scratch space, kept to save allocations
  size_t longest_prefix_ = 0;
};

} // namespace brokedancer
