#pragma once

// The risk monitor's side of the endpoint, as plain code: an order or a cancel as the
// endpoint's request, the endpoint's answer (or a failed call) as an order_result, and the
// orders that close the book at SHUTDOWN. What the exchange answers is outside input: it is
// read field by field, and a fill the book cannot take is not passed on as one.
//
// The monitor's calls that use these (execute, cancel, flatten) are declared in
// monitor_state.hpp and defined in order_execution.cpp, next to them.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/risk/risk_book.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"

namespace brokedancer {

// A submit_order call for `o` from the node `account`; `reduces_risk` for the closing orders of
// SHUTDOWN, which a breaker lets through from HALT up.
endpoint_request submit_request(const order& o, const std::string& account, bool reduces_risk);

// An order_status call for the orders of `client_order_ids` (sealed: one the exchange has not
// seen is cancelled in the same step, so it can no longer fill).
endpoint_request status_request(const std::vector<std::string>& client_order_ids);

// The exchange's word about an order (a JSON object: its answer, or its record in an
// order_status): filled (a sane fill), expired, rejected (not_owner when the exchange saw a
// newer owner's fence), or accepted (taken, with no fill the book can take).
order_result read_order_answer(const order& o, const nlohmann::json& body);

// The exchange's answer to a submit: filled (a sane fill, see sane_fill), expired
// (not_marketable, in the exchange's words), rejected (exchange_rejected: refused, or an answer
// that is not a success), or accepted (the exchange took it, but its answer holds no fill the
// book can take; nothing is booked).
// With `final`: whether the answer settles the order -- a fill, expired or rejected in a success,
// or a 4xx refusal (but 408 and 429). A 5xx (after the breaker's retries, an earlier attempt may
// have filled) or an unreadable success does not: the order stays open.
order_result read_submit_answer(const order& o, const endpoint_response& response,
                                bool* final = nullptr);

// A cancel_order call for the order of `client_order_id`; `reduces_risk` for the kill switch's
// cancels, which a breaker lets through when its request budget is spent and from HALT up.
endpoint_request cancel_request(const std::string& client_order_id, bool reduces_risk = false);

// The exchange's answer to a cancel: cancelled, not_open, or failed (exchange_rejected).
order_result read_cancel_answer(const std::string& client_order_id,
                                const endpoint_response& response);

// A call that ended with `err` (rendered as `rendered`): failed, with the error's code.
order_result failed_call(const std::string& client_order_id, const caf::error& err,
                         std::string rendered);

// How far through the last mark a closing order's limit goes: marketable, but not at any price.
constexpr double flatten_slippage = 0.05;

// One marketable limit order per open position of `book`, closing it on the venue that holds
// it; client order ids made unique by `now_us`.
std::vector<order> closing_orders(const risk_book& book, int64_t now_us);

} // namespace brokedancer
