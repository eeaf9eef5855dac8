#include "actors/risk/order_execution.hpp"

#include <cmath>
#include <memory>

#include <nlohmann/json.hpp>

#include <caf/error.hpp>

#include "actors/risk/monitor_state.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

bool success(const endpoint_response& response) {
  return response.status >= 200 && response.status < 300;
}

order_result refused_by_status(const std::string& client_order_id, order_outcome outcome,
                               int32_t status) {
  return {client_order_id,
          outcome,
          reject_code::exchange_rejected,
          "exchange_rejected: status " + std::to_string(status),
          0,
          0,
          0};
}

} // namespace

endpoint_request submit_request(const order& o, const std::string& account, bool reduces_risk) {
  endpoint_request request;
  request.operation = "submit_order";
  request.reduces_risk = reduces_risk;
  request.client_request_id = o.client_order_id;
  request.correlation = o.correlation;
  request.json = dump_json({{"bot_id", o.bot_id},
                            {"symbol", o.symbol},
                            {"side", to_string(o.side)},
                            {"quantity", o.quantity},
                            {"price", o.price},
                            {"client_order_id", o.client_order_id},
                            {"account", account},
                            {"fence", o.fence}});
  return request;
}

endpoint_request status_request(const std::vector<std::string>& client_order_ids) {
  endpoint_request request;
  request.operation = "order_status";
  request.json = dump_json({{"client_order_ids", client_order_ids}, {"seal", true}});
  return request;
}

order_result read_submit_answer(const order& o, const endpoint_response& response, bool* final) {
  auto body = parse_json_within(response.json);
  auto status = text_field(body, "status");
  if (final) {
    if (response.status >= 400 && response.status < 500)         // refused: the request was wrong
      *final = response.status != 408 && response.status != 429; // not "late", not "too many"
    else // a 5xx (an earlier attempt may have filled), or a success that says nothing usable
      *final = success(response) && body.is_object()
               && (status == "filled" || status == "expired" || status == "rejected");
  }
  if (!success(response) || !body.is_object())
    return refused_by_status(o.client_order_id, order_outcome::rejected, response.status);
  return read_order_answer(o, body);
}

order_result read_order_answer(const order& o, const json& body) {
  auto status = text_field(body, "status");
  order_result result{o.client_order_id, order_outcome::rejected, reject_code::none, "", 0, 0, 0};
  if (status == "expired" || status == "rejected") {
    // The exchange took the order and did not fill it: not marketable, no market data,
    // cancelled before it arrived.
    auto why = text_field(body, "reason");
    if (why.empty())
      why = status;
    if (status == "expired") {
      result.outcome = order_outcome::expired;
      result.code = reject_code::not_marketable;
      result.reason = why;
    } else if (why.rfind("not_owner", 0) == 0) { // the exchange saw a newer owner's fence
      result.code = reject_code::not_owner;
      result.reason = why;
    } else {
      result.code = reject_code::exchange_rejected;
      result.reason = "exchange_rejected: " + why;
    }
    return result;
  }
  result.filled_quantity = number_field(body, "filled_quantity");
  result.fill_price = number_field(body, "fill_price");
  result.fee = number_field(body, "fee");
  if (sane_fill(o.quantity, result.filled_quantity, result.fill_price, result.fee)) {
    result.outcome = order_outcome::filled;
  } else {
    result.outcome = order_outcome::accepted; // nothing to book; the reason stays empty
  }
  return result;
}

endpoint_request cancel_request(const std::string& client_order_id, bool reduces_risk) {
  endpoint_request request;
  request.operation = "cancel_order";
  request.reduces_risk = reduces_risk;
  request.client_request_id = "cancel:" + client_order_id;
  request.json = dump_json({{"client_order_id", client_order_id}});
  return request;
}

