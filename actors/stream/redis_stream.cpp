#include "actors/stream/redis_stream.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/limiter/limiter_scripts.hpp"
#include "actors/redis/answering_broker.hpp"
#include "actors/redis/redis_link.hpp"
#include "actors/redis/redis_request.hpp"
#include "actors/stream/live_readers.hpp"
#include "actors/stream/stream_codec.hpp"
#include "actors/stream/stream_requests.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

struct redis_stream_data {
  live_readers readers;
  stream_status stats;
};

std::shared_ptr<redis_stream_data> make_redis_stream_data() {
  auto data = std::make_shared<redis_stream_data>();
  data->stats.backend = "redis";
  data->stats.last_error = "not connected yet";
  return data;
}

namespace {

using id_type = std::pair<uint64_t, uint64_t>;
using loop_atom = caf::atom_constant<caf::atom("st_loop")>;

constexpr uint8_t command_tag = 0;
constexpr uint8_t reader_tag = 1;
// A blocking read returns after this even with nothing new, so that a stream someone starts to
// read joins the loop within it (entries published meanwhile are not lost: readers start at the
// stream's last id when they subscribe).
constexpr int64_t block_ms = 250;
// After a read Redis refused (a key of another type under a stream's name), the loop waits this
// long before it asks again rather than spin on the same error.
constexpr auto loop_pause = std::chrono::seconds(1);

struct redis_stream_state {
  std::shared_ptr<redis_stream_data> data;
  redis_stream_options options;
  std::string claim_sha;
  std::map<std::string, id_type> loop_cursors; // per stream read live: the last id seen
  bool reading = false;
  bool loop_paused = false;
  logger log{"market_stream"};
  // Last: destroyed first, answering every open request while the rest of the state exists.
  std::optional<redis_link> reader;
  std::optional<redis_link> link;
};

using self_pointer = answering_broker<redis_stream_state>*;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

id_type id_of(const std::string& text) {
  id_type id{0, 0};
  parse_stream_id(text, id.first, id.second);
  return id;
}

std::string key_of(self_pointer self, const std::string& stream) {
  return stream_codec::key_of(self->state.options.key_prefix, stream);
}

caf::error unavailable(const std::string& why) {
  return make_error(errc::store_unavailable, why);
}

// A request whose commands Redis must not refuse.
template <class T, class Read>
caf::result<T> ask(self_pointer self, std::vector<std::vector<std::string>> commands, Read read) {
  auto& st = self->state;
  return ask_redis<T>(self, *st.link, st.data->stats.failures, std::move(commands),
                      std::move(read));
}

caf::expected<stream_codec::decoded_entries> decoded_of(redis_stream_state& st,
                                                        const redis_reply& reply) {
  stream_codec::decoded_entries decoded;
  if (!stream_codec::decode_entries(reply, decoded))
    return unavailable("unexpected reply from Redis");
  st.data->stats.rejected += decoded.rejected;
  return decoded;
}

// Entries another client wrote to the stream that are not ticks went to a consumer of the group
// with the rest, and nobody can acknowledge what they never see: they are acknowledged here, or
// they would stay pending for ever.
void acknowledge_rejected(self_pointer self, const std::string& stream, const std::string& group,
                          const std::vector<std::string>& ids) {
  if (ids.empty())
    return;
  std::vector<std::string> command{"XACK", key_of(self, stream), group};
  command.insert(command.end(), ids.begin(), ids.end());
  self->state.link->send({std::move(command)}, [](redis_result&) {});
}

// ---- publishing

std::vector<std::vector<std::string>> publish_commands(self_pointer self, const std::string& stream,
                                                       const std::vector<market_tick>& ticks) {
  const auto& settings = settings_of(self->state.options.streams, stream);
  auto key = key_of(self, stream);
  std::vector<std::vector<std::string>> commands;
  commands.reserve(ticks.size() + 1);
  for (const auto& tick : ticks)
    commands.push_back(stream_codec::xadd(key, tick, settings));
  if (auto trim = stream_codec::trim_by_age(key, settings, now_ms()))
    commands.push_back(std::move(*trim));
  return commands;
}

caf::expected<std::vector<std::string>> ids_of(redis_stream_state& st,
                                               std::vector<redis_reply>& replies, size_t count) {
  std::vector<std::string> ids;
  ids.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (replies[i].type == redis_reply::kind::error)
      return unavailable("Redis replied: " + reply_excerpt(replies[i].text));
    if (replies[i].type != redis_reply::kind::string)
      return unavailable("unexpected reply from Redis to XADD");
    ids.push_back(std::move(replies[i].text));
  }
  st.data->stats.published += count;
  return ids;
}

