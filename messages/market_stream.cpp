#include "messages/market_stream.hpp"

#include <charconv>
#include <cmath>

#include "core/plain_name.hpp"

namespace brokedancer {

namespace {

bool positive_finite(double x) {
  return std::isfinite(x) && x > 0;
}

} // namespace

std::string check_stream_name(const std::string& name) {
  return check_plain_name("a stream's name", name, max_stream_name_bytes);
}

std::string check_group_name(const std::string& name) {
  return check_plain_name("a consumer group's or consumer's name", name, max_stream_name_bytes);
}

std::string check_tick(const market_tick& tick) {
  if (auto problem = check_plain_name("a tick's symbol", tick.symbol, max_tick_symbol_bytes);
      !problem.empty())
    return problem;
  if (!positive_finite(tick.price))
    return "tick " + tick.symbol + ": the price must be a positive finite number";
  bool has_bid = tick.bid != 0;
  bool has_ask = tick.ask != 0;
  if ((has_bid && !positive_finite(tick.bid)) || (has_ask && !positive_finite(tick.ask)))
    return "tick " + tick.symbol + ": bid and ask must be positive finite numbers, or 0 for none";
  if (has_bid && has_ask && tick.bid > tick.ask)
    return "tick " + tick.symbol + ": the bid is above the ask";
  if (!std::isfinite(tick.volume) || tick.volume < 0)
    return "tick " + tick.symbol + ": the volume must be a finite number >= 0";
  if (tick.at_us > max_tick_time_us)
    return "tick " + tick.symbol + ": the time is after the year 9999";
  if (tick.at_us < 0)
    return "tick " + tick.symbol + ": the time must not be before 1970";
  return {};
}

std::string check_tick_batch(const std::vector<market_tick>& ticks) {
  if (ticks.empty())
    return "a batch must hold at least one tick";
  if (ticks.size() > max_stream_batch)
    return "a batch holds " + std::to_string(ticks.size()) + " ticks, more than "
           + std::to_string(max_stream_batch) + ": split it";
  for (size_t i = 0; i < ticks.size(); ++i)
    if (auto problem = check_tick(ticks[i]); !problem.empty())
      return "tick " + std::to_string(i) + " of the batch: " + problem;
  return {};
}

std::string check_read_count(uint32_t count) {
  if (count == 0 || count > max_stream_read)
    return "a read takes 1 .. " + std::to_string(max_stream_read) + " entries, not "
           + std::to_string(count);
  return {};
}

bool parse_stream_id(const std::string& text, uint64_t& ms, uint64_t& seq) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto dash = text.find('-');
  const char* ms_end = dash == std::string::npos ? end : begin + dash;
  auto parsed = std::from_chars(begin, ms_end, ms);
  if (parsed.ec != std::errc{} || parsed.ptr != ms_end || ms_end == begin)
    return false;
  if (dash == std::string::npos) {
    seq = 0;
    return true;
  }
  auto parsed_seq = std::from_chars(ms_end + 1, end, seq);
  return parsed_seq.ec == std::errc{} && parsed_seq.ptr == end && ms_end + 1 < end;
}

std::string format_stream_id(uint64_t ms, uint64_t seq) {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

} // namespace brokedancer
