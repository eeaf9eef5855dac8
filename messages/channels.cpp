#include "messages/channels.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/json_text.hpp"
#include "core/plain_name.hpp"

namespace brokedancer {

namespace {

struct channel_row {
  channel_type type;
  const char* name;
  const char* channel;
};

constexpr channel_row rows[] = {
    {channel_type::trade_signal, "TRADE_SIGNAL", "signals"},
    {channel_type::order_update, "ORDER_UPDATE", "orders"},
    {channel_type::position_update, "POSITION_UPDATE", "positions"},
    {channel_type::price_alert, "PRICE_ALERT", "alerts"},
    {channel_type::risk_alert, "RISK_ALERT", "alerts"},
    {channel_type::system_event, "SYSTEM_EVENT", "system"},
    {channel_type::heartbeat, "HEARTBEAT", "system"},
};

const channel_row* row_of(channel_type type) {
  for (const auto& row : rows)
    if (row.type == type)
      return &row;
  return nullptr;
}

} // namespace

std::string to_string(channel_type type) {
  auto* row = row_of(type);
  return row ? row->name : "channel_type(" + std::to_string(static_cast<int>(type)) + ")";
}

bool from_string(const std::string& text, channel_type& type) {
  for (const auto& row : rows)
    if (text == row.name) {
      type = row.type;
      return true;
    }
  return false;
}

std::string channel_of(channel_type type) {
  auto* row = row_of(type);
  return row ? std::string{"trading:"} + row->channel : std::string{};
}

std::string topic_of(channel_type type) {
  auto* row = row_of(type);
  return row ? std::string{"trading."} + row->channel : std::string{};
}

std::optional<channel_type> type_of(const std::string& topic, const nlohmann::json& data) {
  std::optional<channel_type> only;
  int on_topic = 0;
  for (const auto& row : rows)
    if (topic == std::string{"trading."} + row.channel) {
      only = row.type;
      ++on_topic;
    }
  if (on_topic == 0)
    return std::nullopt;
  if (data.is_object() && data.contains("type") && data["type"].is_string()) {
    channel_type named;
    if (from_string(data["type"].get<std::string>(), named) && topic_of(named) == topic)
      return named;
  }
  return on_topic == 1 ? only : std::nullopt;
}

std::string iso8601_utc(int64_t at_us) {
  auto seconds = static_cast<std::time_t>(at_us / 1000000);
  auto micros = at_us % 1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%06lldZ", static_cast<long long>(micros));
  return text;
}

nlohmann::json checked_trade_signal(std::string_view text) {
  auto data = parse_json_within(text);
  if (data.is_discarded() || !type_check(channel_type::trade_signal, data).empty())
    return nlohmann::json(nlohmann::json::value_t::discarded);
  return data;
}

std::string encode_channel_message(const channel_message& message) {
  return nlohmann::json{
      {"type", to_string(message.type)}, {"channel", channel_of(message.type)},
      {"source", message.source},        {"timestamp", iso8601_utc(message.at_us)},
      {"at_us", message.at_us},          {"data", message.data}}
      .dump();
}

std::string type_check(channel_type type, const nlohmann::json& data) {
  if (!data.is_object())
    return "the data of a " + to_string(type) + " must be a JSON object";
  if (type != channel_type::trade_signal)
    return {};
  auto symbol = data.find("symbol");
  if (symbol == data.end() || !symbol->is_string())
    return "a TRADE_SIGNAL needs a symbol (a string)";
  if (auto problem = check_plain_name("a TRADE_SIGNAL's symbol", symbol->get<std::string>(), 64);
      !problem.empty())
    return problem;
  auto signal = data.find("signal");
  static const char* signals[] = {"BUY", "SELL", "HOLD", "CLOSE"};
  bool known = false;
  if (signal != data.end() && signal->is_string())
    for (const char* s : signals)
      known = known || signal->get<std::string>() == s;
  if (!known)
    return "a TRADE_SIGNAL's signal is one of BUY, SELL, HOLD, CLOSE";
  auto confidence = data.find("confidence");
  if (confidence == data.end() || !confidence->is_number()
      || !std::isfinite(confidence->get<double>()) || confidence->get<double>() < 0
      || confidence->get<double>() > 1)
    return "a TRADE_SIGNAL's confidence is a number from 0 to 1";
  return {};
}

bool decode_channel_message(const std::string& text, channel_message& message, std::string& why) {
  // One level more than the bus allows: a message wraps a bus payload in its "data".
  auto json = parse_json_within(text, max_json_depth + 1);
  if (!json.is_object()) {
    why = "a channel message is a JSON object (nested at most " + std::to_string(max_json_depth + 1)
          + " deep)";
    return false;
  }
  auto type = json.find("type");
  if (type == json.end() || !type->is_string()
      || !from_string(type->get<std::string>(), message.type)) {
    why = "a channel message needs a known type (TRADE_SIGNAL, ORDER_UPDATE, ...)";
    return false;
  }
  auto channel = json.find("channel");
  if (channel != json.end() && (!channel->is_string() || *channel != channel_of(message.type))) {
    why = "a " + to_string(message.type) + " goes on " + channel_of(message.type);
    return false;
  }
  auto source = json.find("source");
  message.source = source != json.end() && source->is_string() ? source->get<std::string>() : "";
  auto at = json.find("at_us");
  message.at_us = at != json.end() && at->is_number_integer() ? at->get<int64_t>() : 0;
  auto data = json.find("data");
  message.data = data != json.end() ? *data : nlohmann::json{};
  why = type_check(message.type, message.data);
  return why.empty();
}

nlohmann::json trade_signal(const std::string& symbol, const std::string& signal,
                            double confidence) {
  return {{"symbol", symbol}, {"signal", signal}, {"confidence", confidence}};
}

} // namespace brokedancer
