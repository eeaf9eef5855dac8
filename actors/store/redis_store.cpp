#include "actors/store/redis_store.hpp"

#include <algorithm>
#include <memory>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/store/redis_lease_scripts.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/glob.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

// A broker, so that its Redis connection is driven by the multiplexer (actors/redis/redis_link):
// dynamically typed, it answers exactly the state_store_actor interface and is handed out as one.
struct redis_store_state {
  redis_store_options options;
  std::string prefix_pattern;  // the key prefix, glob-escaped
  bool connected_once = false; // every connection after the first is a reconnection
  store_status stats;
  logger log{"state_store"};
  // Last: destroyed first, answering every open request while the rest of the state still
  // exists.
  std::optional<redis_link> link;
};

using self_pointer = answering_broker<redis_store_state>*;

using commands = std::vector<std::vector<std::string>>;

caf::error unavailable(const std::string& why) {
  return make_error(errc::store_unavailable, why);
}

// An error reply from Redis, as the same error the memory backend gives for the same misuse.
caf::error error_reply(const redis_reply& reply) {
  const auto& text = reply.text;
  if (text.find("not an integer") != std::string::npos)
    return make_error(errc::not_an_integer, "the value is not an integer");
  if (text.find("overflow") != std::string::npos)
    return make_error(errc::integer_overflow, "the increment would overflow");
  if (text.rfind("LEASE_LOST", 0) == 0)
    return make_error(errc::lease_lost, "the lease is no longer held by this writer");
  return unavailable("Redis replied: " + reply_excerpt(text));
}

caf::error unexpected(const redis_reply& reply) {
  return reply.type == redis_reply::kind::error ? error_reply(reply)
                                                : unavailable("unexpected reply from Redis");
}

std::string prefixed(self_pointer self, const std::string& key) {
  return self->state.options.key_prefix + key;
}

std::vector<std::string> with_ttl(std::vector<std::string> command, int64_t ttl_ms) {
  if (ttl_ms > 0) {
    command.emplace_back("PX");
    command.push_back(std::to_string(ttl_ms));
  }
  return command;
}

// Hands commands to the connection, or fails them at once when Redis is not reachable.
void submit(self_pointer self, commands cmds, redis_link::completion done) {
  auto& st = self->state;
  ++st.stats.requests;
  if (!st.link->accepting()) {
    ++st.stats.failures;
    redis_result result;
    result.error = "Redis is not reachable: " + st.stats.last_error;
    done(result);
    return;
  }
  // The completion may run while the state is destroyed (the link goes first): it touches
  // the counters, which outlive the link, and what it holds.
  st.link->send(std::move(cmds), [stats = &st.stats, done = std::move(done),
                                  sent = std::chrono::steady_clock::now()](redis_result& r) {
    if (!r.ok)
      ++stats->failures;
    stats->latency.observe(std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - sent)
                               .count());
    done(r);
  });
}

// Runs `cmds` and answers `rp` with `extract(result)`, or with the failure.
template <class Promise, class Extract>
void answer(self_pointer self, commands cmds, Promise rp, Extract extract) {
  // Touches only the promise: it may run while the state is being destroyed.
  submit(self, std::move(cmds), [rp, extract](redis_result& result) mutable {
    if (!result.ok) {
      rp.deliver(unavailable(result.error));
      return;
    }
    extract(result, rp);
  });
}

// A promise answered by running `cmds` and reading their replies with `extract`. A request
// without a result takes an untyped response_promise, as make_response_promise() gives it.
template <class Promise>
Promise ask(self_pointer self, commands cmds, void (*extract)(redis_result&, Promise&)) {
  auto rp = self->make_response_promise<Promise>();
  answer(self, std::move(cmds), rp, extract);
  return rp;
}

// ---- Reading replies -------------------------------------------------------------------------

void read_value(redis_result& r, caf::typed_response_promise<maybe_value>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::nil)
    p.deliver(maybe_value{});
  else if (reply.type == redis_reply::kind::string)
    p.deliver(maybe_value{true, std::move(reply.text)});
  else
    p.deliver(unexpected(reply));
}

void read_ok(redis_result& r, caf::response_promise& p) {
  if (r.replies.at(0).type == redis_reply::kind::status)
    p.deliver(caf::unit);
  else
    p.deliver(unexpected(r.replies[0]));
}

