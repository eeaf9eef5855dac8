#pragma once

// A redis-server process of a test's own, on a free loopback port, for tests that must kill
// and restart Redis without disturbing the suite's shared server. By default it persists with
// appendfsync always, as a production Redis that must not lose acknowledged writes would; the
// benchmarks start one without persistence, to measure the store rather than the disk.

#include <string>
#include <vector>

#include <sys/types.h>

namespace brokedancer::testing {

// A TCP port on 127.0.0.1 that nothing listens on right now.
unsigned short free_loopback_port();

class redis_server {
public:
  enum class persistence { append_only_fsync_always, none };
  explicit redis_server(persistence mode = persistence::append_only_fsync_always);
  ~redis_server();

  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  // Started by the constructor. start() starts it again after kill(), on the same port and
  // data directory, and waits until it answers; it does nothing while the server runs.
  void start();
  // SIGKILL: no chance to flush anything but what appendfsync already wrote.
  void kill();

  unsigned short port() const {
    return port_;
  }
  std::string url() const;

private:
  persistence mode_;
  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

// The URL of the suite's shared Redis (BROKEDANCER_TEST_REDIS_URL, set by scripts/test.sh).
// Fails the current test with instructions when it is not set.
std::string shared_redis_url();

// One command to the Redis at `url` on a connection of its own, as another client would send it;
// the reply as text (an integer in decimal, an error prefixed "ERR: ", nil as "(nil)", an array
// as its elements' texts joined by ' '). Throws when Redis cannot be reached.
std::string redis_command(const std::string& url, const std::vector<std::string>& command);

} // namespace brokedancer::testing
