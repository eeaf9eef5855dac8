#include "actors/market/replay_pacer.hpp"

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
  while (!held_.empty() && ticks.size() < max) {
    const auto& tick = held_.front().tick;
    if (!first_at_us_)
      first_at_us_ = tick.at_us;
    if (original_pace_ && tick.at_us - *first_at_us_ > elapsed_us)
      break;
    ticks.push_back(tick);
    held_.pop_front();
    ++replayed_;
  }
  return ticks;
}

std::optional<int64_t> replay_pacer::next_due_us() const {
  if (held_.empty())
    return std::nullopt;
  if (!original_pace_ || !first_at_us_)
    return 0;
  return held_.front().tick.at_us - *first_at_us_;
}

} // namespace brokedancer
