#include "actors/market/exchange_ledger.hpp"

#include <cmath>
#include <cstdio>

#include "core/json_fields.hpp"
#include "core/json_text.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

// The fields an order's request and its record share.
void read_order_fields(const json& j, ledger_order& o) {
  o.client_order_id = text_field(j, "client_order_id");
  o.account = text_field(j, "account");
  o.bot_id = text_field(j, "bot_id");
  o.symbol = text_field(j, "symbol");
  o.side = text_field(j, "side");
  o.quantity = number_field(j, "quantity");
  o.price = number_field(j, "price");
  o.fence = count_field(j, "fence");
}

std::string price_text(double price) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", price);
  return text;
}

ledger_answer malformed(std::string why) {
  return {400, json{{"error", std::move(why)}}};
}

bool fits(const std::string& text) {
  return text.size() <= max_ledger_text && printable_text(text);
}

} // namespace

json to_json(const ledger_order& o) {
  json j{{"client_order_id", o.client_order_id},
         {"account", o.account},
         {"bot_id", o.bot_id},
         {"symbol", o.symbol},
         {"side", o.side},
         {"quantity", o.quantity},
         {"price", o.price},
         {"fence", o.fence},
         {"status", o.status},
         {"at_us", o.at_us}};
  if (!o.reason.empty())
    j["reason"] = o.reason;
  if (o.status == "filled") {
    j["filled_quantity"] = o.filled_quantity;
    j["fill_price"] = o.fill_price;
    j["fee"] = o.fee;
    j["fill_seq"] = o.fill_seq;
  }
  return j;
}

bool from_json(const json& j, ledger_order& o) {
  if (!j.is_object())
    return false;
  read_order_fields(j, o);
  o.status = text_field(j, "status");
  o.reason = text_field(j, "reason");
  o.filled_quantity = number_field(j, "filled_quantity");
  o.fill_price = number_field(j, "fill_price");
  o.fee = number_field(j, "fee");
  o.fill_seq = count_field(j, "fill_seq");
  auto at = j.find("at_us");
  o.at_us = at != j.end() && at->is_number_integer() ? at->get<int64_t>() : 0;
  return !o.client_order_id.empty()
         && (o.status == "filled" || o.status == "expired" || o.status == "rejected"
             || o.status == "cancelled")
         && (o.status != "filled" || o.fill_seq > 0);
}

exchange_ledger::exchange_ledger(settings s) : settings_(s) {}

void exchange_ledger::remember(ledger_order o) {
  // A record read again (a ledger file holding one twice) replaces the first, fill and all.
  if (auto before = orders_.find(o.client_order_id);
      before != orders_.end() && before->second.fill_seq > 0) {
    auto account = fills_.find(before->second.account);
    if (account != fills_.end())
      account->second.erase(before->second.fill_seq);
  }
  if (o.status == "filled") {
    fills_[o.account][o.fill_seq] = o.client_order_id;
    last_fill_seq_ = std::max(last_fill_seq_, o.fill_seq);
  }
  // (A fence of 0 says nothing: no bot gets an entry for it.)
  if (!o.bot_id.empty() && o.status != "cancelled" && o.fence > 0)
    fences_[o.bot_id] = std::max(fences_[o.bot_id], o.fence);
  auto id = o.client_order_id;
  if (orders_.insert_or_assign(id, std::move(o)).second)
    arrival_.push_back(id);
  while (arrival_.size() > settings_.remembered_orders) {
    auto oldest = orders_.find(arrival_.front());
    if (oldest != orders_.end()) {
      if (oldest->second.fill_seq > 0) {
        auto account = fills_.find(oldest->second.account);
        if (account != fills_.end())
          account->second.erase(oldest->second.fill_seq);
      }
      orders_.erase(oldest);
    }
    arrival_.pop_front();
  }
}

