#include "actors/store/redis_store.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/redis/redis_requests.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/glob.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using flush_atom = caf::atom_constant<caf::atom("flush")>;

using redis_store_actor =
    state_store_actor::extend<caf::reacts_to<std::vector<redis_job_result>>,
                              caf::reacts_to<connection_state_atom, bool, std::string>,
                              caf::reacts_to<flush_atom>>;

struct redis_store_state {
  redis_store_options options;
  std::string prefix_pattern; // the key prefix, glob-escaped
  caf::actor connection;
  bool available = false;
  bool connected_once = false; // every connection after the first is a reconnection
  store_status stats;
  logger log{"state_store"};
  redis_requests requests; // last: destroyed first, while the rest of the state still exists
};

using self_pointer = redis_store_actor::stateful_pointer<redis_store_state>;

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
  return unavailable("Redis replied: " + text);
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

// Hands a job to the connection, or fails it at once when Redis is not reachable.
void submit(self_pointer self, redis_job job, redis_requests::completion done) {
  auto& st = self->state;
  ++st.stats.requests;
  if (!st.available) {
    ++st.stats.failures;
    redis_job_result result;
    result.error = "Redis is not reachable: " + st.stats.last_error;
    done(result);
    return;
  }
  // The flush is a message to ourselves, so it queues behind every request already in the
  // mailbox: all of them go to the connection as one batch.
  if (st.requests.add(std::move(job), std::move(done)))
    self->send(self, flush_atom::value);
}

redis_job pipeline(std::vector<std::vector<std::string>> commands) {
  redis_job job;
  job.commands = std::move(commands);
  return job;
}

// Runs `job` and answers `rp` with `extract(replies)`, or with the job's failure.
template <class Promise, class Extract>
void answer(self_pointer self, redis_job job, Promise rp, Extract extract) {
  // Touches only the promise: it may run while the state is being destroyed.
  submit(self, std::move(job), [rp, extract](redis_job_result& result) mutable {
    if (!result.ok) {
      rp.deliver(unavailable(result.error));
      return;
    }
    extract(result, rp);
  });
}

// A promise answered by running `job` and reading its replies with `extract`. A request without
// a result takes an untyped response_promise, as make_response_promise() gives it.
template <class Promise>
Promise ask(self_pointer self, redis_job job, void (*extract)(redis_job_result&, Promise&)) {
  auto rp = self->make_response_promise<Promise>();
  answer(self, std::move(job), rp, extract);
  return rp;
}

// ---- Reading replies -------------------------------------------------------------------------

void read_value(redis_job_result& r, caf::typed_response_promise<maybe_value>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::nil)
    p.deliver(maybe_value{});
  else if (reply.type == redis_reply::kind::string)
    p.deliver(maybe_value{true, std::move(reply.text)});
  else
    p.deliver(unexpected(reply));
}

void read_ok(redis_job_result& r, caf::response_promise& p) {
  if (r.replies.at(0).type == redis_reply::kind::status)
    p.deliver(caf::unit);
  else
    p.deliver(unexpected(r.replies[0]));
}

// DEL and EXISTS answer with a count; the interface says whether it was more than zero.
void positive_count(redis_job_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer > 0);
  else
    p.deliver(unexpected(reply));
}

void read_values(redis_job_result& r, caf::typed_response_promise<std::vector<maybe_value>>& p) {
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

void read_exec(redis_job_result& r, caf::response_promise& p) {
  auto& exec = r.replies.back();
  if (exec.type == redis_reply::kind::array)
    p.deliver(caf::unit);
  else
    p.deliver(unexpected(exec));
}

void read_integer(redis_job_result& r, caf::typed_response_promise<int64_t>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer);
  else
    p.deliver(unexpected(reply));
}

// SET ... NX answers OK when it wrote and nil when the key was there.
void read_set_if_absent(redis_job_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::status)
    p.deliver(true);
  else if (reply.type == redis_reply::kind::nil)
    p.deliver(false);
  else
    p.deliver(unexpected(reply));
}

void read_cleared(redis_job_result&, caf::response_promise& p) {
  p.deliver(caf::unit);
}

// ---- Requests --------------------------------------------------------------------------------

const store_limits& limits(self_pointer self) {
  return self->state.options.limits;
}

caf::result<maybe_value> get_value(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, pipeline({{"GET", prefixed(self, key)}}), read_value);
}

caf::result<void> set_value(self_pointer self, const std::string& key, std::string& json,
                            int64_t ttl_ms) {
  if (auto err = check_write(limits(self), key, json, ttl_ms))
    return err;
  auto command = with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms);
  return ask(self, pipeline({std::move(command)}), read_ok);
}

caf::result<bool> delete_key(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, pipeline({{"DEL", prefixed(self, key)}}), positive_count);
}

