#pragma once

// A one-for-one supervisor: it starts its children, restarts the one that stops according to
// its restart policy, and gives up -- escalates -- when restarts come faster than its restart
// intensity allows (more than max_restarts within window). CAF 0.17 has no supervisor of its
// own; this is the policy layer on top of its monitors and links.
//
// Clients never hold a child's own handle: every child has a stable handle
// (stable_handle.hpp) that outlives the child's incarnations and passes each message straight
// to the current one. A restart rebinds it, so nobody is stranded holding a dead handle. Requests
// in flight when a child dies fail at once with an error (never hang), and the next ones reach the
// new incarnation.
//
// Escalation: the supervisor stops its children and exits with
// errc::restart_intensity_exceeded; whoever monitors it decides what that means for the node.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "messages/supervision.hpp"

namespace brokedancer {

struct child_spec {
  std::string name;
  restart_policy policy = restart_policy::permanent;
  // Starts one incarnation. Called at start and again for every restart, from the
  // supervisor's own thread: it must not block. State that has to survive a crash lives
  // outside the incarnation (captured here, or in the state store).
  std::function<caf::actor(caf::actor_system&)> start;
  // Instead of `start`, for a child that talks to its siblings: it is given their stable
  // handles by name (all exist before the first child starts, and survive their restarts).
  std::function<caf::actor(caf::actor_system&, const std::map<std::string, caf::actor>& siblings)>
      start_with_siblings = nullptr;
};

struct supervisor_options {
  std::string name = "root";
  uint32_t max_restarts = 5;
  std::chrono::milliseconds window{10000};
  // Asked first when the restart intensity is exceeded. True: it has been dealt with (the
  // runtime raised the emergency level), so keep restarting with a fresh window. False, or no
  // function: stop every child and escalate as below.
  std::function<bool(const escalation&)> on_intensity_exceeded;
};

struct supervision_tree {
  caf::actor supervisor;
  // The stable handle of each child, by name.
  std::map<std::string, caf::actor> children;
};

// Makes an exception that escapes a handler of `self` end the actor with an exit reason that
// keeps the exception's text (CAF's default keeps only "runtime_error"), so the supervisor's
// log says what went wrong. Supervised actors call it first thing in their behavior function.
void exit_with_exception_text(caf::scheduled_actor* self);

// Spawns a supervisor with its children started in the order given. Blocks the calling thread
// briefly to collect the stable handles: call it from main or a non-actor thread.
// Throws std::runtime_error when a child fails to start.
supervision_tree spawn_supervisor(caf::actor_system& sys, supervisor_options options,
                                  std::vector<child_spec> children);

} // namespace brokedancer