caf::result<std::string> publish_one(self_pointer self, const std::string& stream,
                                     const market_tick& tick) {
  if (auto err = check_publish(stream, tick))
    return err;
  auto* st = &self->state;
  return ask<std::string>(self, publish_commands(self, stream, {tick}),
                          [st](std::vector<redis_reply>& replies) -> caf::expected<std::string> {
                            auto ids = ids_of(*st, replies, 1);
                            if (!ids)
                              return ids.error();
                            return std::move(ids->front());
                          });
}

caf::result<std::vector<std::string>> publish_batch(self_pointer self, const std::string& stream,
                                                    const std::vector<market_tick>& ticks) {
  if (auto err = check_publish(stream, ticks))
    return err;
  auto* st = &self->state;
  auto count = ticks.size();
  // In one MULTI/EXEC: a batch Redis refuses part of (out of memory under noeviction) is refused
  // whole, so a publisher that sends it again appends no tick twice.
  auto commands = publish_commands(self, stream, ticks);
  commands.insert(commands.begin(), {"MULTI"});
  commands.push_back({"EXEC"});
  return ask<std::vector<std::string>>(
      self, std::move(commands),
      [st, count](std::vector<redis_reply>& replies) -> caf::expected<std::vector<std::string>> {
        auto& executed = replies.back();
        if (executed.type != redis_reply::kind::array || executed.elements.size() < count)
          return unavailable("unexpected reply from Redis to EXEC");
        return ids_of(*st, executed.elements, count);
      });
}

// ---- live readers

void read_live(self_pointer self);

void catch_up(self_pointer self, live_reader& reader);

// Sends the reader `entries`; its cursor goes to `through` (the last id read, tick or not).
void send_batch(self_pointer self, live_reader& reader, std::vector<stream_entry> entries,
                const std::string& through) {
  reader.cursor = std::max(id_of(entries.back().id), id_of(through));
  reader.in_flight = true;
  self->state.data->stats.delivered += entries.size();
  auto addr = reader.subscriber.address();
  auto generation = reader.generation;
  auto stream = reader.stream;
  self->request(reader.subscriber, caf::infinite, stream_ticks_atom::value, reader.stream,
                std::move(entries))
      .then(
          [self, addr, generation, stream]() {
            if (auto* r = self->state.data->readers.find(stream, addr, generation)) {
              r->in_flight = false;
              catch_up(self, *r);
            }
          },
          [self, addr, stream](caf::error&) { self->state.data->readers.remove(stream, addr); });
}

// A reader behind the loop (it was busy when the loop read on) is sent the next batch from the
// stream itself; in flight meanwhile, so that it is asked once.
void catch_up(self_pointer self, live_reader& reader) {
  auto& st = self->state;
  auto loop = st.loop_cursors.find(reader.stream);
  if (reader.in_flight || loop == st.loop_cursors.end() || reader.cursor >= loop->second
      || !st.link->accepting())
    return;
  reader.in_flight = true;
  auto addr = reader.subscriber.address();
  auto generation = reader.generation;
  auto stream = reader.stream;
  std::vector<std::string> command{
      "XRANGE",
      key_of(self, stream),
      "(" + format_stream_id(reader.cursor.first, reader.cursor.second),
      "+",
      "COUNT",
      std::to_string(max_live_batch)};
  st.link->send({std::move(command)}, [self, addr, generation, stream](redis_result& result) {
    auto* r = self->state.data->readers.find(stream, addr, generation);
    if (!r)
      return;
    r->in_flight = false;
    if (!result.ok)
      return; // the loop's next read tries again
    auto decoded = decoded_of(self->state, result.replies.at(0));
    if (!decoded || decoded->last_id.empty())
      return;
    if (!decoded->entries.empty()) {
      send_batch(self, *r, std::move(decoded->entries), decoded->last_id);
    } else {
      // Nothing but entries that are not ticks: read on past them.
      r->cursor = id_of(decoded->last_id);
      catch_up(self, *r);
    }
  });
}

