#include "actors/store/lease_table.hpp"

namespace brokedancer {

lease_table::lease* lease_table::live(const std::string& name, int64_t now_ms) {
  auto found = leases_.find(name);
  if (found == leases_.end())
    return nullptr;
  if (found->second.expires_ms <= now_ms) {
    leases_.erase(found);
    return nullptr;
  }
  return &found->second;
}

lease_grant lease_table::describe(const lease& l, bool with_token, int64_t now_ms) {
  return {true,
          l.holder,
          with_token ? l.token : std::string{},
          l.fence,
          now_ms - l.granted_ms,
          l.expires_ms - now_ms};
}

lease_grant lease_table::acquire(const std::string& name, const std::string& holder,
                                 const std::string& token, int64_t ttl_ms, int64_t now_ms) {
  if (auto* current = live(name, now_ms)) {
    if (current->token != token) {
      auto refused = describe(*current, false, now_ms);
      refused.held = false;
      return refused;
    }
    current->expires_ms = now_ms + ttl_ms;
    return describe(*current, true, now_ms);
  }
  auto& granted = leases_[name];
  granted = {holder, token, ++fences_[name], now_ms, now_ms + ttl_ms};
  return describe(granted, true, now_ms);
}

bool lease_table::renew(const std::string& name, const std::string& token, int64_t ttl_ms,
                        int64_t now_ms) {
  auto* current = live(name, now_ms);
  if (!current || current->token != token)
    return false;
  current->expires_ms = now_ms + ttl_ms;
  return true;
}

bool lease_table::release(const std::string& name, const std::string& token, int64_t now_ms) {
  auto* current = live(name, now_ms);
  if (!current || current->token != token)
    return false;
  leases_.erase(name);
  return true;
}

lease_grant lease_table::status(const std::string& name, int64_t now_ms) {
  auto* current = live(name, now_ms);
  if (!current)
    return {};
  return describe(*current, false, now_ms);
}

bool lease_table::holds(const std::string& name, const std::string& token, int64_t now_ms) {
  auto* current = live(name, now_ms);
  return current && current->token == token;
}

void lease_table::clear() {
  leases_.clear();
  fences_.clear();
}

} // namespace brokedancer
