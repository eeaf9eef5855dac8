#include "actors/supervision/supervisor.hpp"

#include "actors/supervision/stable_handle.hpp"

#include <deque>
#include <set>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "core/logging.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;

// -- the supervisor ---------------------------------------------------------------------------

struct child_record {
  child_spec spec;
  caf::actor handle;  // stable, lives as long as the supervisor
  caf::actor current; // the running incarnation, if any
  uint32_t generation = 0;
  uint32_t restarts = 0;
  std::string last_exit_reason;
};

struct supervisor_state {
  supervisor_options options;
  std::vector<child_record> children;
  std::deque<clock::time_point> recent_restarts;
  // Every actor linked to us: children (this and earlier incarnations) and stable handles.
  // A linked child's exit message can arrive after its down message, when it is no longer
  // the current incarnation; this set tells such an exit from a request to shut down.
  std::set<caf::actor_addr> members;
  bool stopping = false;
  logger log{"supervisor"};
};

using supervisor_actor = caf::stateful_actor<supervisor_state>;

std::string describe_exit(caf::actor_system& sys, const caf::error& reason) {
  return reason ? sys.render(reason) : std::string{"normal"};
}

// Starts a new incarnation of `child`; returns false when its start function failed.
bool start_child(supervisor_actor* self, child_record& child, std::string& failure) {
  caf::actor incarnation;
  try {
    if (child.spec.start_with_siblings) {
      std::map<std::string, caf::actor> siblings;
      for (const auto& other : self->state.children)
        siblings.emplace(other.spec.name, other.handle);
      incarnation = child.spec.start_with_siblings(self->system(), siblings);
    } else {
      incarnation = child.spec.start(self->system());
    }
  } catch (const std::exception& ex) {
    failure = ex.what();
  }
  if (!incarnation) {
    if (failure.empty())
      failure = "its start function returned no actor";
    return false;
  }
  self->monitor(incarnation);
  self->link_to(incarnation);
  self->state.members.insert(incarnation.address());
  child.current = incarnation;
  ++child.generation;
  stable_handle::rebind(child.handle, std::move(incarnation));
  return true;
}

escalation describe_escalation(supervisor_actor* self, const child_record& child,
                               const std::string& reason) {
  auto& st = self->state;
  escalation what;
  what.supervisor = st.options.name;
  what.child = child.spec.name;
  what.last_exit_reason = reason;
  what.restarts_in_window = static_cast<uint32_t>(st.recent_restarts.size());
  what.max_restarts = st.options.max_restarts;
  what.window_ms = st.options.window.count();
  what.correlation = new_correlation_id();
  return what;
}

void escalate(supervisor_actor* self, const child_record& child, const std::string& reason) {
  auto& st = self->state;
  auto what = describe_escalation(self, child, reason);
  st.log.critical("restart intensity exceeded; stopping every child and escalating",
                  {{"supervisor", what.supervisor},
                   {"child", what.child},
                   {"last_exit_reason", what.last_exit_reason},
                   {"restarts_in_window", what.restarts_in_window},
                   {"max_restarts", what.max_restarts},
                   {"window_ms", what.window_ms},
                   {"correlation_id", what.correlation}});
  st.stopping = true;
  // Linked children and stable handles receive this reason and stop with us.
  self->quit(make_error(errc::restart_intensity_exceeded,
                        st.options.name + ": child " + child.spec.name + " failed "
                            + std::to_string(what.restarts_in_window) + " times within "
                            + std::to_string(what.window_ms) + " ms; last: " + reason));
}

void on_child_down(supervisor_actor* self, caf::down_msg& down) {
  auto& st = self->state;
  auto found = std::find_if(st.children.begin(), st.children.end(), [&](const child_record& c) {
    return c.current.address() == down.source;
  });
  if (found == st.children.end() || st.stopping)
    return;
  auto& child = *found;
  child.current = nullptr;
  child.last_exit_reason = describe_exit(self->system(), down.reason);
  bool abnormal = down.reason && down.reason != caf::exit_reason::normal;
  bool restart = child.spec.policy == restart_policy::permanent
                 || (child.spec.policy == restart_policy::transient && abnormal);
  if (!restart) {
    st.log.info("child stopped and is not restarted", {{"child", child.spec.name},
                                                       {"policy", to_string(child.spec.policy)},
                                                       {"reason", child.last_exit_reason}});
    stable_handle::rebind(child.handle, caf::actor{});
    return;
  }
  auto now = clock::now();
  st.recent_restarts.push_back(now);
  while (!st.recent_restarts.empty() && now - st.recent_restarts.front() > st.options.window)
    st.recent_restarts.pop_front();
  if (st.recent_restarts.size() > st.options.max_restarts) {
    auto what = describe_escalation(self, child, child.last_exit_reason);
    if (!st.options.on_intensity_exceeded || !st.options.on_intensity_exceeded(what)) {
      escalate(self, child, child.last_exit_reason);
      return;
    }
    st.log.critical("restart intensity exceeded; the emergency level was raised, restarting on",
                    {{"supervisor", what.supervisor},
                     {"child", what.child},
                     {"last_exit_reason", what.last_exit_reason},
                     {"restarts_in_window", what.restarts_in_window},
                     {"correlation_id", what.correlation}});
    st.recent_restarts.clear();
  }
  std::string failure;
  if (!start_child(self, child, failure)) {
    escalate(self, child, "restart failed: " + failure);
    return;
  }
  ++child.restarts;
  st.log.warn("child restarted", {{"child", child.spec.name},
                                  {"generation", child.generation},
                                  {"reason", child.last_exit_reason},
                                  {"restarts_in_window", st.recent_restarts.size()},
                                  {"max_restarts", st.options.max_restarts},
                                  {"correlation_id", new_correlation_id()}});
}