// What one blocking read brought for one stream: readers that were exactly where the loop was
// get it at once; the others catch up from the stream.
void deliver_read(self_pointer self, const std::string& stream, const redis_reply& entries_reply) {
  auto& st = self->state;
  auto loop = st.loop_cursors.find(stream);
  if (loop == st.loop_cursors.end() || entries_reply.type != redis_reply::kind::array
      || entries_reply.elements.empty())
    return;
  auto previous = loop->second;
  // The raw last id, even of an entry that is not a tick: the loop must not read it again.
  const auto& last = entries_reply.elements.back();
  if (last.type == redis_reply::kind::array && !last.elements.empty())
    loop->second = std::max(loop->second, id_of(last.elements[0].text));
  auto decoded = decoded_of(st, entries_reply);
  for (auto& reader : st.data->readers.all()) {
    if (reader.stream != stream)
      continue;
    if (!reader.in_flight && reader.cursor == previous && decoded && !decoded->entries.empty())
      send_batch(self, reader, decoded->entries, decoded->last_id);
    else if (!reader.in_flight && reader.cursor == previous)
      reader.cursor = loop->second; // nothing of it was a tick: past it
    else
      catch_up(self, reader);
  }
}

// One read covers every stream: a key another client made something else (WRONGTYPE) would stop
// them all. Such streams are found (TYPE) and their live readers let go, loudly; the rest read on.
void drop_broken_streams(self_pointer self) {
  auto& st = self->state;
  std::vector<std::string> streams;
  std::vector<std::vector<std::string>> commands;
  for (const auto& [stream, cursor] : st.loop_cursors) {
    streams.push_back(stream);
    commands.push_back({"TYPE", key_of(self, stream)});
  }
  if (commands.empty() || !st.link->accepting())
    return;
  st.link->send(std::move(commands), [self, streams](redis_result& result) {
    if (!result.ok)
      return;
    auto& s = self->state;
    for (size_t i = 0; i < streams.size(); ++i) {
      const auto& type = result.replies[i].text;
      if (type == "stream" || type == "none")
        continue;
      s.log.error("a stream's key holds something else; its live readers are let go",
                  {{"stream", streams[i]}, {"type", reply_excerpt(type)}});
      s.loop_cursors.erase(streams[i]);
      auto& readers = s.data->readers.all();
      readers.erase(std::remove_if(readers.begin(), readers.end(),
                                   [&](const live_reader& r) { return r.stream == streams[i]; }),
                    readers.end());
    }
  });
}

void loop_read(self_pointer self, redis_result& result) {
  auto& st = self->state;
  st.reading = false;
  if (!result.ok)
    return; // the link is down: read_live runs again when it is back
  auto& reply = result.replies.at(0);
  if (reply.type == redis_reply::kind::error) {
    st.log.warn("Redis refused the live read; trying again in a second",
                {{"error", reply_excerpt(reply.text)}});
    if (reply.text.rfind("WRONGTYPE", 0) == 0)
      drop_broken_streams(self);
    st.loop_paused = true;
    self->delayed_send(self, loop_pause, loop_atom::value);
    return;
  }
  // Nil: nothing new within block_ms -- a moment to catch up whoever is behind (a catch-up that
  // failed, a reader taken over from a crashed incarnation). Else [[key, entries], ...].
  if (reply.type == redis_reply::kind::nil)
    for (auto& reader : st.data->readers.all())
      catch_up(self, reader);
  if (reply.type == redis_reply::kind::array) {
    const auto prefix_len = key_of(self, "").size();
    for (const auto& per_stream : reply.elements)
      if (per_stream.type == redis_reply::kind::array && per_stream.elements.size() == 2
          && per_stream.elements[0].text.size() > prefix_len)
        deliver_read(self, per_stream.elements[0].text.substr(prefix_len), per_stream.elements[1]);
  }
  read_live(self);
}

// One blocking XREAD over every stream read live here, from where the loop is in each.
void read_live(self_pointer self) {
  auto& st = self->state;
  if (st.reading || st.loop_paused || !st.reader->connected())
    return;
  auto streams = st.data->readers.streams();
  for (auto i = st.loop_cursors.begin(); i != st.loop_cursors.end();)
    i = std::find(streams.begin(), streams.end(), i->first) == streams.end()
            ? st.loop_cursors.erase(i)
            : std::next(i);
  if (st.loop_cursors.empty())
    return;
  std::vector<std::string> command{
      "XREAD",  "COUNT", std::to_string(max_live_batch), "BLOCK", std::to_string(block_ms),
      "STREAMS"};
  for (const auto& [stream, cursor] : st.loop_cursors)
    command.push_back(key_of(self, stream));
  for (const auto& [stream, cursor] : st.loop_cursors)
    command.push_back(format_stream_id(cursor.first, cursor.second));
  st.reading = true;
  st.reader->send({std::move(command)}, [self](redis_result& result) { loop_read(self, result); });
}

