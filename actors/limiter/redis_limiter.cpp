#include "actors/limiter/redis_limiter.hpp"

#include <algorithm>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/limiter/limiter_scripts.hpp"
#include "actors/limiter/request_budget.hpp"
#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

struct script {
  const std::string& text;
  std::string sha;
};

struct redis_limiter_state {
  redis_limiter_options options;
  script sliding{limiter_scripts::sliding_window, {}};
  script bucket{limiter_scripts::token_bucket, {}};
  limiter_status stats;
  logger log{"rate_limiter"};
  // Last: destroyed first, answering every open request while the rest of the state exists.
  std::optional<redis_link> link;
};

using self_pointer = answering_broker<redis_limiter_state>*;

caf::error unavailable(const std::string& why) {
  return make_error(errc::store_unavailable, why);
}

std::vector<std::string> script_call(const char* verb, const std::string& body,
                                     std::vector<std::string> keys, const rate_limit& limit,
                                     uint32_t cost) {
  std::vector<std::string> command{verb, body, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.push_back(std::to_string(limit.limit));
  command.push_back(std::to_string(limit.window_ms * 1000));
  command.push_back(std::to_string(cost));
  return command;
}

struct decision_request {
  std::vector<std::string> keys;
  rate_limit limit;
  uint32_t cost = 0;
  caf::typed_response_promise<rate_decision> promise;
};

void send_decision(self_pointer self, std::shared_ptr<decision_request> request, bool by_sha);

// One reply: a decision, or NOSCRIPT (the server's script cache was flushed, or this is a new
// server) answered by sending the script itself once, which caches it again.
void read_reply(self_pointer self, std::shared_ptr<decision_request> request, bool by_sha,
                redis_reply& reply) {
  auto& stats = self->state.stats;
  if (by_sha && reply.type == redis_reply::kind::error && reply.text.rfind("NOSCRIPT", 0) == 0) {
    send_decision(self, std::move(request), false);
    return;
  }
  auto decision = limiter_scripts::read_decision(reply, request->limit.limit);
  if (!decision) {
    ++stats.failures;
    request->promise.deliver(unavailable(reply.type == redis_reply::kind::error
                                             ? "Redis replied: " + reply_excerpt(reply.text)
                                             : "unexpected reply from Redis"));
    return;
  }
  ++stats.decisions;
  if (!decision->allowed)
    ++stats.refused;
  request->promise.deliver(*decision);
}

void send_decision(self_pointer self, std::shared_ptr<decision_request> request, bool by_sha) {
  auto& st = self->state;
  if (!st.link->accepting()) {
    ++st.stats.failures;
    request->promise.deliver(unavailable("Redis is not reachable: " + st.stats.last_error));
    return;
  }
  const auto& s =
      request->limit.algorithm == rate_algorithm::sliding_window ? st.sliding : st.bucket;
  auto command = by_sha
                     ? script_call("EVALSHA", s.sha, request->keys, request->limit, request->cost)
                     : script_call("EVAL", s.text, request->keys, request->limit, request->cost);
  // The completion may run while the state is destroyed (the link goes first, failing what
  // is open): a failure touches only the counters, which outlive the link, and the promise.
  st.link->send({std::move(command)},
                [self, stats = &st.stats, request, by_sha](redis_result& result) {
                  if (!result.ok) {
                    ++stats->failures;
                    request->promise.deliver(unavailable(result.error));
                    return;
                  }
                  read_reply(self, request, by_sha, result.replies.at(0));
                });
}

caf::result<rate_decision> take(self_pointer self, const std::string& name, const rate_limit& limit,
                                uint32_t cost) {
  if (auto problem = check_rate_request(name, limit, cost); !problem.empty())
    return make_error(errc::invalid_argument, problem);
  const auto& prefix = self->state.options.key_prefix;
  auto request = std::make_shared<decision_request>();
  if (limit.algorithm == rate_algorithm::sliding_window)
    request->keys = {prefix + "ratelimit:sw:" + name, prefix + "ratelimit-seq:" + name};
  else
    request->keys = {prefix + "ratelimit:tb:" + name};
  request->limit = limit;
  request->cost = cost;
  request->promise = self->make_response_promise<rate_decision>();
  auto promise = request->promise;
  send_decision(self, std::move(request), true);
  return promise;
}

limiter_status status(self_pointer self) {
  auto stats = self->state.stats;
  stats.available = self->state.link->accepting();
  return stats;
}

void connection_changed(self_pointer self, bool connected, const std::string& error) {
  auto& st = self->state;
  if (connected) {
    st.stats.last_error.clear();
    st.log.info("connected to Redis", {{"host", st.options.connection.endpoint.host},
                                       {"port", st.options.connection.endpoint.port}});
  } else {
    st.stats.last_error = error;
    st.log.warn("Redis is unreachable; rate limiter decisions fail with store_unavailable until "
                "it is back",
                {{"error", error}});
  }
}

caf::behavior redis_limiter(self_pointer self, redis_limiter_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.sliding.sha = limiter_scripts::sha1_hex(st.sliding.text);
  st.bucket.sha = limiter_scripts::sha1_hex(st.bucket.text);
  st.stats.backend = "redis";
  st.stats.last_error = "not connected yet";
  redis_link::events events;
  events.changed = [self](bool up, const std::string& error) {
    connection_changed(self, up, error);
  };
  // A decision Redis has not made within this is made by the caller without it
  // (actors/limiter/request_budget.hpp); one that went out and came back later would spend the
  // budget twice. For the same reason requests made while the connection is made again fail at
  // once rather than wait for it.
  st.options.connection.command_timeout = std::min<std::chrono::milliseconds>(
      st.options.connection.command_timeout, limiter_answer_timeout);
  // A decision is three integers; an error a line. Nothing longer is a reply to us.
  st.options.connection.max_reply_bytes = 64 * 1024;
  st.link.emplace(self, uint8_t{0}, st.options.connection, redis_link::mode::replies,
                  std::move(events));
  st.link->refuse_while_redialing();
  st.link->start();
  return {
      [self](take_atom, const std::string& name, const rate_limit& limit, uint32_t cost) {
        return take(self, name, limit, cost);
      },
      [self](status_atom) { return status(self); },
      [self](caf::io::new_data_msg& msg) { self->state.link->handle(msg); },
      [self](caf::io::connection_closed_msg& msg) { self->state.link->handle(msg); },
      [self](redis_tick_atom, uint8_t tag) { self->state.link->handle_tick(tag); },
  };
}

} // namespace

rate_limiter_actor spawn_redis_limiter(caf::actor_system& sys, redis_limiter_options options) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis rate limiter needs CAF's middleman: load "
                           "caf::io::middleman in the actor system's config");
  return caf::actor_cast<rate_limiter_actor>(
      sys.middleman().spawn_broker(redis_limiter, std::move(options)));
}

} // namespace brokedancer
