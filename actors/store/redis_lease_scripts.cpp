#include "actors/store/redis_lease_scripts.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_fields.hpp"
#include "core/json_text.hpp"

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
  auto value = parse_json_within(e[1].text);
  if (!value.is_object()) {
    grant.holder = "(not a lease: the key holds something else)";
    return grant;
  }
  grant.holder = text_field(value, "holder").substr(0, 128);
  if (with_token)
    grant.token = text_field(value, "token");
  grant.fence = count_field(value, "fence");
  auto granted =
      static_cast<int64_t>(std::min<uint64_t>(count_field(value, "granted_ms"), uint64_t{1} << 62));
  grant.age_ms = granted > 0 ? std::max<int64_t>(e[3].integer - granted, 0) : 0;
  return grant;
}

} // namespace brokedancer::lease_scripts