caf::result<bool> subscribe(self_pointer self, const std::string& stream, caf::actor& subscriber) {
  if (auto err = check_subscribe(stream, subscriber))
    return err;
  // The reader starts at the stream's last entry: everything appended after the reply is its.
  auto* st = &self->state;
  return ask<bool>(
      self, {{"XREVRANGE", key_of(self, stream), "+", "-", "COUNT", "1"}},
      [self, st, stream, subscriber](std::vector<redis_reply>& replies) -> caf::expected<bool> {
        auto& reply = replies.at(0);
        if (reply.type != redis_reply::kind::array)
          return unavailable("unexpected reply from Redis to XREVRANGE");
        id_type last{0, 0};
        if (!reply.elements.empty() && reply.elements[0].type == redis_reply::kind::array
            && !reply.elements[0].elements.empty())
          last = id_of(reply.elements[0].elements[0].text);
        if (!st->data->readers.reads_any(subscriber.address()))
          self->monitor(subscriber);
        auto added = st->data->readers.add(stream, subscriber, last);
        st->loop_cursors.emplace(stream, last);
        read_live(self);
        return added;
      });
}

bool unsubscribe(self_pointer self, const std::string& stream, const caf::actor& subscriber) {
  auto& readers = self->state.data->readers;
  if (!subscriber || !readers.remove(stream, subscriber.address()))
    return false;
  if (!readers.reads_any(subscriber.address()))
    self->demonitor(subscriber);
  return true;
}

// ---- consumer groups

caf::result<bool> create_group(self_pointer self, const std::string& stream,
                               const std::string& group, const std::string& start) {
  if (auto err = check_group_create(stream, group, start))
    return err;
  auto& st = self->state;
  return ask_redis<bool>(
      self, *st.link, st.data->stats.failures,
      {{"XGROUP", "CREATE", key_of(self, stream), group, start, "MKSTREAM"}},
      [](std::vector<redis_reply>& replies) -> caf::expected<bool> {
        auto& reply = replies.at(0);
        if (reply.type == redis_reply::kind::error && reply.text.rfind("BUSYGROUP", 0) == 0)
          return false;
        if (reply.type == redis_reply::kind::status)
          return true;
        return make_error(errc::store_unavailable, "Redis replied: " + reply_excerpt(reply.text));
      },
      redis_refusals::pass);
}

// A group request whose NOGROUP answer means not_found rather than a refusal. `read`:
// (const redis_reply&) -> caf::expected<T>.
template <class T, class Read>
caf::result<T> ask_group(self_pointer self, const std::string& stream, const std::string& group,
                         std::vector<std::string> command, Read read) {
  auto& st = self->state;
  return ask_redis<T>(
      self, *st.link, st.data->stats.failures, {std::move(command)},
      [read, stream, group](std::vector<redis_reply>& replies) -> caf::expected<T> {
        auto& reply = replies.at(0);
        if (reply.type == redis_reply::kind::error && reply.text.rfind("NOGROUP", 0) == 0)
          return missing_group(stream, group);
        if (reply.type == redis_reply::kind::error)
          return make_error(errc::store_unavailable, "Redis replied: " + reply_excerpt(reply.text));
        return read(reply);
      },
      redis_refusals::pass);
}

caf::result<std::vector<stream_entry>> read_group(self_pointer self, const std::string& stream,
                                                  const std::string& group,
                                                  const std::string& consumer, uint32_t count) {
  if (auto err = check_group_read(stream, group, consumer, count))
    return err;
  return ask_group<std::vector<stream_entry>>(
      self, stream, group,
      {"XREADGROUP", "GROUP", group, consumer, "COUNT", std::to_string(count), "STREAMS",
       key_of(self, stream), ">"},
      [self, stream, group](const redis_reply& reply) -> caf::expected<std::vector<stream_entry>> {
        // Nil: nothing new. Else [[key, entries]].
        if (reply.type == redis_reply::kind::nil)
          return std::vector<stream_entry>{};
        if (reply.type != redis_reply::kind::array || reply.elements.size() != 1
            || reply.elements[0].elements.size() != 2)
          return unavailable("unexpected reply from Redis to XREADGROUP");
        auto decoded = decoded_of(self->state, reply.elements[0].elements[1]);
        if (!decoded)
          return decoded.error();
        acknowledge_rejected(self, stream, group, decoded->rejected_ids);
        return std::move(decoded->entries);
      });
}

