#include "actors/redis/answering_broker.hpp"

#include <caf/detail/sync_request_bouncer.hpp>
#include <caf/scheduled_actor.hpp>

namespace brokedancer {

void close_and_bounce_mailbox(caf::scheduled_actor& self, const caf::error& reason) {
  auto& box = self.mailbox();
  if (box.closed())
    return;
  box.close();
  self.get_normal_queue().flush_cache();
  self.get_urgent_queue().flush_cache();
  caf::detail::sync_request_bouncer bounce{reason};
  while (box.queue().new_round(1000, bounce).consumed_items)
    ; // nop
}

} // namespace brokedancer
