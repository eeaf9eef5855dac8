#include "actors/risk/trading_updates.hpp"

#include "actors/risk/risk_book.hpp"

#include <algorithm>
#include <cctype>

namespace brokedancer {

namespace {

std::string capitals(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

} // namespace

nlohmann::json order_update(const order& o, const order_result& result) {
  return {{"type", "ORDER_UPDATE"},
          {"order_id", result.client_order_id.empty() ? o.client_order_id : result.client_order_id},
          {"status", capitals(to_string(result.outcome))},
          {"symbol", o.symbol},
          {"side", capitals(to_string(o.side))},
          {"quantity", o.quantity},
          {"limit_price", o.price},
          {"filled_quantity", result.filled_quantity},
          {"fill_price", result.fill_price},
          {"fee", result.fee},
          {"bot_id", o.bot_id},
          {"code", to_string(result.code)},
          {"reason", result.reason},
          {"venue", o.venue}};
}

nlohmann::json position_update(const position_status& position, double realized_pnl) {
  // The book's "<symbol>@<venue>" as the channel's symbol and venue.
  return {{"type", "POSITION_UPDATE"},
          {"symbol", market_symbol(position.symbol)},
          {"venue", venue_of(position.symbol)},
          {"quantity", position.quantity},
          {"average_price", position.average_price},
          {"mark_price", position.mark_price},
          {"unrealized_pnl", position.unrealized_pnl},
          {"realized_pnl", realized_pnl}};
}

} // namespace brokedancer
