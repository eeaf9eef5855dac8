#pragma once

// The only kind of actor a node publishes on a network port. CAF 0.17 obeys a remote exit
// message like a local one: `kill` ends any scheduled actor at once, exit handlers or not, and
// travels along links into the supervision tree (shared/notes/caf-0.17.md, section 10). A front
// door is not a scheduled actor and is linked to nothing:
//
// - it forwards every ordinary message, untouched (sender and request id included), to the
//   actor behind it, so replies go straight back to whoever asked;
// - it drops every system message (exit, down, link-level `sys` requests) whoever sent it, and
//   logs the drop: a peer can neither stop it nor make it stop;
// - it closes when the actor behind it terminates, or when the runtime closes it.
//
// The actor behind it speaks to peers *as* the front door (caf::send_as), so no peer ever holds
// a handle of an actor that is part of the supervision tree.

#include <set>
#include <string>

#include <caf/fwd.hpp>

namespace brokedancer {

// A front door named `name` (for the log) that advertises `interface` to remote_actor; it
// bounces messages until bind_front_door gives it a target.
caf::actor make_front_door(caf::actor_system& sys, std::string name,
                           std::set<std::string> interface);

// Points the front door at `target`; it closes when `target` terminates.
void bind_front_door(const caf::actor& front, const caf::actor& target);

// Closes it: later messages are bounced, and what it holds is released.
void close_front_door(const caf::actor& front);

// How many system messages it has dropped.
uint64_t front_door_dropped(const caf::actor& front);

} // namespace brokedancer
