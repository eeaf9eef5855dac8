#include "actors/node/front_door.hpp"

#include <atomic>
#include <mutex>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_actor.hpp>
#include <caf/monitorable_actor.hpp>
#include <caf/system_messages.hpp>

#include "core/logging.hpp"

namespace brokedancer {

namespace {

class front_door final : public caf::monitorable_actor {
public:
  front_door(std::string name, std::set<std::string> interface, front_door_rule accepts)
    : caf::monitorable_actor(
        caf::actor_config{}.add_flag(caf::abstract_channel::is_actor_dot_decorator_flag)),
      name_(std::move(name)), interface_(std::move(interface)), accepts_(std::move(accepts)),
      log_("front_door") {}

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* context) override {
    // One-way messages the rule names, nothing else: no answer goes back either, so a prober
    // learns nothing and a forged response id reaches no one.
    if (what->mid.is_request() || what->mid.is_response() || !accepts_(what->content())) {
      dropped(*what);
      return;
    }
    caf::strong_actor_ptr target;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      target = target_;
      if (!target && !closed_) {
        // Not bound yet: the actor behind it already speaks as it (a hello goes out as the
        // node starts), so the first answers may come first. Kept, a few, until bind().
        if (early_.size() < max_early) {
          early_.push_back(std::move(what));
          return;
        }
      }
    }
    if (!target) {
      dropped(*what);
      return;
    }
    target->enqueue(std::move(what), context);
  }

  std::set<std::string> message_types() const override {
    return interface_;
  }

  const char* name() const override {
    return "front_door";
  }

  void bind(caf::strong_actor_ptr target) {
    // Under the lock: a message arriving meanwhile waits, and does not overtake those kept.
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& what : early_)
      target->enqueue(std::move(what), nullptr);
    early_.clear();
    target_ = std::move(target);
  }

  void close() {
    cleanup(caf::exit_reason::user_shutdown, nullptr);
  }

  uint64_t dropped_count() const {
    return dropped_.load();
  }

protected:
  void on_cleanup(const caf::error&) override {
    std::lock_guard<std::mutex> guard{mutex_};
    target_.reset();
    closed_ = true;
    early_.clear();
  }

private:
  void dropped(const caf::mailbox_element& what) {
    auto count = ++dropped_;
    // The first few in full, then one in a thousand: a flood must not flood the log.
    if (count > 10 && count % 1000 != 0)
      return;
    std::string from = what.sender ? caf::to_string(what.sender->node()) : std::string{"?"};
    log_.warn("a message a published actor does not take from outside was dropped",
              {{"front", name_},
               {"message", caf::to_string(what.content()).substr(0, 200)},
               {"from_node", from},
               {"dropped", count}});
  }

  std::string name_;
  std::set<std::string> interface_;
  front_door_rule accepts_;
  logger log_;
  std::mutex mutex_;
  caf::strong_actor_ptr target_;
  bool closed_ = false;
  // What arrived before bind(), at most max_early messages.
  static constexpr size_t max_early = 64;
  std::vector<caf::mailbox_element_ptr> early_;
  std::atomic<uint64_t> dropped_{0};
};

front_door* door_of(const caf::actor& front) {
  auto* actor = caf::actor_cast<caf::abstract_actor*>(front);
  return static_cast<front_door*>(actor);
}

} // namespace

caf::actor make_front_door(caf::actor_system& sys, std::string name,
                           std::set<std::string> interface, front_door_rule accepts) {
  return caf::make_actor<front_door, caf::actor>(sys.next_actor_id(), sys.node(), &sys,
                                                 std::move(name), std::move(interface),
                                                 std::move(accepts));
}

void bind_front_door(const caf::actor& front, const caf::actor& target) {
  door_of(front)->bind(caf::actor_cast<caf::strong_actor_ptr>(target));
  // Runs as the target terminates: not a message, so no peer can fake it.
  caf::weak_actor_ptr weak = caf::actor_cast<caf::weak_actor_ptr>(front);
  target->attach_functor([weak](const caf::error&) {
    if (auto strong = caf::actor_cast<caf::actor>(weak))
      close_front_door(strong);
  });
}

void close_front_door(const caf::actor& front) {
  door_of(front)->close();
}

uint64_t front_door_dropped(const caf::actor& front) {
  return door_of(front)->dropped_count();
}

} // namespace brokedancer
