#pragma once

// Atoms shared by more than one actor. CAF limits an atom to 10 characters and silently maps
// characters outside [0-9A-Za-z_ ] to spaces, so keep them to plain short words.

#include <caf/atom.hpp>

namespace brokedancer {

// Asks an actor for a snapshot of its state (supervisor_status, later store and bus stats).
using status_atom = caf::atom_constant<caf::atom("status")>;
// Asks a supervisor to restart a child by name: the running incarnation is killed (counted
// as a crash) and a new one started. For operators, and for crash tests.
using restart_atom = caf::atom_constant<caf::atom("restart")>;
// Asks a supervisor for the stable handle of a child by name.
using whereis_atom = caf::atom_constant<caf::atom("whereis")>;
// Records an operator action in a node's audit trail.
using audit_atom = caf::atom_constant<caf::atom("audit")>;

} // namespace brokedancer
