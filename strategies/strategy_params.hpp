#pragma once

// Reading a bot's parameters (a JSON object from its config) in the built-in strategies: each
// refuses what it cannot run with by throwing std::invalid_argument with what is expected, which
// the bot supervisor reports as the bot's start failure.

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace brokedancer::strategies {

// A number above 0 under `key`, or `fallback` when there is none.
inline double positive(const nlohmann::json& params, const char* key, double fallback) {
  auto found = params.find(key);
  if (found == params.end())
    return fallback;
  if (!found->is_number() || !(found->get<double>() > 0))
    throw std::invalid_argument(std::string{key} + " must be a number above 0");
  return found->get<double>();
}

// The market the bot trades: "symbol", required.
inline std::string required_symbol(const nlohmann::json& params) {
  auto symbol = params.find("symbol");
  if (symbol == params.end() || !symbol->is_string() || symbol->get<std::string>().empty())
    throw std::invalid_argument("symbol must name the market to trade, e.g. \"BTC-USD\"");
  return symbol->get<std::string>();
}

} // namespace brokedancer::strategies
