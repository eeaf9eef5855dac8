#pragma once

// The state store's contract: the one interface every backend (memory, Redis) implements and
// every client speaks. Values are JSON text; the store checks it is valid JSON and keeps it
// as given. TTLs are milliseconds, 0 meaning "no expiry".
//
// Errors (as caf::error with errc, identical from every backend):
//   invalid_json, key_too_large, value_too_large, invalid_argument (negative TTL, empty key),
//   not_an_integer (increment on a value that is not a JSON integer), integer_overflow,
//   store_unavailable (the backend cannot be reached: nothing was acknowledged),
//   lease_lost (a fenced write whose lease is no longer held with that token).
//
// Besides keys, the store keeps two things a cluster of nodes sharing it needs:
//  - leases (lease:<name>): one holder at a time, for a TTL, renewed by the holder, released only
//    with the holder's token; each grant carries a fencing token that only grows, and writes can
//    be fenced by a lease so that a holder that lost it cannot write over the next one;
//  - logs (append-only, ids increasing; a Redis stream): the order journal.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/durations.hpp"

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
  // Redis: from a request's commands going out to their replies (failures included). Memory:
  // not measured (a request is answered where it is handled).
  duration_counts latency;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_status& x) {
  return f(caf::meta::type_name("store_status"), x.backend, x.available, x.keys, x.requests,
           x.failures, x.expired, x.reconnects, x.last_error, x.latency);
}

// A lease as the store holds it. `holder` names who holds it (a node), `token` is the holder's
// random secret (only the holder knows it: it is empty in a grant that was refused), `fence`
// grows with every new grant of the name, across holders and restarts.
struct lease_grant {
  bool held = false; // acquire: whether this caller holds it now; status: whether anyone does
  std::string holder;
  std::string token;
  uint64_t fence = 0;
  int64_t age_ms = 0;       // since it was granted to its holder
  int64_t remaining_ms = 0; // until it expires unless renewed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_grant& x) {
  return f(caf::meta::type_name("lease_grant"), x.held, x.holder, x.token, x.fence, x.age_ms,
           x.remaining_ms);
}

// One entry of a log: its id ("<ms>-<seq>", increasing) and its JSON text.
struct log_entry {
  std::string id;
  std::string json;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("log_entry"), x.id, x.json);
}

// The longest lease and the most entries one read of a log returns.
constexpr int64_t max_lease_ms = 24 * 3600 * 1000;
constexpr uint32_t max_log_read = 10000;

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
using acquire_lease_atom = caf::atom_constant<caf::atom("lease_acq")>;
using renew_lease_atom = caf::atom_constant<caf::atom("lease_ren")>;
using release_lease_atom = caf::atom_constant<caf::atom("lease_rel")>;
using lease_status_atom = caf::atom_constant<caf::atom("lease_st")>;
using set_fenced_atom = caf::atom_constant<caf::atom("set_fenced")>;
using append_log_atom = caf::atom_constant<caf::atom("log_append")>;
using read_log_atom = caf::atom_constant<caf::atom("log_read")>;
using trim_log_atom = caf::atom_constant<caf::atom("log_trim")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;

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
    caf::replies_to<clear_atom>::with<void>, caf::replies_to<status_atom>::with<store_status>,
    // --- leases ---
    // (name, holder, token, ttl_ms): grants the lease when it is free (a new, higher fence),
    // or extends it when `token` holds it already; otherwise held == false and the grant
    // describes the holder (without its token).
    caf::replies_to<acquire_lease_atom, std::string, std::string, std::string,
                    int64_t>::with<lease_grant>,
    // (name, token, ttl_ms): extends the lease if `token` still holds it; false when it does
    // not (expired, or granted to another since).
    caf::replies_to<renew_lease_atom, std::string, std::string, int64_t>::with<bool>,
    // (name, token): ends the lease if `token` holds it; never another's. True when it did.
    caf::replies_to<release_lease_atom, std::string, std::string>::with<bool>,
    // Who holds the lease (held == false: nobody), without the token.
    caf::replies_to<lease_status_atom, std::string>::with<lease_grant>,
    // (key, json, ttl_ms, lease name, token): set, only while `token` holds the lease; else
    // lease_lost and nothing is written.
    caf::replies_to<set_fenced_atom, std::string, std::string, int64_t, std::string,
                    std::string>::with<void>,
    // --- logs ---
    // Appends entries (JSON text) to a log, in order; their ids.
    caf::replies_to<append_log_atom, std::string,
                    std::vector<std::string>>::with<std::vector<std::string>>,
    // (log, after id, count): up to `count` (at most max_log_read) entries after the id, oldest
    // first; "" or "0" for the start.
    caf::replies_to<read_log_atom, std::string, std::string,
                    uint32_t>::with<std::vector<log_entry>>,
    // Removes the entries older than the id; how many went.
    caf::replies_to<trim_log_atom, std::string, std::string>::with<uint64_t>,
    // Sets keys and appends entries to a log in one step: all of it happens, or none.
    caf::replies_to<commit_atom, std::vector<key_value>, std::string,
                    std::vector<std::string>>::with<void>>;

} // namespace brokedancer
