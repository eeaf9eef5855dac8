#pragma once

// The only kind of actor a node publishes on a network port. CAF 0.17 obeys a remote exit
// message like a local one: `kill` ends any scheduled actor at once, exit handlers or not, and
// travels along links into the supervision tree (shared/notes/caf-0.17.md, section 10). A front
// door is not a scheduled actor and is linked to nothing:
//
// - it forwards only the messages its `accepts` rule lets through, and only as one-way messages
//   (no request, no response), untouched (sender included), to the actor behind it;
// - it drops everything else -- exit, down, link and `sys` messages, a bare error (which a
//   scheduled actor without an error handler obeys by quitting), requests and forged responses --
//   whoever sent it, and logs the drop: a peer can neither stop it nor make it stop;
// - it closes when the actor behind it terminates, or when the runtime closes it.
//
// The actor behind it speaks to peers *as* the front door (caf::send_as), so no peer ever holds
// a handle of an actor that is part of the supervision tree.

#include <functional>
#include <set>
#include <string>

#include <caf/fwd.hpp>

namespace brokedancer {

// Whether a message's content is one the actor behind the door takes from outside.
using front_door_rule = std::function<bool(const caf::type_erased_tuple&)>;

// A front door named `name` (for the log) that advertises `interface` to remote_actor and lets
// through what `accepts` allows. Until bind_front_door gives it a target it keeps the first 64
// messages it would let through (the actor behind it may already be speaking as it, and the
// first answers can come before the bind) and delivers them then.
caf::actor make_front_door(caf::actor_system& sys, std::string name,
                           std::set<std::string> interface, front_door_rule accepts);

// Points the front door at `target`; it closes when `target` terminates.
void bind_front_door(const caf::actor& front, const caf::actor& target);

// Closes it: later messages are bounced, and what it holds is released.
void close_front_door(const caf::actor& front);

// How many system messages it has dropped.
uint64_t front_door_dropped(const caf::actor& front);

} // namespace brokedancer
