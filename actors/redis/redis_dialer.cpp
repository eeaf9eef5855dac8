#include "actors/redis/redis_dialer.hpp"

#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/local_actor.hpp>

#include "actors/redis/redis_context.hpp"

namespace brokedancer {

owned_socket::~owned_socket() {
  if (fd_ >= 0)
    ::close(fd_);
}

namespace {

dialed_socket dial(const redis_connection_options& options, bool select_db) {
  redis_context context{options};
  if (!context.connect(select_db))
    return {nullptr, context.last_error()};
  return {std::make_shared<owned_socket>(context.release_socket()), {}};
}

caf::behavior redis_dialer(caf::event_based_actor* self, redis_connection_options options,
                           bool select_db) {
  return {
      [self, options, select_db](dial_atom) {
        self->quit();
        return dial(options, select_db);
      },
  };
}

} // namespace

caf::actor spawn_redis_dialer(caf::local_actor* asker, redis_connection_options options,
                              bool select_db) {
  return asker->spawn<caf::detached>(redis_dialer, std::move(options), select_db);
}

} // namespace brokedancer