// DEL and EXISTS answer with a count; the interface says whether it was more than zero.
void positive_count(redis_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer > 0);
  else
    p.deliver(unexpected(reply));
}

void read_values(redis_result& r, caf::typed_response_promise<std::vector<maybe_value>>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type != redis_reply::kind::array) {
    p.deliver(unexpected(reply));
    return;
  }
  std::vector<maybe_value> values;
  for (auto& element : reply.elements) {
    if (element.type == redis_reply::kind::string)
      values.push_back({true, std::move(element.text)});
    else
      values.emplace_back();
  }
  p.deliver(std::move(values));
}

// EXEC answers with every command's reply: one of them an error (a key of another type) means
// the transaction did not do all it was asked.
void read_exec(redis_result& r, caf::response_promise& p) {
  auto& exec = r.replies.back();
  if (exec.type != redis_reply::kind::array) {
    p.deliver(unexpected(exec));
    return;
  }
  for (auto& reply : exec.elements)
    if (reply.type == redis_reply::kind::error) {
      p.deliver(unexpected(reply));
      return;
    }
  p.deliver(caf::unit);
}

void read_integer(redis_result& r, caf::typed_response_promise<int64_t>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer);
  else
    p.deliver(unexpected(reply));
}

// SET ... NX answers OK when it wrote and nil when the key was there.
void read_set_if_absent(redis_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::status)
    p.deliver(true);
  else if (reply.type == redis_reply::kind::nil)
    p.deliver(false);
  else
    p.deliver(unexpected(reply));
}

// ---- Requests --------------------------------------------------------------------------------

const store_limits& limits(self_pointer self) {
  return self->state.options.limits;
}

caf::result<maybe_value> get_value(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, commands({{"GET", prefixed(self, key)}}), read_value);
}

caf::result<void> set_value(self_pointer self, const std::string& key, std::string& json,
                            int64_t ttl_ms) {
  if (auto err = check_write(limits(self), key, json, ttl_ms))
    return err;
  auto command = with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms);
  return ask(self, commands({std::move(command)}), read_ok);
}

caf::result<bool> delete_key(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, commands({{"DEL", prefixed(self, key)}}), positive_count);
}

caf::result<bool> key_exists(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, commands({{"EXISTS", prefixed(self, key)}}), positive_count);
}

caf::result<std::vector<maybe_value>> get_values(self_pointer self,
                                                 const std::vector<std::string>& keys) {
  if (auto err = check_keys(limits(self), keys))
    return err;
  if (keys.empty())
    return std::vector<maybe_value>{};
  std::vector<std::string> command{"MGET"};
  for (const auto& key : keys)
    command.push_back(prefixed(self, key));
  return ask(self, commands({std::move(command)}), read_values);
}

caf::result<void> set_values(self_pointer self, std::vector<key_value>& items, int64_t ttl_ms) {
  if (auto err = check_items(limits(self), items, ttl_ms))
    return err;
  if (items.empty())
    return caf::unit;
  // MULTI/EXEC: all keys are written, or none, as in the memory backend.
  commands batch{{"MULTI"}};
  for (auto& item : items)
    batch.push_back(with_ttl({"SET", prefixed(self, item.key), std::move(item.json)}, ttl_ms));
  batch.push_back({"EXEC"});
  return ask(self, std::move(batch), read_exec);
}

caf::result<int64_t> increment(self_pointer self, const std::string& key, int64_t by) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, commands({{"INCRBY", prefixed(self, key), std::to_string(by)}}), read_integer);
}

caf::result<bool> set_if_absent(self_pointer self, const std::string& key, std::string& json,
                                int64_t ttl_ms) {
  if (auto err = check_write(limits(self), key, json, ttl_ms))
    return err;
  auto command = with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms);
  command.emplace_back("NX");
  return ask(self, commands({std::move(command)}), read_set_if_absent);
}

// ---- Leases ----------------------------------------------------------------------------------

std::string lease_key(self_pointer self, const std::string& name) {
  return prefixed(self, "lease:" + name);
}

