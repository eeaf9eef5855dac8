#pragma once

// The pace of a recorded market-data stream played back into the runtime, as plain code with
// time passed in: at its original pace (each tick when as much time has passed since the first
// as passed between them when they were recorded) or as fast as the runtime takes them. It holds
// one chunk read from the stream at a time and says where to read the next.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "messages/market_stream.hpp"

namespace brokedancer {

class replay_pacer {
public:
  explicit replay_pacer(bool original_pace) : original_pace_(original_pace) {}

  // The next entries read from the stream, in order; empty: the stream has no more.
  void add(const std::vector<stream_entry>& entries);

  // Whether to read the next chunk now: what is held runs low and the stream is not done.
  bool wants_more() const {
    return !finished_ && !reading_ && held_.size() < low_water;
  }
  void reading() {
    reading_ = true;
  }
  // The read did not come back: the next wants_more() asks again.
  void read_failed() {
    reading_ = false;
  }
  // The id to read from next ("-" at first).
  std::string next_from() const;

  // The ticks due `elapsed_us` after the replay began, at most `max`, out of what is held.
  std::vector<market_tick> due(int64_t elapsed_us, size_t max);
  // When the next held tick is due (elapsed µs; 0 at once); nullopt when none is held.
  std::optional<int64_t> next_due_us() const;

  // Every tick of the stream has been handed out.
  bool done() const {
    return finished_ && held_.empty();
  }
  uint64_t replayed() const {
    return replayed_;
  }

  static constexpr size_t chunk = 1000;
  static constexpr size_t low_water = 500;

private:
  bool original_pace_;
  bool reading_ = false;
  bool finished_ = false;
  std::deque<stream_entry> held_;
  std::optional<int64_t> first_at_us_;
  uint64_t last_ms_ = 0;
  uint64_t last_seq_ = 0;
  bool any_read_ = false;
  uint64_t replayed_ = 0;
};

} // namespace brokedancer
