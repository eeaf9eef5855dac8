#include "actors/series/series_codec.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"

namespace brokedancer::series_codec {

std::string metric_key(const std::string& prefix, const std::string& metric) {
  return prefix + "ts:" + metric;
}

std::string bars_key(const std::string& prefix, const std::string& symbol, timeframe frame) {
  return prefix + "bars:" + symbol + ":" + to_string(frame);
}

std::string point_member(int64_t at_ms, double value) {
  char buffer[32];
  auto written = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::to_string(at_ms) + ":" + std::string{buffer, written.ptr};
}

std::optional<series_point> read_point(const std::string& member) {
  auto colon = member.find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  series_point point;
  const char* begin = member.data();
  const char* end = begin + member.size();
  auto at = std::from_chars(begin, begin + colon, point.at_ms);
  auto value = std::from_chars(begin + colon + 1, end, point.value);
  if (at.ec != std::errc{} || at.ptr != begin + colon || value.ec != std::errc{} || value.ptr != end
      || !check_point(point.at_ms, point.value).empty())
    return std::nullopt;
  return point;
}

nlohmann::json bar_json(const ohlcv_bar& bar) {
  return {{"symbol", bar.symbol},
          {"timeframe", to_string(bar.frame)},
          {"open_time_ms", bar.open_time_ms},
          {"open", bar.open},
          {"high", bar.high},
          {"low", bar.low},
          {"close", bar.close},
          {"volume", bar.volume},
          {"ticks", bar.ticks}};
}

std::string bar_member(const ohlcv_bar& bar) {
  return bar_json(bar).dump();
}

std::optional<ohlcv_bar> read_bar(const std::string& member, const std::string& symbol,
                                  timeframe frame) {
  auto json = parse_json_within(member);
  if (!json.is_object())
    return std::nullopt;
  try {
    ohlcv_bar bar;
    bar.symbol = json.at("symbol").get<std::string>();
    if (!from_string(json.at("timeframe").get<std::string>(), bar.frame))
      return std::nullopt;
    bar.open_time_ms = json.at("open_time_ms").get<int64_t>();
    bar.open = json.at("open").get<double>();
    bar.high = json.at("high").get<double>();
    bar.low = json.at("low").get<double>();
    bar.close = json.at("close").get<double>();
    bar.volume = json.at("volume").get<double>();
    bar.ticks = json.at("ticks").get<uint64_t>();
    if (bar.symbol != symbol || bar.frame != frame || !check_bar(bar).empty())
      return std::nullopt;
    return bar;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt; // a missing field or one of another type
  }
}

// Numbers go out with %d: Lua 5.1 prints a number with %.14g, which would round a large score.
const std::string upsert_script = R"lua(
local max_points, retention = tonumber(ARGV[1]), tonumber(ARGV[2])
local added = 0
for i, key in ipairs(KEYS) do
  local score, member = ARGV[2 * i + 1], ARGV[2 * i + 2]
  if redis.call('ZREMRANGEBYSCORE', key, score, score) == 0 then added = added + 1 end
  redis.call('ZADD', key, score, member)
  if max_points > 0 then redis.call('ZREMRANGEBYRANK', key, 0, -max_points - 1) end
  if retention > 0 then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    redis.call('ZREMRANGEBYSCORE', key, '-inf',
               string.format('(%d', tonumber(newest[2]) - retention))
  end
end
return added
)lua";

bool members_of(const redis_reply& reply, std::vector<std::string>& members) {
  if (reply.type != redis_reply::kind::array)
    return false;
  members.reserve(reply.elements.size());
  for (const auto& element : reply.elements) {
    if (element.type != redis_reply::kind::string)
      return false;
    members.push_back(element.text);
  }
  return true;
}

} // namespace brokedancer::series_codec