std::vector<std::string> eval(const char* script, std::vector<std::string> keys,
                              std::vector<std::string> args) {
  std::vector<std::string> command{"EVAL", script, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

void read_own_grant(redis_result& r, caf::typed_response_promise<lease_grant>& p) {
  if (auto grant = lease_scripts::read_grant(r.replies.at(0), true)) {
    if (!grant->held)
      grant->token.clear();
    p.deliver(std::move(*grant));
  } else {
    p.deliver(unexpected(r.replies[0]));
  }
}

void read_grant_status(redis_result& r, caf::typed_response_promise<lease_grant>& p) {
  if (auto grant = lease_scripts::read_grant(r.replies.at(0), false))
    p.deliver(std::move(*grant));
  else
    p.deliver(unexpected(r.replies[0]));
}

void read_flag(redis_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer == 1);
  else
    p.deliver(unexpected(reply));
}

caf::result<lease_grant> acquire_lease(self_pointer self, const std::string& name,
                                       const std::string& holder, const std::string& token,
                                       int64_t ttl_ms) {
  if (auto err = check_lease(limits(self), name, token, ttl_ms))
    return err;
  if (auto err = check_lease_holder(holder))
    return err;
  // The counter apart from the leases' keys: no lease name can be another's counter.
  auto fence_key = prefixed(self, "lease-fence:" + name);
  return ask(self,
             commands({eval(lease_scripts::acquire, {lease_key(self, name), fence_key},
                            {holder, token, std::to_string(ttl_ms)})}),
             read_own_grant);
}

caf::result<bool> renew_lease(self_pointer self, const std::string& name, const std::string& token,
                              int64_t ttl_ms) {
  if (auto err = check_lease(limits(self), name, token, ttl_ms))
    return err;
  return ask(self,
             commands({eval(lease_scripts::renew, {lease_key(self, name)},
                            {token, std::to_string(ttl_ms)})}),
             read_flag);
}

caf::result<bool> release_lease(self_pointer self, const std::string& name,
                                const std::string& token) {
  if (auto err = check_lease_token(limits(self), name, token))
    return err;
  return ask(self, commands({eval(lease_scripts::release, {lease_key(self, name)}, {token})}),
             read_flag);
}

caf::result<lease_grant> lease_status(self_pointer self, const std::string& name) {
  if (auto err = check_key(limits(self), name))
    return err;
  return ask(self, commands({eval(lease_scripts::status, {lease_key(self, name)}, {})}),
             read_grant_status);
}

caf::result<void> set_fenced(self_pointer self, const std::string& key, std::string& json,
                             int64_t ttl_ms, const std::string& lease, const std::string& token) {
  if (auto err = check_write(limits(self), key, json, ttl_ms))
    return err;
  if (auto err = check_lease_token(limits(self), lease, token))
    return err;
  return ask(
      self,
      commands({eval(lease_scripts::set_fenced, {prefixed(self, key), lease_key(self, lease)},
                     {std::move(json), std::to_string(ttl_ms), token})}),
      read_ok);
}

// ---- Logs (Redis streams; each entry one field "e" holding the JSON text) -----------------------

void read_ids(redis_result& r, caf::typed_response_promise<std::vector<std::string>>& p) {
  auto& exec = r.replies.back();
  if (exec.type != redis_reply::kind::array) {
    p.deliver(unexpected(exec));
    return;
  }
  std::vector<std::string> ids;
  for (auto& id : exec.elements) {
    if (id.type != redis_reply::kind::string) {
      p.deliver(unexpected(id));
      return;
    }
    ids.push_back(std::move(id.text));
  }
  p.deliver(std::move(ids));
}

void read_one_id(redis_result& r, caf::typed_response_promise<std::vector<std::string>>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::string)
    p.deliver(std::vector<std::string>{std::move(reply.text)});
  else
    p.deliver(unexpected(reply));
}

void read_entries(redis_result& r, caf::typed_response_promise<std::vector<log_entry>>& p) {
  using kind = redis_reply::kind;
  auto& reply = r.replies.at(0);
  if (reply.type != kind::array) {
    p.deliver(unexpected(reply));
    return;
  }
  std::vector<log_entry> entries;
  for (auto& item : reply.elements) {
    // [id, [field, value, ...]]. An entry with other fields is handed on with its id and no
    // JSON: the reader counts it as unreadable, and a page keeps its length (a short page
    // means the end of the log).
    if (item.type != kind::array || item.elements.size() != 2
        || item.elements[0].type != kind::string)
      continue; // without an id there is nothing to page past
    log_entry entry{std::move(item.elements[0].text), ""};
    if (item.elements[1].type == kind::array) {
      auto& fields = item.elements[1].elements;
      for (size_t i = 0; i + 1 < fields.size(); i += 2)
        if (fields[i].type == kind::string && fields[i].text == "e"
            && fields[i + 1].type == kind::string) {
          entry.json = std::move(fields[i + 1].text);
          break;
        }
    }
    entries.push_back(std::move(entry));
  }
  p.deliver(std::move(entries));
}

