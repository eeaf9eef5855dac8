#pragma once

// Making a Redis connection blocks -- a name lookup, a connect with a timeout, AUTH, SELECT --
// so each attempt runs on a short-lived detached actor of its own and never on a CAF scheduler
// or multiplexer thread. It answers (dial_atom) with the logged-in socket, which the asking
// actor then drives without blocking (actors/redis/redis_link.hpp). Attempts are a reconnect
// delay apart (the configuration allows 10 ms at the least, and it doubles per failure), so a
// thread per attempt costs nothing that matters.

#include <memory>
#include <string>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/redis/redis_connection.hpp"

namespace brokedancer {

using dial_atom = caf::atom_constant<caf::atom("dial")>;

// A socket that is closed unless someone takes it: a dial whose asker is gone by the time it
// answers leaves no open descriptor behind (the undelivered answer is destroyed, and with it
// the socket).
class owned_socket {
public:
  explicit owned_socket(int fd) : fd_(fd) {}
  ~owned_socket();
  owned_socket(const owned_socket&) = delete;
  owned_socket& operator=(const owned_socket&) = delete;

  // Hands the descriptor over; the caller closes it from now on.
  int take() {
    auto fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_;
};

// The answer to a dial: a connected, logged-in socket, or why there is none.
struct dialed_socket {
  std::shared_ptr<owned_socket> socket; // null when the attempt failed
  std::string error;                    // never holds the password
};

// Local only: a socket means nothing in another process. Inspectable for CAF's to_string.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dialed_socket& x) {
  return f(caf::meta::type_name("dialed_socket"), x.error);
}

// One attempt: the actor answers a single (dial_atom) and quits. `select_db`: false for pub/sub
// connections (channels are not per database).
caf::actor spawn_redis_dialer(caf::local_actor* asker, redis_connection_options options,
                              bool select_db);

} // namespace brokedancer
