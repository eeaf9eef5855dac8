#pragma once

// The live subscribers of the market-data streams, with where each one is: the id of the last
// entry it was sent, and whether a batch to it is still unanswered. The stream itself is the
// buffer: a subscriber that is behind is sent the next batch read from the stream once it has
// answered the last, so it costs no memory of ours however slow it is.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

namespace brokedancer {

struct live_reader {
  std::string stream;
  caf::actor subscriber;
  std::pair<uint64_t, uint64_t> cursor{0, 0}; // last id sent (or the last id at subscription)
  bool in_flight = false;
  uint64_t generation = 0; // tells a reader from a later one of the same subscriber and stream
};

class live_readers {
public:
  // False when the subscriber reads that stream already.
  bool add(std::string stream, caf::actor subscriber, std::pair<uint64_t, uint64_t> cursor);
  bool remove(const std::string& stream, const caf::actor_addr& subscriber);
  // Every reader of that subscriber goes (it is down); how many there were.
  size_t remove_all(const caf::actor_addr& subscriber);
  bool reads_any(const caf::actor_addr& subscriber) const;

  live_reader* find(const std::string& stream, const caf::actor_addr& subscriber);
  live_reader* find(const std::string& stream, const caf::actor_addr& subscriber,
                    uint64_t generation);

  std::vector<live_reader>& all() {
    return readers_;
  }
  const std::vector<live_reader>& all() const {
    return readers_;
  }

  // The streams read by anyone, each once.
  std::vector<std::string> streams() const;

private:
  std::vector<live_reader> readers_;
  uint64_t next_generation_ = 1;
};

} // namespace brokedancer
