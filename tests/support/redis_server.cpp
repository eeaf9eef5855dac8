#include "support/redis_server.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "core/redis_url.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace brokedancer::testing {

unsigned short free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free loopback port");
  close(fd);
  return ntohs(addr.sin_port);
}

namespace {

bool answers_ping(unsigned short port) {
  timeval timeout{0, 200000};
  auto* ctx = redisConnectWithTimeout("127.0.0.1", port, timeout);
  bool ok = false;
  if (ctx && !ctx->err) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "PING"));
    ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
      freeReplyObject(reply);
  }
  if (ctx)
    redisFree(ctx);
  return ok;
}

} // namespace

redis_server::redis_server(persistence mode) : mode_(mode) {
  char dir[] = "/tmp/brokedancer-redis-XXXXXX";
  if (!mkdtemp(dir))
    throw std::runtime_error("cannot create a directory for redis-server");
  dir_ = dir;
  port_ = free_loopback_port();
  start();
}

redis_server::~redis_server() {
  kill();
  std::string rm = "rm -rf '" + dir_ + "'";
  if (std::system(rm.c_str()) != 0)
    return;
}

void redis_server::start() {
  if (pid_ > 0)
    return; // already running
  pid_ = fork();
  if (pid_ == 0) {
    // Dies with the test: a test killed by CTest's timeout must not leave its server behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto port = std::to_string(port_);
    auto log = dir_ + "/redis.log";
    bool aof = mode_ == persistence::append_only_fsync_always;
    // DEBUG SLEEP (from loopback only) lets a test stall the server as a busy or stuck Redis
    // would.
    execlp("redis-server", "redis-server", "--bind", "127.0.0.1", "--port", port.c_str(), "--dir",
           dir_.c_str(), "--save", "", "--appendonly", aof ? "yes" : "no", "--appendfsync",
           "always", "--logfile", log.c_str(), "--enable-debug-command", "local",
           static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!answers_ping(port_)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_)
      throw std::runtime_error("redis-server exited at start; see " + dir_ + "/redis.log");
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("redis-server did not answer within 10 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void redis_server::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

std::string redis_server::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
}

std::string shared_redis_url() {
  const char* url = std::getenv("BROKEDANCER_TEST_REDIS_URL");
  if (!url || !*url)
    throw std::runtime_error("BROKEDANCER_TEST_REDIS_URL is not set: run the suite with "
                             "scripts/test.sh, which starts a throwaway redis-server");
  return url;
}

namespace {

std::string reply_text(const redisReply* reply) {
  switch (reply->type) {
    case REDIS_REPLY_INTEGER: return std::to_string(reply->integer);
    case REDIS_REPLY_NIL: return "(nil)";
    case REDIS_REPLY_ERROR: return "ERR: " + std::string{reply->str, reply->len};
    case REDIS_REPLY_ARRAY: {
      std::string text;
      for (size_t i = 0; i < reply->elements; ++i)
        text += (i > 0 ? " " : "") + reply_text(reply->element[i]);
      return text;
    }
    default: return {reply->str, reply->len};
  }
}

} // namespace

std::string redis_command(const std::string& url, const std::vector<std::string>& command) {
  std::string problem;
  auto endpoint = parse_redis_url(url, problem);
  if (!endpoint)
    throw std::runtime_error("not a Redis URL: " + problem);
  auto* ctx = redisConnect(endpoint->host.c_str(), endpoint->port);
  if (!ctx || ctx->err) {
    if (ctx)
      redisFree(ctx);
    throw std::runtime_error("cannot reach Redis at " + url);
  }
  auto select = std::to_string(endpoint->db);
  if (auto* r = static_cast<redisReply*>(redisCommand(ctx, "SELECT %s", select.c_str())))
    freeReplyObject(r);
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& part : command) {
    argv.push_back(part.data());
    lengths.push_back(part.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  std::string text = reply ? reply_text(reply) : "ERR: no reply";
  if (reply)
    freeReplyObject(reply);
  redisFree(ctx);
  return text;
}

} // namespace brokedancer::testing
