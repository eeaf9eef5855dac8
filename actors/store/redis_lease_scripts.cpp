#include "actors/store/redis_lease_scripts.hpp"

#include <nlohmann/json.hpp>

namespace brokedancer::lease_scripts {

std::optional<lease_grant> read_grant(const redis_reply& reply, bool with_token) {
  using kind = redis_reply::kind;
  const auto& e = reply.elements;
  if (reply.type != kind::array || e.size() != 4 || e[0].type != kind::integer
      || e[1].type != kind::string || e[2].type != kind::integer || e[3].type != kind::integer)
    return std::nullopt;
  lease_grant grant;
  grant.held = e[0].integer == 1;
  if (e[1].text.empty())
    return grant; // free
  grant.remaining_ms = std::max<int64_t>(e[2].integer, 0);
  auto value = nlohmann::json::parse(e[1].text, nullptr, false);
  if (!value.is_object()) {
    grant.holder = "(not a lease: the key holds something else)";
    return grant;
  }
  auto text = [&](const char* name) {
    auto found = value.find(name);
    return found != value.end() && found->is_string() ? found->get<std::string>() : std::string{};
  };
  auto number = [&](const char* name) -> int64_t {
    auto found = value.find(name);
    return found != value.end() && found->is_number_integer() ? found->get<int64_t>() : 0;
  };
  grant.holder = text("holder").substr(0, 128);
  if (with_token)
    grant.token = text("token");
  grant.fence = static_cast<uint64_t>(std::max<int64_t>(number("fence"), 0));
  auto granted = number("granted_ms");
  grant.age_ms = granted > 0 ? std::max<int64_t>(e[3].integer - granted, 0) : 0;
  return grant;
}

} // namespace brokedancer::lease_scripts
