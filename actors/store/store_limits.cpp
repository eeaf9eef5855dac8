#include "actors/store/store_limits.hpp"

#include <charconv>

#include "core/json_check.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

caf::error check_key(const store_limits& limits, std::string_view key) {
  if (key.empty())
    return make_error(errc::invalid_argument, "the key is empty");
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
  if (!is_json_text(json))
    return make_error(errc::invalid_json, "the value is not valid JSON");
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

bool parse_integer(std::string_view json, int64_t& value) {
  if (json.empty())
    return false;
  auto [end, ec] = std::from_chars(json.data(), json.data() + json.size(), value);
  return ec == std::errc{} && end == json.data() + json.size();
}

} // namespace brokedancer