caf::behavior supervisor(supervisor_actor* self, supervisor_options options,
                         std::vector<child_spec> specs) {
  auto& st = self->state;
  st.options = std::move(options);
  self->set_down_handler([self](caf::down_msg& down) { on_child_down(self, down); });
  self->set_exit_handler([self](caf::exit_msg& exit) {
    // Our children's exits are handled as down messages; an exit from anyone else (the
    // runtime shutting down) stops the whole tree, children first through the links.
    auto& members = self->state.members;
    if (auto member = members.find(exit.source); member != members.end()) {
      bool is_handle =
          std::any_of(self->state.children.begin(), self->state.children.end(),
                      [&](const child_record& c) { return c.handle.address() == exit.source; });
      if (!is_handle)
        members.erase(member);
      return;
    }
    self->state.stopping = true;
    self->quit(exit.reason);
  });
  for (auto& spec : specs) {
    child_record child;
    child.handle = stable_handle::make(self->system(), spec.name, self->address());
    self->link_to(child.handle);
    st.members.insert(child.handle.address());
    child.spec = std::move(spec);
    st.children.push_back(std::move(child));
  }
  for (auto& child : st.children) {
    std::string failure;
    if (!start_child(self, child, failure)) {
      st.log.error("child failed to start", {{"child", child.spec.name}, {"error", failure}});
      st.stopping = true;
      self->quit(make_error(errc::subsystem_unavailable,
                            child.spec.name + " failed to start: " + failure));
      return {};
    }
    st.log.info("child started",
                {{"child", child.spec.name}, {"policy", to_string(child.spec.policy)}});
  }
  return {
      [self](status_atom) {
        const auto& current = self->state;
        supervisor_status status;
        auto now = clock::now();
        status.restarts_in_window = static_cast<uint32_t>(
            std::count_if(current.recent_restarts.begin(), current.recent_restarts.end(),
                          [&](clock::time_point t) { return now - t <= current.options.window; }));
        status.max_restarts = current.options.max_restarts;
        status.window_ms = current.options.window.count();
        for (const auto& child : current.children)
          status.children.push_back({child.spec.name, child.spec.policy, child.generation,
                                     static_cast<bool>(child.current), child.restarts,
                                     child.last_exit_reason});
        return status;
      },
      [self](restart_atom, const std::string& name) -> caf::result<void> {
        for (const auto& child : self->state.children) {
          if (child.spec.name != name)
            continue;
          if (!child.current)
            return make_error(errc::subsystem_unavailable, name + " is not running");
          self->state.log.warn("restarting a child on request", {{"child", name}});
          self->send_exit(child.current, caf::exit_reason::kill);
          return caf::unit;
        }
        return make_error(errc::invalid_argument, "no child named " + name);
      },
      [self](whereis_atom, const std::string& name) -> caf::result<caf::actor> {
        for (const auto& child : self->state.children)
          if (child.spec.name == name)
            return child.handle;
        return make_error(errc::invalid_argument, "no child named " + name);
      },
  };
}

} // namespace

void exit_with_exception_text(caf::scheduled_actor* self) {
  self->set_exception_handler([](std::exception_ptr& thrown) -> caf::error {
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& ex) {
      return caf::make_error(caf::sec::runtime_error,
                             std::string{"unhandled exception: "} + ex.what());
    } catch (...) {
      return caf::make_error(caf::sec::runtime_error, "unhandled exception of unknown type");
    }
  });
}

supervision_tree spawn_supervisor(caf::actor_system& sys, supervisor_options options,
                                  std::vector<child_spec> children) {
  std::vector<std::string> names;
  for (const auto& child : children)
    names.push_back(child.name);
  supervision_tree tree;
  tree.supervisor = sys.spawn(supervisor, std::move(options), std::move(children));
  caf::scoped_actor self{sys};
  for (const auto& name : names) {
    std::string failure;
    self->request(tree.supervisor, std::chrono::seconds(10), whereis_atom::value, name)
        .receive([&](caf::actor& handle) { tree.children.emplace(name, std::move(handle)); },
                 [&](caf::error& err) { failure = sys.render(err); });
    if (!failure.empty()) {
      caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
      throw std::runtime_error("supervisor did not start: " + failure);
    }
  }
  return tree;
}

} // namespace brokedancer
