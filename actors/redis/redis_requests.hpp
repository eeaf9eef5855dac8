#pragma once

// The client side of a redis_connection, for the event-based actor that owns it: jobs are
// collected while the actor drains its mailbox and go to the connection as one batch (one
// round trip for all of them), and each result finds its job's completion by id.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/redis/redis_connection.hpp"

namespace brokedancer {

class redis_requests {
public:
  using completion = std::function<void(redis_job_result&)>;

  redis_requests() = default;
  redis_requests(const redis_requests&) = delete;
  redis_requests& operator=(const redis_requests&) = delete;

  // CAF 0.17 drops a response promise that is destroyed unanswered: the client would wait
  // for its timeout. However the owner ends -- even killed, when no handler runs -- its state
  // is destroyed, and with it every open request is answered.
  // Not an owed_reply per request: a completion is more than a promise (the bus counts what
  // was published or refused), and its failure is the owner's contract error with the reason
  // (store_unavailable, bus_unavailable), where an owed_reply answers subsystem_unavailable.
  ~redis_requests() {
    fail_all("stopped before Redis answered");
  }

  // Queues `job` for the next batch. True when the batch was empty: the owner must then
  // arrange for take_batch() to run once its mailbox holds nothing older (a message to itself).
  bool add(redis_job job, completion done);

  std::vector<redis_job> take_batch();

  // Runs the completion of every job in `results`.
  void complete(std::vector<redis_job_result>& results);

  void fail_all(const std::string& why);

private:
  uint64_t next_id_ = 1;
  std::vector<redis_job> batch_;
  std::unordered_map<uint64_t, completion> open_;
};

} // namespace brokedancer
