#pragma once

// Time series as Redis keeps them (sorted sets): the keys, the members, and the one script that
// writes. Every member read back is checked like a request's point or bar: the keys are shared
// and anyone with access to the Redis can write them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/redis/redis_protocol.hpp"
#include "messages/time_series.hpp"

namespace brokedancer::series_codec {

std::string metric_key(const std::string& prefix, const std::string& metric);
std::string bars_key(const std::string& prefix, const std::string& symbol, timeframe frame);

// "<at_ms>:<value>", the value as the shortest decimal text that reads back the same.
std::string point_member(int64_t at_ms, double value);
std::optional<series_point> read_point(const std::string& member);

// The bar as JSON: {"symbol","timeframe","open_time_ms","open","high","low","close","volume",
// "ticks"} -- the member, and what the run's summary shows.
nlohmann::json bar_json(const ohlcv_bar& bar);
std::string bar_member(const ohlcv_bar& bar);
// The bar, when the member is one of that symbol and timeframe that check_bar takes.
std::optional<ohlcv_bar> read_bar(const std::string& member, const std::string& symbol,
                                  timeframe frame);

// Upserts members by score and trims each key. KEYS: the series (a key may repeat); ARGV:
// max_points, retention_ms, then a score and a member per key. Replies how many scores were new.
extern const std::string upsert_script;

// The members of a ZRANGE-like reply; false when it is not an array of strings.
bool members_of(const redis_reply& reply, std::vector<std::string>& members);

} // namespace brokedancer::series_codec
