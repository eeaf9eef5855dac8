#pragma once

// One hiredis connection with its whole life: connect and log in, run commands, notice a break.
// Blocking calls: only the detached actors that own a connection use it (redis_connection for
// commands, redis_subscriber for pub/sub), never code on a CAF scheduler thread.

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "actors/redis/redis_connection.hpp"

struct redisContext;
struct redisReply;

namespace brokedancer {

class redis_context {
public:
  explicit redis_context(redis_connection_options options);
  ~redis_context();

  redis_context(const redis_context&) = delete;
  redis_context& operator=(const redis_context&) = delete;

  bool connected() const {
    return context_ != nullptr;
  }

  // Why the last connection attempt or command failed; never holds the password.
  const std::string& last_error() const {
    return last_error_;
  }

  // Connects, then AUTH and (when `select_db`) SELECT. False, with last_error(), on failure.
  bool connect(bool select_db = true);

  // Closes the connection, remembering `error` as the reason. Always false.
  bool fail(std::string error);

  // Runs pipeline jobs in one round trip; appends one result per job to `results`.
  void run_pipeline(std::vector<redis_job>& jobs, std::vector<redis_job_result>& results);

  // Walks the keyspace with SCAN (never KEYS, which blocks Redis for the whole walk).
  redis_job_result run_scan(const redis_job& job);

  // One command, one reply; nullopt when the connection broke (see last_error()).
  std::optional<redis_reply> call(const std::vector<std::string>& command);

  // Whether Redis closed the connection while we were not reading (it restarted, say): a
  // request/reply connection checks before it writes, so that the first request after a
  // restart goes over a fresh connection instead of failing on the dead one.
  bool closed_by_peer() const;

  // For connections driven by poll(): the socket, commands written without waiting for their
  // replies, and the replies that have arrived so far.
  int fd() const;
  bool send(const std::vector<std::string>& command);
  // Reads what the socket holds (call when poll() says it is readable) and appends every
  // complete reply to `replies`. False when the connection broke.
  bool receive(std::vector<redis_reply>& replies);

private:
  bool append(const std::vector<std::string>& command);
  bool command_ok(const std::vector<std::string>& command, const std::string& what);
  void close();

  redis_connection_options options_;
  redisContext* context_ = nullptr;
  std::string last_error_;
};

// How long to wait before reconnection attempt number `failed_attempts` (0 for the first):
// exponential backoff with equal jitter -- half the delay fixed, half random -- so that many
// nodes that lost Redis together do not reconnect in lockstep.
std::chrono::milliseconds reconnect_delay(const redis_connection_options& options,
                                          int failed_attempts, std::mt19937_64& random);

} // namespace brokedancer
