// A channel message wraps a bus payload in its "data": it may be one level deeper than the bus
// allows, and no more.

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/json_check.hpp"
#include "messages/channels.hpp"

using namespace brokedancer;

namespace {

// A TRADE_SIGNAL whose data nests `depth` containers deep (the data object counts as one).
std::string signal_nested(int depth) {
  auto levels = static_cast<size_t>(depth - 1);
  auto note = nlohmann::json::parse(std::string(levels, '[') + "1" + std::string(levels, ']'));
  channel_message message{channel_type::trade_signal, "elsewhere", 1, nlohmann::json::object()};
  message.data = {{"symbol", "BTC-USD"}, {"signal", "BUY"}, {"confidence", 0.5}, {"note", note}};
  return encode_channel_message(message);
}

} // namespace

TEST_CASE("a channel message carries data as deep as the bus allows, and is refused past it") {
  channel_message decoded;
  std::string why;
  CHECK(decode_channel_message(signal_nested(max_json_depth), decoded, why));
  CHECK(decoded.data["symbol"] == "BTC-USD");
  CHECK_FALSE(decode_channel_message(signal_nested(max_json_depth + 1), decoded, why));
  CHECK_THAT(why, Catch::Matchers::Contains("nested at most"));
}
