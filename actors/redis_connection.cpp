#include "actors/redis_connection.hpp"

#include <optional>
#include <random>

#include <hiredis/hiredis.h>

#include <caf/after.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/local_actor.hpp>

namespace brokedancer {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

redis_reply convert(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = redis_reply::kind::nil;
  }
  return out;
}

// A hiredis context with the connection's whole life: connect, log in, run jobs, break.
class connection {
public:
  explicit connection(redis_connection_options options) : options_(std::move(options)) {}

  ~connection() {
    close();
  }

  bool connected() const {
    return context_ != nullptr;
  }

  const std::string& last_error() const {
    return last_error_;
  }

  bool connect() {
    close();
    const auto& ep = options_.endpoint;
    context_ =
        redisConnectWithTimeout(ep.host.c_str(), ep.port, to_timeval(options_.connect_timeout));
    if (!context_ || context_->err) {
      return fail("cannot connect to " + ep.host + ":" + std::to_string(ep.port) + ": "
                  + (context_ ? context_->errstr : "out of memory"));
    }
    redisSetTimeout(context_, to_timeval(options_.command_timeout));
    redisEnableKeepAlive(context_);
    if (!ep.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!ep.username.empty())
        auth.push_back(ep.username);
      auth.push_back(ep.password);
      // The reply, not the command, goes into the error: the command holds the password.
      if (!command_ok(auth, "AUTH"))
        return false;
    }
    if (ep.db != 0
        && !command_ok({"SELECT", std::to_string(ep.db)}, "SELECT " + std::to_string(ep.db)))
      return false;
    last_error_.clear();
    return true;
  }

  // Runs pipeline jobs in one round trip; fills `results` in the same order.
  void run_pipeline(std::vector<redis_job>& jobs, std::vector<redis_job_result>& results) {
    for (auto& job : jobs) {
      for (const auto& command : job.commands) {
        if (connected() && !append(command))
          fail("cannot write to Redis: " + std::string(context_->errstr));
      }
    }
    for (auto& job : jobs) {
      redis_job_result result;
      result.id = job.id;
      result.ok = connected();
      for (size_t i = 0; result.ok && i < job.commands.size(); ++i) {
        void* raw = nullptr;
        if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
          fail("lost the connection to Redis: " + std::string(context_->errstr));
          result.ok = false;
          break;
        }
        result.replies.push_back(convert(static_cast<redisReply*>(raw)));
        freeReplyObject(raw);
      }
      if (!result.ok) {
        result.error = last_error_;
        result.replies.clear();
      }
      results.push_back(std::move(result));
    }
  }

  // Walks the keyspace with SCAN (never KEYS, which blocks Redis for the whole walk).
  redis_job_result run_scan(const redis_job& job) {
    redis_job_result result;
    result.id = job.id;
    std::string cursor = "0";
    do {
      auto page = call({"SCAN", cursor, "MATCH", job.pattern, "COUNT", "1000"});
      if (!page || page->type != redis_reply::kind::array || page->elements.size() != 2) {
        result.error = page ? "unexpected SCAN reply: " + page->text : last_error_;
        return result;
      }
      cursor = page->elements[0].text;
      std::vector<std::string> keys;
      for (auto& key : page->elements[1].elements)
        keys.push_back(std::move(key.text));
      if (job.type == redis_job::kind::scan_delete && !keys.empty()) {
        std::vector<std::string> unlink{"UNLINK"};
        unlink.insert(unlink.end(), keys.begin(), keys.end());
        auto removed = call(unlink);
        if (!removed || removed->type == redis_reply::kind::error) {
          result.error = removed ? removed->text : last_error_;
          return result;
        }
      }
      result.keys.insert(result.keys.end(), keys.begin(), keys.end());
    } while (cursor != "0");
    result.ok = true;
    return result;
  }

  bool fail(std::string error) {
    last_error_ = std::move(error);
    close();
    return false;
  }

