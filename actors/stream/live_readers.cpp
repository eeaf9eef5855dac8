#include "actors/stream/live_readers.hpp"

#include <algorithm>

namespace brokedancer {

bool live_readers::add(std::string stream, caf::actor subscriber,
                       std::pair<uint64_t, uint64_t> cursor) {
  if (find(stream, subscriber.address()))
    return false;
  readers_.push_back({std::move(stream), std::move(subscriber), cursor, false, next_generation_++});
  return true;
}

bool live_readers::remove(const std::string& stream, const caf::actor_addr& subscriber) {
  auto before = readers_.size();
  readers_.erase(std::remove_if(readers_.begin(), readers_.end(),
                                [&](const live_reader& r) {
                                  return r.stream == stream && r.subscriber.address() == subscriber;
                                }),
                 readers_.end());
  return readers_.size() != before;
}

size_t live_readers::remove_all(const caf::actor_addr& subscriber) {
  auto before = readers_.size();
  readers_.erase(
      std::remove_if(readers_.begin(), readers_.end(),
                     [&](const live_reader& r) { return r.subscriber.address() == subscriber; }),
      readers_.end());
  return before - readers_.size();
}

bool live_readers::reads_any(const caf::actor_addr& subscriber) const {
  return std::any_of(readers_.begin(), readers_.end(),
                     [&](const live_reader& r) { return r.subscriber.address() == subscriber; });
}

live_reader* live_readers::find(const std::string& stream, const caf::actor_addr& subscriber) {
  for (auto& r : readers_)
    if (r.stream == stream && r.subscriber.address() == subscriber)
      return &r;
  return nullptr;
}

live_reader* live_readers::find(const std::string& stream, const caf::actor_addr& subscriber,
                                uint64_t generation) {
  auto* r = find(stream, subscriber);
  return r && r->generation == generation ? r : nullptr;
}

std::vector<std::string> live_readers::streams() const {
  std::vector<std::string> names;
  for (const auto& r : readers_)
    if (std::find(names.begin(), names.end(), r.stream) == names.end())
      names.push_back(r.stream);
  return names;
}

} // namespace brokedancer
