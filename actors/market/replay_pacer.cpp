#include "actors/market/replay_pacer.hpp"

#include <algorithm>

namespace brokedancer {

void replay_pacer::add(const std::vector<stream_entry>& entries) {
  reading_ = false;
  if (entries.empty()) {
    finished_ = true;
    return;
  }
  for (const auto& entry : entries) {
    uint64_t ms = 0;
    uint64_t seq = 0;
    if (!parse_stream_id(entry.id, ms, seq))
      continue;
    last_ms_ = ms;
    last_seq_ = seq;
    any_read_ = true;
    held_.push_back(entry);
  }
  // A short chunk does not mean the end: on Redis entries that are not ticks are left out of
  // it. Only a read that finds nothing more does.
}

std::string replay_pacer::next_from() const {
  if (!any_read_)
    return "-";
  // The id right after the last one read: a replay's start is inclusive.
  return last_seq_ == UINT64_MAX ? format_stream_id(last_ms_ + 1, 0)
                                 : format_stream_id(last_ms_, last_seq_ + 1);
}

std::vector<market_tick> replay_pacer::due(int64_t elapsed_us, size_t max) {
  std::vector<market_tick> ticks;
  auto take = [&] {
    ticks.push_back(held_.front().tick);
    held_.pop_front();
    ++replayed_;
  };
  int64_t moment_at_us = 0;
  while (!held_.empty() && ticks.size() < max) {
    const auto& tick = held_.front().tick;
    if (!original_pace_) {
      take();
      continue;
    }
    if (!recorded_origin_us_)
      recorded_origin_us_ = tick.at_us - elapsed_us; // the clock starts with the first tick
    bool back_in_time = last_moment_at_us_ && tick.at_us < *last_moment_at_us_;
    if (back_in_time && !ticks.empty())
      break; // played on its own
    if (back_in_time && !stepped_back()) {
      take(); // a stray stamp: at once, moving nothing
      break;
    }
    if (ticks.empty()) {
      if (back_in_time) // the recording's clock stepped back: it starts over from here
        recorded_origin_us_ = tick.at_us - elapsed_us;
      auto due_at = tick.at_us - *recorded_origin_us_;
      if (due_at - elapsed_us > max_gap_us) {
        *recorded_origin_us_ = tick.at_us - (elapsed_us + max_gap_us);
        break;
      }
      if (due_at > elapsed_us)
        break;
      if (elapsed_us - due_at > tolerated_lateness_us)
        *recorded_origin_us_ -= elapsed_us - due_at;
      last_moment_at_us_ = moment_at_us = tick.at_us;
    } else if (tick.at_us - moment_at_us > moment_us) {
      break; // the next moment
    }
    take();
  }
  return ticks;
}

// The held tick at the front is recorded before the moment played last: a stray stamp (another
// client's, a clock off for one tick) when the tick after it is back in line, a clock that
// stepped back when that one is behind too. Without a tick after it to tell, a stray: played at
// once, the least a mistaken guess can cost.
bool replay_pacer::stepped_back() const {
  return held_.size() >= 2 && held_[1].tick.at_us < *last_moment_at_us_;
}

std::optional<int64_t> replay_pacer::next_due_us() const {
  if (held_.empty())
    return std::nullopt;
  if (!original_pace_ || !recorded_origin_us_)
    return 0;
  return std::max<int64_t>(held_.front().tick.at_us - *recorded_origin_us_, 0);
}

} // namespace brokedancer