private:
  bool append(const std::vector<std::string>& command) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(command.size());
    lengths.reserve(command.size());
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    return redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                                  lengths.data())
           == REDIS_OK;
  }

  std::optional<redis_reply> call(const std::vector<std::string>& command) {
    if (!connected())
      return std::nullopt;
    if (!append(command)) {
      fail("cannot write to Redis: " + std::string(context_->errstr));
      return std::nullopt;
    }
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      fail("lost the connection to Redis: " + std::string(context_->errstr));
      return std::nullopt;
    }
    auto reply = convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return reply;
  }

  bool command_ok(const std::vector<std::string>& command, const std::string& what) {
    auto reply = call(command);
    if (!reply)
      return false;
    if (reply->type == redis_reply::kind::error)
      return fail(what + " failed: " + reply->text);
    return true;
  }

  void close() {
    if (context_) {
      redisFree(context_);
      context_ = nullptr;
    }
  }

  redis_connection_options options_;
  redisContext* context_ = nullptr;
  std::string last_error_;
};

redis_job_result failed(uint64_t id, const std::string& error) {
  redis_job_result result;
  result.id = id;
  result.error = error;
  return result;
}

void redis_connection(caf::blocking_actor* self, redis_connection_options options,
                      caf::actor owner) {
  connection conn{options};
  std::mt19937_64 random{std::random_device{}()};
  bool running = true;
  int failed_attempts = 0;
  // The owner hears of every change, once: it stops sending jobs while we are down.
  std::optional<bool> announced;
  auto announce = [&](bool up) {
    if (announced == up)
      return;
    announced = up;
    self->send(owner, connection_state_atom::value, up, up ? std::string{} : conn.last_error());
  };
  auto on_exit = [&](caf::exit_msg& exit) {
    running = false;
    self->fail_state(std::move(exit.reason));
  };
  while (running) {
    if (!conn.connected()) {
      if (conn.connect()) {
        failed_attempts = 0;
        announce(true);
        continue;
      }
      announce(false);
      // Exponential backoff with equal jitter: half the delay fixed, half random, so that
      // many nodes that lost Redis together do not reconnect in lockstep.
      auto ceiling = options.reconnect_initial.count() << std::min(failed_attempts, 20);
      ceiling = std::min<int64_t>(ceiling, options.reconnect_max.count());
      ++failed_attempts;
      std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(1, ceiling / 2));
      auto wake = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds(ceiling - ceiling / 2 + jitter(random));
      // Wait on the mailbox, not in sleep: jobs that arrive meanwhile fail at once.
      while (running && std::chrono::steady_clock::now() < wake) {
        self->receive(
            [&](std::vector<redis_job>& jobs) {
              std::vector<redis_job_result> results;
              for (const auto& job : jobs)
                results.push_back(failed(job.id, "not connected: " + conn.last_error()));
              self->send(owner, std::move(results));
            },
            on_exit,
            caf::after(std::chrono::duration_cast<std::chrono::milliseconds>(
                wake - std::chrono::steady_clock::now()))
                >> [] {});
      }
      continue;
    }
    std::vector<redis_job> batch;
    size_t commands = 0;
    auto take = [&](std::vector<redis_job>& jobs) {
      for (auto& job : jobs) {
        commands += job.commands.size();
        batch.push_back(std::move(job));
      }
    };
    self->receive(take, on_exit);
    // Whatever else is already waiting rides in the same round trip.
    bool more = true;
    while (running && more && commands < options.pipeline_max) {
      more = false;
      self->receive(
          [&](std::vector<redis_job>& jobs) {
            take(jobs);
            more = true;
          },
          on_exit, caf::after(std::chrono::seconds(0)) >> [] {});
    }
    if (batch.empty())
      continue;
    std::vector<redis_job> pipelined, scans;
    for (auto& job : batch)
      (job.type == redis_job::kind::pipeline ? pipelined : scans).push_back(std::move(job));
    std::vector<redis_job_result> results;
    results.reserve(batch.size());
    if (!pipelined.empty())
      conn.run_pipeline(pipelined, results);
    for (const auto& job : scans)
      results.push_back(conn.connected() ? conn.run_scan(job) : failed(job.id, conn.last_error()));
    self->send(owner, std::move(results));
    if (!conn.connected())
      announce(false);
  }
}

} // namespace

caf::actor spawn_redis_connection(caf::local_actor* owner, redis_connection_options options) {
  return owner->spawn<caf::detached + caf::linked>(redis_connection, std::move(options),
                                                   caf::actor_cast<caf::actor>(owner));
}

} // namespace brokedancer
