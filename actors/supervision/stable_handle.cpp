#include "actors/supervision/stable_handle.hpp"

#include <mutex>

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_system.hpp>
#include <caf/locks.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_actor.hpp>
#include <caf/system_messages.hpp>

#include "messages/errors.hpp"

namespace brokedancer {

stable_handle::stable_handle(caf::actor_config& cfg, std::string child_name,
                             caf::actor_addr supervisor)
  : caf::monitorable_actor(cfg), child_name_(std::move(child_name)),
    supervisor_(std::move(supervisor)) {
  // Counted as running, as a scheduled actor would be: the actor system waits for it.
  register_at_system();
}

caf::actor stable_handle::make(caf::actor_system& sys, std::string child_name,
                               caf::actor_addr supervisor) {
  caf::actor_config cfg{sys.dummy_execution_unit()};
  return caf::make_actor<stable_handle, caf::actor>(sys.next_actor_id(), sys.node(), &sys, cfg,
                                                    std::move(child_name), std::move(supervisor));
}

void stable_handle::rebind(const caf::actor& handle, caf::actor target) {
  auto* self = static_cast<stable_handle*>(caf::actor_cast<caf::abstract_actor*>(handle));
  caf::actor previous;
  {
    std::unique_lock<caf::detail::shared_spinlock> guard{self->target_lock_};
    // A handle that has died with its supervisor stays empty.
    if (self->getf(is_terminated_flag))
      return;
    previous.swap(self->target_);
    self->target_ = std::move(target);
  }
  // `previous` is released here, outside the lock: it may be the last reference.
}

void stable_handle::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) {
  // The supervisor's exit message (over the link) ends the handle, whatever its reason; any
  // other exit message is ignored. Only the thread whose cleanup() ended the handle lets go:
  // the running-actor count must drop once.
  auto& content = what->content();
  if (content.match_elements<caf::exit_msg>()) {
    const auto& exit = content.get_as<caf::exit_msg>(0);
    if (exit.source != supervisor_)
      return;
    auto reason = exit.reason; // none for a normal exit
    if (cleanup(std::move(reason), host))
      let_go();
    return;
  }
  if (handle_system_message(*what, host, false))
    return;
  {
    caf::shared_lock<caf::detail::shared_spinlock> guard{target_lock_};
    if (target_) {
      target_->enqueue(std::move(what), host);
      return;
    }
  }
  if (getf(is_terminated_flag)) {
    bounce(what);
    return;
  }
  // Not running: a request is answered at once; anything else is dropped, as a bare error
  // message would make a sender without an error handler quit.
  if (what->mid.is_request() && what->sender)
    what->sender->enqueue(
        caf::strong_actor_ptr{ctrl()}, what->mid.response_id(),
        caf::make_message(make_error(errc::subsystem_unavailable, child_name_ + " is not running")),
        host);
}

void stable_handle::on_destroy() {
  if (!getf(is_cleaned_up_flag)) {
    cleanup(caf::exit_reason::unreachable, nullptr);
    monitorable_actor::on_destroy();
    unregister_from_system();
  }
}

void stable_handle::let_go() {
  // Once dead, the handle lets go of the incarnation (which may hold the handles of its
  // siblings, and so this one), outside CAF's cleanup lock: that reference may be the last.
  caf::actor previous;
  {
    std::unique_lock<caf::detail::shared_spinlock> guard{target_lock_};
    previous.swap(target_);
  }
  unregister_from_system();
}

} // namespace brokedancer
