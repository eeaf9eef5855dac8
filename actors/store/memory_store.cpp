#include "actors/store/memory_store.hpp"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/store/lease_table.hpp"
#include "actors/store/log_table.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/glob.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

using clock = std::chrono::steady_clock;

struct memory_store_data {
  struct entry {
    std::string json;
    clock::time_point expires_at = clock::time_point::max();
  };
  struct deadline {
    clock::time_point at;
    std::string key;
    bool operator>(const deadline& other) const {
      return at > other.at;
    }
  };

  std::unordered_map<std::string, entry> entries;
  // Every TTL ever set, soonest first. An item whose entry has since been removed or given
  // another TTL is skipped when it comes up, which keeps setting a TTL O(log n).
  std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines;
  lease_table leases;
  log_table logs;
  uint64_t requests = 0;
  uint64_t expired = 0;

  static clock::time_point expiry(int64_t ttl_ms) {
    return ttl_ms > 0 ? clock::now() + std::chrono::milliseconds(ttl_ms) : clock::time_point::max();
  }

  // The live entry for `key`, removing it first if its TTL has passed: reads are exact even
  // between sweeps.
  entry* find(const std::string& key) {
    auto i = entries.find(key);
    if (i == entries.end())
      return nullptr;
    // Most entries have no TTL: they skip the clock read.
    auto expires_at = i->second.expires_at;
    if (expires_at != clock::time_point::max() && expires_at <= clock::now()) {
      entries.erase(i);
      ++expired;
      return nullptr;
    }
    return &i->second;
  }

  void put(const std::string& key, std::string json, int64_t ttl_ms) {
    auto& e = entries[key];
    e.json = std::move(json);
    e.expires_at = expiry(ttl_ms);
    if (ttl_ms > 0)
      deadlines.push({e.expires_at, key});
  }

  void sweep() {
    auto now = clock::now();
    while (!deadlines.empty() && deadlines.top().at <= now) {
      auto i = entries.find(deadlines.top().key);
      if (i != entries.end() && i->second.expires_at <= now) {
        entries.erase(i);
        ++expired;
      }
      deadlines.pop();
    }
  }
};

std::shared_ptr<memory_store_data> make_memory_store_data() {
  return std::make_shared<memory_store_data>();
}

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// The public interface plus the store's own timer tick, which only it sends itself.
using memory_store_actor = state_store_actor::extend<caf::reacts_to<sweep_atom>>;

struct memory_store_state {
  std::shared_ptr<memory_store_data> data;
  store_limits limits;
  std::chrono::milliseconds sweep_interval{1000};

  // The data, with this request counted: every request counts, valid or not, except status.
  memory_store_data& request() {
    ++data->requests;
    return *data;
  }
};

using self_pointer = memory_store_actor::stateful_pointer<memory_store_state>;

caf::result<maybe_value> get_value(memory_store_state& st, const std::string& key) {
  auto& d = st.request();
  if (auto err = check_key(st.limits, key))
    return err;
  if (auto* e = d.find(key))
    return maybe_value{true, e->json};
  return maybe_value{};
}

caf::result<void> set_value(memory_store_state& st, const std::string& key, std::string& json,
                            int64_t ttl_ms) {
  auto& d = st.request();
  if (auto err = check_write(st.limits, key, json, ttl_ms))
    return err;
  d.put(key, std::move(json), ttl_ms);
  return caf::unit;
}

caf::result<bool> delete_key(memory_store_state& st, const std::string& key) {
  auto& d = st.request();
  if (auto err = check_key(st.limits, key))
    return err;
  bool existed = d.find(key) != nullptr;
  d.entries.erase(key);
  return existed;
}

caf::result<bool> key_exists(memory_store_state& st, const std::string& key) {
  auto& d = st.request();
  if (auto err = check_key(st.limits, key))
    return err;
  return d.find(key) != nullptr;
}

caf::result<std::vector<maybe_value>> get_values(memory_store_state& st,
                                                 const std::vector<std::string>& keys) {
  auto& d = st.request();
  if (auto err = check_keys(st.limits, keys))
    return err;
  std::vector<maybe_value> values;
  values.reserve(keys.size());
  for (const auto& key : keys) {
    auto* e = d.find(key);
    values.push_back(e ? maybe_value{true, e->json} : maybe_value{});
  }
  return values;
}

