#pragma once

// One connection to Redis, owned by a detached actor: hiredis's synchronous API blocks, so it
// runs on a thread of its own and never on a CAF scheduler thread. Concurrency becomes
// pipelining: the actor takes every batch waiting in its mailbox (up to pipeline_max commands),
// writes them all, then reads all the replies -- one round trip for the lot.
//
// These types are the contract between the Redis store and its connection only; they never
// leave the process, so they are not registered with CAF (CAF still wants them inspectable).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "core/redis_url.hpp"

namespace brokedancer {

struct redis_reply {
  enum class kind : uint8_t { nil, status, error, integer, string, array };
  kind type = kind::nil;
  int64_t integer = 0;
  std::string text; // status, error or string
  std::vector<redis_reply> elements;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redis_reply& x) {
  return f(caf::meta::type_name("redis_reply"), x.type, x.integer, x.text, x.elements);
}

struct redis_job {
  enum class kind : uint8_t {
    pipeline,   // send `commands` back to back; the result holds one reply per command
    scan,       // SCAN ... MATCH pattern until done; the result holds the keys found
    scan_delete // as scan, and UNLINK every key found
  };
  uint64_t id = 0;
  kind type = kind::pipeline;
  std::vector<std::vector<std::string>> commands;
  std::string pattern;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redis_job& x) {
  return f(caf::meta::type_name("redis_job"), x.id, x.type, x.commands, x.pattern);
}

struct redis_job_result {
  uint64_t id = 0;
  // False when the job could not be carried out (not connected, connection lost, timeout);
  // then `error` says why and nothing in the job may be assumed done.
  bool ok = false;
  std::string error;
  std::vector<redis_reply> replies;
  std::vector<std::string> keys;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redis_job_result& x) {
  return f(caf::meta::type_name("redis_job_result"), x.id, x.ok, x.error, x.replies, x.keys);
}

// Sent by the connection to its owner whenever it connects or loses the connection.
using connection_state_atom = caf::atom_constant<caf::atom("conn_state")>;

struct redis_connection_options {
  redis_endpoint endpoint;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5000};
  size_t pipeline_max = 256;
};

// Spawns the connection actor, detached and linked to `owner`, which receives
// std::vector<redis_job_result> and (connection_state_atom, bool connected, std::string error).
// Send it std::vector<redis_job>: a batch, answered by one vector of results.
caf::actor spawn_redis_connection(caf::local_actor* owner, redis_connection_options options);

} // namespace brokedancer
