#pragma once

// The pace of a recorded market-data stream played back into the runtime, as plain code with
// time passed in: at its original pace (each tick when as much time has passed since the first
// as passed between them when they were recorded) or as fast as the runtime takes them. It holds
// one chunk read from the stream at a time and says where to read the next.
//
// At the original pace the same recording gives the bots the same run, as long as they act on
// a tick within its recorded gap: the clock starts when the first tick is played (not when the
// market was told to open: a slow first read must not make the first ticks due at once), one
// recorded moment is played at a time (ticks recorded within `moment_us` after the moment's
// first), and a moment played late moves the clock on by its lateness, so the recorded gap after
// it is kept. A tick recorded before the moment played last is played at once, on its own, moving
// nothing -- unless the one after it is behind too: then the recording's clock stepped back, and
// the replay's starts over from there. (A stamp far ahead is waited for, as recorded.) Played all
// at once, late ticks would reach a bot together that reached it apart when recorded: one whose
// order from the first is still open would let the second pass, and the runs would differ.

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

  // The ticks due `elapsed_us` after the replay began (a steady clock), at most `max`, out of
  // what is held; at the original pace the ticks of one recorded moment at most.
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
  // Ticks recorded this soon after a moment's first are of that moment (the simulated market's
  // symbols of one tick are published microseconds apart); one recorded before it starts the
  // next.
  static constexpr int64_t moment_us = 1000;
  // A moment this late is played without moving the clock (timer lateness, not a stall: moving
  // it for every late timer would slow a long recording down).
  static constexpr int64_t tolerated_lateness_us = 5000;
  // The longest wait between two recorded moments. A recording is outside input: one tick
  // stamped in year 9999 (or two at 0, read as a clock that stepped back) would otherwise stop
  // the market for the rest of the run, and overflow the timer. A longer gap is played as this.
  static constexpr int64_t max_gap_us = 60 * 1000000LL;

private:
  bool original_pace_;
  bool reading_ = false;
  bool finished_ = false;
  std::deque<stream_entry> held_;
  // The clock: a tick recorded at `at_us` is due at elapsed `at_us - recorded_origin_us_`.
  std::optional<int64_t> recorded_origin_us_;
  std::optional<int64_t> last_moment_at_us_; // when the moment played last was recorded

  bool stepped_back() const;
  uint64_t last_ms_ = 0;
  uint64_t last_seq_ = 0;
  bool any_read_ = false;
  uint64_t replayed_ = 0;
};

} // namespace brokedancer