caf::result<void> set_values(memory_store_state& st, std::vector<key_value>& items,
                             int64_t ttl_ms) {
  auto& d = st.request();
  // All or nothing: check everything before writing anything.
  if (auto err = check_items(st.limits, items, ttl_ms))
    return err;
  for (auto& item : items)
    d.put(item.key, std::move(item.json), ttl_ms);
  return caf::unit;
}

caf::result<int64_t> increment(memory_store_state& st, const std::string& key, int64_t by) {
  auto& d = st.request();
  if (auto err = check_key(st.limits, key))
    return err;
  int64_t current = 0;
  auto* e = d.find(key);
  if (e && !parse_integer(e->json, current))
    return make_error(errc::not_an_integer, "the value of " + key + " is not an integer");
  int64_t updated = 0;
  if (__builtin_add_overflow(current, by, &updated))
    return make_error(errc::integer_overflow, "incrementing " + key + " would overflow");
  if (e)
    e->json = std::to_string(updated);
  else
    d.put(key, std::to_string(updated), 0);
  return updated;
}

caf::result<bool> set_if_absent(memory_store_state& st, const std::string& key, std::string& json,
                                int64_t ttl_ms) {
  auto& d = st.request();
  if (auto err = check_write(st.limits, key, json, ttl_ms))
    return err;
  if (d.find(key))
    return false;
  d.put(key, std::move(json), ttl_ms);
  return true;
}

std::vector<std::string> list_keys(memory_store_state& st, const std::string& pattern) {
  auto& d = st.request();
  d.sweep();
  std::vector<std::string> keys;
  auto now = clock::now();
  for (const auto& [key, e] : d.entries)
    if (e.expires_at > now && glob_match(pattern, key))
      keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void clear(memory_store_state& st) {
  auto& d = st.request();
  d.entries.clear();
  d.deadlines = {};
  d.leases.clear();
  d.logs.clear();
}

// ---- Leases and logs --------------------------------------------------------------------------

// Lease times on the steady clock: a lease must not end early because the wall clock jumped.
int64_t lease_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch())
      .count();
}

int64_t wall_ms() {
  return now_us() / 1000;
}

caf::result<lease_grant> acquire_lease(memory_store_state& st, const std::string& name,
                                       const std::string& holder, const std::string& token,
                                       int64_t ttl_ms) {
  auto& d = st.request();
  if (auto err = check_lease(st.limits, name, token, ttl_ms))
    return err;
  if (auto err = check_lease_holder(holder))
    return err;
  return d.leases.acquire(name, holder, token, ttl_ms, lease_now_ms());
}

caf::result<bool> renew_lease(memory_store_state& st, const std::string& name,
                              const std::string& token, int64_t ttl_ms) {
  auto& d = st.request();
  if (auto err = check_lease(st.limits, name, token, ttl_ms))
    return err;
  return d.leases.renew(name, token, ttl_ms, lease_now_ms());
}

caf::result<bool> release_lease(memory_store_state& st, const std::string& name,
                                const std::string& token) {
  auto& d = st.request();
  if (auto err = check_lease_token(st.limits, name, token))
    return err;
  return d.leases.release(name, token, lease_now_ms());
}

caf::result<lease_grant> lease_status(memory_store_state& st, const std::string& name) {
  auto& d = st.request();
  if (auto err = check_key(st.limits, name))
    return err;
  return d.leases.status(name, lease_now_ms());
}

caf::result<void> set_fenced(memory_store_state& st, const std::string& key, std::string& json,
                             int64_t ttl_ms, const std::string& lease, const std::string& token) {
  auto& d = st.request();
  if (auto err = check_write(st.limits, key, json, ttl_ms))
    return err;
  if (auto err = check_lease_token(st.limits, lease, token))
    return err;
  if (!d.leases.holds(lease, token, lease_now_ms()))
    return make_error(errc::lease_lost,
                      "the lease " + lease + " is no longer held; " + key + " was not written");
  d.put(key, std::move(json), ttl_ms);
  return caf::unit;
}

caf::result<std::vector<std::string>> append_log(memory_store_state& st, const std::string& log,
                                                 std::vector<std::string>& entries) {
  auto& d = st.request();
  if (auto err = check_entries(st.limits, log, entries))
    return err;
  std::vector<std::string> ids;
  auto now = wall_ms();
  for (auto& entry : entries)
    ids.push_back(d.logs.append(log, std::move(entry), now));
  return ids;
}

caf::result<std::vector<log_entry>> read_log(memory_store_state& st, const std::string& log,
                                             const std::string& after, uint32_t count) {
  auto& d = st.request();
  if (auto err = check_log_id(st.limits, log, after))
    return err;
  return d.logs.read(log, after, std::min(count, max_log_read));
}

