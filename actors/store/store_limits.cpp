#include "actors/store/store_limits.hpp"

#include <charconv>

#include "actors/store/log_table.hpp"
#include "core/json_check.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

caf::error check_key(const store_limits& limits, std::string_view key) {
  if (key.empty())
    return make_error(errc::invalid_argument, "the key is empty");
  // Where the Redis backends keep leases, their fences, the rate limiter's budgets, the
  // market-data streams and the time series, under the same deployment prefix: a plain write
  // there could forge or wreck a lease, empty a shared budget or replace a stream with a string
  // (SET takes a key of any type), so no request names such a key.
  for (std::string_view reserved :
       {"lease:", "lease-fence:", "ratelimit:", "ratelimit-seq:", "stream:", "ts:", "bars:"})
    if (key.substr(0, reserved.size()) == reserved)
      return make_error(errc::invalid_argument,
                        "keys under lease:, lease-fence:, ratelimit:, ratelimit-seq:, stream:, ts: "
                        "and bars: are the leases', rate limiters', streams' and time series' "
                        "own");
  if (key.size() > limits.max_key_bytes)
    return make_error(errc::key_too_large,
                      "a key of " + std::to_string(key.size()) + " bytes is over the limit of "
                          + std::to_string(limits.max_key_bytes) + " (state.max_key_bytes)");
  return {};
}

caf::error check_value(const store_limits& limits, std::string_view json) {
  if (json.size() > limits.max_value_bytes)
    return make_error(errc::value_too_large,
                      "a value of " + std::to_string(json.size()) + " bytes is over the limit of "
                          + std::to_string(limits.max_value_bytes) + " (state.max_value_bytes)");
  if (auto problem = json_text_problem(json); !problem.empty())
    return make_error(errc::invalid_json, "the value " + problem);
  return {};
}

caf::error check_ttl(int64_t ttl_ms) {
  if (ttl_ms < 0)
    return make_error(errc::invalid_argument,
                      "a TTL of " + std::to_string(ttl_ms) + " ms; use 0 for no expiry");
  return {};
}

caf::error check_write(const store_limits& limits, std::string_view key, std::string_view json,
                       int64_t ttl_ms) {
  if (auto err = check_key(limits, key))
    return err;
  if (auto err = check_value(limits, json))
    return err;
  return check_ttl(ttl_ms);
}

caf::error check_keys(const store_limits& limits, const std::vector<std::string>& keys) {
  for (const auto& key : keys)
    if (auto err = check_key(limits, key))
      return err;
  return {};
}

caf::error check_items(const store_limits& limits, const std::vector<key_value>& items,
                       int64_t ttl_ms) {
  if (auto err = check_ttl(ttl_ms))
    return err;
  for (const auto& item : items) {
    if (auto err = check_key(limits, item.key))
      return err;
    if (auto err = check_value(limits, item.json))
      return err;
  }
  return {};
}

namespace {

bool printable_word(std::string_view text) {
  for (unsigned char c : text)
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\')
      return false;
  return true;
}

} // namespace

caf::error check_lease_token(const store_limits& limits, std::string_view name,
                             std::string_view token) {
  if (auto err = check_key(limits, name))
    return err;
  if (token.size() < 16 || token.size() > 128 || !printable_word(token))
    return make_error(errc::invalid_argument,
                      "a lease token is 16 to 128 printable bytes without spaces or quotes");
  return {};
}

caf::error check_lease(const store_limits& limits, std::string_view name, std::string_view token,
                       int64_t ttl_ms) {
  if (auto err = check_lease_token(limits, name, token))
    return err;
  if (ttl_ms < 1 || ttl_ms > max_lease_ms)
    return make_error(errc::invalid_argument,
                      "a lease lasts 1 ms to 24 h, not " + std::to_string(ttl_ms) + " ms");
  return {};
}

caf::error check_lease_holder(std::string_view holder) {
  if (holder.empty() || holder.size() > 128 || !printable_word(holder))
    return make_error(errc::invalid_argument,
                      "a lease holder is named by 1 to 128 printable bytes without spaces");
  return {};
}

caf::error check_entries(const store_limits& limits, const std::string& log,
                         const std::vector<std::string>& entries) {
  if (auto err = check_key(limits, log))
    return err;
  for (const auto& entry : entries)
    if (auto err = check_value(limits, entry))
      return err;
  return {};
}

caf::error check_log_id(const store_limits& limits, std::string_view log, std::string_view id) {
  if (auto err = check_key(limits, log))
    return err;
  std::pair<uint64_t, uint64_t> parsed;
  if (!parse_log_id(std::string{id}, parsed))
    return make_error(errc::invalid_argument, "a log entry id is <ms>-<seq>");
  return {};
}

bool parse_integer(std::string_view json, int64_t& value) {
  if (json.empty())
    return false;
  auto [end, ec] = std::from_chars(json.data(), json.data() + json.size(), value);
  return ec == std::errc{} && end == json.data() + json.size();
}

} // namespace brokedancer
