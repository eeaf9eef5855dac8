#include "messages/errors.hpp"

#include <caf/make_message.hpp>

namespace brokedancer {

std::string to_string(errc code) {
  switch (code) {
    case errc::none: return "none";
    case errc::subsystem_unavailable: return "subsystem_unavailable";
    case errc::restart_intensity_exceeded: return "restart_intensity_exceeded";
    case errc::invalid_argument: return "invalid_argument";
    case errc::shutting_down: return "shutting_down";
    case errc::store_unavailable: return "store_unavailable";
    case errc::invalid_json: return "invalid_json";
    case errc::key_too_large: return "key_too_large";
    case errc::value_too_large: return "value_too_large";
    case errc::not_an_integer: return "not_an_integer";
    case errc::integer_overflow: return "integer_overflow";
    case errc::bus_unavailable: return "bus_unavailable";
    case errc::breaker_open: return "breaker_open";
    case errc::endpoint_timeout: return "endpoint_timeout";
    case errc::endpoint_unreachable: return "endpoint_unreachable";
    case errc::unknown_endpoint: return "unknown_endpoint";
    case errc::endpoint_overloaded: return "endpoint_overloaded";
    case errc::trading_halted: return "trading_halted";
    case errc::lease_lost: return "lease_lost";
    case errc::rate_limited: return "rate_limited";
    case errc::not_found: return "not_found";
    case errc::refused: return "refused";
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

caf::error make_error(errc code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

caf::error make_error(errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

bool is(const caf::error& err, errc code) {
  return err.category() == error_category && err.code() == static_cast<uint8_t>(code);
}

} // namespace brokedancer