caf::result<uint64_t> trim_log(memory_store_state& st, const std::string& log,
                               const std::string& min_id) {
  auto& d = st.request();
  if (auto err = check_log_id(st.limits, log, min_id))
    return err;
  return d.logs.trim(log, min_id);
}

caf::result<void> commit(memory_store_state& st, std::vector<key_value>& items,
                         const std::string& log, std::vector<std::string>& entries) {
  auto& d = st.request();
  if (auto err = check_items(st.limits, items, 0))
    return err;
  if (auto err = check_entries(st.limits, log, entries))
    return err;
  for (auto& item : items)
    d.put(item.key, std::move(item.json), 0);
  auto now = wall_ms();
  for (auto& entry : entries)
    d.logs.append(log, std::move(entry), now);
  return caf::unit;
}

store_status status(memory_store_state& st) {
  auto& d = *st.data;
  d.sweep();
  store_status status;
  status.backend = "memory";
  status.available = true;
  status.keys = d.entries.size();
  status.requests = d.requests;
  status.expired = d.expired;
  return status;
}

void sweep(self_pointer self) {
  self->state.data->sweep();
  self->delayed_send(self, self->state.sweep_interval, sweep_atom::value);
}

memory_store_actor::behavior_type memory_store(self_pointer self,
                                               std::shared_ptr<memory_store_data> data,
                                               store_limits limits,
                                               std::chrono::milliseconds sweep_interval) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.limits = limits;
  st.sweep_interval = sweep_interval;
  self->delayed_send(self, sweep_interval, sweep_atom::value);
  return {
      [&st](get_atom, const std::string& key) { return get_value(st, key); },
      [&st](set_atom, const std::string& key, std::string& json, int64_t ttl_ms) {
        return set_value(st, key, json, ttl_ms);
      },
      [&st](del_atom, const std::string& key) { return delete_key(st, key); },
      [&st](exists_atom, const std::string& key) { return key_exists(st, key); },
      [&st](get_many_atom, const std::vector<std::string>& keys) { return get_values(st, keys); },
      [&st](set_many_atom, std::vector<key_value>& items, int64_t ttl_ms) {
        return set_values(st, items, ttl_ms);
      },
      [&st](increment_atom, const std::string& key, int64_t by) { return increment(st, key, by); },
      [&st](set_nx_atom, const std::string& key, std::string& json, int64_t ttl_ms) {
        return set_if_absent(st, key, json, ttl_ms);
      },
      [&st](list_keys_atom, const std::string& pattern) { return list_keys(st, pattern); },
      [&st](clear_atom) { clear(st); },
      [&st](status_atom) { return status(st); },
      [&st](acquire_lease_atom, const std::string& name, const std::string& holder,
            const std::string& token,
            int64_t ttl_ms) { return acquire_lease(st, name, holder, token, ttl_ms); },
      [&st](renew_lease_atom, const std::string& name, const std::string& token, int64_t ttl_ms) {
        return renew_lease(st, name, token, ttl_ms);
      },
      [&st](release_lease_atom, const std::string& name, const std::string& token) {
        return release_lease(st, name, token);
      },
      [&st](lease_status_atom, const std::string& name) { return lease_status(st, name); },
      [&st](set_fenced_atom, const std::string& key, std::string& json, int64_t ttl_ms,
            const std::string& lease,
            const std::string& token) { return set_fenced(st, key, json, ttl_ms, lease, token); },
      [&st](append_log_atom, const std::string& log, std::vector<std::string>& entries) {
        return append_log(st, log, entries);
      },
      [&st](read_log_atom, const std::string& log, const std::string& after, uint32_t count) {
        return read_log(st, log, after, count);
      },
      [&st](trim_log_atom, const std::string& log, const std::string& min_id) {
        return trim_log(st, log, min_id);
      },
      [&st](commit_atom, std::vector<key_value>& items, const std::string& log,
            std::vector<std::string>& entries) { return commit(st, items, log, entries); },
      [self](sweep_atom) { sweep(self); },
  };
}

} // namespace

state_store_actor spawn_memory_store(caf::actor_system& sys,
                                     std::shared_ptr<memory_store_data> data, store_limits limits,
                                     std::chrono::milliseconds sweep_interval) {
  return sys.spawn(memory_store, std::move(data), limits, sweep_interval);
}

} // namespace brokedancer
