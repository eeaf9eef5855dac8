#pragma once

// The bots' contract with the runtime. A bot is an actor spawned by the bot supervisor from a
// bot_config: an id, the name of a strategy the runtime knows, and the strategy's parameters.
// The supervisor restarts a bot that crashes (it restores its state from the store) and gives
// up on one that crashes more than bots.max_restarts times within bots.restart_window_s,
// without touching the others. See actors/bots/bot.hpp for how to write a strategy.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/risk.hpp"

namespace brokedancer {

struct bot_config {
  std::string id;       // 1 to 64 letters, digits, '-', '_' or '.'; its keys are bot:<id>:*
  std::string strategy; // a name the runtime's strategy catalog knows
  std::string params;   // a JSON object, given to the strategy as it is
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bot_config& x) {
  return f(caf::meta::type_name("bot_config"), x.id, x.strategy, x.params);
}

// A bot's life and trading as its host saw it, across its restarts.
struct bot_stats {
  std::string id;
  std::string strategy;
  // starting, running, halted (the level forbids orders), stopped (asked to, or SHUTDOWN),
  // given_up (crashed too often), failed_to_start (its parameters were refused),
  // standby (another node owns it; this one takes it over if that lease expires),
  // refused (another node owns it, and this node is not its standby), lost (its lease went to
  // another node while it ran here)
  std::string state = "starting";
  uint32_t restarts = 0;
  std::string last_error;
  uint64_t orders = 0;   // sent to the risk monitor
  uint64_t fills = 0;    // filled
  uint64_t expired = 0;  // immediate-or-cancel orders that found no match
  uint64_t rejected = 0; // refused by the risk monitor or the exchange, or held back at HALT
  uint64_t failed = 0;   // the endpoint could not be reached
  std::map<std::string, uint64_t> rejections; // by reject code (to_string of reject_code)
  double realized_pnl = 0;
  double unrealized_pnl = 0; // of its own positions, at the last price it saw
  double fees = 0;
  // Who owns the bot (its lease in the shared store; empty on the memory backend, where a
  // node owns its bots alone), since when, and the fence its orders and writes carry.
  std::string owner;
  int64_t lease_age_ms = 0;
  uint64_t fence = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bot_stats& x) {
  return f(caf::meta::type_name("bot_stats"), x.id, x.strategy, x.state, x.restarts, x.last_error,
           x.orders, x.fills, x.expired, x.rejected, x.failed, x.rejections, x.realized_pnl,
           x.unrealized_pnl, x.fees, x.owner, x.lease_age_ms, x.fence);
}

// Counts over every bot; the per-bot detail comes from bots_atom.
struct bots_summary {
  uint32_t total = 0;
  uint32_t running = 0; // starting, running or halted
  uint32_t stopped = 0;
  uint32_t given_up = 0;
  uint64_t restarts = 0;
  uint64_t orders = 0;
  uint64_t fills = 0;
  uint64_t rejected = 0;
  double pnl = 0; // realized + unrealized - fees
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bots_summary& x) {
  return f(caf::meta::type_name("bots_summary"), x.total, x.running, x.stopped, x.given_up,
           x.restarts, x.orders, x.fills, x.rejected, x.pnl);
}

// A working order a cancel-all asked the exchange not to execute: the bot that sent it, and the
// cancel's answer -- cancelled (it will not execute), not_open (executed already: its fill is
// booked), or failed (the exchange could not be asked; the order may still execute).
struct order_cancel {
  std::string bot_id;
  order_result result;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_cancel& x) {
  return f(caf::meta::type_name("order_cancel"), x.bot_id, x.result);
}

struct cancel_report {
  uint32_t bots = 0; // asked
  std::vector<order_cancel> cancels;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cancel_report& x) {
  return f(caf::meta::type_name("cancel_report"), x.bots, x.cancels);
}

using cancel_all_atom = caf::atom_constant<caf::atom("cancel_all")>;
// To a bot host: cancel its working orders in a symbol (empty: all); the cancels' answers.
using cancel_open_atom = caf::atom_constant<caf::atom("cancel_opn")>;

using spawn_bot_atom = caf::atom_constant<caf::atom("spawn_bot")>;
using stop_bot_atom = caf::atom_constant<caf::atom("stop_bot")>;
using bots_atom = caf::atom_constant<caf::atom("bots")>;

using bot_supervisor_actor = caf::typed_actor<
    // Spawns a bot; fails with invalid_argument for a taken id, an unknown strategy, or
    // parameters the strategy refuses. The reply comes once the bot is up.
    caf::replies_to<spawn_bot_atom, bot_config>::with<bool>,
    // Stops a bot for good; false when there is no running bot of that id.
    caf::replies_to<stop_bot_atom, std::string>::with<bool>,
    caf::replies_to<status_atom>::with<bots_summary>,
    caf::replies_to<bots_atom>::with<std::vector<bot_stats>>,
    // (bot id, strategy, symbol), each empty for any: every running bot that matches cancels
    // its working orders (in that symbol); answered once every cancel has its answer.
    caf::replies_to<cancel_all_atom, std::string, std::string, std::string>::with<cancel_report>>;

} // namespace brokedancer