order_result read_cancel_answer(const std::string& client_order_id,
                                const endpoint_response& response) {
  auto body = parse_json_within(response.json);
  auto status = text_field(body, "status");
  if (success(response) && status == "cancelled")
    return {client_order_id, order_outcome::cancelled, reject_code::none, "", 0, 0, 0};
  if (success(response) && status == "not_open")
    return {client_order_id, order_outcome::not_open, reject_code::none, "", 0, 0, 0};
  return refused_by_status(client_order_id, order_outcome::failed, response.status);
}

order_result failed_call(const std::string& client_order_id, const caf::error& err,
                         std::string rendered) {
  return {
      client_order_id, order_outcome::failed, reject_code_of(err), std::move(rendered), 0, 0, 0};
}

std::vector<order> closing_orders(const risk_book& book, int64_t now_us) {
  std::vector<order> closing;
  for (const auto& [symbol, p] : book.positions()) {
    if (p.quantity == 0)
      continue;
    order o;
    o.bot_id = "runtime";
    o.symbol = market_symbol(symbol);
    o.venue = venue_of(symbol); // closed where it is held
    o.side = p.quantity > 0 ? order_side::sell : order_side::buy;
    o.quantity = std::abs(p.quantity);
    // A marketable limit: through the top of the book by a margin, but never at any price.
    auto mark = book.mark(symbol, p.average_price);
    o.price =
        o.side == order_side::sell ? mark * (1 - flatten_slippage) : mark * (1 + flatten_slippage);
    // The book symbol: unique, '@' being in no symbol and no venue.
    o.client_order_id = "flatten-" + symbol + "-" + std::to_string(now_us);
    closing.push_back(std::move(o));
  }
  return closing;
}

// --- the monitor's calls ---------------------------------------------------------------------