caf::result<uint32_t> ack(self_pointer self, const std::string& stream, const std::string& group,
                          const std::vector<std::string>& ids) {
  if (auto err = check_ack(stream, group, ids))
    return err;
  std::vector<std::string> command{"XACK", key_of(self, stream), group};
  command.insert(command.end(), ids.begin(), ids.end());
  return ask_group<uint32_t>(self, stream, group, std::move(command),
                             [](const redis_reply& reply) -> caf::expected<uint32_t> {
                               if (reply.type != redis_reply::kind::integer || reply.integer < 0)
                                 return unavailable("unexpected reply from Redis to XACK");
                               return static_cast<uint32_t>(reply.integer);
                             });
}

bool read_pending(const redis_reply& row, pending_entry& entry) {
  using kind = redis_reply::kind;
  if (row.type != kind::array || row.elements.size() != 4 || row.elements[0].type != kind::string
      || row.elements[1].type != kind::string || row.elements[2].type != kind::integer
      || row.elements[3].type != kind::integer)
    return false;
  entry.id = row.elements[0].text;
  entry.consumer = row.elements[1].text;
  entry.idle_ms = row.elements[2].integer;
  entry.deliveries = static_cast<uint32_t>(row.elements[3].integer);
  return true;
}

caf::result<std::vector<pending_entry>> pending(self_pointer self, const std::string& stream,
                                                const std::string& group, uint32_t count) {
  if (auto err = check_pending(stream, group, count))
    return err;
  return ask_group<std::vector<pending_entry>>(
      self, stream, group,
      {"XPENDING", key_of(self, stream), group, "-", "+", std::to_string(count)},
      [](const redis_reply& reply) -> caf::expected<std::vector<pending_entry>> {
        if (reply.type != redis_reply::kind::array)
          return unavailable("unexpected reply from Redis to XPENDING");
        std::vector<pending_entry> entries(reply.elements.size());
        for (size_t i = 0; i < entries.size(); ++i)
          if (!read_pending(reply.elements[i], entries[i]))
            return unavailable("unexpected reply from Redis to XPENDING");
        return entries;
      });
}

caf::expected<claim_result> claimed_of(self_pointer self, const std::string& stream,
                                       const std::string& group, const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 2
      || reply.elements[0].type != redis_reply::kind::integer)
    return unavailable("unexpected reply from Redis to the claim");
  claim_result result;
  result.dead_lettered = static_cast<uint32_t>(reply.elements[0].integer);
  auto decoded = decoded_of(self->state, reply.elements[1]);
  if (!decoded)
    return decoded.error();
  acknowledge_rejected(self, stream, group, decoded->rejected_ids);
  result.entries = std::move(decoded->entries);
  return result;
}

void send_claim(self_pointer self, std::vector<std::string> args, const std::string& stream,
                const std::string& group, caf::typed_response_promise<claim_result> promise,
                bool by_sha);

caf::result<claim_result> claim(self_pointer self, const std::string& stream,
                                const std::string& group, const std::string& consumer,
                                int64_t min_idle_ms, uint32_t count) {
  if (auto err = check_claim(stream, group, consumer, min_idle_ms, count))
    return err;
  const auto& settings = settings_of(self->state.options.streams, stream);
  std::vector<std::string> args{"2",
                                key_of(self, stream),
                                key_of(self, dead_letter_stream(stream)),
                                group,
                                consumer,
                                std::to_string(min_idle_ms),
                                std::to_string(count),
                                std::to_string(settings.dead_letter_after),
                                std::to_string(settings.max_length)};
  auto promise = self->make_response_promise<claim_result>();
  send_claim(self, std::move(args), stream, group, promise, true);
  return promise;
}

