#pragma once

// The state store's contract: the one interface every backend (memory, Redis) implements and
// every client speaks. Values are JSON text; the store checks it is valid JSON and keeps it
// as given. TTLs are milliseconds, 0 meaning "no expiry".
//
// Errors (as caf::error with errc, identical from every backend):
//   invalid_json, key_too_large, value_too_large, invalid_argument (negative TTL, empty key),
//   not_an_integer (increment on a value that is not a JSON integer), integer_overflow,
//   store_unavailable (the backend cannot be reached: nothing was acknowledged).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

namespace brokedancer {

struct maybe_value {
  bool found = false;
  std::string json; // empty when not found
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maybe_value& x) {
  return f(caf::meta::type_name("maybe_value"), x.found, x.json);
}

struct key_value {
  std::string key;
  std::string json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_value& x) {
  return f(caf::meta::type_name("key_value"), x.key, x.json);
}

struct store_status {
  std::string backend;     // "memory" or "redis"
  bool available = false;  // false while the Redis backend is disconnected
  uint64_t keys = 0;       // memory: live keys; redis: not counted (0)
  uint64_t requests = 0;   // requests handled by this incarnation's backend
  uint64_t failures = 0;   // requests answered with store_unavailable
  uint64_t expired = 0;    // memory: keys removed by TTL
  uint64_t reconnects = 0; // redis: successful reconnections
  std::string last_error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_status& x) {
  return f(caf::meta::type_name("store_status"), x.backend, x.available, x.keys, x.requests,
           x.failures, x.expired, x.reconnects, x.last_error);
}

using get_atom = caf::atom_constant<caf::atom("get")>;
using set_atom = caf::atom_constant<caf::atom("set")>;
using del_atom = caf::atom_constant<caf::atom("del")>;
using exists_atom = caf::atom_constant<caf::atom("exists")>;
using get_many_atom = caf::atom_constant<caf::atom("get_many")>;
using set_many_atom = caf::atom_constant<caf::atom("set_many")>;
using increment_atom = caf::atom_constant<caf::atom("increment")>;
using set_nx_atom = caf::atom_constant<caf::atom("set_nx")>;
using list_keys_atom = caf::atom_constant<caf::atom("list_keys")>;
using clear_atom = caf::atom_constant<caf::atom("clear")>;

using state_store_actor = caf::typed_actor<
    // The value of a key, or found == false.
    caf::replies_to<get_atom, std::string>::with<maybe_value>,
    // Stores a value (JSON text) with a TTL in ms (0: none); the reply acknowledges the write.
    caf::replies_to<set_atom, std::string, std::string, int64_t>::with<void>,
    // Removes a key; true when it existed.
    caf::replies_to<del_atom, std::string>::with<bool>,
    caf::replies_to<exists_atom, std::string>::with<bool>,
    // The values of several keys, in the order asked.
    caf::replies_to<get_many_atom, std::vector<std::string>>::with<std::vector<maybe_value>>,
    // Stores several values at once, all with the same TTL in ms (0: none).
    caf::replies_to<set_many_atom, std::vector<key_value>, int64_t>::with<void>,
    // Adds to an integer value atomically (a missing key counts as 0); the new value. A TTL
    // already on the key is kept.
    caf::replies_to<increment_atom, std::string, int64_t>::with<int64_t>,
    // Stores the value only if the key does not exist; true when this call won.
    caf::replies_to<set_nx_atom, std::string, std::string, int64_t>::with<bool>,
    // Keys matching a glob pattern with Redis's rules (*, ?, [abc], [^a], [a-z], \ escapes).
    caf::replies_to<list_keys_atom, std::string>::with<std::vector<std::string>>,
    // Removes every key of this deployment (the key prefix), and nothing else.
    caf::replies_to<clear_atom>::with<void>, caf::replies_to<status_atom>::with<store_status>>;

} // namespace brokedancer
