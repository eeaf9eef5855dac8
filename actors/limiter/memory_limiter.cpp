#include "actors/limiter/memory_limiter.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/limiter/rate_table.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

struct memory_limiter_data {
  explicit memory_limiter_data(size_t max_names, size_t max_entries)
    : table(max_names, max_entries) {}

  rate_table table;
  limiter_status stats;
};

std::shared_ptr<memory_limiter_data> make_memory_limiter_data(size_t max_names,
                                                              size_t max_entries) {
  auto data = std::make_shared<memory_limiter_data>(max_names, max_entries);
  data->stats.backend = "memory";
  data->stats.available = true;
  return data;
}

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using memory_limiter_actor = rate_limiter_actor::extend<caf::reacts_to<sweep_atom>>;

// Idle names are forgotten this often; a full table also sweeps before it refuses.
constexpr auto sweep_interval = std::chrono::seconds(10);

struct memory_limiter_state {
  std::shared_ptr<memory_limiter_data> data;
};

using self_pointer = memory_limiter_actor::stateful_pointer<memory_limiter_state>;

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

caf::result<rate_decision> take(self_pointer self, const std::string& name, const rate_limit& limit,
                                uint32_t cost) {
  auto& d = *self->state.data;
  if (auto problem = check_rate_request(name, limit, cost); !problem.empty())
    return make_error(errc::invalid_argument, problem);
  auto decision = d.table.take(name, limit, cost, steady_us());
  // Full: not the request's fault, and its callers keep their budgets on their own meanwhile.
  if (!decision)
    return make_error(errc::store_unavailable,
                      "the memory rate limiter holds its most ("
                          + std::to_string(d.table.max_names()) + " names, "
                          + std::to_string(d.table.max_entries())
                          + " sliding-window entries); fewer names or lower limits fit");
  ++d.stats.decisions;
  if (!decision->allowed)
    ++d.stats.refused;
  return *decision;
}

limiter_status status(self_pointer self) {
  auto& d = *self->state.data;
  auto stats = d.stats;
  stats.names = d.table.names();
  return stats;
}

void sweep(self_pointer self) {
  self->state.data->table.sweep(steady_us());
  self->delayed_send(self, sweep_interval, sweep_atom::value);
}

memory_limiter_actor::behavior_type memory_limiter(self_pointer self,
                                                   std::shared_ptr<memory_limiter_data> data) {
  exit_with_exception_text(self);
  self->state.data = std::move(data);
  self->delayed_send(self, sweep_interval, sweep_atom::value);
  return {
      [self](take_atom, const std::string& name, const rate_limit& limit, uint32_t cost) {
        return take(self, name, limit, cost);
      },
      [self](status_atom) { return status(self); },
      [self](sweep_atom) { sweep(self); },
  };
}

} // namespace

rate_limiter_actor spawn_memory_limiter(caf::actor_system& sys,
                                        std::shared_ptr<memory_limiter_data> data) {
  return caf::actor_cast<rate_limiter_actor>(sys.spawn(memory_limiter, std::move(data)));
}

} // namespace brokedancer
