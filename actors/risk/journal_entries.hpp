#pragma once

// The order journal's entries, as plain code. The risk monitor appends an "order" entry before
// an order leaves the node and an "outcome" entry once the outcome is known (a fill's outcome in
// the same store transaction as the book that holds it); replaying the journal gives the orders
// whose outcome the book has not taken -- what a restarted node must ask the exchange about.
//
//   {"type":"order","client_order_id","bot_id","symbol","side","quantity","price","fence","at_us"}
//     (and "venue" for an order to another venue than the node's own endpoint)
//   {"type":"outcome","client_order_id","outcome","filled_quantity","fill_price","fee","how"}
//
// Entries are outside input when read back (anyone with access to the Redis can write them): an
// entry that does not parse is counted and skipped, never trusted.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/risk.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

std::string order_entry(const order& o, int64_t at_us);
// `how`: "answer" (the endpoint answered the order) or "reconciled" (asked afterwards).
std::string outcome_entry(const order_result& result, const char* how);

// The journal as it is read back, entry by entry.
class journal_replay {
public:
  void add(const log_entry& entry);

  // Orders with no outcome, with their entry ids, in the order they were journaled.
  std::vector<std::pair<std::string, order>> open_orders() const;
  size_t entries() const {
    return entries_;
  }
  size_t unreadable() const {
    return unreadable_;
  }
  // The last entry's id: where the next page starts.
  const std::string& last_id() const {
    return last_id_;
  }

private:
  std::unordered_map<std::string, std::pair<std::string, order>> open_; // by client order id
  size_t entries_ = 0;
  size_t unreadable_ = 0;
  std::string last_id_;
};

// The outcome of a journaled order from the exchange's word about it (an order_status answer's
// element): filled (a sane fill), expired, rejected or cancelled; or failed when the exchange
// does not know it or the answer is unusable -- then it stays open.
order_result reconciled_result(const order& o, const nlohmann::json& answer);

} // namespace brokedancer
