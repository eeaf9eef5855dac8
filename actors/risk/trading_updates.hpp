#pragma once

// What the risk monitor tells the standard channels (messages/channels.hpp): the data of an
// ORDER_UPDATE for every order's outcome and of a POSITION_UPDATE for every position a fill
// changes. Plain code: the monitor publishes them on the bus, the channel bridge carries them on.

#include <nlohmann/json.hpp>

#include "messages/risk.hpp"

namespace brokedancer {

// {"type":"ORDER_UPDATE","order_id","status","symbol","side","quantity","limit_price",
//  "filled_quantity","fill_price","fee","bot_id","code","reason","venue"}; status is the outcome
// in capitals (FILLED, EXPIRED, REJECTED, FAILED, ACCEPTED); venue is empty for the node's own
// endpoint.
nlohmann::json order_update(const order& o, const order_result& result);

// {"type":"POSITION_UPDATE","symbol","venue","quantity","average_price","mark_price",
//  "unrealized_pnl","realized_pnl"}: the node's book after a fill (realized: the book's, all
// symbols); venue as in ORDER_UPDATE.
nlohmann::json position_update(const position_status& position, double realized_pnl);

} // namespace brokedancer
