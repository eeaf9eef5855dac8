#include "messages/rate_limiter.hpp"

namespace brokedancer {

std::string to_string(rate_algorithm algorithm) {
  switch (algorithm) {
    case rate_algorithm::sliding_window: return "sliding_window";
    case rate_algorithm::token_bucket: return "token_bucket";
  }
  return "rate_algorithm(" + std::to_string(static_cast<int>(algorithm)) + ")";
}

bool from_string(const std::string& text, rate_algorithm& algorithm) {
  if (text == "sliding_window")
    algorithm = rate_algorithm::sliding_window;
  else if (text == "token_bucket")
    algorithm = rate_algorithm::token_bucket;
  else
    return false;
  return true;
}

std::string check_rate_request(const std::string& name, const rate_limit& limit, uint32_t cost) {
  if (name.empty())
    return "a rate limiter needs a name";
  if (name.size() > max_rate_name_bytes)
    return "a rate limiter's name has " + std::to_string(name.size()) + " bytes, more than "
           + std::to_string(max_rate_name_bytes);
  if (!is_valid(limit.algorithm))
    return "unknown rate limiting algorithm " + std::to_string(static_cast<int>(limit.algorithm));
  auto bound = limit.algorithm == rate_algorithm::sliding_window ? max_sliding_window_limit
                                                                 : max_token_bucket_limit;
  if (limit.limit == 0 || limit.limit > bound)
    return "a " + to_string(limit.algorithm) + " limit must be 1 .. " + std::to_string(bound)
           + " requests per window, not " + std::to_string(limit.limit);
  if (limit.window_ms <= 0 || limit.window_ms > max_rate_window_ms)
    return "a rate window must be 1 .. " + std::to_string(max_rate_window_ms) + " ms, not "
           + std::to_string(limit.window_ms);
  if (cost == 0 || cost > limit.limit)
    return "a request's cost must be 1 .. the limit (" + std::to_string(limit.limit) + "), not "
           + std::to_string(cost) + ": a larger one could never pass";
  if (cost > max_rate_cost)
    return "a request may take at most " + std::to_string(max_rate_cost) + " at once, not "
           + std::to_string(cost);
  return {};
}

} // namespace brokedancer
