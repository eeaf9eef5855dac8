#include "core/redis_url.hpp"

#include <charconv>

namespace brokedancer {

namespace {

template <class Int>
bool parse_int(std::string_view text, Int& value) {
  if (text.empty())
    return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

} // namespace

std::optional<redis_endpoint> parse_redis_url(std::string_view url, std::string& problem) {
  constexpr std::string_view scheme = "redis://";
  const std::string expected =
      "expected redis://host:port/db, optionally with :password@ before the host";
  if (url.substr(0, scheme.size()) != scheme) {
    problem = expected + "; the scheme must be redis://";
    return std::nullopt;
  }
  auto rest = url.substr(scheme.size());
  redis_endpoint result;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      problem = expected + "; the part before @ needs a colon: :password@ or user:password@";
      return std::nullopt;
    }
    result.username = std::string(userinfo.substr(0, colon));
    result.password = std::string(userinfo.substr(colon + 1));
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, result.db) || result.db < 0)) {
      problem = expected + "; the database must be a number from 0";
      return std::nullopt;
    }
  }
  auto colon = authority.rfind(':');
  result.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    unsigned port = 0;
    if (!parse_int(authority.substr(colon + 1), port) || port == 0 || port > 65535) {
      problem = expected + "; the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    result.port = static_cast<uint16_t>(port);
  }
  if (result.host.empty()) {
    problem = expected + "; the host is missing";
    return std::nullopt;
  }
  return result;
}

} // namespace brokedancer