// EVALSHA, and EVAL once when the server does not know the script (NOSCRIPT).
void send_claim(self_pointer self, std::vector<std::string> args, const std::string& stream,
                const std::string& group, caf::typed_response_promise<claim_result> promise,
                bool by_sha) {
  auto& st = self->state;
  if (!st.link->accepting()) {
    ++st.data->stats.failures;
    promise.deliver(unavailable("Redis is not reachable: " + st.link->last_error()));
    return;
  }
  std::vector<std::string> command{by_sha ? "EVALSHA" : "EVAL",
                                   by_sha ? st.claim_sha : stream_codec::claim_script};
  command.insert(command.end(), args.begin(), args.end());
  st.link->send({std::move(command)}, [self, args = std::move(args), stream, group, promise,
                                       by_sha](redis_result& result) mutable {
    auto& stats = self->state.data->stats;
    if (!result.ok) {
      ++stats.failures;
      promise.deliver(unavailable(result.error));
      return;
    }
    auto& reply = result.replies.at(0);
    if (by_sha && reply.type == redis_reply::kind::error && reply.text.rfind("NOSCRIPT", 0) == 0)
      send_claim(self, std::move(args), stream, group, promise, false);
    else if (reply.type == redis_reply::kind::error
             && reply.text.find("NOGROUP") != std::string::npos)
      promise.deliver(missing_group(stream, group));
    else if (reply.type == redis_reply::kind::error)
      promise.deliver(unavailable("Redis replied: " + reply_excerpt(reply.text)));
    else
      deliver_expected<claim_result>(promise, claimed_of(self, stream, group, reply));
  });
}

// Pages of nothing but entries another client wrote that are not ticks are read past, up to
// this many: an empty answer means the range is done, not that one page held no tick.
constexpr int max_skipped_pages = 16;

void replay_page(self_pointer self, std::string key, std::string from, std::string to,
                 uint32_t count, caf::typed_response_promise<std::vector<stream_entry>> promise,
                 int skipped) {
  auto& st = self->state;
  if (!st.link->accepting()) {
    ++st.data->stats.failures;
    promise.deliver(unavailable("Redis is not reachable: " + st.link->last_error()));
    return;
  }
  std::vector<std::string> command{"XRANGE", key, from, to, "COUNT", std::to_string(count)};
  st.link->send({std::move(command)},
                [self, key, to, count, promise, skipped](redis_result& result) mutable {
                  auto& s = self->state;
                  if (!result.ok) {
                    ++s.data->stats.failures;
                    promise.deliver(unavailable(result.error));
                    return;
                  }
                  auto& reply = result.replies.at(0);
                  if (reply.type == redis_reply::kind::error) {
                    promise.deliver(unavailable("Redis replied: " + reply_excerpt(reply.text)));
                    return;
                  }
                  auto decoded = decoded_of(s, reply);
                  if (!decoded) {
                    promise.deliver(decoded.error());
                    return;
                  }
                  bool only_junk = decoded->entries.empty() && !decoded->last_id.empty()
                                   && reply.elements.size() == count;
                  if (only_junk && skipped < max_skipped_pages)
                    replay_page(self, key, "(" + decoded->last_id, to, count, promise, skipped + 1);
                  else
                    promise.deliver(std::move(decoded->entries));
                });
}

caf::result<std::vector<stream_entry>> replay(self_pointer self, const std::string& stream,
                                              const std::string& from, const std::string& to,
                                              uint32_t count) {
  if (auto err = check_replay(stream, from, to, count))
    return err;
  auto promise = self->make_response_promise<std::vector<stream_entry>>();
  replay_page(self, key_of(self, stream), from, to, count, promise, 0);
  return promise;
}

// ---- the actor

// A new incarnation takes over the last one's readers: the batches it sent are answered to it,
// and the loop reads on from the newest cursor of each stream (readers behind catch up).
void adopt_readers(self_pointer self) {
  auto& st = self->state;
  for (auto& reader : st.data->readers.all()) {
    reader.in_flight = false;
    self->monitor(reader.subscriber);
    auto& cursor = st.loop_cursors[reader.stream];
    cursor = std::max(cursor, reader.cursor);
  }
}

stream_status status(self_pointer self) {
  auto stats = self->state.data->stats;
  stats.available = self->state.link->accepting();
  stats.subscribers = self->state.data->readers.all().size();
  return stats;
}

