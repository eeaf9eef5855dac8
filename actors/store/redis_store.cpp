#include "actors/store/redis_store.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/glob.hpp"
#include "actors/redis/redis_requests.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "core/logging.hpp"

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

// DEL and EXISTS answer with a count; the interface says whether it was more than zero.
void positive_count(redis_job_result& r, caf::typed_response_promise<bool>& p) {
  auto& reply = r.replies.at(0);
  if (reply.type == redis_reply::kind::integer)
    p.deliver(reply.integer > 0);
  else
    p.deliver(unexpected(reply));
}

redis_store_actor::behavior_type redis_store(self_pointer self, redis_store_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.prefix_pattern = glob_escape(st.options.key_prefix);
  st.stats.backend = "redis";
  st.stats.last_error = "not connected yet";
  st.connection = spawn_redis_connection(self, st.options.connection);
  self->monitor(st.connection);
  self->set_down_handler([self](caf::down_msg& down) {
    if (down.source != self->state.connection.address())
      return;
    // Without its connection the store cannot keep a promise: fail what is open and let the
    // supervisor start a fresh store and connection.
    self->state.requests.fail_all("the Redis connection stopped");
    self->quit(down.reason ? down.reason : unavailable("the Redis connection stopped"));
  });
  return {
      [self](get_atom, const std::string& key) -> caf::result<maybe_value> {
        if (auto err = check_key(self->state.options.limits, key))
          return err;
        auto rp = self->make_response_promise<maybe_value>();
        answer(self, pipeline({{"GET", prefixed(self, key)}}), rp,
               [](redis_job_result& r, auto& p) {
                 auto& reply = r.replies.at(0);
                 if (reply.type == redis_reply::kind::nil)
                   p.deliver(maybe_value{});
                 else if (reply.type == redis_reply::kind::string)
                   p.deliver(maybe_value{true, std::move(reply.text)});
                 else
                   p.deliver(unexpected(reply));
               });
        return rp;
      },
      [self](set_atom, const std::string& key, std::string& json,
             int64_t ttl_ms) -> caf::result<void> {
        auto& limits = self->state.options.limits;
        if (auto err = check_write(limits, key, json, ttl_ms))
          return err;
        auto rp = self->make_response_promise();
        answer(self, pipeline({with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms)}),
               rp, [](redis_job_result& r, auto& p) {
                 if (r.replies.at(0).type == redis_reply::kind::status)
                   p.deliver(caf::unit);
                 else
                   p.deliver(unexpected(r.replies[0]));
               });
        return rp;
      },
      [self](del_atom, const std::string& key) -> caf::result<bool> {
        if (auto err = check_key(self->state.options.limits, key))
          return err;
        auto rp = self->make_response_promise<bool>();
        answer(self, pipeline({{"DEL", prefixed(self, key)}}), rp, positive_count);
        return rp;
      },
      [self](exists_atom, const std::string& key) -> caf::result<bool> {
        if (auto err = check_key(self->state.options.limits, key))
          return err;
        auto rp = self->make_response_promise<bool>();
        answer(self, pipeline({{"EXISTS", prefixed(self, key)}}), rp, positive_count);
        return rp;
      },
      [self](get_many_atom,
             const std::vector<std::string>& keys) -> caf::result<std::vector<maybe_value>> {
        for (const auto& key : keys)
          if (auto err = check_key(self->state.options.limits, key))
            return err;
        if (keys.empty())
          return std::vector<maybe_value>{};
        std::vector<std::string> command{"MGET"};
        for (const auto& key : keys)
          command.push_back(prefixed(self, key));
        auto rp = self->make_response_promise<std::vector<maybe_value>>();
        answer(self, pipeline({std::move(command)}), rp, [](redis_job_result& r, auto& p) {
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
        });
        return rp;
      },
      [self](set_many_atom, std::vector<key_value>& items, int64_t ttl_ms) -> caf::result<void> {
        auto& limits = self->state.options.limits;
        if (auto err = check_ttl(ttl_ms))
          return err;
        for (const auto& item : items) {
          if (auto err = check_key(limits, item.key))
            return err;
          if (auto err = check_value(limits, item.json))
            return err;
        }
        if (items.empty())
          return caf::unit;
        // MULTI/EXEC: all keys are written, or none, as in the memory backend.
        std::vector<std::vector<std::string>> commands{{"MULTI"}};
        for (auto& item : items)
          commands.push_back(
              with_ttl({"SET", prefixed(self, item.key), std::move(item.json)}, ttl_ms));
        commands.push_back({"EXEC"});
        auto rp = self->make_response_promise();
        answer(self, pipeline(std::move(commands)), rp, [](redis_job_result& r, auto& p) {
          auto& exec = r.replies.back();
          if (exec.type == redis_reply::kind::array)
            p.deliver(caf::unit);
          else
            p.deliver(unexpected(exec));
        });
        return rp;
      },
      [self](increment_atom, const std::string& key, int64_t by) -> caf::result<int64_t> {
        if (auto err = check_key(self->state.options.limits, key))
          return err;
        auto rp = self->make_response_promise<int64_t>();
        answer(self, pipeline({{"INCRBY", prefixed(self, key), std::to_string(by)}}), rp,
               [](redis_job_result& r, auto& p) {
                 auto& reply = r.replies.at(0);
                 if (reply.type == redis_reply::kind::integer)
                   p.deliver(reply.integer);
                 else
                   p.deliver(unexpected(reply));
               });
        return rp;
      },
      [self](set_nx_atom, const std::string& key, std::string& json,
             int64_t ttl_ms) -> caf::result<bool> {
        auto& limits = self->state.options.limits;
        if (auto err = check_write(limits, key, json, ttl_ms))
          return err;
        auto rp = self->make_response_promise<bool>();
        auto command = with_ttl({"SET", prefixed(self, key), std::move(json)}, ttl_ms);
        command.emplace_back("NX");
        answer(self, pipeline({std::move(command)}), rp, [](redis_job_result& r, auto& p) {
          auto& reply = r.replies.at(0);
          if (reply.type == redis_reply::kind::status)
            p.deliver(true);
          else if (reply.type == redis_reply::kind::nil)
            p.deliver(false);
          else
            p.deliver(unexpected(reply));
        });
        return rp;
      },
      [self](list_keys_atom, const std::string& pattern) -> caf::result<std::vector<std::string>> {
        redis_job job;
        job.type = redis_job::kind::scan;
        job.pattern = self->state.prefix_pattern + pattern;
        auto rp = self->make_response_promise<std::vector<std::string>>();
        auto prefix_size = self->state.options.key_prefix.size();
        answer(self, std::move(job), rp, [prefix_size](redis_job_result& r, auto& p) {
          std::vector<std::string> keys;
          keys.reserve(r.keys.size());
          for (auto& key : r.keys)
            keys.push_back(key.substr(prefix_size));
          // SCAN may return a key more than once; the memory backend returns each once, sorted.
          std::sort(keys.begin(), keys.end());
          keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
          p.deliver(std::move(keys));
        });
        return rp;
      },
      [self](clear_atom) -> caf::result<void> {
        redis_job job;
        job.type = redis_job::kind::scan_delete;
        job.pattern = self->state.prefix_pattern + "*";
        auto rp = self->make_response_promise();
        answer(self, std::move(job), rp, [](redis_job_result&, auto& p) { p.deliver(caf::unit); });
        return rp;
      },
      [self](flush_atom) {
        // A typed actor may send() only to typed actors; the connection is dynamically typed.
        caf::anon_send(self->state.connection, self->state.requests.take_batch());
      },
      [self](status_atom) {
        auto status = self->state.stats;
        status.available = self->state.available;
        return status;
      },
      [self](std::vector<redis_job_result>& results) {
        auto& current = self->state;
        for (const auto& result : results)
          if (!result.ok)
            ++current.stats.failures;
        current.requests.complete(results);
      },
      [self](connection_state_atom, bool connected, std::string& error) {
        auto& current = self->state;
        const auto& endpoint = current.options.connection.endpoint;
        if (connected) {
          if (current.connected_once)
            ++current.stats.reconnects;
          current.connected_once = true;
          current.log.info("connected to Redis",
                           {{"host", endpoint.host}, {"port", endpoint.port}, {"db", endpoint.db}});
          current.stats.last_error.clear();
        } else {
          current.log.warn(
              "Redis is unreachable; requests fail with store_unavailable until it is back",
              {{"error", error}});
          current.stats.last_error = error;
        }
        current.available = connected;
      },
  };
}

} // namespace

state_store_actor spawn_redis_store(caf::actor_system& sys, redis_store_options options) {
  return sys.spawn(redis_store, std::move(options));
}

} // namespace brokedancer
