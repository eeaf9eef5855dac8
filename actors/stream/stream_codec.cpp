#include "actors/stream/stream_codec.hpp"

#include <charconv>
#include <cstring>

namespace brokedancer::stream_codec {

namespace {

std::string number(double x) {
  char buffer[32];
  auto written = std::to_chars(buffer, buffer + sizeof buffer, x);
  return {buffer, written.ptr};
}

template <class T>
bool read_number(const std::string& text, T& out) {
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), out);
  return parsed.ec == std::errc{} && parsed.ptr == text.data() + text.size() && !text.empty();
}

bool read_field(market_tick& tick, const std::string& name, const std::string& value) {
  if (name == "symbol") {
    tick.symbol = value;
    return true;
  }
  if (name == "price")
    return read_number(value, tick.price);
  if (name == "bid")
    return read_number(value, tick.bid);
  if (name == "ask")
    return read_number(value, tick.ask);
  if (name == "volume")
    return read_number(value, tick.volume);
  if (name == "at_us")
    return read_number(value, tick.at_us);
  // Fields of others (a dead letter's origin_id and deliveries) are not the tick's.
  return true;
}

} // namespace

std::string key_of(const std::string& prefix, const std::string& stream) {
  return prefix + "stream:" + stream;
}

std::vector<std::string> xadd(const std::string& key, const market_tick& tick,
                              const stream_settings& settings) {
  std::vector<std::string> command{"XADD", key};
  if (settings.max_length > 0) {
    command.insert(command.end(), {"MAXLEN", "~", std::to_string(settings.max_length)});
  }
  command.insert(command.end(), {"*", "symbol", tick.symbol, "price", number(tick.price), "bid",
                                 number(tick.bid), "ask", number(tick.ask), "volume",
                                 number(tick.volume), "at_us", std::to_string(tick.at_us)});
  return command;
}

std::optional<std::vector<std::string>>
trim_by_age(const std::string& key, const stream_settings& settings, int64_t now_ms) {
  if (settings.max_age_ms <= 0 || now_ms <= settings.max_age_ms)
    return std::nullopt;
  return std::vector<std::string>{"XTRIM", key, "MINID", "~",
                                  std::to_string(now_ms - settings.max_age_ms)};
}

bool decode_entry(const redis_reply& reply, stream_entry& entry) {
  using kind = redis_reply::kind;
  if (reply.type != kind::array || reply.elements.size() != 2
      || reply.elements[0].type != kind::string || reply.elements[1].type != kind::array)
    return false;
  uint64_t ms = 0;
  uint64_t seq = 0;
  const auto& fields = reply.elements[1].elements;
  if (!parse_stream_id(reply.elements[0].text, ms, seq) || fields.size() % 2 != 0)
    return false;
  entry = {};
  entry.id = reply.elements[0].text;
  for (size_t i = 0; i < fields.size(); i += 2) {
    if (fields[i].type != kind::string || fields[i + 1].type != kind::string
        || !read_field(entry.tick, fields[i].text, fields[i + 1].text))
      return false;
  }
  return check_tick(entry.tick).empty();
}

namespace {

// The id of an entry [id, fields] whatever its fields hold; empty when it has none.
std::string id_of_entry(const redis_reply& entry) {
  uint64_t ms = 0;
  uint64_t seq = 0;
  if (entry.type == redis_reply::kind::array && !entry.elements.empty()
      && entry.elements[0].type == redis_reply::kind::string
      && parse_stream_id(entry.elements[0].text, ms, seq))
    return entry.elements[0].text;
  return {};
}

} // namespace

bool decode_entries(const redis_reply& reply, decoded_entries& out) {
  if (reply.type == redis_reply::kind::nil)
    return true;
  if (reply.type != redis_reply::kind::array)
    return false;
  out.entries.reserve(out.entries.size() + reply.elements.size());
  for (const auto& element : reply.elements) {
    // XCLAIM answers nil for an entry that was deleted meanwhile: nobody's tick.
    if (element.type == redis_reply::kind::nil)
      continue;
    auto id = id_of_entry(element);
    if (!id.empty())
      out.last_id = id;
    stream_entry entry;
    if (decode_entry(element, entry)) {
      out.entries.push_back(std::move(entry));
    } else {
      ++out.rejected;
      if (!id.empty())
        out.rejected_ids.push_back(std::move(id));
    }
  }
  return true;
}

// XCLAIM takes ids as arguments and Lua's unpack() is bounded by the C stack (LUAI_MAXCSTACK,
// 8000): ids go in chunks of 200.
const std::string claim_script = R"lua(
local stream, dead = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local min_idle, count = tonumber(ARGV[3]), tonumber(ARGV[4])
local dead_after, dead_maxlen = tonumber(ARGV[5]), tonumber(ARGV[6])
local tick_fields = {symbol = true, price = true, bid = true, ask = true, volume = true,
                     at_us = true}
local pending = redis.call('XPENDING', stream, group, 'IDLE', min_idle, '-', '+', count)
local to_claim, dead_lettered = {}, 0
for _, p in ipairs(pending) do
  local id, deliveries = p[1], p[4]
  if dead_after > 0 and deliveries >= dead_after then
    local found = redis.call('XRANGE', stream, id, id)
    if #found > 0 then
      -- Only a tick's own fields go on: an entry another client wrote may hold thousands, more
      -- than unpack() takes.
      local fields, kept = found[1][2], {}
      for i = 1, #fields - 1, 2 do
        if tick_fields[fields[i]] and #kept < 12 then
          kept[#kept + 1] = fields[i]; kept[#kept + 1] = fields[i + 1]
        end
      end
      kept[#kept + 1] = 'origin_id'; kept[#kept + 1] = id
      kept[#kept + 1] = 'deliveries'; kept[#kept + 1] = tostring(deliveries)
      if dead_maxlen > 0 then
        redis.call('XADD', dead, 'MAXLEN', '~', dead_maxlen, '*', unpack(kept))
      else
        redis.call('XADD', dead, '*', unpack(kept))
      end
      dead_lettered = dead_lettered + 1
    end
    redis.call('XACK', stream, group, id)
  else
    table.insert(to_claim, id)
  end
end
local claimed = {}
for first = 1, #to_claim, 200 do
  local chunk = {}
  for i = first, math.min(first + 199, #to_claim) do chunk[#chunk + 1] = to_claim[i] end
  local got = redis.call('XCLAIM', stream, group, consumer, min_idle, unpack(chunk))
  for _, entry in ipairs(got) do claimed[#claimed + 1] = entry end
end
return {dead_lettered, claimed}
)lua";

} // namespace brokedancer::stream_codec
