#include "actors/node_control.hpp"

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervisor.hpp"
#include "messages/errors.hpp"
#include "runtime/logging.hpp"

namespace brokedancer {

namespace {

constexpr auto ask_timeout = std::chrono::seconds(5);
// A resume is answered once it is persisted, which the controller allows 5 s: wait longer, or
// an operator could be told it failed when it happened.
constexpr auto change_timeout = std::chrono::seconds(15);
// Reasons travel to every bot, into the store and the log: a sentence, not a document.
constexpr size_t max_reason_bytes = 1024;
// A change returns once every bot has acknowledged; a node with a stuck bot must still answer.
constexpr auto ack_timeout = std::chrono::seconds(60);

struct control_state {
  node_control_services services;
  logger log{"control"};
};

using self_pointer = node_control_actor::stateful_pointer<control_state>;

// After the change: wait for every bot's acknowledgement, then answer with the count.
void await_acknowledgements(self_pointer self, level_change change,
                            caf::typed_response_promise<control_reply> rp) {
  auto& st = self->state;
  if (change.provisional) {
    // Taken, but not in force yet: the node is still reading its persisted level, and applies
    // the change on top of it. There is no acknowledgement to wait for until then.
    rp.deliver(make_error(errc::subsystem_unavailable,
                          "the node is still reading its persisted level: the change is taken and "
                          "applies once it is read; ask for the status, or repeat the command, "
                          "in a moment"));
    return;
  }
  self->request(st.services.emergency, ack_timeout, await_ack_atom::value, change.sequence)
      .then(
          [self, change, rp](int64_t took_us) mutable {
            self->request(self->state.services.emergency, ask_timeout, status_atom::value)
                .then(
                    [change, rp, took_us](emergency_status& status) mutable {
                      rp.deliver(control_reply{change, status.bots_registered, took_us});
                    },
                    [change, rp, took_us](caf::error&) mutable {
                      rp.deliver(control_reply{change, 0, took_us});
                    });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

template <class Atom>
caf::result<control_reply> change_level(self_pointer self, Atom op, emergency_level level,
                                        std::string reason) {
  auto& st = self->state;
  if (reason.empty())
    return make_error(errc::invalid_argument, "an operator's level change needs a reason");
  if (reason.size() > max_reason_bytes)
    return make_error(errc::invalid_argument, "a reason is at most "
                                                  + std::to_string(max_reason_bytes)
                                                  + " bytes, not " + std::to_string(reason.size()));
  if (!is_valid(level))
    return make_error(errc::invalid_argument, "no such level: " + to_string(level));
  st.log.warn(
      "operator command",
      {{"command", caf::to_string(Atom::value)}, {"level", to_string(level)}, {"reason", reason}});
  auto rp = self->make_response_promise<control_reply>();
  self->request(st.services.emergency, change_timeout, op, level, std::move(reason),
                change_source::operator_request)
      .then([self, rp](level_change& change) { await_acknowledgements(self, change, rp); },
            [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
  return rp;
}

node_control_actor::behavior_type node_control(self_pointer self, node_control_services services) {
  exit_with_exception_text(self);
  self->state.services = std::move(services);
  return {
      [self](status_atom) -> caf::result<node_status> {
        auto& st = self->state;
        auto rp = self->make_response_promise<node_status>();
        auto status = std::make_shared<node_status>();
        status->node = st.services.node_name;
        // Four questions in flight; the answer goes out when the last one is back.
        auto left = std::make_shared<int>(4);
        auto one_done = [rp, status, left]() mutable {
          if (--*left == 0)
            rp.deliver(*status);
        };
        self->request(st.services.emergency, ask_timeout, status_atom::value)
            .then(
                [status, one_done](emergency_status& e) mutable {
                  status->emergency = std::move(e);
                  one_done();
                },
                [one_done](caf::error&) mutable { one_done(); });
        if (st.services.bots)
          self->request(st.services.bots, ask_timeout, status_atom::value)
              .then(
                  [status, one_done](bots_summary& b) mutable {
                    status->bots = b;
                    one_done();
                  },
                  [one_done](caf::error&) mutable { one_done(); });
        else
          one_done();
        if (st.services.breakers)
          self->request(st.services.breakers, ask_timeout, status_atom::value)
              .then(
                  [status, one_done](std::vector<breaker_stats>& b) mutable {
                    status->breakers = std::move(b);
                    one_done();
                  },
                  [one_done](caf::error&) mutable { one_done(); });
        else
          one_done();
        if (st.services.cluster) {
          status->clustered = true;
          self->request(st.services.cluster, ask_timeout, status_atom::value)
              .then(
                  [status, one_done](cluster_status& c) mutable {
                    status->cluster = std::move(c);
                    one_done();
                  },
                  [one_done](caf::error&) mutable { one_done(); });
        } else {
          one_done();
        }
        return rp;
      },
      [self](raise_atom op, emergency_level level, std::string& reason) {
        return change_level(self, op, level, std::move(reason));
      },
      [self](resume_atom op, emergency_level level, std::string& reason) {
        return change_level(self, op, level, std::move(reason));
      },
  };
}

} // namespace

node_control_actor spawn_node_control(caf::actor_system& sys, node_control_services services) {
  return sys.spawn(node_control, std::move(services));
}

} // namespace brokedancer
