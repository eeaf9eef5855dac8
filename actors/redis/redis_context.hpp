#pragma once

// Making one connection to Redis: connect with a timeout, then AUTH and (when asked) SELECT, with
// hiredis's blocking API. Only the dialer runs it (actors/redis/redis_dialer.hpp), on a thread of
// its own; the logged-in socket is then handed to the actor that drives it without blocking.

#include <string>
#include <vector>

#include "actors/redis/redis_connection.hpp"

struct redisContext;

namespace brokedancer {

class redis_context {
public:
  explicit redis_context(redis_connection_options options);
  ~redis_context();

  redis_context(const redis_context&) = delete;
  redis_context& operator=(const redis_context&) = delete;

  // Why the last connection attempt failed; never holds the password.
  const std::string& last_error() const {
    return last_error_;
  }

  // Connects, then AUTH, (when `select_db`) SELECT, and checks that this Redis cannot evict the
  // keys that must stay (actors/redis/eviction_policy.hpp). False, with last_error(), on failure.
  bool connect(bool select_db);

  // The last connect() reached Redis and refused it for its eviction policy.
  bool refused_for_eviction() const {
    return evicts_;
  }

  // Gives up the connected socket: the caller owns (and closes) it from now on. -1 when not
  // connected.
  int release_socket();

private:
  bool command_ok(const std::vector<std::string>& command, const std::string& what);
  bool eviction_policy_ok();
  bool fail(std::string error);
  void close();

  redis_connection_options options_;
  redisContext* context_ = nullptr;
  std::string last_error_;
  bool evicts_ = false;
};

} // namespace brokedancer