namespace monitor {

namespace {

// The outcome of an order held when the monitor stops is unknown -- the order may have reached
// the exchange -- and a retry with the same client order id cannot execute it twice.
constexpr const char* stopped_unanswered =
    "the risk monitor stopped before the outcome was known; the order may have been executed";

} // namespace

void remember_venue(monitor_state& st, const order& o) {
  if (o.venue.empty() || !st.venue_orders.emplace(o.client_order_id, o.venue).second)
    return;
  st.venue_order_ids.push_back(o.client_order_id);
  if (st.venue_order_ids.size() > venue_orders_kept) {
    st.venue_orders.erase(st.venue_order_ids.front());
    st.venue_order_ids.pop_front();
  }
}

answer answer_later(self_pointer self, caf::typed_response_promise<order_result> rp) {
  auto id = ++self->state.next_pending;
  self->state.pending.emplace(id, owed_reply<order_result>{std::move(rp), stopped_unanswered});
  return [self, id](order_result& result) {
    auto found = self->state.pending.find(id);
    if (found == self->state.pending.end())
      return;
    found->second.deliver(result);
    auto& st = self->state;
    st.pending.erase(found);
    if (st.pending.empty() && !st.waiting_for_answers.empty()) {
      auto waiting = std::move(st.waiting_for_answers);
      st.waiting_for_answers.clear();
      for (auto& resume : waiting)
        resume();
    }
  };
}

void find_breaker(self_pointer self) {
  auto& st = self->state;
  self->request(st.breakers, std::chrono::seconds(5), breaker_atom::value, st.options.endpoint)
      .then(
          [self](breaker_actor& found) {
            self->state.breaker = found;
            self->monitor(found);
          },
          [self](caf::error&) { self->delayed_send(self, retry_after, find_breaker_atom::value); });
}

void on_down(self_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  if (st.breaker && down.source == st.breaker.address()) {
    // The registry starts it again on the next call; until then calls go through it.
    st.breaker = nullptr;
    self->delayed_send(self, std::chrono::milliseconds(100), find_breaker_atom::value);
  }
}

namespace {

// What became of an order the endpoint answered: booked and journaled, journaled, or asked
// again later; the bot hears once the book and journal hold it. An answer that does not settle
// the order (a 5xx after retries: an earlier attempt may have filled) leaves it open.
void on_submit_answer(self_pointer self, const order& o, order_result& result, answer& reply,
                      bool final) {
  auto& st = self->state;
  if (!final && result.outcome != order_outcome::filled) {
    ++(result.outcome == order_outcome::rejected ? st.rejected : st.failed);
    outcome_unknown(self, o);
    reply(result);
    return;
  }
  switch (result.outcome) {
    case order_outcome::filled:
      journal_outcome(self, result, "answer");
      book_fill(self, o, result, [reply, result]() mutable { reply(result); });
      return;
    case order_outcome::rejected: ++st.rejected; [[fallthrough]];
    case order_outcome::expired: // neither a rejection nor a failure
      // Nothing to book: the outcome rides on the next write of the book (the housekeeping
      // writes within a second if no fill does), not on a write of its own per order.
      journal_outcome(self, result, "answer");
      break;
    case order_outcome::accepted:
      // Taken, with an answer the book cannot use: asking again gets the same answer.
      st.log.critical("the exchange took an order and answered with no fill the book can take",
                      {{"client_order_id", o.client_order_id}});
      journal_outcome(self, result, "answer");
      break;
    default:
      ++st.failed;
      outcome_unknown(self, o);
      break;
  }
  reply(result);
}

// Whatever the error, an earlier attempt of the call may have reached the exchange (the breaker
// retries, and reports only the last attempt's error): the order is asked about until the
// exchange settles it -- sealed, so one that never arrived can no longer fill.
void on_submit_error(self_pointer self, const order& o, const caf::error& err, answer& reply) {
  ++self->state.failed;
  auto result = failed_call(o.client_order_id, err, self->system().render(err));
  // The one error that says the order never left: a breaker refuses with rate_limited only
  // before the first attempt (a later one ends with that attempt's outcome). Asking the
  // exchange about it would spend the budget that just ran out.
  if (is(err, errc::rate_limited))
    journal_outcome(self, result, "not_sent");
  else
    outcome_unknown(self, o);
  reply(result);
}

void send_order(self_pointer self, order placed, answer done, bool reduces_risk) {
  auto request = submit_request(placed, self->state.options.node_name, reduces_risk);
  remember_venue(self->state, placed);
  auto venue = placed.venue;
  // Shared by the two handlers rather than copied into each.
  auto pending = std::make_shared<std::pair<order, answer>>(std::move(placed), std::move(done));
  call_endpoint(
      self, venue, std::move(request),
      [self, pending](endpoint_response& response) {
        bool final = false;
        auto result = read_submit_answer(pending->first, response, &final);
        on_submit_answer(self, pending->first, result, pending->second, final);
      },
      [self, pending](caf::error& err) {
        on_submit_error(self, pending->first, err, pending->second);
      });
}

} // namespace

namespace {

void count_in_flight(monitor_state& st, const std::string& symbol, order_side side,
                     double quantity) {
  auto& [buys, sells] = st.in_flight[symbol];
  (side == order_side::buy ? buys : sells) += quantity;
  if (buys <= 1e-12 && sells <= 1e-12)
    st.in_flight.erase(symbol);
}

} // namespace

void execute(self_pointer self, order placed, answer done, bool reduces_risk) {
  auto symbol = book_symbol(placed);
  count_in_flight(self->state, symbol, placed.side, placed.quantity);
  done = [self, symbol, side = placed.side, quantity = placed.quantity,
          inner = std::move(done)](order_result& result) {
    count_in_flight(self->state, symbol, side, -quantity);
    inner(result);
  };
  if (!self->state.options.journal) {
    send_order(self, std::move(placed), std::move(done), reduces_risk);
    return;
  }
  // Journaled first: a node killed while the order is out finds it in its journal on restart.
  auto pending = std::make_shared<std::pair<order, answer>>(std::move(placed), std::move(done));
  journal_order(self, pending->first, [self, pending, reduces_risk](std::string problem) {
    auto& [o, reply] = *pending;
    if (!problem.empty() && reduces_risk) {
      // A closing order (SHUTDOWN) goes out even when the journal cannot be written: closing
      // the book matters more; its outcome is asked about like any unknown one.
      self->state.log.critical("a closing order goes out without its journal entry",
                               {{"client_order_id", o.client_order_id}, {"problem", problem}});
      send_order(self, std::move(o), std::move(reply), reduces_risk);
      return;
    }
    if (!problem.empty()) {
      ++self->state.rejected;
      order_result refused{o.client_order_id,
                           order_outcome::rejected,
                           reject_code::journal_unavailable,
                           "journal_unavailable: " + problem,
                           0,
                           0,
                           0};
      reply(refused);
      return;
    }
    send_order(self, std::move(o), std::move(reply), reduces_risk);
  });
}

void announce_fence(self_pointer self, const std::string& bot_id, uint64_t fence,
                    std::function<void(bool)> done) {
  endpoint_request request;
  request.operation = "register_fence";
  request.client_request_id = "fence:" + bot_id + ":" + std::to_string(fence);
  request.json = dump_json({{"bot_id", bot_id}, {"fence", fence}});
  call_endpoint(
      self, std::string{}, std::move(request),
      [done](endpoint_response& response) {
        done(response.status >= 200 && response.status < 300);
      },
      [done](caf::error&) { done(false); });
}

void cancel(self_pointer self, const std::string& client_order_id, answer done, bool reduces_risk) {
  // Where it went: remembered when it was sent (or found in the journal after a restart), or
  // an order whose outcome is still being asked about; else the node's own endpoint.
  auto& st = self->state;
  std::string venue;
  if (auto sent = st.venue_orders.find(client_order_id); sent != st.venue_orders.end())
    venue = sent->second;
  else if (auto asked = st.journal.unknown.find(client_order_id); asked != st.journal.unknown.end())
    venue = asked->second.venue;
  call_endpoint(
      self, venue, cancel_request(client_order_id, reduces_risk),
      [client_order_id, done](endpoint_response& response) {
        auto result = read_cancel_answer(client_order_id, response);
        done(result);
      },
      [self, client_order_id, done](caf::error& err) {
        auto result = failed_call(client_order_id, err, self->system().render(err));
        done(result);
      });
}

void flatten(self_pointer self, std::function<void()> finished, int round, bool waited) {
  auto& st = self->state;
  if (st.flattening) {
    // An operator's (or a breach's) flatten is out: its closing orders would be sent twice.
    st.after_flatten.push_back(
        [self, finished, round, waited] { flatten(self, finished, round, waited); });
    return;
  }
  auto closing = closing_orders(st.book, now_us());
  // Done when nothing is left open (orders answered meanwhile may have opened some, hence the
  // rounds), or after three rounds; either way the book is written before SHUTDOWN is
  // acknowledged, so the next start sees what was closed.
  constexpr int rounds = 3;
  if (closing.empty() || round > rounds) {
    // A bot's order still out may fill after the book was read and open what was just closed:
    // once every answer is in, one more look. Each call ends by the breaker's deadline, and the
    // controller's grace bounds the whole of SHUTDOWN; the closing orders went out first, not
    // after the wait (a slow exchange is when orders are out, and the grace is shorter than a
    // call's deadline). No new order comes in -- SHUTDOWN refuses them -- only cancels.
    if (!waited && !st.pending.empty()) {
      st.log.warn("SHUTDOWN: waiting for the orders in flight, then closing again",
                  {{"orders", st.pending.size()}});
      st.waiting_for_answers.push_back([self, finished, next = std::min(round, rounds)] {
        flatten(self, finished, next, true);
      });
      return;
    }
    if (!closing.empty())
      st.log.critical("SHUTDOWN: positions are still open", {{"positions", closing.size()}});
    persist(self, finished);
    return;
  }
  st.log.critical("SHUTDOWN: closing every position",
                  {{"positions", closing.size()}, {"round", round}});
  auto left = std::make_shared<size_t>(closing.size());
  for (auto& o : closing) {
    auto closed = [self, left, finished, round, waited, symbol = o.symbol](order_result& result) {
      if (result.outcome != order_outcome::filled)
        self->state.log.critical("SHUTDOWN: a position could not be closed",
                                 {{"symbol", symbol}, {"reason", result.reason}});
      if (--*left == 0)
        flatten(self, finished, round + 1, waited);
    };
    execute(self, o, announced(self, o, closed), true);
  }
}

namespace {

// What is still open of the positions a flatten of `symbol` (empty: all) was asked to close.
std::vector<position_status> still_open(const risk_book& book, const std::string& symbol) {
  std::vector<position_status> open;
  for (auto& p : book.position_statuses())
    if (p.quantity != 0 && (symbol.empty() || market_symbol(p.symbol) == symbol))
      open.push_back(std::move(p));
  return open;
}

void announce_flatten(self_pointer self, const std::string& symbol, const std::string& reason,
                      const flatten_report& report) {
  size_t closed = 0;
  for (const auto& c : report.closes)
    closed += c.result.outcome == order_outcome::filled ? 1 : 0;
  auto& log = self->state.log;
  logger::fields fields{{"symbol", symbol.empty() ? std::string{"*"} : symbol},
                        {"reason", reason},
                        {"closed", closed},
                        {"orders", report.closes.size()},
                        {"left", report.left.size()}};
  if (report.left.empty())
    log.warn("flattened: every position asked for is closed", std::move(fields));
  else
    log.critical("flatten: positions are still open", std::move(fields));
  publish_update(self, "trading.alerts",
                 {{"type", "FLATTEN"},
                  {"severity", report.left.empty() ? "warning" : "critical"},
                  {"symbol", symbol},
                  {"reason", reason},
                  {"closed", closed},
                  {"orders", report.closes.size()},
                  {"left", report.left.size()},
                  {"at_us", now_us()}},
                 correlation_id{});
}

} // namespace

void run_due_flatten(self_pointer self) {
  auto& st = self->state;
  if (st.breach_flatten_due.empty() || st.flattening || !st.loaded || !st.journal.reconciled
      || st.level.level() == emergency_level::shutdown)
    return;
  auto reason = std::move(st.breach_flatten_due);
  st.breach_flatten_due.clear();
  flatten_positions(self, std::string{}, reason, [](flatten_report&) {});
}

void flatten_positions(self_pointer self, const std::string& symbol, const std::string& reason,
                       std::function<void(flatten_report&)> done) {
  auto& st = self->state;
  auto report = std::make_shared<flatten_report>();
  std::vector<order> closing;
  for (auto& o : closing_orders(st.book, now_us()))
    if (symbol.empty() || o.symbol == symbol)
      closing.push_back(std::move(o));
  auto finish = [self, report, symbol, reason, done] {
    auto& monitor = self->state;
    monitor.flattening = false;
    ++monitor.flattens;
    for (const auto& c : report->closes)
      monitor.positions_flattened += c.result.outcome == order_outcome::filled ? 1 : 0;
    report->left = still_open(self->state.book, symbol);
    announce_flatten(self, symbol, reason, *report);
    done(*report);
    std::vector<std::function<void()>> next;
    next.swap(monitor.after_flatten);
    for (auto& f : next)
      f();
    run_due_flatten(self);
  };
  st.flattening = true;
  if (closing.empty()) {
    finish();
    return;
  }
  st.log.warn("flattening", {{"symbol", symbol.empty() ? std::string{"*"} : symbol},
                             {"positions", closing.size()},
                             {"reason", reason}});
  auto left = std::make_shared<size_t>(closing.size());
  for (auto& o : closing) {
    auto closed = [report, left, finish, about = o](order_result& result) {
      report->closes.push_back({book_symbol(about), about.side, about.quantity, result});
      if (--*left == 0)
        finish();
    };
    // reduces_risk: the breaker lets it through at HALT too, and it goes out even when the
    // journal cannot be written.
    execute(self, o, announced(self, o, std::move(closed)), true);
  }
}

} // namespace monitor

} // namespace brokedancer