ledger_answer exchange_ledger::submit(const json& body, int64_t now_us, bool match,
                                      const quote_lookup& quotes) {
  if (!body.is_object())
    return malformed("an order is a JSON object");
  ledger_order o;
  read_order_fields(body, o);
  o.at_us = now_us;
  if (o.quantity <= 0 || o.price <= 0 || !std::isfinite(o.quantity) || !std::isfinite(o.price)
      || !std::isfinite(o.quantity * o.price))
    return malformed(match ? "an order needs a side (buy or sell), a positive quantity and price"
                           : "an order needs a positive quantity and price");
  if ((match || !o.side.empty()) && o.side != "buy" && o.side != "sell")
    return malformed("an order needs a side (buy or sell), a positive quantity and price");
  for (const auto* text : {&o.client_order_id, &o.account, &o.bot_id, &o.symbol})
    if (!fits(*text))
      return malformed("client_order_id, account, bot_id and symbol are printable text of at most "
                       + std::to_string(max_ledger_text) + " bytes");
  // Orders record fences too: the same bounds as /fences, or one order could pin a bot's fence
  // at 2^64 - 1 (every later order of it refused) or add bots without end.
  if (!o.bot_id.empty() && o.fence > 0) {
    if (auto problem = fence_problem(o.bot_id, o.fence); !problem.empty())
      return malformed(problem);
  }
  if (!o.client_order_id.empty()) {
    if (auto known = orders_.find(o.client_order_id); known != orders_.end()) {
      if (known->second.status != "cancelled")
        return {200, to_json(known->second)}; // a retry: the first answer again
      o.status = "rejected";
      o.reason = "cancelled: a cancel for this order arrived before it";
      auto answer = to_json(o);
      return {200, answer}; // the tombstone stays; nothing new is remembered
    }
  }
  auto fence = o.bot_id.empty() ? fences_.end() : fences_.find(o.bot_id);
  if (fence != fences_.end() && o.fence < fence->second) {
    o.status = "rejected";
    o.reason = "not_owner: fence " + std::to_string(o.fence) + " of " + o.bot_id + " is older than "
               + std::to_string(fence->second) + ": another node owns it";
  } else if (const quote* top = match ? quotes(o.symbol) : nullptr; match && !top) {
    o.status = "rejected";
    o.reason = "no_market_data: no quote for \"" + o.symbol + "\" yet";
  } else if (top && (o.side == "buy" ? o.price < top->ask : o.price > top->bid)) {
    o.status = "expired";
    o.reason = "not_marketable: " + o.side + " limit " + price_text(o.price)
               + (o.side == "buy" ? " below the ask " + price_text(top->ask)
                                  : " above the bid " + price_text(top->bid));
  } else {
    o.status = "filled";
    o.filled_quantity = o.quantity;
    o.fill_price = top ? (o.side == "buy" ? top->ask : top->bid) : o.price;
    o.fee = o.filled_quantity * o.fill_price * settings_.fee_rate;
    o.fill_seq = last_fill_seq_ + 1;
  }
  auto answer = to_json(o);
  if (!o.client_order_id.empty()) {
    if (on_record)
      on_record(json{{"order", answer}});
    remember(std::move(o));
  } else if (o.status == "filled") {
    last_fill_seq_ = o.fill_seq; // an order nobody can ask about again still took a seq
  }
  return {200, std::move(answer)};
}

ledger_answer exchange_ledger::cancel(const std::string& client_order_id, int64_t now_us) {
  if (client_order_id.empty() || !fits(client_order_id))
    return malformed("a cancel needs the client_order_id of the order");
  auto known = orders_.find(client_order_id);
  if (known != orders_.end())
    return {200, json{{"client_order_id", client_order_id},
                      {"status", known->second.status == "cancelled" ? "cancelled" : "not_open"}}};
  ledger_order tombstone;
  tombstone.client_order_id = client_order_id;
  tombstone.status = "cancelled";
  tombstone.at_us = now_us;
  if (on_record)
    on_record(json{{"order", to_json(tombstone)}});
  remember(std::move(tombstone));
  return {200, json{{"client_order_id", client_order_id}, {"status", "cancelled"}}};
}

