#include "actors/redis/redis_context.hpp"

#include <algorithm>

#include <hiredis/hiredis.h>

#include "actors/redis/eviction_policy.hpp"
#include "actors/redis/redis_protocol.hpp"

namespace brokedancer {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

} // namespace

redis_context::redis_context(redis_connection_options options) : options_(std::move(options)) {}

redis_context::~redis_context() {
  close();
}

bool redis_context::connect(bool select_db) {
  close();
  const auto& ep = options_.endpoint;
  context_ =
      redisConnectWithTimeout(ep.host.c_str(), ep.port, to_timeval(options_.connect_timeout));
  if (!context_ || context_->err) {
    return fail("cannot connect to " + ep.host + ":" + std::to_string(ep.port) + ": "
                + (context_ ? context_->errstr : "out of memory"));
  }
  // The login below waits at most this long for each answer.
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
  if (select_db && ep.db != 0
      && !command_ok({"SELECT", std::to_string(ep.db)}, "SELECT " + std::to_string(ep.db)))
    return false;
  if (!eviction_policy_ok())
    return false;
  last_error_.clear();
  return true;
}

bool redis_context::eviction_policy_ok() {
  evicts_ = false;
  auto* reply = static_cast<redisReply*>(redisCommand(context_, "INFO memory"));
  if (reply == nullptr)
    return fail("lost the connection to Redis: " + std::string(context_->errstr));
  std::string refusal;
  if (reply->type == REDIS_REPLY_ERROR)
    refusal = "Redis refused INFO memory (" + reply_excerpt({reply->str, reply->len})
              + "): its maxmemory-policy is not known, and keys that must stay could be "
                "evicted. Allow INFO for this user";
  else if (reply->type == REDIS_REPLY_STRING)
    refusal = eviction_refusal({reply->str, reply->len});
  else
    refusal = "unexpected reply from Redis to INFO memory";
  freeReplyObject(reply);
  if (refusal.empty())
    return true;
  evicts_ = true;
  const auto& ep = options_.endpoint;
  return fail("refusing Redis at " + ep.host + ":" + std::to_string(ep.port) + ": " + refusal);
}

int redis_context::release_socket() {
  if (!context_)
    return -1;
  auto fd = context_->fd;
  redisFreeKeepFd(context_);
  context_ = nullptr;
  return fd;
}

bool redis_context::command_ok(const std::vector<std::string>& command, const std::string& what) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (reply == nullptr)
    return fail("lost the connection to Redis: " + std::string(context_->errstr));
  bool refused = reply->type == REDIS_REPLY_ERROR;
  std::string text = refused ? std::string(reply->str, reply->len) : std::string{};
  freeReplyObject(reply);
  if (refused)
    return fail(what + " failed: " + reply_excerpt(text));
  return true;
}

bool redis_context::fail(std::string error) {
  last_error_ = std::move(error);
  close();
  return false;
}

void redis_context::close() {
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
}

std::chrono::milliseconds reconnect_delay(const redis_connection_options& options,
                                          int failed_attempts, std::mt19937_64& random) {
  auto ceiling = options.reconnect_initial.count() << std::min(failed_attempts, 20);
  ceiling = std::min<int64_t>(ceiling, options.reconnect_max.count());
  std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(1, ceiling / 2));
  return std::chrono::milliseconds(ceiling - ceiling / 2 + jitter(random));
}

} // namespace brokedancer
