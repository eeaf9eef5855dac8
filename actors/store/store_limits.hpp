#pragma once

// The checks every state store backend applies before it touches data, so that both answer a
// bad request with the same error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "messages/state_store.hpp"

namespace brokedancer {

struct store_limits {
  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 4 * 1024 * 1024;
};

// An empty error when the key is acceptable.
caf::error check_key(const store_limits& limits, std::string_view key);
// Checks size and that the text is JSON.
caf::error check_value(const store_limits& limits, std::string_view json);
caf::error check_ttl(int64_t ttl_ms);
// All three checks a write needs (set, set_if_not_exists), in the order both backends apply.
caf::error check_write(const store_limits& limits, std::string_view key, std::string_view json,
                       int64_t ttl_ms);
// Every key of a get_many: one bad key refuses the whole request.
caf::error check_keys(const store_limits& limits, const std::vector<std::string>& keys);
// Everything a set_many writes, checked before anything is written (all or nothing): the TTL,
// then each item's key and value in order.
caf::error check_items(const store_limits& limits, const std::vector<key_value>& items,
                       int64_t ttl_ms);

// A lease's name (as a key) and a token of 16 to 128 printable bytes without spaces or quotes.
caf::error check_lease_token(const store_limits& limits, std::string_view name,
                             std::string_view token);
// The same, and a TTL of 1 ms to max_lease_ms.
caf::error check_lease(const store_limits& limits, std::string_view name, std::string_view token,
                       int64_t ttl_ms);
// Who asks for a lease: 1 to 128 printable bytes without spaces.
caf::error check_lease_holder(std::string_view holder);
// A log's name (as a key) and the entries to append to it (each a value).
caf::error check_entries(const store_limits& limits, const std::string& log,
                         const std::vector<std::string>& entries);
// A log's name (as a key) and an entry id: "", "0", or "<ms>-<seq>".
caf::error check_log_id(const store_limits& limits, std::string_view log, std::string_view id);

// Parses a stored value as a JSON integer in int64 range, as increment needs it.
bool parse_integer(std::string_view json, int64_t& value);

} // namespace brokedancer
