#include "actors/bus/subscription_table.hpp"

#include <algorithm>

#include "core/glob.hpp"

namespace brokedancer {

namespace {

void erase_id(std::unordered_map<std::string, std::vector<uint64_t>>& index, const std::string& key,
              uint64_t id) {
  auto found = index.find(key);
  if (found == index.end())
    return;
  auto& ids = found->second;
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty())
    index.erase(found);
}

} // namespace

bool subscription_table::is_pattern(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\')
      ++i;
    else if (text[i] == '*' || text[i] == '?' || text[i] == '[')
      return true;
  }
  return false;
}

std::string subscription_table::literal_prefix(std::string_view pattern) {
  std::string prefix;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?' || c == '[')
      break;
    if (c == '\\' && i + 1 < pattern.size())
      c = pattern[++i];
    prefix += c;
  }
  return prefix;
}

bool subscription_table::matches(const std::string& pattern, std::string_view topic) {
  return glob_match(pattern, topic);
}

uint64_t subscription_table::add(std::string pattern, caf::actor subscriber) {
  subscription sub;
  sub.id = next_id_++;
  sub.is_pattern = is_pattern(pattern);
  sub.pattern = std::move(pattern);
  sub.subscriber = std::move(subscriber);
  if (sub.is_pattern) {
    auto prefix = literal_prefix(sub.pattern);
    longest_prefix_ = std::max(longest_prefix_, prefix.size());
    patterns_[prefix].push_back(sub.id);
  } else {
    // An exact topic may still contain escapes, as a pattern would; file it unescaped.
    exact_[literal_prefix(sub.pattern)].push_back(sub.id);
  }
  auto id = sub.id;
  by_id_.emplace(id, std::move(sub));
  return id;
}

bool subscription_table::remove(uint64_t id) {
  auto found = by_id_.find(id);
  if (found == by_id_.end())
    return false;
  auto& sub = found->second;
  erase_id(sub.is_pattern ? patterns_ : exact_, literal_prefix(sub.pattern), id);
  by_id_.erase(found);
  return true;
}

std::vector<subscription> subscription_table::remove_subscriber(const caf::actor_addr& subscriber) {
  std::vector<subscription> removed;
  for (const auto& [id, sub] : by_id_)
    if (sub.subscriber.address() == subscriber)
      removed.push_back(sub);
  for (const auto& sub : removed)
    remove(sub.id);
  return removed;
}

subscription* subscription_table::find(uint64_t id) {
  auto found = by_id_.find(id);
  return found == by_id_.end() ? nullptr : &found->second;
}

bool subscription_table::has_subscriber(const caf::actor_addr& subscriber) const {
  return std::any_of(by_id_.begin(), by_id_.end(), [&](const auto& entry) {
    return entry.second.subscriber.address() == subscriber;
  });
}

} // namespace brokedancer