void read_count(redis_result& r, caf::typed_response_promise<uint64_t>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer && reply.integer >= 0)
    p.deliver(static_cast<uint64_t>(reply.integer));
  else
    p.deliver(unexpected(reply));
}

caf::result<std::vector<std::string>> append_log(self_pointer self, const std::string& log,
                                                 std::vector<std::string>& entries) {
  if (auto err = check_entries(limits(self), log, entries))
    return err;
  if (entries.empty())
    return std::vector<std::string>{};
  auto key = prefixed(self, log);
  if (entries.size() == 1) // the order journal's case, once per order: one command, not three
    return ask(self, commands({{"XADD", key, "*", "e", std::move(entries[0])}}), read_one_id);
  commands batch{{"MULTI"}};
  for (auto& entry : entries)
    batch.push_back({"XADD", key, "*", "e", std::move(entry)});
  batch.push_back({"EXEC"});
  return ask(self, std::move(batch), read_ids);
}

caf::result<std::vector<log_entry>> read_log(self_pointer self, const std::string& log,
                                             const std::string& after, uint32_t count) {
  if (auto err = check_log_id(limits(self), log, after))
    return err;
  if (count == 0)
    return std::vector<log_entry>{};
  auto start = after.empty() || after == "0" ? std::string{"-"} : "(" + after;
  auto n = std::to_string(std::min(count, max_log_read));
  return ask(self, commands({{"XRANGE", prefixed(self, log), start, "+", "COUNT", n}}),
             read_entries);
}

caf::result<uint64_t> trim_log(self_pointer self, const std::string& log,
                               const std::string& min_id) {
  if (auto err = check_log_id(limits(self), log, min_id))
    return err;
  if (min_id.empty() || min_id == "0")
    return uint64_t{0};
  return ask(self, commands({{"XTRIM", prefixed(self, log), "MINID", min_id}}), read_count);
}

caf::result<void> commit(self_pointer self, std::vector<key_value>& items, const std::string& log,
                         std::vector<std::string>& entries) {
  if (auto err = check_items(limits(self), items, 0))
    return err;
  if (auto err = check_entries(limits(self), log, entries))
    return err;
  commands batch{{"MULTI"}};
  for (auto& item : items)
    batch.push_back({"SET", prefixed(self, item.key), std::move(item.json)});
  auto key = prefixed(self, log);
  for (auto& entry : entries)
    batch.push_back({"XADD", key, "*", "e", std::move(entry)});
  batch.push_back({"EXEC"});
  return ask(self, std::move(batch), read_exec);
}

// ---- Walking the keyspace --------------------------------------------------------------------

// SCAN ... MATCH, page by page until the cursor is back at 0 (never KEYS, which blocks Redis for
// the whole walk); with `unlink`, every page's keys are UNLINKed before the next page is asked.
// A walk reads at most this many SCAN pages (of about 1,000 keys): a server whose cursor never
// comes back to 0 cannot keep it going, or growing, for ever.
constexpr size_t max_scan_pages = 1000000;

struct key_walk {
  std::string pattern;
  std::string prefix; // a key without it is none of ours, whatever the server says
  bool unlink = false;
  size_t pages = 0;
  std::vector<std::string> keys; // kept only when listing
  // With the keys found, or with the failure.
  std::function<void(bool ok, const std::string& error, std::vector<std::string>& keys)> done;
};

void next_page(self_pointer self, std::shared_ptr<key_walk> walk, std::string cursor);

