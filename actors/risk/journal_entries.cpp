#include "actors/risk/journal_entries.hpp"

#include <algorithm>
#include <cmath>

#include "actors/market/exchange_ledger.hpp"
#include "actors/risk/order_execution.hpp"
#include "actors/store/log_table.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/plain_name.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

// Entry ids compare as numbers: "<ms>-<seq>".
bool earlier(const std::string& a, const std::string& b) {
  std::pair<uint64_t, uint64_t> ka{0, 0};
  std::pair<uint64_t, uint64_t> kb{0, 0};
  parse_log_id(a, ka);
  parse_log_id(b, kb);
  return ka < kb;
}

} // namespace

std::string order_entry(const order& o, int64_t at_us) {
  json entry{{"type", "order"},
             {"client_order_id", o.client_order_id},
             {"bot_id", o.bot_id},
             {"symbol", o.symbol},
             {"side", to_string(o.side)},
             {"quantity", o.quantity},
             {"price", o.price},
             {"fence", o.fence},
             {"at_us", at_us}};
  if (!o.venue.empty()) // entries of the node's own endpoint stay as they were
    entry["venue"] = o.venue;
  return dump_json(entry);
}

std::string outcome_entry(const order_result& result, const char* how) {
  json entry{{"type", "outcome"},
             {"client_order_id", result.client_order_id},
             {"outcome", to_string(result.outcome)},
             {"how", how}};
  if (result.outcome == order_outcome::filled) {
    entry["filled_quantity"] = result.filled_quantity;
    entry["fill_price"] = result.fill_price;
    entry["fee"] = result.fee;
  }
  return dump_json(entry);
}

void journal_replay::add(const log_entry& entry) {
  ++entries_;
  last_id_ = entry.id;
  auto j = parse_json_within(entry.json);
  auto type = j.is_object() ? text_field(j, "type") : std::string{};
  auto id = j.is_object() ? text_field(j, "client_order_id") : std::string{};
  if (id.empty() || (type != "order" && type != "outcome")) {
    ++unreadable_;
    return;
  }
  if (type == "outcome") {
    open_.erase(id); // an outcome without its order (trimmed before it) closes nothing
    return;
  }
  order o;
  o.client_order_id = id;
  o.bot_id = text_field(j, "bot_id");
  o.symbol = text_field(j, "symbol");
  auto side = text_field(j, "side");
  o.quantity = number_field(j, "quantity");
  o.price = number_field(j, "price");
  o.venue = text_field(j, "venue"); // an endpoint's name: checked below, like the rest
  // What the pre-trade check calls malformed (no '@' in symbol or venue among it) was never
  // journaled by this node.
  if ((side != "buy" && side != "sell") || malformed(o)
      || (j.contains("venue") && !j["venue"].is_string())
      || (!o.venue.empty() && !check_plain_name("a venue", o.venue, 64).empty())) {
    ++unreadable_;
    return;
  }
  o.side = side == "buy" ? order_side::buy : order_side::sell;
  o.fence = count_field(j, "fence");
  open_[id] = {entry.id, std::move(o)};
}

std::vector<std::pair<std::string, order>> journal_replay::open_orders() const {
  std::vector<std::pair<std::string, order>> sorted;
  sorted.reserve(open_.size());
  for (const auto& [id, entry] : open_)
    sorted.push_back(entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return earlier(a.first, b.first); });
  return sorted;
}

order_result reconciled_result(const order& o, const json& answer) {
  order_result result{
      o.client_order_id, order_outcome::failed, reject_code::call_failed, "", 0, 0, 0};
  if (!answer.is_object() || text_field(answer, "client_order_id") != o.client_order_id) {
    result.reason = "the exchange's answer is not about this order";
    return result;
  }
  auto status = text_field(answer, "status");
  if (status == "filled" || status == "expired" || status == "rejected") {
    result = read_order_answer(o, answer); // as its answer to the order itself would have been
    result.reason = result.reason.substr(0, max_ledger_text * 2);
    if (result.outcome == order_outcome::accepted)
      result.reason = "the exchange reports a fill the book cannot take";
  } else if (status == "cancelled") {
    result.outcome = order_outcome::cancelled;
    result.code = reject_code::none;
    result.reason = "the order never reached the exchange; it can no longer execute";
  } else {
    result.reason = "the exchange does not know the order (yet)";
  }
  return result;
}

} // namespace brokedancer
