#pragma once

// The rate limiter's decisions as plain code, time passed in (microseconds on any clock that
// the caller keeps from going backwards): the memory backend runs them, the Redis backend's
// scripts (limiter_scripts) do the same arithmetic on the Redis server, and the tests compare
// both with hand-computed answers without an actor system.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "messages/rate_limiter.hpp"

namespace brokedancer {

// Sliding window: `admitted` holds the times of the requests admitted in the last window,
// oldest first. Requests at or before now - window have left it.
rate_decision decide_sliding_window(std::deque<int64_t>& admitted, const rate_limit& limit,
                                    uint32_t cost, int64_t now_us);

// Token bucket: the tokens left and when they were counted. A bucket starts full (`limit`
// tokens) and refills at limit per window, continuously, up to limit; a request takes `cost`
// tokens when there are as many. Tokens, not a time since the epoch moved on by window / limit
// per request: at 1.7e15 us a double holds a time only to a quarter of a microsecond, and the
// error of a fractional interval would add up request after request.
struct token_bucket_state {
  double tokens = -1; // below 0: never used (full)
  int64_t counted_at_us = 0;
};

rate_decision decide_token_bucket(token_bucket_state& bucket, const rate_limit& limit,
                                  uint32_t cost, int64_t now_us);

// Milliseconds from microseconds, rounded up: a caller that waits retry_after_ms is never early.
int64_t ceil_ms(double us);

// The state of every name, bounded: names whose state has expired are forgotten by sweep(),
// and a request that would keep more than `max_names` names or `max_entries` sliding-window
// entries live is refused (a runaway caller exhausts its budget, not the node's memory).
class rate_table {
public:
  explicit rate_table(size_t max_names = 100000, size_t max_entries = 4000000)
    : max_names_(max_names), max_entries_(max_entries) {}

  // The decision, or nullopt when the request would go over a bound. The request must have
  // passed check_rate_request.
  std::optional<rate_decision> take(const std::string& name, const rate_limit& limit, uint32_t cost,
                                    int64_t now_us);

  // Forgets every name whose requests have all left their window (bucket: refilled).
  void sweep(int64_t now_us);

  size_t names() const {
    return entries_.size();
  }

  size_t max_names() const {
    return max_names_;
  }

  size_t max_entries() const {
    return max_entries_;
  }

private:
  struct entry {
    std::deque<int64_t> admitted; // sliding window
    token_bucket_state bucket;
    int64_t idle_at_us = 0; // from then on the entry says nothing a fresh one would not
  };

  size_t max_names_;
  size_t max_entries_;
  size_t entries_held_ = 0; // sliding-window entries, over all names
  int64_t last_now_us_ = 0;
  // Keyed by algorithm and name: the two algorithms keep apart budgets of the same name, as in
  // Redis (ratelimit:sw:<name>, ratelimit:tb:<name>).
  std::unordered_map<std::string, entry> entries_;
};

} // namespace brokedancer
