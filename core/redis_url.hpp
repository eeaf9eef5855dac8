#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brokedancer {

// Where a Redis server is and how to log in: redis://[[user]:password@]host[:port][/db].
struct redis_endpoint {
  std::string host;
  uint16_t port = 6379;
  int db = 0;
  std::string username; // Redis 6 ACL user; empty means the default user
  std::string password;
};

// Parses a redis:// URL. On failure returns nullopt and sets `problem` to what was expected.
std::optional<redis_endpoint> parse_redis_url(std::string_view url, std::string& problem);

} // namespace brokedancer
