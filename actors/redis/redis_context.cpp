#include "actors/redis/redis_context.hpp"

#include <algorithm>
#include <cerrno>

#include <poll.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

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
  last_error_.clear();
  return true;
}

void redis_context::run_pipeline(std::vector<redis_job>& jobs,
                                 std::vector<redis_job_result>& results) {
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

redis_job_result redis_context::run_scan(const redis_job& job) {
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

bool redis_context::fail(std::string error) {
  last_error_ = std::move(error);
  close();
  return false;
}

std::optional<redis_reply> redis_context::call(const std::vector<std::string>& command) {
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

bool redis_context::closed_by_peer() const {
  if (!connected())
    return false;
  pollfd watched{context_->fd, POLLIN, 0};
  if (::poll(&watched, 1, 0) <= 0)
    return false;
  char byte;
  auto peeked = ::recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int redis_context::fd() const {
  return context_ ? context_->fd : -1;
}

bool redis_context::send(const std::vector<std::string>& command) {
  if (!connected())
    return false;
  if (!append(command))
    return fail("cannot write to Redis: " + std::string(context_->errstr));
  // The socket blocks, with the command timeout: this returns once everything is written.
  int done = 0;
  while (!done)
    if (redisBufferWrite(context_, &done) != REDIS_OK)
      return fail("cannot write to Redis: " + std::string(context_->errstr));
  return true;
}

bool redis_context::receive(std::vector<redis_reply>& replies) {
  if (!connected())
    return false;
  if (redisBufferRead(context_) != REDIS_OK)
    return fail("lost the connection to Redis: " + std::string(context_->errstr));
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK)
      return fail("unreadable reply from Redis: " + std::string(context_->errstr));
    if (raw == nullptr)
      return true;
    replies.push_back(convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
}

bool redis_context::append(const std::vector<std::string>& command) {
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

bool redis_context::command_ok(const std::vector<std::string>& command, const std::string& what) {
  auto reply = call(command);
  if (!reply)
    return false;
  if (reply->type == redis_reply::kind::error)
    return fail(what + " failed: " + reply->text);
  return true;
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
