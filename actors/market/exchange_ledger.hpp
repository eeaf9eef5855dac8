#pragma once

// What the simulated exchange remembers, as plain code with the time passed in: every order by
// its client order id with its one outcome, the fills of each account in the order they
// happened, cancels that arrived before their order, and the highest ownership fence seen per
// bot. The in-process exchange actor and the `brokedancer exchange` process both keep one; the
// process can write every change to a file and read it back on start.
//
// An order is immediate-or-cancel: filled in full (against the top of the book when a quote is
// given, at its own limit price otherwise), expired (not marketable), or rejected. Sending the
// same client order id again changes nothing and gets the first answer: retries are safe.
// Orders carry the account (the node that sent them) and the bot's fence: an order whose fence
// is below one already seen for its bot is rejected with not_owner -- a node that lost the bot
// to another cannot trade it.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/market.hpp"

namespace brokedancer {

struct ledger_order {
  std::string client_order_id;
  std::string account;
  std::string bot_id;
  std::string symbol;
  std::string side;
  double quantity = 0;
  double price = 0;
  uint64_t fence = 0;
  std::string status; // filled, expired, rejected, cancelled (a cancel came before it)
  std::string reason;
  double filled_quantity = 0;
  double fill_price = 0;
  double fee = 0;
  uint64_t fill_seq = 0; // the fill's place in the ledger, from 1; 0 when not filled
  int64_t at_us = 0;
};

// The order as the exchange answers for it (and writes it to its file).
nlohmann::json to_json(const ledger_order& o);
bool from_json(const nlohmann::json& j, ledger_order& o);

struct ledger_answer {
  int status = 200; // 400: malformed, nothing remembered
  nlohmann::json body;
};

class exchange_ledger {
public:
  struct settings {
    double fee_rate = 0.001;
    size_t remembered_orders = 1000000; // the oldest are forgotten beyond it
  };

  exchange_ledger() : exchange_ledger(settings{}) {}
  explicit exchange_ledger(settings s);

  // The top of the book for a symbol, or null: then a marketable check is skipped and the
  // order fills at its limit price.
  using quote_lookup = std::function<const quote*(const std::string& symbol)>;

  // Every change, as it happens: the order (once decided) or a cancel that came first.
  std::function<void(const nlohmann::json& record)> on_record;

  // An order from its JSON body; `match` says whether orders are matched against quotes (then
  // a symbol without one is rejected with no_market_data).
  ledger_answer submit(const nlohmann::json& body, int64_t now_us, bool match,
                       const quote_lookup& quotes);
  // {"status": "cancelled"} for an order not seen yet (it is refused if it comes), or
  // {"status": "not_open"} for one already decided: nothing rests on this exchange.
  ledger_answer cancel(const std::string& client_order_id, int64_t now_us);
  // Each order's state: its record, or {"client_order_id", "status": "unknown"}; with `seal`,
  // an unknown order is cancelled in the same step (it can no longer arrive and fill), and
  // reported as "cancelled".
  nlohmann::json status_of(const std::vector<std::string>& client_order_ids, bool seal,
                           int64_t now_us);
  // The account's fills after `after_seq`, oldest first, at most `limit`; "next" is the seq to
  // ask after for the following page.
  nlohmann::json fills_since(const std::string& account, uint64_t after_seq, size_t limit) const;

  // The same from a request's body: {"client_order_id"} for a cancel, {"client_order_ids": [at
  // most max_status_ids], "seal": bool} for a status; 400 for a body that is not one.
  ledger_answer cancel_request(const nlohmann::json& body, int64_t now_us);
  ledger_answer status_request(const nlohmann::json& body, int64_t now_us);

  // {"bot_id", "fence"}: a bot's new owner's fence, before its first order; the highest known
  // fence for the bot is the answer's.
  ledger_answer raise_fence(const nlohmann::json& body);

  // Reads back one record written by on_record; false, with `why`, when it is not one.
  bool replay(const nlohmann::json& record, std::string& why);

  size_t orders() const {
    return orders_.size();
  }
  uint64_t fills() const {
    return last_fill_seq_;
  }

private:
  // Why a request may not record `fence` for `bot` (empty when it may): over max_fence, or a
  // bot beyond max_fenced_bots.
  std::string fence_problem(const std::string& bot, uint64_t fence) const;

  void remember(ledger_order o);

  settings settings_;
  std::unordered_map<std::string, ledger_order> orders_;
  std::deque<std::string> arrival_; // client order ids, oldest first, for forgetting
  // Each account's fills: seq -> client order id.
  std::unordered_map<std::string, std::map<uint64_t, std::string>> fills_;
  std::unordered_map<std::string, uint64_t> fences_; // the highest fence per bot
  uint64_t last_fill_seq_ = 0;
};

// The limits on what an order may carry: text fields are at most this long.
constexpr size_t max_ledger_text = 128;
// The most orders one status request may ask about.
constexpr size_t max_status_ids = 1000;
// The most bots the ledger keeps a fence for, and the largest fence it takes (a fence is a
// count or a time in ms: far below; a request past either is refused, not remembered).
constexpr size_t max_fenced_bots = 1000000;
constexpr uint64_t max_fence = uint64_t{1} << 53;

} // namespace brokedancer
