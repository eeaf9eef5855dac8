#pragma once

// Rate limits as the limiter tests write them: sliding(limit, window_ms), bucket(limit, ...).

#include <cstdint>

#include "messages/rate_limiter.hpp"

namespace brokedancer::testing {

inline rate_limit sliding(uint32_t limit, int64_t window_ms) {
  return {rate_algorithm::sliding_window, limit, window_ms};
}

inline rate_limit bucket(uint32_t limit, int64_t window_ms) {
  return {rate_algorithm::token_bucket, limit, window_ms};
}

} // namespace brokedancer::testing