// Touches `self` only when the walk goes on, which happens only in a handler of the live actor;
// a failure (even while the state is being destroyed) touches only the walk.
void page_read(self_pointer self, std::shared_ptr<key_walk> walk, redis_result& r) {
  if (!r.ok) {
    walk->done(false, r.error, walk->keys);
    return;
  }
  auto& page = r.replies.at(0);
  if (page.type != redis_reply::kind::array || page.elements.size() != 2
      || page.elements[0].type != redis_reply::kind::string
      || page.elements[1].type != redis_reply::kind::array) {
    walk->done(false,
               page.type == redis_reply::kind::error
                   ? "Redis replied: " + reply_excerpt(page.text)
                   : std::string{"unexpected SCAN reply from Redis"},
               walk->keys);
    return;
  }
  if (++walk->pages > max_scan_pages) {
    walk->done(false,
               "Redis's SCAN did not end within " + std::to_string(max_scan_pages) + " pages",
               walk->keys);
    return;
  }
  auto cursor = std::move(page.elements[0].text);
  std::vector<std::string> found;
  for (auto& key : page.elements[1].elements)
    if (key.type == redis_reply::kind::string
        && key.text.compare(0, walk->prefix.size(), walk->prefix) == 0)
      found.push_back(std::move(key.text));
  if (!walk->unlink)
    walk->keys.insert(walk->keys.end(), found.begin(), found.end());
  auto go_on = [self, walk, cursor](redis_result& removed) {
    if (!removed.ok || removed.replies.at(0).type == redis_reply::kind::error) {
      walk->done(false,
                 removed.ok ? "Redis replied: " + reply_excerpt(removed.replies[0].text)
                            : removed.error,
                 walk->keys);
      return;
    }
    if (cursor == "0")
      walk->done(true, {}, walk->keys);
    else
      next_page(self, walk, cursor);
  };
  if (walk->unlink && !found.empty()) {
    found.insert(found.begin(), "UNLINK");
    self->state.link->send(commands{std::move(found)}, go_on);
    return;
  }
  redis_result nothing_to_remove;
  nothing_to_remove.ok = true;
  nothing_to_remove.replies.emplace_back();
  go_on(nothing_to_remove);
}

void next_page(self_pointer self, std::shared_ptr<key_walk> walk, std::string cursor) {
  commands page{{"SCAN", std::move(cursor), "MATCH", walk->pattern, "COUNT", "1000"}};
  self->state.link->send(std::move(page),
                         [self, walk](redis_result& r) { page_read(self, walk, r); });
}

void walk_keys(self_pointer self, const std::string& pattern, bool unlink,
               decltype(key_walk::done) done) {
  auto& st = self->state;
  ++st.stats.requests;
  auto walk = std::make_shared<key_walk>();
  walk->pattern = st.prefix_pattern + pattern;
  walk->prefix = st.options.key_prefix;
  walk->unlink = unlink;
  walk->done = [stats = &st.stats, done = std::move(done)](bool ok, const std::string& error,
                                                           std::vector<std::string>& keys) {
    if (!ok)
      ++stats->failures;
    done(ok, error, keys);
  };
  if (!st.link->accepting()) {
    std::vector<std::string> none;
    walk->done(false, "Redis is not reachable: " + st.stats.last_error, none);
    return;
  }
  next_page(self, walk, "0");
}

caf::result<std::vector<std::string>> list_keys(self_pointer self, const std::string& pattern) {
  auto prefix_size = self->state.options.key_prefix.size();
  auto rp = self->make_response_promise<std::vector<std::string>>();
  walk_keys(self, pattern, false,
            [rp, prefix_size](bool ok, const std::string& error,
                              std::vector<std::string>& found) mutable {
              if (!ok) {
                rp.deliver(unavailable(error));
                return;
              }
              std::vector<std::string> keys;
              keys.reserve(found.size());
              for (auto& key : found)
                keys.push_back(key.substr(prefix_size));
              // SCAN may return a key more than once; the memory backend returns each once,
              // sorted.
              std::sort(keys.begin(), keys.end());
              keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
              rp.deliver(std::move(keys));
            });
  return rp;
}

caf::result<void> clear(self_pointer self) {
  auto rp = self->make_response_promise();
  walk_keys(self, "*", true,
            [rp](bool ok, const std::string& error, std::vector<std::string>&) mutable {
              if (ok)
                rp.deliver(caf::unit);
              else
                rp.deliver(unavailable(error));
            });
  return rp;
}

// ---- The connection --------------------------------------------------------------------------

store_status status(self_pointer self) {
  auto status = self->state.stats;
  // Requests wait during the first connection attempt too, but a store that has never been
  // connected is not available yet.
  auto& st = self->state;
  status.available = st.link->connected() || (st.connected_once && st.link->accepting());
  return status;
}