caf::result<bool> key_exists(self_pointer self, const std::string& key) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, pipeline({{"EXISTS", prefixed(self, key)}}), positive_count);
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
  return ask(self, pipeline({std::move(command)}), read_values);
}

caf::result<void> set_values(self_pointer self, std::vector<key_value>& items, int64_t ttl_ms) {
  if (auto err = check_items(limits(self), items, ttl_ms))
    return err;
  if (items.empty())
    return caf::unit;
  // MULTI/EXEC: all keys are written, or none, as in the memory backend.
  std::vector<std::vector<std::string>> commands{{"MULTI"}};
  for (auto& item : items)
    commands.push_back(with_ttl({"SET", prefixed(self, item.key), std::move(item.json)}, ttl_ms));
  commands.push_back({"EXEC"});
  return ask(self, pipeline(std::move(commands)), read_exec);
}

caf::result<int64_t> increment(self_pointer self, const std::string& key, int64_t by) {
  if (auto err = check_key(limits(self), key))
    return err;
  return ask(self, pipeline({{"INCRBY", prefixed(self, key), std::to_string(by)}}), read_integer);
}

caf::result<bool> set_if_absent(self_pointer self, const std::string& key, std::string& json,
                                int64_t ttl_ms) {
  if (auto err = check_write(limits(self), key, json, ttl_ms))
    return err;
  auto command = with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms);
  command.emplace_back("NX");
  return ask(self, pipeline({std::move(command)}), read_set_if_absent);
}

redis_job scan(self_pointer self, redis_job::kind type, const std::string& pattern) {
  redis_job job;
  job.type = type;
  job.pattern = self->state.prefix_pattern + pattern;
  return job;
}

caf::result<std::vector<std::string>> list_keys(self_pointer self, const std::string& pattern) {
  auto prefix_size = self->state.options.key_prefix.size();
  auto read_keys = [prefix_size](redis_job_result& r, auto& p) {
    std::vector<std::string> keys;
    keys.reserve(r.keys.size());
    for (auto& key : r.keys)
      keys.push_back(key.substr(prefix_size));
    // SCAN may return a key more than once; the memory backend returns each once, sorted.
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    p.deliver(std::move(keys));
  };
  auto rp = self->make_response_promise<std::vector<std::string>>();
  answer(self, scan(self, redis_job::kind::scan, pattern), rp, read_keys);
  return rp;
}

caf::result<void> clear(self_pointer self) {
  return ask(self, scan(self, redis_job::kind::scan_delete, "*"), read_cleared);
}

// ---- The connection --------------------------------------------------------------------------

void flush(self_pointer self) {
  // A typed actor may send() only to typed actors; the connection is dynamically typed.
  caf::anon_send(self->state.connection, self->state.requests.take_batch());
}

store_status status(self_pointer self) {
  auto status = self->state.stats;
  status.available = self->state.available;
  return status;
}

void completed(self_pointer self, std::vector<redis_job_result>& results) {
  auto& st = self->state;
  for (const auto& result : results)
    if (!result.ok)
      ++st.stats.failures;
  st.requests.complete(results);
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
  st.available = connected;
}

void connection_down(self_pointer self, caf::down_msg& down) {
  if (down.source != self->state.connection.address())
    return;
  // Without its connection the store cannot keep a promise: fail what is open and let the
  // supervisor start a fresh store and connection.
  self->state.requests.fail_all("the Redis connection stopped");
  self->quit(down.reason ? down.reason : unavailable("the Redis connection stopped"));
}

void start(self_pointer self, redis_store_options options) {
  auto& st = self->state;
  st.options = std::move(options);
  st.prefix_pattern = glob_escape(st.options.key_prefix);
  st.stats.backend = "redis";
  st.stats.last_error = "not connected yet";
  st.connection = spawn_redis_connection(self, st.options.connection);
  self->monitor(st.connection);
  self->set_down_handler([self](caf::down_msg& down) { connection_down(self, down); });
}

// Whether Redis is reachable is tested in one place, submit(), after each request's own checks
// (a bad key is refused as such even while Redis is away): a second behaviour for the time it
// is cut off would repeat every handler to save that one test.
redis_store_actor::behavior_type redis_store(self_pointer self, redis_store_options options) {
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
      [self](flush_atom) { flush(self); },
      [self](status_atom) { return status(self); },
      [self](std::vector<redis_job_result>& results) { completed(self, results); },
      [self](connection_state_atom, bool connected, std::string& error) {
        connection_changed(self, connected, error);
      },
  };
}

} // namespace

state_store_actor spawn_redis_store(caf::actor_system& sys, redis_store_options options) {
  return sys.spawn(redis_store, std::move(options));
}

} // namespace brokedancer
