#pragma once

// The risk monitor's state and the functions its files share: risk_monitor.cpp (the behaviour,
// the limits, the persisted book) and order_execution.cpp (the calls to the endpoint). Private
// to actors/risk: other actors talk to the monitor through messages/risk.hpp.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/typed_event_based_actor.hpp>

#include "actors/emergency/registration.hpp"
#include "actors/risk/mark_filter.hpp"
#include "actors/risk/order_throttle.hpp"
#include "actors/risk/risk_book.hpp"
#include "actors/risk/risk_monitor.hpp"
#include "actors/supervision/owed_reply.hpp"
#include "core/logging.hpp"

namespace brokedancer::monitor {

using load_atom = caf::atom_constant<caf::atom("load")>;
using roll_atom = caf::atom_constant<caf::atom("roll")>;
using market_atom = caf::atom_constant<caf::atom("market")>;
using find_breaker_atom = caf::atom_constant<caf::atom("brk_find")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using watch_again_atom = caf::atom_constant<caf::atom("sc_again")>;

using monitor_impl = risk_monitor_actor::extend<
    caf::reacts_to<load_atom>, caf::reacts_to<register_again_atom>, caf::reacts_to<roll_atom>,
    caf::reacts_to<market_atom>, caf::reacts_to<find_breaker_atom>, caf::reacts_to<flush_atom>,
    caf::reacts_to<reconcile_atom>, caf::reacts_to<watch_again_atom>, caf::reacts_to<scope_table>>;

// How soon a start-up request that failed (the book, market data, the breaker) is made again.
constexpr auto retry_after = std::chrono::milliseconds(500);

// An order's final outcome on its way to the journal, with the next write of the book.
struct pending_outcome {
  std::string client_order_id;
  std::string entry; // the journal entry's JSON
};

// A write of the book in flight: when it was sent, what waits for it to end, and the outcomes
// it carries to the journal in the same transaction.
struct book_write {
  uint64_t number;
  std::chrono::steady_clock::time_point sent;
  std::vector<std::function<void()>> then;
  std::vector<pending_outcome> outcomes;
};

// The order journal as the monitor keeps it (see actors/risk/journal_entries.hpp).
struct journal_state {
  std::string key; // node:<name>:journal
  // Orders journaled whose outcome is not in the store yet: client order id -> entry id.
  std::unordered_map<std::string, std::string> open;
  std::string newest; // the newest order entry's id
  bool trim_due = false;
  std::vector<pending_outcome> outcomes; // for the next write of the book
  // Orders whose outcome the endpoint did not tell (a failed call): asked again.
  std::unordered_map<std::string, order> unknown;
  bool asking = false;
  std::string last_asked_venue; // the venues' unknown orders are asked about in turn
  // Reconciliation at start: the orders still to ask about, from `next` on.
  std::vector<std::pair<std::string, order>> to_reconcile;
  size_t next = 0;
  std::chrono::steady_clock::time_point reconcile_started;
  bool reconciled = false;
  bool read = false;   // the journal has been read: the venues of its orders are known
  bool halted = false; // the node was halted because the endpoint could not answer
  uint64_t reconciled_orders = 0;
  uint64_t reconciled_fills = 0;
  std::string problem;
  uint64_t failures = 0;
};

struct monitor_state {
  risk_options options;
  state_store_actor store;
  event_bus_actor bus;
  emergency_actor emergency;
  breaker_registry_actor breakers;
  breaker_actor breaker; // the endpoint's own breaker, once known: one hop fewer per order
  std::shared_ptr<order_metrics> metrics; // null: nothing counted (tests, embedded uses)
  level_tracker level;
  // The scoped halts (none: the node runs without them). Until the scope controller has
  // answered, the scopes in force are unknown and no order goes.
  scope_actor scopes;
  bool scopes_known = false;
  uint64_t scopes_version = 0;
  scope_index scoped;
  emergency_registration registration{
      "cannot register with the emergency controller yet; orders are refused until it answers",
      {std::chrono::seconds(5), std::chrono::milliseconds(500), /*warn_at=*/1, /*warn_every=*/1}};
  bool loaded = false;
  std::string book_key; // node:<name>:risk:state
  journal_state journal;
  risk_book book;
  std::set<std::string> symbols; // options.symbols: marked even without a position
  // Symbols a market tick has marked since this incarnation started: the quote cache does not
  // mark them over (actors/risk/risk_monitor.cpp, mark_from_cache).
  std::set<std::string> marked_live;
  mark_filter marks;
  order_throttle throttle;
  // A flatten (brokedancer flatten, or a limit's flatten policy) has closing orders out: another
  // waits for it to end rather than close the same positions twice.
  bool flattening = false;
  // A limit's flatten policy fired while a flatten was out, or before the book was reconciled:
  // its reason, and it runs once it can (run_due_flatten).
  std::string breach_flatten_due;
  // Run once the flatten in progress has reported: SHUTDOWN's closing, a breach's flatten.
  std::vector<std::function<void()>> after_flatten;
  // Orders out (passed, not answered yet) per book symbol: what they buy and what they sell.
  // REDUCE_ONLY counts the sells of a long (the buys of a short) as if filled already: two
  // reducing orders at once must not flip the position between them.
  std::unordered_map<std::string, std::pair<double, double>> in_flight;
  uint64_t flattens = 0;
  uint64_t positions_flattened = 0;
  uint64_t marks_held = 0;
  uint64_t filled = 0;
  uint64_t rejected = 0;
  uint64_t failed = 0;
  // Writes of the book. Changes made while the mailbox is worked through are written together
  // by one write, sent when the monitor reaches the flush message queued by the first of them.
  // Writes are pipelined: the store applies them in the order sent, and each holds the whole
  // book, so one that ends covers every change made before it was sent.
  bool flush_queued = false;
  std::vector<std::function<void()>> waiting_for_flush; // run once the next write has ended
  std::deque<book_write> writes;                        // in flight, oldest first
  uint64_t write_number = 0;
  uint64_t write_failures = 0;
  // Orders and cancels waiting for the endpoint, so that none is left unanswered: an
  // owed_reply answers if the monitor stops first (CAF 0.17 drops a promise destroyed
  // unanswered, and a bot would wait for its order forever).
  std::unordered_map<uint64_t, owed_reply<order_result>> pending;
  uint64_t next_pending = 0;
  // Run once every order and cancel above has its answer (SHUTDOWN's flatten waits for them:
  // an order in flight may still fill and open a position).
  std::vector<std::function<void()>> waiting_for_answers;
  // The venue of each order sent to one, the newest venue_orders_kept: a cancel goes where its
  // order went (the node's own endpoint for an order not found here).
  std::unordered_map<std::string, std::string> venue_orders;
  std::deque<std::string> venue_order_ids; // oldest first
  logger log{"risk"};
};

constexpr size_t venue_orders_kept = 100000;

using self_pointer = monitor_impl::stateful_pointer<monitor_state>;

using answer = std::function<void(order_result&)>;

// The endpoint of an order's venue: the node's own (risk.endpoint) for none.
inline const std::string& endpoint_of(const monitor_state& st, const std::string& venue) {
  return venue.empty() ? st.options.endpoint : venue;
}

// A call to the endpoint of `venue` (empty: the node's own), through its breaker.
template <class OnResponse, class OnError>
void call_endpoint(self_pointer self, const std::string& venue, endpoint_request request,
                   OnResponse on_response, OnError on_error) {
  auto& st = self->state;
  // No timeout of our own on the direct call (a timeout costs a round through CAF's clock
  // thread): the breaker answers by the call's deadline, and answers every call it still
  // holds when it stops. Other venues' calls go through the registry (a hop more).
  if (venue.empty() && st.breaker)
    self->request(st.breaker, caf::infinite, call_atom::value, std::move(request))
        .then(std::move(on_response), std::move(on_error));
  else
    self->request(st.breakers, std::chrono::minutes(2), call_atom::value, endpoint_of(st, venue),
                  std::move(request))
        .then(std::move(on_response), std::move(on_error));
}

// --- in risk_monitor.cpp ---

// Writes the book; `then` (if any) runs once a write that holds the book as it is now has ended.
void persist(self_pointer self, std::function<void()> then = nullptr);

// Books a fill; `written` runs once the book with it is in the store. A fill is answered only
// then: a monitor restarted right after it has answered still has the fill in its book.
void book_fill(self_pointer self, const order& o, const order_result& result,
               std::function<void()> written);

// Publishes `data` on a standard channel's topic (trading.orders, ...), sent, not awaited.
void publish_update(self_pointer self, const char* topic, const nlohmann::json& data,
                    const correlation_id& correlation);
// `inner`, after the order's outcome has been published on trading.orders (ORDER_UPDATE).
answer announced(self_pointer self, const order& o, answer inner);

// Halts the node when the book holds positions on a venue neither risk.endpoint nor
// risk.venues names: nothing here could close them. Run at load and after reconciliation.
void refuse_unlisted_venues(self_pointer self);

// Raises the emergency level, as the risk monitor, with the reason.
void raise_level(self_pointer self, emergency_level level, const std::string& reason);

// --- in order_journal.cpp ---

// Journals `o` before it leaves (when the journal is on); `then` runs with an empty string once
// the entry is stored, or with why it could not be.
void journal_order(self_pointer self, const order& o, std::function<void(std::string)> then);
// An order's final outcome: it goes to the journal with the next write of the book.
void journal_outcome(self_pointer self, const order_result& result, const char* how);
// The endpoint did not tell what became of `o`: it is asked again in the background.
void outcome_unknown(self_pointer self, const order& o);
// A write of the book and its outcomes ended: those orders are closed in the journal.
void outcomes_stored(self_pointer self, const std::vector<pending_outcome>& outcomes);
// Reads the journal and asks the endpoint about every order without an outcome, books what it
// missed, and only then lets orders through (journal.reconciled).
void reconcile(self_pointer self);
// Every second: trims the journal, asks about orders whose outcome is unknown.
void journal_housekeeping(self_pointer self);

// --- in order_execution.cpp ---

// Remembers where an order sent to another venue than the node's own went, for its cancel.
void remember_venue(monitor_state& st, const order& o);

// Keeps `rp` until the answer is known; the state answers it if the monitor stops first.
answer answer_later(self_pointer self, caf::typed_response_promise<order_result> rp);

// Asks the registry for the endpoint's breaker, and watches it: calls go straight to it from
// then on, and through the registry while it is not known (at start, after it stopped).
void find_breaker(self_pointer self);
void on_down(self_pointer self, const caf::down_msg& down);

// Sends an order that has passed its checks through the endpoint's breaker and books the fill.
void execute(self_pointer self, order placed, answer done, bool reduces_risk = false);

// Tells the exchange a bot's new owner's fence; `done` with whether it took it.
void announce_fence(self_pointer self, const std::string& bot_id, uint64_t fence,
                    std::function<void(bool)> done);

// Asks the exchange to cancel an order; cancels pass at every level, HALT and SHUTDOWN included.
// `reduces_risk`: the kill switch's cancel (see cancel_request).
void cancel(self_pointer self, const std::string& client_order_id, answer done,
            bool reduces_risk = false);

// Closes every position at its last mark; calls `finished` when every closing order has an
// answer (filled or not: what could not be closed is logged, loudly).
void flatten(self_pointer self, std::function<void()> finished, int round = 1, bool waited = false);

// Closes the positions in `symbol` (every venue's; empty: all) with one reduce-only order each,
// through the breakers, at any level; `done` with each close once all have their answer, and
// what is still open of them then. The closes are announced on trading.orders and the whole on
// trading.alerts (FLATTEN).
void flatten_positions(self_pointer self, const std::string& symbol, const std::string& reason,
                       std::function<void(flatten_report&)> done);

// The flatten a breach asked for, once nothing stands in its way: no flatten out, the book read
// and reconciled, no SHUTDOWN (which closes everything itself).
void run_due_flatten(self_pointer self);

} // namespace brokedancer::monitor