void connection_changed(self_pointer self, bool connected, const std::string& error) {
  auto& st = self->state;
  const auto& endpoint = st.options.connection.endpoint;
  if (connected) {
    if (st.connected_once)
      ++st.stats.reconnects;
    st.connected_once = true;
    st.log.info("connected to Redis",
                {{"host", endpoint.host}, {"port", endpoint.port}, {"db", endpoint.db}});
    st.stats.last_error.clear();
  } else {
    st.log.warn("Redis is unreachable; requests fail with store_unavailable until it is back",
                {{"error", error}});
    st.stats.last_error = error;
  }
}

void start(self_pointer self, redis_store_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.prefix_pattern = glob_escape(st.options.key_prefix);
  st.stats.backend = "redis";
  st.stats.last_error = "not connected yet";
  st.options.connection.max_reply_bytes =
      reply_cap(st.options.connection, st.options.limits.max_value_bytes);
  redis_link::events events;
  events.changed = [self](bool up, const std::string& error) {
    connection_changed(self, up, error);
  };
  st.link.emplace(self, uint8_t{0}, st.options.connection, redis_link::mode::replies,
                  std::move(events));
  st.link->start();
}

// Whether Redis is reachable is tested in one place, submit(), after each request's own checks
// (a bad key is refused as such even while Redis is away): a second behaviour for the time it
// is cut off would repeat every handler to save that one test.
caf::behavior redis_store(self_pointer self, redis_store_options options) {
  exit_with_exception_text(self);
  start(self, std::move(options));
  return {
      [self](get_atom, const std::string& key) { return get_value(self, key); },
      [self](set_atom, const std::string& key, std::string& json, int64_t ttl_ms) {
        return set_value(self, key, json, ttl_ms);
      },
      [self](del_atom, const std::string& key) { return delete_key(self, key); },
      [self](exists_atom, const std::string& key) { return key_exists(self, key); },
      [self](get_many_atom, const std::vector<std::string>& keys) {
        return get_values(self, keys);
      },
      [self](set_many_atom, std::vector<key_value>& items, int64_t ttl_ms) {
        return set_values(self, items, ttl_ms);
      },
      [self](increment_atom, const std::string& key, int64_t by) {
        return increment(self, key, by);
      },
      [self](set_nx_atom, const std::string& key, std::string& json, int64_t ttl_ms) {
        return set_if_absent(self, key, json, ttl_ms);
      },
      [self](list_keys_atom, const std::string& pattern) { return list_keys(self, pattern); },
      [self](clear_atom) { return clear(self); },
      [self](status_atom) { return status(self); },
      [self](acquire_lease_atom, const std::string& name, const std::string& holder,
             const std::string& token,
             int64_t ttl_ms) { return acquire_lease(self, name, holder, token, ttl_ms); },
      [self](renew_lease_atom, const std::string& name, const std::string& token, int64_t ttl_ms) {
        return renew_lease(self, name, token, ttl_ms);
      },
      [self](release_lease_atom, const std::string& name, const std::string& token) {
        return release_lease(self, name, token);
      },
      [self](lease_status_atom, const std::string& name) { return lease_status(self, name); },
      [self](set_fenced_atom, const std::string& key, std::string& json, int64_t ttl_ms,
             const std::string& lease, const std::string& token) {
        return set_fenced(self, key, json, ttl_ms, lease, token);
      },
      [self](append_log_atom, const std::string& log, std::vector<std::string>& entries) {
        return append_log(self, log, entries);
      },
      [self](read_log_atom, const std::string& log, const std::string& after, uint32_t count) {
        return read_log(self, log, after, count);
      },
      [self](trim_log_atom, const std::string& log, const std::string& min_id) {
        return trim_log(self, log, min_id);
      },
      [self](commit_atom, std::vector<key_value>& items, const std::string& log,
             std::vector<std::string>& entries) { return commit(self, items, log, entries); },
      [self](caf::io::new_data_msg& msg) { self->state.link->handle(msg); },
      [self](caf::io::connection_closed_msg& msg) { self->state.link->handle(msg); },
      [self](redis_tick_atom, uint8_t tag) { self->state.link->handle_tick(tag); },
  };
}

} // namespace

state_store_actor spawn_redis_store(caf::actor_system& sys, redis_store_options options) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis state store needs CAF's middleman: load caf::io::middleman "
                           "in the actor system's config");
  return caf::actor_cast<state_store_actor>(
      sys.middleman().spawn_broker(redis_store, std::move(options)));
}

} // namespace brokedancer
