// The risk monitor's order journal: every order is appended before it leaves the node, its final
// outcome with the write of the book that takes it; a restarted node replays the journal and
// asks the endpoint about each order without an outcome before its bots may trade. See
// actors/risk/journal_entries.hpp for the entries.

#include <algorithm>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "actors/risk/journal_entries.hpp"
#include "actors/risk/monitor_state.hpp"
#include "actors/risk/order_execution.hpp"
#include "actors/store/log_table.hpp"
#include "core/json_text.hpp"
#include "core/unix_time.hpp"

namespace brokedancer::monitor {

namespace {

using json = nlohmann::json;

// How many orders one order_status call asks about.
constexpr size_t status_batch = 500;
// A journal longer than this at start is not read to its end: its reconciliation would not fit
// in memory anyway, and something has kept it from being trimmed for a long time.
constexpr size_t max_replayed_entries = 2000000;
constexpr auto reconcile_retry = std::chrono::seconds(1);
constexpr auto store_timeout = std::chrono::seconds(10);

// The orders an order_status answer reports, by client order id; empty when the answer is not
// one (then nothing is settled).
std::unordered_map<std::string, json>
reported_orders(const endpoint_response& response,
                const std::vector<std::pair<std::string, order>>& asked) {
  std::unordered_set<std::string> wanted;
  for (const auto& entry : asked)
    wanted.insert(entry.second.client_order_id);
  std::unordered_map<std::string, json> reported;
  if (response.status < 200 || response.status >= 300)
    return reported;
  auto body = parse_json_within(response.json);
  auto orders = body.is_object() ? body.find("orders") : body.end();
  if (!body.is_object() || orders == body.end() || !orders->is_array())
    return reported;
  for (auto& o : *orders) {
    auto id = o.is_object() ? o.find("client_order_id") : o.end();
    if (id == o.end() || !id->is_string())
      continue;
    auto key = id->get<std::string>();
    if (wanted.count(key) > 0) // the exchange's word about orders not asked about is not taken
      reported[key] = std::move(o);
  }
  return reported;
}

// Settles what the exchange said about `asked`; the orders it could not settle are returned.
// Fills are booked (once: an order leaves the unknown set and the reconciliation list as it is
// settled), every final outcome is journaled.
std::vector<std::pair<std::string, order>>
settle(self_pointer self, const std::vector<std::pair<std::string, order>>& asked,
       const std::unordered_map<std::string, json>& reported) {
  auto& st = self->state;
  std::vector<std::pair<std::string, order>> unsettled;
  for (const auto& [entry_id, o] : asked) {
    auto found = reported.find(o.client_order_id);
    auto result = found == reported.end() ? reconciled_result(o, json{})
                                          : reconciled_result(o, found->second);
    if (result.outcome == order_outcome::failed) {
      unsettled.emplace_back(entry_id, o);
      continue;
    }
    ++st.journal.reconciled_orders;
    journal_outcome(self, result, "reconciled");
    if (result.outcome == order_outcome::filled) {
      ++st.journal.reconciled_fills;
      st.log.warn("a fill the node had not booked was found at the exchange and booked",
                  {{"client_order_id", o.client_order_id},
                   {"bot", o.bot_id},
                   {"symbol", o.symbol},
                   {"quantity", result.filled_quantity},
                   {"price", result.fill_price}});
      book_fill(self, o, result, nullptr);
    } else if (result.outcome == order_outcome::accepted) {
      st.log.critical("the exchange reports a fill the book cannot take; it is not booked",
                      {{"client_order_id", o.client_order_id}});
    }
  }
  persist(self);
  return unsettled;
}

void reconcile_failed(self_pointer self, const std::string& why) {
  auto& st = self->state;
  auto& j = st.journal;
  j.problem = why;
  if (j.failures++ % 10 == 0)
    st.log.warn("cannot reconcile the order journal yet; orders are refused until it is",
                {{"problem", why}, {"unfinished", j.to_reconcile.size() - j.next}});
  auto waited = std::chrono::steady_clock::now() - j.reconcile_started;
  if (!j.halted && waited >= std::chrono::milliseconds(st.options.reconcile_halt_after_ms)) {
    j.halted = true;
    raise_level(self, emergency_level::halt,
                "reconciliation: no answer for " + std::to_string(j.to_reconcile.size() - j.next)
                    + " orders sent before the restart: " + why);
  }
  self->delayed_send(self, reconcile_retry, reconcile_atom::value);
}

void reconciled(self_pointer self) {
  auto& st = self->state;
  auto& j = st.journal;
  // Orders the exchange could not settle stay open and are asked about in the background;
  // trading may go on: their outcome, when known, is booked like any late answer.
  j.reconciled = true;
  j.problem.clear();
  j.to_reconcile.clear();
  j.trim_due = true;
  // A fill found on an endpoint the configuration still declares but no longer lists.
  refuse_unlisted_venues(self);
  run_due_flatten(self); // a breach found at load waited for this
  st.log.info("order journal reconciled with the exchange", {{"orders", j.reconciled_orders},
                                                             {"fills_booked", j.reconciled_fills},
                                                             {"still_unknown", j.unknown.size()}});
  if (j.halted)
    st.log.warn("the exchange answered; the HALT raised while it could not stays until an "
                "operator resumes");
}

// Asks the endpoint about the next batch of orders to reconcile.
void ask_next_batch(self_pointer self) {
  auto& st = self->state;
  auto& j = st.journal;
  if (j.next >= j.to_reconcile.size()) {
    persist(self, [self] { reconciled(self); });
    return;
  }
  // A batch asks one venue (the list is sorted by venue): it ends at the first order sent
  // elsewhere.
  const auto& venue = j.to_reconcile[j.next].second.venue;
  auto end = j.next + 1;
  while (end < std::min(j.next + status_batch, j.to_reconcile.size())
         && j.to_reconcile[end].second.venue == venue)
    ++end;
  auto batch = std::make_shared<std::vector<std::pair<std::string, order>>>(
      j.to_reconcile.begin() + static_cast<std::ptrdiff_t>(j.next),
      j.to_reconcile.begin() + static_cast<std::ptrdiff_t>(end));
  std::vector<std::string> ids;
  for (const auto& entry : *batch)
    ids.push_back(entry.second.client_order_id);
  call_endpoint(
      self, venue, status_request(ids),
      [self, batch, end](endpoint_response& response) {
        auto reported = reported_orders(response, *batch);
        if (reported.empty()) {
          auto& batch_venue = batch->front().second.venue;
          reconcile_failed(self, "the endpoint " + endpoint_of(self->state, batch_venue)
                                     + " answered order_status with no list of orders (status "
                                     + std::to_string(response.status) + ")");
          return;
        }
        auto& journal = self->state.journal;
        // Open until their outcomes are stored: a trim must not take their entries before.
        for (const auto& [entry_id, o] : *batch)
          journal.open[o.client_order_id] = entry_id;
        for (auto& [entry_id, o] : settle(self, *batch, reported))
          journal.unknown[o.client_order_id] = o; // asked again in the background
        journal.next = end;
        ask_next_batch(self);
      },
      [self, endpoint = endpoint_of(st, venue)](caf::error& err) {
        reconcile_failed(self, "the endpoint " + endpoint + ": " + self->system().render(err));
      });
}

void read_journal(self_pointer self, std::shared_ptr<journal_replay> replay, std::string after) {
  auto& st = self->state;
  self->request(st.store, store_timeout, read_log_atom::value, st.journal.key, after, max_log_read)
      .then(
          [self, replay](std::vector<log_entry>& page) {
            for (const auto& entry : page)
              replay->add(entry);
            if (page.size() == max_log_read && replay->entries() < max_replayed_entries) {
              read_journal(self, replay, replay->last_id());
              return;
            }
            auto& j = self->state.journal;
            j.to_reconcile = replay->open_orders();
            j.next = 0;
            // A batch asks one venue: the orders of each together, in the order they were
            // journaled (what average cost depends on). A cancel of one goes where it went.
            for (auto& entry : j.to_reconcile) {
              if (entry.second.venue == self->state.options.endpoint)
                entry.second.venue.clear();
              remember_venue(self->state, entry.second);
            }
            j.read = true;
            std::stable_sort(
                j.to_reconcile.begin(), j.to_reconcile.end(),
                [](const auto& a, const auto& b) { return a.second.venue < b.second.venue; });
            self->state.log.info("order journal read", {{"entries", replay->entries()},
                                                        {"unfinished", j.to_reconcile.size()},
                                                        {"unreadable", replay->unreadable()}});
            if (replay->entries() >= max_replayed_entries) {
              self->state.log.critical("the order journal is longer than can be read at start; "
                                       "only its beginning is reconciled",
                                       {{"entries", replay->entries()}});
              raise_level(self, emergency_level::halt,
                          "reconciliation: the order journal " + self->state.journal.key
                              + " holds more than " + std::to_string(max_replayed_entries)
                              + " entries; only its beginning was reconciled. Settle the rest "
                                "with the exchange before resuming");
            }
            ask_next_batch(self);
          },
          [self](caf::error& err) {
            reconcile_failed(self, "the journal cannot be read: " + self->system().render(err));
          });
}

// The orders asked about in the background: a batch at a time, one call in flight.
void ask_about_unknown(self_pointer self) {
  auto& j = self->state.journal;
  if (j.asking || j.unknown.empty() || !j.reconciled)
    return;
  auto batch = std::make_shared<std::vector<std::pair<std::string, order>>>();
  std::vector<std::string> ids;
  // A batch asks one venue, each in turn: one that cannot answer keeps no other waiting.
  std::set<std::string> venues;
  for (const auto& entry : j.unknown)
    venues.insert(entry.second.venue);
  auto after = venues.upper_bound(j.last_asked_venue);
  auto venue = after == venues.end() ? *venues.begin() : *after;
  j.last_asked_venue = venue;
  for (const auto& [id, o] : j.unknown) {
    if (o.venue != venue)
      continue;
    batch->emplace_back(j.open.count(id) ? j.open[id] : std::string{}, o);
    ids.push_back(id);
    if (ids.size() == status_batch)
      break;
  }
  j.asking = true;
  call_endpoint(
      self, venue, status_request(ids),
      [self, batch](endpoint_response& response) {
        auto& journal = self->state.journal;
        journal.asking = false;
        auto reported = reported_orders(response, *batch);
        if (reported.empty())
          return;
        for (const auto& [entry_id, o] : *batch)
          journal.unknown.erase(o.client_order_id);
        for (auto& [entry_id, o] : settle(self, *batch, reported))
          journal.unknown[o.client_order_id] = o;
      },
      [self](caf::error&) { self->state.journal.asking = false; });
}

void trim(self_pointer self) {
  auto& st = self->state;
  auto& j = st.journal;
  if (!j.trim_due || !j.reconciled || j.newest.empty())
    return;
  // Everything older than the oldest open order is settled: trim to it, or to the newest order
  // when none is open (that one and its outcome stay: a journal is never emptied by a trim).
  std::string oldest = j.newest;
  std::pair<uint64_t, uint64_t> oldest_key{0, 0};
  parse_log_id(oldest, oldest_key);
  for (const auto& [id, entry] : j.open) {
    std::pair<uint64_t, uint64_t> key{0, 0};
    if (!entry.empty() && parse_log_id(entry, key) && key < oldest_key) {
      oldest_key = key;
      oldest = entry;
    }
  }
  j.trim_due = false;
  self->request(st.store, store_timeout, trim_log_atom::value, j.key, oldest)
      .then([](uint64_t) {}, [self](caf::error&) { self->state.journal.trim_due = true; });
}

} // namespace

void journal_order(self_pointer self, const order& o, std::function<void(std::string)> then) {
  auto& st = self->state;
  self->request(st.store, store_timeout, append_log_atom::value, st.journal.key,
                std::vector<std::string>{order_entry(o, now_us())})
      .then(
          [self, id = o.client_order_id, then](std::vector<std::string>& ids) {
            if (ids.size() != 1) {
              then("the store did not confirm the journal entry");
              return;
            }
            auto& j = self->state.journal;
            j.open[id] = ids[0];
            j.newest = ids[0];
            then({});
          },
          [self, then](caf::error& err) { then(self->system().render(err)); });
}

void journal_outcome(self_pointer self, const order_result& result, const char* how) {
  auto& j = self->state.journal;
  if (!self->state.options.journal)
    return;
  j.outcomes.push_back({result.client_order_id, outcome_entry(result, how)});
}

void outcome_unknown(self_pointer self, const order& o) {
  if (!self->state.options.journal)
    return;
  self->state.journal.unknown[o.client_order_id] = o;
}

void outcomes_stored(self_pointer self, const std::vector<pending_outcome>& outcomes) {
  auto& j = self->state.journal;
  for (const auto& outcome : outcomes)
    if (j.open.erase(outcome.client_order_id) > 0)
      j.trim_due = true;
}

void reconcile(self_pointer self) {
  auto& st = self->state;
  auto& j = st.journal;
  if (j.reconciled)
    return;
  if (j.to_reconcile.empty() && j.next == 0) {
    if (j.reconcile_started == std::chrono::steady_clock::time_point{})
      j.reconcile_started = std::chrono::steady_clock::now();
    read_journal(self, std::make_shared<journal_replay>(), "");
    return;
  }
  ask_next_batch(self); // a retry: on from the batch that failed
}

void journal_housekeeping(self_pointer self) {
  if (!self->state.options.journal)
    return;
  trim(self);
  ask_about_unknown(self);
}

} // namespace brokedancer::monitor
