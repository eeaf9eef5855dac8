#pragma once

// The one list of every message type that crosses an actor boundary, with its wire name.
// Type names are the identity on the wire: every node must register the same name for the
// same type, and a type missing here still works locally but arrives empty on a peer.
// Add a type here and the serialization test will not link until it has a sample value.
// CAF registers std::vector<T> along with every T, as "std::vector<name>".

#include <vector>

#include "messages/bars.hpp"
#include "messages/bot.hpp"
#include "messages/channels.hpp"
#include "messages/cluster.hpp"
#include "messages/control.hpp"
#include "messages/emergency.hpp"
#include "messages/event_bus.hpp"
#include "messages/halt_scope.hpp"
#include "messages/market.hpp"
#include "messages/market_stream.hpp"
#include "messages/observability.hpp"
#include "messages/rate_limiter.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"
#include "messages/supervision.hpp"
#include "messages/time_series.hpp"

namespace brokedancer {

template <class T>
struct type_tag {
  using type = T;
};

template <class F>
void for_each_message_type(F&& f) {
  f(type_tag<child_status>{}, "brokedancer.child_status");
  f(type_tag<supervisor_status>{}, "brokedancer.supervisor_status");
  f(type_tag<escalation>{}, "brokedancer.escalation");
  f(type_tag<maybe_value>{}, "brokedancer.maybe_value");
  f(type_tag<key_value>{}, "brokedancer.key_value");
  f(type_tag<store_status>{}, "brokedancer.store_status");
  f(type_tag<lease_grant>{}, "brokedancer.lease_grant");
  f(type_tag<log_entry>{}, "brokedancer.log_entry");
  f(type_tag<event>{}, "brokedancer.event");
  f(type_tag<event_draft>{}, "brokedancer.event_draft");
  f(type_tag<subscription_stats>{}, "brokedancer.subscription_stats");
  f(type_tag<bus_stats>{}, "brokedancer.bus_stats");
  f(type_tag<endpoint_request>{}, "brokedancer.endpoint_request");
  f(type_tag<endpoint_response>{}, "brokedancer.endpoint_response");
  f(type_tag<breaker_stats>{}, "brokedancer.breaker_stats");
  // Sent on its own (operator control), not only inside a struct.
  f(type_tag<emergency_level>{}, "brokedancer.emergency_level");
  f(type_tag<level_change>{}, "brokedancer.level_change");
  f(type_tag<limit_status>{}, "brokedancer.limit_status");
  f(type_tag<emergency_status>{}, "brokedancer.emergency_status");
  f(type_tag<scope_kind>{}, "brokedancer.scope_kind");
  f(type_tag<halt_scope>{}, "brokedancer.halt_scope");
  f(type_tag<scope_table>{}, "brokedancer.scope_table");
  f(type_tag<scope_subject>{}, "brokedancer.scope_subject");
  f(type_tag<symbol_scope>{}, "brokedancer.symbol_scope");
  f(type_tag<bot_scope_view>{}, "brokedancer.bot_scope_view");
  f(type_tag<scope_reply>{}, "brokedancer.scope_reply");
  f(type_tag<scope_status>{}, "brokedancer.scope_status");
  f(type_tag<order>{}, "brokedancer.order");
  f(type_tag<order_result>{}, "brokedancer.order_result");
  f(type_tag<position_status>{}, "brokedancer.position_status");
  f(type_tag<risk_status>{}, "brokedancer.risk_status");
  f(type_tag<position_close>{}, "brokedancer.position_close");
  f(type_tag<flatten_report>{}, "brokedancer.flatten_report");
  f(type_tag<order_cancel>{}, "brokedancer.order_cancel");
  f(type_tag<cancel_report>{}, "brokedancer.cancel_report");
  f(type_tag<quote>{}, "brokedancer.quote");
  f(type_tag<market_status>{}, "brokedancer.market_status");
  f(type_tag<bot_config>{}, "brokedancer.bot_config");
  f(type_tag<bot_stats>{}, "brokedancer.bot_stats");
  f(type_tag<bots_summary>{}, "brokedancer.bots_summary");
  f(type_tag<bot_owner>{}, "brokedancer.bot_owner");
  f(type_tag<node_status>{}, "brokedancer.node_status");
  f(type_tag<control_reply>{}, "brokedancer.control_reply");
  f(type_tag<operator_identity>{}, "brokedancer.operator_identity");
  f(type_tag<audit_entry>{}, "brokedancer.audit_entry");
  f(type_tag<node_info>{}, "brokedancer.node_info");
  f(type_tag<peer_proof>{}, "brokedancer.peer_proof");
  f(type_tag<gossip_seal>{}, "brokedancer.gossip_seal");
  f(type_tag<member_status>{}, "brokedancer.member_status");
  f(type_tag<cluster_status>{}, "brokedancer.cluster_status");
  f(type_tag<rate_limit>{}, "brokedancer.rate_limit");
  f(type_tag<rate_decision>{}, "brokedancer.rate_decision");
  f(type_tag<limiter_status>{}, "brokedancer.limiter_status");
  f(type_tag<market_tick>{}, "brokedancer.market_tick");
  f(type_tag<stream_entry>{}, "brokedancer.stream_entry");
  f(type_tag<pending_entry>{}, "brokedancer.pending_entry");
  f(type_tag<claim_result>{}, "brokedancer.claim_result");
  f(type_tag<stream_status>{}, "brokedancer.stream_status");
  // Sent on its own inside a message (timeframe is a field): registered for the bar service.
  f(type_tag<timeframe>{}, "brokedancer.timeframe");
  f(type_tag<ohlcv_bar>{}, "brokedancer.ohlcv_bar");
  f(type_tag<series_point>{}, "brokedancer.series_point");
  f(type_tag<series_stats>{}, "brokedancer.series_stats");
  f(type_tag<series_status>{}, "brokedancer.series_status");
  f(type_tag<bar_service_status>{}, "brokedancer.bar_service_status");
  f(type_tag<service_health>{}, "brokedancer.service_health");
  f(type_tag<watch_status>{}, "brokedancer.watch_status");
  f(type_tag<channel_status>{}, "brokedancer.channel_status");
  f(type_tag<pnl_point>{}, "brokedancer.pnl_point");
  f(type_tag<duration_counts>{}, "brokedancer.duration_counts");
  f(type_tag<relay_snapshot>{}, "brokedancer.relay_snapshot");
}

} // namespace brokedancer
