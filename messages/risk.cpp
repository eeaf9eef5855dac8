#include "messages/risk.hpp"

#include <cmath>

#include "messages/errors.hpp"

namespace brokedancer {

std::string to_string(order_side side) {
  return side == order_side::buy ? "buy" : "sell";
}

std::string to_string(order_outcome outcome) {
  switch (outcome) {
    case order_outcome::filled: return "filled";
    case order_outcome::expired: return "expired";
    case order_outcome::rejected: return "rejected";
    case order_outcome::failed: return "failed";
    case order_outcome::cancelled: return "cancelled";
    case order_outcome::not_open: return "not_open";
    case order_outcome::accepted: return "accepted";
  }
  return "outcome(" + std::to_string(static_cast<int>(outcome)) + ")";
}

bool from_string(const std::string& text, order_outcome& outcome) {
  for (auto candidate = order_outcome::filled; is_valid(candidate);
       candidate = static_cast<order_outcome>(static_cast<int>(candidate) + 1))
    if (text == to_string(candidate)) {
      outcome = candidate;
      return true;
    }
  return false;
}

const char* name_of(reject_code code) {
  switch (code) {
    case reject_code::none: return "none";
    case reject_code::halted: return "halted";
    case reject_code::level_unknown: return "level_unknown";
    case reject_code::risk_state_loading: return "risk_state_loading";
    case reject_code::invalid_order: return "invalid_order";
    case reject_code::max_order_notional: return "max_order_notional";
    case reject_code::max_position_size: return "max_position_size";
    case reject_code::max_total_position: return "max_total_position";
    case reject_code::max_trades_per_hour: return "max_trades_per_hour";
    case reject_code::max_daily_loss: return "max_daily_loss";
    case reject_code::max_drawdown_percent: return "max_drawdown_percent";
    case reject_code::exchange_rejected: return "exchange_rejected";
    case reject_code::not_marketable: return "not_marketable";
    case reject_code::breaker_open: return "breaker_open";
    case reject_code::endpoint_timeout: return "endpoint_timeout";
    case reject_code::endpoint_unreachable: return "endpoint_unreachable";
    case reject_code::unknown_endpoint: return "unknown_endpoint";
    case reject_code::endpoint_overloaded: return "endpoint_overloaded";
    case reject_code::trading_halted: return "trading_halted";
    case reject_code::subsystem_unavailable: return "subsystem_unavailable";
    case reject_code::shutting_down: return "shutting_down";
    case reject_code::call_failed: return "call_failed";
    case reject_code::journal_unavailable: return "journal_unavailable";
    case reject_code::reconciling: return "reconciling";
    case reject_code::not_owner: return "not_owner";
    case reject_code::rate_limited: return "rate_limited";
    case reject_code::reduce_only: return "reduce_only";
    case reject_code::throttled: return "throttled";
  }
  return "reject_code(?)";
}

std::string to_string(reject_code code) {
  if (!is_valid(code))
    return "reject_code(" + std::to_string(static_cast<int>(code)) + ")";
  return name_of(code);
}

bool from_string(const std::string& text, reject_code& code) {
  for (auto candidate = reject_code::none; is_valid(candidate);
       candidate = static_cast<reject_code>(static_cast<int>(candidate) + 1))
    if (text == name_of(candidate)) {
      code = candidate;
      return true;
    }
  return false;
}

reject_code reject_code_of(const caf::error& err) {
  if (err.category() != error_category)
    return reject_code::call_failed;
  switch (static_cast<errc>(err.code())) {
    case errc::breaker_open: return reject_code::breaker_open;
    case errc::endpoint_timeout: return reject_code::endpoint_timeout;
    case errc::endpoint_unreachable: return reject_code::endpoint_unreachable;
    case errc::unknown_endpoint: return reject_code::unknown_endpoint;
    case errc::endpoint_overloaded: return reject_code::endpoint_overloaded;
    case errc::trading_halted: return reject_code::trading_halted;
    case errc::subsystem_unavailable: return reject_code::subsystem_unavailable;
    case errc::shutting_down: return reject_code::shutting_down;
    case errc::lease_lost: return reject_code::not_owner;
    case errc::rate_limited: return reject_code::rate_limited;
    default: return reject_code::call_failed;
  }
}

bool is_valid(const order_result& result) {
  return is_valid(result.outcome) && is_valid(result.code);
}

bool sane_fill(double ordered_quantity, double filled_quantity, double fill_price, double fee) {
  return std::isfinite(ordered_quantity) && std::isfinite(filled_quantity)
         && std::isfinite(fill_price) && std::isfinite(fee) && filled_quantity > 0
         && filled_quantity <= ordered_quantity * (1 + 1e-9) && fill_price > 0
         && std::isfinite(filled_quantity * fill_price)
         && std::abs(fee) <= filled_quantity * fill_price;
}

} // namespace brokedancer
