#include "actors/stream/memory_stream.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/stream/live_readers.hpp"
#include "actors/stream/stream_requests.hpp"
#include "actors/stream/stream_table.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

struct memory_stream_data {
  stream_table table;
  live_readers readers;
  stream_status stats;
};

std::shared_ptr<memory_stream_data> make_memory_stream_data() {
  auto data = std::make_shared<memory_stream_data>();
  data->stats.backend = "memory";
  data->stats.available = true;
  return data;
}

namespace {

struct memory_stream_state {
  std::shared_ptr<memory_stream_data> data;
  stream_options options;
};

using self_pointer = market_stream_actor::stateful_pointer<memory_stream_state>;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Sends the reader what it has not seen, when it has answered the last batch.
void catch_up(self_pointer self, live_reader& reader) {
  auto& d = *self->state.data;
  if (reader.in_flight || reader.cursor >= d.table.last_id(reader.stream))
    return;
  if (reader.cursor < d.table.trimmed_through(reader.stream))
    ++d.stats.lagged;
  auto entries = d.table.after(reader.stream, reader.cursor, max_live_batch);
  if (entries.empty())
    return;
  uint64_t ms = 0;
  uint64_t seq = 0;
  parse_stream_id(entries.back().id, ms, seq);
  reader.cursor = {ms, seq};
  reader.in_flight = true;
  d.stats.delivered += entries.size();
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
          [self, addr, stream](caf::error&) {
            // Gone or refusing: its down message removes the rest.
            self->state.data->readers.remove(stream, addr);
          });
}

void wake_readers(self_pointer self, const std::string& stream) {
  for (auto& reader : self->state.data->readers.all())
    if (reader.stream == stream)
      catch_up(self, reader);
}

// Streams this process keeps at most: every name a client publishes to is a stream.
constexpr size_t max_streams = 10000;

caf::error check_room(self_pointer self, const std::string& stream) {
  auto& table = self->state.data->table;
  if (table.has(stream) || table.streams() < max_streams)
    return {};
  return make_error(errc::store_unavailable, "the memory market-data stream holds its most ("
                                                 + std::to_string(max_streams)
                                                 + " streams); publish to fewer names");
}

caf::result<std::string> publish_one(self_pointer self, const std::string& stream,
                                     const market_tick& tick) {
  if (auto err = check_publish(stream, tick))
    return err;
  if (auto err = check_room(self, stream))
    return err;
  auto& d = *self->state.data;
  auto id = d.table.append(stream, tick, settings_of(self->state.options, stream), now_ms());
  ++d.stats.published;
  wake_readers(self, stream);
  return id;
}

caf::result<std::vector<std::string>> publish_batch(self_pointer self, const std::string& stream,
                                                    const std::vector<market_tick>& ticks) {
  if (auto err = check_publish(stream, ticks))
    return err;
  if (auto err = check_room(self, stream))
    return err;
  auto& d = *self->state.data;
  const auto& settings = settings_of(self->state.options, stream);
  std::vector<std::string> ids;
  ids.reserve(ticks.size());
  auto now = now_ms();
  for (const auto& tick : ticks)
    ids.push_back(d.table.append(stream, tick, settings, now));
  d.stats.published += ticks.size();
  wake_readers(self, stream);
  return ids;
}

caf::result<bool> subscribe(self_pointer self, const std::string& stream, caf::actor& subscriber) {
  if (auto err = check_subscribe(stream, subscriber))
    return err;
  auto& readers = self->state.data->readers;
  if (!readers.reads_any(subscriber.address()))
    self->monitor(subscriber);
  return readers.add(stream, subscriber, self->state.data->table.last_id(stream));
}

bool unsubscribe(self_pointer self, const std::string& stream, const caf::actor& subscriber) {
  auto& readers = self->state.data->readers;
  if (!subscriber || !readers.remove(stream, subscriber.address()))
    return false;
  if (!readers.reads_any(subscriber.address()))
    self->demonitor(subscriber);
  return true;
}

caf::result<bool> create_group(self_pointer self, const std::string& stream,
                               const std::string& group, const std::string& start) {
  if (auto err = check_group_create(stream, group, start))
    return err;
  if (auto err = check_room(self, stream))
    return err;
  return self->state.data->table.create_group(stream, group, start)
         == stream_table::create_outcome::created;
}

caf::result<std::vector<stream_entry>> read_group(self_pointer self, const std::string& stream,
                                                  const std::string& group,
                                                  const std::string& consumer, uint32_t count) {
  if (auto err = check_group_read(stream, group, consumer, count))
    return err;
  auto& table = self->state.data->table;
  if (!table.has_group(stream, group))
    return missing_group(stream, group);
  return table.read_group(stream, group, consumer, count, now_ms());
}

caf::result<uint32_t> ack(self_pointer self, const std::string& stream, const std::string& group,
                          const std::vector<std::string>& ids) {
  if (auto err = check_ack(stream, group, ids))
    return err;
  return self->state.data->table.ack(stream, group, ids);
}

caf::result<std::vector<pending_entry>> pending(self_pointer self, const std::string& stream,
                                                const std::string& group, uint32_t count) {
  if (auto err = check_pending(stream, group, count))
    return err;
  auto& table = self->state.data->table;
  if (!table.has_group(stream, group))
    return missing_group(stream, group);
  return table.pending(stream, group, count, now_ms());
}

caf::result<claim_result> claim(self_pointer self, const std::string& stream,
                                const std::string& group, const std::string& consumer,
                                int64_t min_idle_ms, uint32_t count) {
  if (auto err = check_claim(stream, group, consumer, min_idle_ms, count))
    return err;
  auto& table = self->state.data->table;
  if (!table.has_group(stream, group))
    return missing_group(stream, group);
  auto result = table.claim(stream, group, consumer, min_idle_ms, count,
                            settings_of(self->state.options, stream), now_ms());
  if (result.dead_lettered > 0)
    wake_readers(self, dead_letter_stream(stream));
  return result;
}

caf::result<std::vector<stream_entry>> replay(self_pointer self, const std::string& stream,
                                              const std::string& from, const std::string& to,
                                              uint32_t count) {
  if (auto err = check_replay(stream, from, to, count))
    return err;
  std::vector<stream_entry> entries;
  self->state.data->table.range(stream, from, to, count, entries);
  return entries;
}

stream_status status(self_pointer self) {
  auto stats = self->state.data->stats;
  stats.subscribers = self->state.data->readers.all().size();
  return stats;
}

void subscriber_down(self_pointer self, const caf::down_msg& down) {
  self->state.data->readers.remove_all(down.source);
}

market_stream_actor::behavior_type
memory_stream(self_pointer self, std::shared_ptr<memory_stream_data> data, stream_options options) {
  exit_with_exception_text(self);
  self->state.data = std::move(data);
  self->state.options = std::move(options);
  // A new incarnation: the batches the last one sent are answered to it, not to us.
  for (auto& reader : self->state.data->readers.all()) {
    reader.in_flight = false;
    self->monitor(reader.subscriber);
  }
  self->set_down_handler([self](caf::down_msg& down) { subscriber_down(self, down); });
  for (const auto& stream : self->state.data->readers.streams())
    wake_readers(self, stream);
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
  };
}

} // namespace

market_stream_actor spawn_memory_stream(caf::actor_system& sys,
                                        std::shared_ptr<memory_stream_data> data,
                                        stream_options options) {
  return caf::actor_cast<market_stream_actor>(
      sys.spawn(memory_stream, std::move(data), std::move(options)));
}

} // namespace brokedancer
