#pragma once

// `/metrics`: what a node knows of itself, in the Prometheus text format (core/prometheus_text).
// Plain code over the answers the operator API gathered for one scrape, so that the names,
// labels and units are tested without a node. The list of metrics is in the README
// ("Metrics"); a family whose source did not answer in time is left out of that scrape.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/event_fanout.hpp"
#include "messages/bot.hpp"
#include "messages/control.hpp"
#include "messages/event_bus.hpp"
#include "messages/market_stream.hpp"
#include "messages/observability.hpp"
#include "messages/order_metrics.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct metrics_sources {
  std::optional<node_status> node;
  std::optional<std::vector<bot_stats>> bots;
  std::optional<bus_stats> bus;
  std::optional<store_status> store;
  std::optional<relay_snapshot> relay;
  std::optional<stream_status> market_stream;
  const order_metrics* orders = nullptr;
  fanout_counters streams;
  uint32_t max_bot_labels = 50;
  int64_t now_us = 0;
  uint32_t missing = 0; // sources asked that did not answer in time
};

std::string render_metrics(const metrics_sources& sources);

} // namespace brokedancer
