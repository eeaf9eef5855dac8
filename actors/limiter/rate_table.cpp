#include "actors/limiter/rate_table.hpp"

#include <algorithm>
#include <cmath>

namespace brokedancer {

int64_t ceil_ms(double us) {
  return std::max<int64_t>(static_cast<int64_t>(std::ceil(us / 1000.0)), 1);
}

namespace {

void leave_window(std::deque<int64_t>& admitted, int64_t window_us, int64_t now_us) {
  while (!admitted.empty() && admitted.front() <= now_us - window_us)
    admitted.pop_front();
}

} // namespace

rate_decision decide_sliding_window(std::deque<int64_t>& admitted, const rate_limit& limit,
                                    uint32_t cost, int64_t now_us) {
  auto window_us = limit.window_ms * 1000;
  leave_window(admitted, window_us, now_us);
  auto count = static_cast<uint64_t>(admitted.size());
  rate_decision decision;
  if (count + cost > limit.limit) {
    // The request fits once the oldest (count + cost - limit) admitted ones have left.
    auto must_leave = count + cost - limit.limit;
    auto frees_at = admitted[static_cast<size_t>(must_leave - 1)] + window_us;
    decision.remaining = count < limit.limit ? static_cast<uint32_t>(limit.limit - count) : 0;
    decision.retry_after_ms = ceil_ms(static_cast<double>(frees_at - now_us));
    return decision;
  }
  admitted.insert(admitted.end(), cost, now_us);
  decision.allowed = true;
  decision.remaining = static_cast<uint32_t>(limit.limit - count - cost);
  return decision;
}

rate_decision decide_token_bucket(token_bucket_state& bucket, const rate_limit& limit,
                                  uint32_t cost, int64_t now_us) {
  auto full = static_cast<double>(limit.limit);
  auto window_us = static_cast<double>(limit.window_ms) * 1000.0;
  if (bucket.tokens < 0) {
    bucket.tokens = full;
    bucket.counted_at_us = now_us;
  }
  if (now_us > bucket.counted_at_us) {
    bucket.tokens += static_cast<double>(now_us - bucket.counted_at_us) * full / window_us;
    bucket.counted_at_us = now_us;
  }
  bucket.tokens = std::clamp(bucket.tokens, 0.0, full);
  rate_decision decision;
  // The small addend (as in the Redis script) keeps 0.9999999999 tokens from failing a cost of
  // 1 after a refill whose arithmetic is not exact in binary.
  if (bucket.tokens + 1e-9 < cost) {
    decision.remaining = static_cast<uint32_t>(std::floor(bucket.tokens + 1e-9));
    decision.retry_after_ms = ceil_ms(std::ceil((cost - bucket.tokens) * window_us / full));
    return decision;
  }
  bucket.tokens = std::max(bucket.tokens - cost, 0.0);
  decision.allowed = true;
  decision.remaining = static_cast<uint32_t>(std::floor(bucket.tokens + 1e-9));
  return decision;
}

std::optional<rate_decision> rate_table::take(const std::string& name, const rate_limit& limit,
                                              uint32_t cost, int64_t now_us) {
  // A clock read that goes backwards (another thread's earlier read) counts as the last one.
  now_us = std::max(now_us, last_now_us_);
  last_now_us_ = now_us;
  bool sliding = limit.algorithm == rate_algorithm::sliding_window;
  auto key = (sliding ? "sw:" : "tb:") + name;
  // Sweeping first: it may forget this very name (its state expired), never under our feet.
  bool new_name = entries_.find(key) == entries_.end();
  if ((new_name && entries_.size() >= max_names_)
      || (sliding && entries_held_ + cost > max_entries_))
    sweep(now_us);
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    if (entries_.size() >= max_names_)
      return std::nullopt;
    found = entries_.emplace(std::move(key), entry{}).first;
  }
  auto& e = found->second;
  if (sliding) {
    auto window_us = limit.window_ms * 1000;
    entries_held_ -= e.admitted.size();
    leave_window(e.admitted, window_us, now_us);
    entries_held_ += e.admitted.size();
    // Only a request that would be admitted adds entries.
    if (e.admitted.size() + cost <= limit.limit && entries_held_ + cost > max_entries_)
      return std::nullopt;
    auto decision = decide_sliding_window(e.admitted, limit, cost, now_us);
    if (decision.allowed)
      entries_held_ += cost;
    e.idle_at_us = e.admitted.empty() ? now_us : e.admitted.back() + window_us;
    return decision;
  }
  auto decision = decide_token_bucket(e.bucket, limit, cost, now_us);
  // Full again: a fresh bucket would say the same.
  auto refill_us =
      (limit.limit - e.bucket.tokens) * static_cast<double>(limit.window_ms) * 1000.0 / limit.limit;
  e.idle_at_us = now_us + static_cast<int64_t>(std::ceil(refill_us));
  return decision;
}

void rate_table::sweep(int64_t now_us) {
  for (auto i = entries_.begin(); i != entries_.end();) {
    if (i->second.idle_at_us <= now_us) {
      entries_held_ -= i->second.admitted.size();
      i = entries_.erase(i);
    } else {
      ++i;
    }
  }
}

} // namespace brokedancer
