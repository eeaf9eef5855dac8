#pragma once

// The memory backend's leases: plain code with the time passed in (milliseconds on any clock
// that does not jump), so the rules are the Redis backend's scripts' rules, tested alone.
// A lease is granted when free, extended by its holder's token, released only by it, and each
// grant of a name gets a fence one higher than the last grant of that name.

#include <cstdint>
#include <string>
#include <unordered_map>

#include "messages/state_store.hpp"

namespace brokedancer {

class lease_table {
public:
  lease_grant acquire(const std::string& name, const std::string& holder, const std::string& token,
                      int64_t ttl_ms, int64_t now_ms);
  bool renew(const std::string& name, const std::string& token, int64_t ttl_ms, int64_t now_ms);
  bool release(const std::string& name, const std::string& token, int64_t now_ms);
  lease_grant status(const std::string& name, int64_t now_ms);
  // Whether `token` holds the lease now.
  bool holds(const std::string& name, const std::string& token, int64_t now_ms);
  void clear();

private:
  struct lease {
    std::string holder;
    std::string token;
    uint64_t fence = 0;
    int64_t granted_ms = 0;
    int64_t expires_ms = 0;
  };
  // The live lease of `name`, dropping it if it has expired.
  lease* live(const std::string& name, int64_t now_ms);
  static lease_grant describe(const lease& l, bool with_token, int64_t now_ms);

  std::unordered_map<std::string, lease> leases_;
  std::unordered_map<std::string, uint64_t> fences_; // outlive the leases
};

} // namespace brokedancer