void connection_changed(self_pointer self, const char* which, bool up, const std::string& error) {
  auto& st = self->state;
  if (up) {
    if (st.link->connected())
      st.data->stats.last_error.clear();
    st.log.info(std::string{"connected to Redis ("} + which + ")",
                {{"host", st.options.connection.endpoint.host},
                 {"port", st.options.connection.endpoint.port}});
    read_live(self);
  } else {
    st.data->stats.last_error = error;
    st.log.warn(std::string{"Redis is unreachable ("} + which
                    + "); stream requests fail with store_unavailable until it is back",
                {{"error", error}});
  }
}

caf::behavior redis_stream(self_pointer self, std::shared_ptr<redis_stream_data> data,
                           redis_stream_options options) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.options = std::move(options);
  st.claim_sha = limiter_scripts::sha1_hex(stream_codec::claim_script);
  adopt_readers(self);
  // A batch of max_live_batch or max_stream_read ticks, each well under 512 bytes.
  st.options.connection.max_reply_bytes =
      reply_cap(st.options.connection, size_t{max_stream_read} * 512);
  auto reader_options = st.options.connection;
  // The blocking read is answered after block_ms at the latest, on top of the usual wait.
  reader_options.command_timeout += std::chrono::milliseconds(block_ms);
  redis_link::events commands;
  commands.changed = [self](bool up, const std::string& error) {
    connection_changed(self, "commands", up, error);
  };
  redis_link::events reads;
  reads.changed = [self](bool up, const std::string& error) {
    connection_changed(self, "live reads", up, error);
  };
  st.link.emplace(self, command_tag, st.options.connection, redis_link::mode::replies,
                  std::move(commands));
  st.reader.emplace(self, reader_tag, reader_options, redis_link::mode::replies, std::move(reads));
  st.link->refuse_while_redialing();
  st.link->start();
  st.reader->start();
  self->set_down_handler(
      [self](caf::down_msg& down) { self->state.data->readers.remove_all(down.source); });
  return {
      [self](stream_publish_atom, const std::string& stream, const market_tick& tick) {
        return publish_one(self, stream, tick);
      },
      [self](stream_publish_atom, const std::string& stream,
             const std::vector<market_tick>& ticks) { return publish_batch(self, stream, ticks); },
      [self](stream_sub_atom, const std::string& stream, caf::actor& subscriber) {
        return subscribe(self, stream, subscriber);
      },
      [self](stream_unsub_atom, const std::string& stream, const caf::actor& subscriber) {
        return unsubscribe(self, stream, subscriber);
      },
      [self](group_create_atom, const std::string& stream, const std::string& group,
             const std::string& start) { return create_group(self, stream, group, start); },
      [self](group_read_atom, const std::string& stream, const std::string& group,
             const std::string& consumer,
             uint32_t count) { return read_group(self, stream, group, consumer, count); },
      [self](group_ack_atom, const std::string& stream, const std::string& group,
             const std::vector<std::string>& ids) { return ack(self, stream, group, ids); },
      [self](group_pending_atom, const std::string& stream, const std::string& group,
             uint32_t count) { return pending(self, stream, group, count); },
      [self](group_claim_atom, const std::string& stream, const std::string& group,
             const std::string& consumer, int64_t min_idle_ms,
             uint32_t count) { return claim(self, stream, group, consumer, min_idle_ms, count); },
      [self](replay_atom, const std::string& stream, const std::string& from, const std::string& to,
             uint32_t count) { return replay(self, stream, from, to, count); },
      [self](status_atom) { return status(self); },
      [self](loop_atom) {
        self->state.loop_paused = false;
        read_live(self);
      },
      [self](caf::io::new_data_msg& msg) {
        auto& s = self->state;
        if (!s.link->handle(msg))
          s.reader->handle(msg);
      },
      [self](caf::io::connection_closed_msg& msg) {
        auto& s = self->state;
        if (!s.link->handle(msg))
          s.reader->handle(msg);
      },
      [self](redis_tick_atom, uint8_t tag) {
        auto& s = self->state;
        if (!s.link->handle_tick(tag))
          s.reader->handle_tick(tag);
      },
  };
}

} // namespace

market_stream_actor spawn_redis_stream(caf::actor_system& sys,
                                       std::shared_ptr<redis_stream_data> data,
                                       redis_stream_options options) {
  if (!sys.has_middleman())
    throw std::logic_error("the Redis market-data stream needs CAF's middleman: load "
                           "caf::io::middleman in the actor system's config");
  return caf::actor_cast<market_stream_actor>(
      sys.middleman().spawn_broker(redis_stream, std::move(data), std::move(options)));
}

} // namespace brokedancer
