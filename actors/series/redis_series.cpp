#include "actors/series/redis_series.hpp"

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/redis/redis_request.hpp"
#include "actors/series/series_codec.hpp"
#include "actors/series/series_requests.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"

namespace brokedancer {

namespace {

struct redis_series_state {
  redis_series_options options;
  series_status stats;
  logger log{"time_series"};
  // Last: destroyed first, answering every open request while the rest of the state exists.
  std::optional<redis_link> link;
};

using self_pointer = answering_broker<redis_series_state>*;

caf::error unexpected(const char* command) {
  return make_error(errc::store_unavailable,
                    std::string{"unexpected reply from Redis to "} + command);
}

// ---- writing: one script for points and bars alike. EVAL, not EVALSHA: a write is rare next
// to the ticks (a bar per symbol and timeframe as it closes), Redis 7 caches what EVAL compiles,
// and there is no NOSCRIPT to answer after a restart or a SCRIPT FLUSH.

struct upsert {
  std::vector<std::string> keys;
  std::vector<std::string> scores_and_members;
};

// The script's answer, how many scores were new, as the request's answer: convert(new_count).
template <class T, class Convert>
caf::result<T> send_upsert(self_pointer self, const upsert& u, Convert convert) {
  auto& st = self->state;
  std::vector<std::string> command{"EVAL", series_codec::upsert_script,
                                   std::to_string(u.keys.size())};
  command.insert(command.end(), u.keys.begin(), u.keys.end());
  command.push_back(std::to_string(st.options.settings.max_points));
  command.push_back(std::to_string(st.options.settings.retention_ms));
  command.insert(command.end(), u.scores_and_members.begin(), u.scores_and_members.end());
  return ask_redis<T>(self, *st.link, st.stats.failures, {std::move(command)},
                      [convert](std::vector<redis_reply>& replies) -> caf::expected<T> {
                        auto& reply = replies.at(0);
                        if (reply.type != redis_reply::kind::integer || reply.integer < 0)
                          return unexpected("the upsert script");
                        return convert(static_cast<uint32_t>(reply.integer));
                      });
}

caf::result<bool> add(self_pointer self, const std::string& metric, int64_t at_ms, double value) {
  if (auto err = check_add(metric, at_ms, value))
    return err;
  auto& st = self->state;
  ++st.stats.points_added;
  upsert u;
  u.keys.push_back(series_codec::metric_key(st.options.key_prefix, metric));
  u.scores_and_members = {std::to_string(at_ms), series_codec::point_member(at_ms, value)};
  return send_upsert<bool>(self, u, [](uint32_t added) { return added == 1; });
}

caf::result<uint32_t> put_bars(self_pointer self, const std::vector<ohlcv_bar>& bars) {
  if (auto err = check_bars(bars))
    return err;
  auto& st = self->state;
  st.stats.bars_written += bars.size();
  upsert u;
  for (const auto& bar : bars) {
    u.keys.push_back(series_codec::bars_key(st.options.key_prefix, bar.symbol, bar.frame));
    u.scores_and_members.push_back(std::to_string(bar.open_time_ms));
    u.scores_and_members.push_back(series_codec::bar_member(bar));
  }
  return send_upsert<uint32_t>(self, u, [](uint32_t added) { return added; });
}

// ---- reading

std::string score(int64_t ms) {
  return std::to_string(ms);
}

// Members of a ZRANGE reply as points; those that are not are skipped and counted.
caf::expected<std::vector<series_point>> points_of(redis_series_state& st, const redis_reply& reply,
                                                   const char* command) {
  std::vector<std::string> members;
  if (!series_codec::members_of(reply, members))
    return unexpected(command);
  std::vector<series_point> points;
  points.reserve(members.size());
  for (const auto& member : members)
    if (auto point = series_codec::read_point(member))
      points.push_back(*point);
    else
      ++st.stats.rejected;
  return points;
}

caf::expected<std::vector<ohlcv_bar>> bars_of(redis_series_state& st, const redis_reply& reply,
                                              const std::string& symbol, timeframe frame) {
  std::vector<std::string> members;
  if (!series_codec::members_of(reply, members))
    return unexpected("ZRANGE");
  std::vector<ohlcv_bar> bars;
  bars.reserve(members.size());
  for (const auto& member : members)
    if (auto bar = series_codec::read_bar(member, symbol, frame))
      bars.push_back(std::move(*bar));
    else
      ++st.stats.rejected;
  return bars;
}

caf::result<std::vector<series_point>> read_points(self_pointer self,
                                                   std::vector<std::string> command) {
  auto& st = self->state;
  ++st.stats.reads;
  return ask_redis<std::vector<series_point>>(self, *st.link, st.stats.failures,
                                              {std::move(command)},
                                              [state = &st](std::vector<redis_reply>& replies) {
                                                return points_of(*state, replies.at(0), "ZRANGE");
                                              });
}

caf::result<std::vector<series_point>> range(self_pointer self, const std::string& metric,
                                             int64_t from_ms, int64_t to_ms, uint32_t count) {
  if (auto err = check_range(metric, from_ms, to_ms, count))
    return err;
  return read_points(self, {"ZRANGEBYSCORE",
                            series_codec::metric_key(self->state.options.key_prefix, metric),
                            score(from_ms), score(to_ms), "LIMIT", "0", std::to_string(count)});
}

caf::result<std::vector<series_point>> last(self_pointer self, const std::string& metric,
                                            uint32_t n) {
  if (auto err = check_last(metric, n))
    return err;
  return read_points(self,
                     {"ZRANGE", series_codec::metric_key(self->state.options.key_prefix, metric),
                      "-" + std::to_string(n), "-1"});
}

caf::result<series_stats> stats(self_pointer self, const std::string& metric, int64_t from_ms,
                                int64_t to_ms) {
  if (auto err = check_stats(metric, from_ms, to_ms))
    return err;
  auto& st = self->state;
  ++st.stats.reads;
  // The newest max_stats_points of the range, summed up here: one pass, no script holding Redis.
  return ask_redis<series_stats>(
      self, *st.link, st.stats.failures,
      {{"ZREVRANGEBYSCORE", series_codec::metric_key(st.options.key_prefix, metric), score(to_ms),
        score(from_ms), "LIMIT", "0", std::to_string(max_stats_points)}},
      [state = &st](std::vector<redis_reply>& replies) -> caf::expected<series_stats> {
        auto points = points_of(*state, replies.at(0), "ZREVRANGEBYSCORE");
        if (!points)
          return points.error();
        return stats_of(*points);
      });
}

caf::result<std::vector<ohlcv_bar>> read_bars(self_pointer self, std::vector<std::string> command,
                                              const std::string& symbol, timeframe frame) {
  auto& st = self->state;
  ++st.stats.reads;
  return ask_redis<std::vector<ohlcv_bar>>(
      self, *st.link, st.stats.failures, {std::move(command)},
      [state = &st, symbol, frame](std::vector<redis_reply>& replies) {
        return bars_of(*state, replies.at(0), symbol, frame);
      });
}

caf::result<std::vector<ohlcv_bar>> last_bars(self_pointer self, const std::string& symbol,
                                              timeframe frame, uint32_t n) {
  if (auto err = check_bars_last(symbol, frame, n))
    return err;
  return read_bars(self,
                   {"ZRANGE", series_codec::bars_key(self->state.options.key_prefix, symbol, frame),
                    "-" + std::to_string(n), "-1"},
                   symbol, frame);
}

caf::result<std::vector<ohlcv_bar>> bars_range(self_pointer self, const std::string& symbol,
                                               timeframe frame, int64_t from_ms, int64_t to_ms,
                                               uint32_t count) {
  if (auto err = check_bars_range(symbol, frame, from_ms, to_ms, count))
    return err;
  return read_bars(self,
                   {"ZRANGEBYSCORE",
                    series_codec::bars_key(self->state.options.key_prefix, symbol, frame),
                    score(from_ms), score(to_ms), "LIMIT", "0", std::to_string(count)},
                   symbol, frame);
}

// ---- the actor

series_status status(self_pointer self) {
  auto stats = self->state.stats;
  stats.available = self->state.link->accepting();
  return stats;
}

void connection_changed(self_pointer self, bool up, const std::string& error) {
  auto& st = self->state;
  if (up) {
    st.stats.last_error.clear();
    st.log.info("connected to Redis", {{"host", st.options.connection.endpoint.host},
                                       {"port", st.options.connection.endpoint.port}});
  } else {
    st.stats.last_error = error;
    st.log.warn("Redis is unreachable; time-series requests fail with store_unavailable until "
                "it is back",
                {{"error", error}});
  }
}

caf::behavior redis_series(self_pointer self, redis_series_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.options = std::move(options);
  st.stats.backend = "redis";
  st.stats.last_error = "not connected yet";
  // A read of max_stats_points points, each well under 64 bytes.
  st.options.connection.max_reply_bytes =
      reply_cap(st.options.connection, size_t{max_stats_points} * 64);
  redis_link::events events;
  events.changed = [self](bool up, const std::string& error) {
    connection_changed(self, up, error);
  };
  st.link.emplace(self, uint8_t{0}, st.options.connection, redis_link::mode::replies,
                  std::move(events));
  st.link->refuse_while_redialing();
  st.link->start();
  return {
      [self](series_add_atom, const std::string& metric, int64_t at_ms, double value) {
        return add(self, metric, at_ms, value);
      },
      [self](series_range_atom, const std::string& metric, int64_t from_ms, int64_t to_ms,
             uint32_t count) { return range(self, metric, from_ms, to_ms, count); },
      [self](series_last_atom, const std::string& metric, uint32_t n) {
        return last(self, metric, n);
      },
      [self](series_stats_atom, const std::string& metric, int64_t from_ms, int64_t to_ms) {
        return stats(self, metric, from_ms, to_ms);
      },
      [self](bar_put_atom, const std::vector<ohlcv_bar>& bars) { return put_bars(self, bars); },
      [self](bars_last_atom, const std::string& symbol, timeframe frame, uint32_t n) {
        return last_bars(self, symbol, frame, n);
      },
      [self](bars_range_atom, const std::string& symbol, timeframe frame, int64_t from_ms,
             int64_t to_ms,
             uint32_t count) { return bars_range(self, symbol, frame, from_ms, to_ms, count); },
      [self](status_atom) { return status(self); },
      [self](caf::io::new_data_msg& msg) { self->state.link->handle(msg); },
      [self](caf::io::connection_closed_msg& msg) { self->state.link->handle(msg); },
      [self](redis_tick_atom, uint8_t tag) { self->state.link->handle_tick(tag); },
  };
}

} // namespace

time_series_actor spawn_redis_series(caf::actor_system& sys, redis_series_options options) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis time-series store needs CAF's middleman: load "
                           "caf::io::middleman in the actor system's config");
  return caf::actor_cast<time_series_actor>(
      sys.middleman().spawn_broker(redis_series, std::move(options)));
}

} // namespace brokedancer