json exchange_ledger::status_of(const std::vector<std::string>& client_order_ids, bool seal,
                                int64_t now_us) {
  auto answers = json::array();
  for (const auto& id : client_order_ids) {
    if (auto known = orders_.find(id); known != orders_.end()) {
      answers.push_back(to_json(known->second));
    } else if (seal && !id.empty() && fits(id)) {
      cancel(id, now_us);
      answers.push_back(to_json(orders_.at(id)));
    } else {
      answers.push_back(json{{"client_order_id", id}, {"status", "unknown"}});
    }
  }
  return json{{"orders", std::move(answers)}};
}

json exchange_ledger::fills_since(const std::string& account, uint64_t after_seq,
                                  size_t limit) const {
  auto fills = json::array();
  uint64_t next = after_seq;
  auto found = fills_.find(account);
  if (found != fills_.end()) {
    for (auto i = found->second.upper_bound(after_seq);
         i != found->second.end() && fills.size() < limit; ++i) {
      next = i->first;
      if (auto o = orders_.find(i->second); o != orders_.end())
        fills.push_back(to_json(o->second));
    }
  }
  return json{{"account", account}, {"fills", std::move(fills)}, {"next", next}};
}

ledger_answer exchange_ledger::cancel_request(const json& body, int64_t now_us) {
  return cancel(text_field(body, "client_order_id"), now_us);
}

ledger_answer exchange_ledger::status_request(const json& body, int64_t now_us) {
  auto list = body.is_object() ? body.find("client_order_ids") : body.end();
  if (list == body.end() || !list->is_array() || list->size() > max_status_ids)
    return malformed("client_order_ids is a list of at most " + std::to_string(max_status_ids)
                     + " ids");
  std::vector<std::string> ids;
  for (const auto& id : *list) {
    if (!id.is_string())
      return malformed("client_order_ids holds strings");
    ids.push_back(id.get<std::string>());
  }
  auto seal = body.find("seal");
  bool sealed = seal != body.end() && seal->is_boolean() && seal->get<bool>();
  return {200, status_of(ids, sealed, now_us)};
}

std::string exchange_ledger::fence_problem(const std::string& bot, uint64_t fence) const {
  if (fence > max_fence)
    return "a fence is a count from 1 to 2^53";
  if (fences_.count(bot) == 0 && fences_.size() >= max_fenced_bots)
    return "the exchange keeps fences for " + std::to_string(max_fenced_bots) + " bots at most";
  return {};
}

ledger_answer exchange_ledger::raise_fence(const json& body) {
  auto bot = text_field(body, "bot_id");
  auto fence = count_field(body, "fence");
  if (bot.empty() || !fits(bot) || fence == 0)
    return malformed("a fence is {\"bot_id\", \"fence\"}: a bot id and a count from 1 to 2^53");
  if (auto problem = fence_problem(bot, fence); !problem.empty())
    return malformed(problem);
  auto& known = fences_[bot];
  if (fence > known) {
    known = fence;
    if (on_record)
      on_record(json{{"fence", {{"bot_id", bot}, {"fence", fence}}}});
  }
  return {200, json{{"bot_id", bot}, {"fence", known}}};
}

bool exchange_ledger::replay(const json& record, std::string& why) {
  // What the ledger took once stands: the bounds are for requests, not for its own records.
  if (auto fence = record.is_object() ? record.find("fence") : record.end();
      fence != record.end()) {
    auto bot = fence->is_object() ? text_field(*fence, "bot_id") : std::string{};
    auto value = fence->is_object() ? count_field(*fence, "fence") : 0;
    if (bot.empty() || value == 0) {
      why = "not a fence record";
      return false;
    }
    fences_[bot] = std::max(fences_[bot], value);
    return true;
  }
  auto order = record.is_object() ? record.find("order") : record.end();
  ledger_order o;
  if (order == record.end() || !from_json(*order, o)) {
    why = "not an order record";
    return false;
  }
  remember(std::move(o));
  return true;
}

} // namespace brokedancer
