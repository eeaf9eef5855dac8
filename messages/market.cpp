#include "messages/market.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"

namespace brokedancer {

std::string encode_quote(const quote& q) {
  return nlohmann::json{{"symbol", q.symbol}, {"bid", q.bid},    {"ask", q.ask},
                        {"last", q.last},     {"price", q.last}, {"sequence", q.sequence},
                        {"at_us", q.at_us}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_quote(const std::string& json, quote& q, std::string& why) {
  auto body = parse_json_within(json);
  if (!body.is_object()) {
    why = "a quote is a JSON object";
    return false;
  }
  auto number = [&](const char* key) {
    auto found = body.find(key);
    return found != body.end() && found->is_number() ? found->get<double>() : 0.0;
  };
  auto symbol = body.find("symbol");
  if (symbol == body.end() || !symbol->is_string() || symbol->get<std::string>().empty()) {
    why = "a quote needs a symbol";
    return false;
  }
  quote parsed;
  parsed.symbol = symbol->get<std::string>();
  parsed.bid = number("bid");
  parsed.ask = number("ask");
  parsed.last = number("last");
  if (!(parsed.bid > 0) || !(parsed.ask >= parsed.bid) || !(parsed.last > 0)
      || !std::isfinite(parsed.ask) || !std::isfinite(parsed.last)) {
    why = "a quote needs 0 < bid <= ask and last > 0";
    return false;
  }
  auto sequence = body.find("sequence");
  if (sequence != body.end() && sequence->is_number_unsigned())
    parsed.sequence = sequence->get<uint64_t>();
  auto at = body.find("at_us");
  if (at != body.end() && at->is_number_integer())
    parsed.at_us = at->get<int64_t>();
  q = std::move(parsed);
  return true;
}

} // namespace brokedancer
