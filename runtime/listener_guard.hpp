#pragma once

// What an unauthenticated connection to the cluster port may cost. CAF 0.17 keeps a connection
// whose TLS handshake never completes for ever (its heartbeat timeout counts only connections
// that have spoken BASP), and accepts as many as come. The guard watches the sockets accepted on
// the port from outside CAF, through the kernel (TCP_INFO), and cuts (shutdown(2), which CAF
// then sees as a closed connection):
//
// - a connection that has not received `handshake_bytes` within `handshake_timeout`: a peer's
//   mutual-TLS handshake (or, in plaintext, CAF's handshake) and heartbeats are past that by
//   then;
// - a connection that received less than `idle_bytes` in any `idle_timeout` once past that:
//   peers heartbeat (a window is at least six heartbeats of some 60 bytes each), while a
//   stranger trickling a byte now and then into a TLS record that never ends does not;
// - while more than `max_connections` are open, of those still within their handshake the ones
//   that have received least, the newest of them first.
//
// The rules are plain code with the time passed in (connection_rules); the scanner is Linux's
// /proc/self/fd.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace brokedancer {

struct guard_settings {
  std::chrono::milliseconds handshake_timeout{3000};
  uint64_t handshake_bytes = 1024;
  std::chrono::milliseconds idle_timeout{5000};
  uint64_t idle_bytes = 256;
  size_t max_connections = 64;
};

// One look at an accepted connection: which one (the socket's inode), and how many bytes it has
// received so far.
struct connection_sample {
  uint64_t id = 0;
  uint64_t bytes_received = 0;
};

class connection_rules {
public:
  using clock = std::chrono::steady_clock;

  explicit connection_rules(guard_settings settings) : settings_(settings) {}

  // The connections to cut, given every connection open now. Connections not in `open` are
  // forgotten.
  std::vector<uint64_t> review(const std::vector<connection_sample>& open, clock::time_point now);

private:
  struct seen {
    clock::time_point first;
    clock::time_point window_start; // of the current idle window
    uint64_t window_bytes = 0;      // received when it began
    uint64_t bytes = 0;
  };

  guard_settings settings_;
  std::map<uint64_t, seen> known_;
};

class listener_guard {
public:
  // Starts watching the connections accepted on local TCP port `port`.
  listener_guard(uint16_t port, guard_settings settings);
  ~listener_guard();

  listener_guard(const listener_guard&) = delete;
  listener_guard& operator=(const listener_guard&) = delete;

  // Connections cut so far.
  uint64_t cut() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
