#include "actors/stream/stream_requests.hpp"

#include "messages/errors.hpp"

namespace brokedancer {

namespace {

caf::error invalid(const std::string& problem) {
  return problem.empty() ? caf::error{} : make_error(errc::invalid_argument, problem);
}

caf::error check_names(const std::string& stream, const std::string& group) {
  if (auto err = invalid(check_stream_name(stream)))
    return err;
  return invalid(check_group_name(group));
}

bool is_id(const std::string& text) {
  uint64_t ms = 0;
  uint64_t seq = 0;
  return parse_stream_id(text, ms, seq);
}

} // namespace

caf::error check_publish(const std::string& stream, const market_tick& tick) {
  if (auto err = invalid(check_stream_name(stream)))
    return err;
  return invalid(check_tick(tick));
}

caf::error check_publish(const std::string& stream, const std::vector<market_tick>& ticks) {
  if (auto err = invalid(check_stream_name(stream)))
    return err;
  return invalid(check_tick_batch(ticks));
}

caf::error check_subscribe(const std::string& stream, const caf::actor& subscriber) {
  if (auto err = invalid(check_stream_name(stream)))
    return err;
  return subscriber ? caf::error{} : invalid("a live subscription needs a subscriber");
}

caf::error check_group_create(const std::string& stream, const std::string& group,
                              const std::string& start) {
  if (auto err = check_names(stream, group))
    return err;
  if (start == "$" || is_id(start))
    return {};
  return invalid("a group starts at $ (what comes next), 0 (everything kept) or an id "
                 "<ms>-<seq>, not \""
                 + start + "\"");
}

caf::error check_group_read(const std::string& stream, const std::string& group,
                            const std::string& consumer, uint32_t count) {
  if (auto err = check_names(stream, group))
    return err;
  if (auto err = invalid(check_group_name(consumer)))
    return err;
  return invalid(check_read_count(count));
}

caf::error check_ack(const std::string& stream, const std::string& group,
                     const std::vector<std::string>& ids) {
  if (auto err = check_names(stream, group))
    return err;
  if (ids.empty() || ids.size() > max_stream_read)
    return invalid("an acknowledgement takes 1 .. " + std::to_string(max_stream_read) + " ids, not "
                   + std::to_string(ids.size()));
  for (const auto& id : ids)
    if (!is_id(id))
      return invalid("\"" + id + "\" is not a stream entry id <ms>-<seq>");
  return {};
}

caf::error check_pending(const std::string& stream, const std::string& group, uint32_t count) {
  if (auto err = check_names(stream, group))
    return err;
  return invalid(check_read_count(count));
}

caf::error check_claim(const std::string& stream, const std::string& group,
                       const std::string& consumer, int64_t min_idle_ms, uint32_t count) {
  if (auto err = check_names(stream, group))
    return err;
  if (auto err = invalid(check_group_name(consumer)))
    return err;
  if (min_idle_ms < 0)
    return invalid("a claim's minimum idle time must not be negative, not "
                   + std::to_string(min_idle_ms) + " ms");
  if (count == 0 || count > max_claim)
    return invalid("a claim takes 1 .. " + std::to_string(max_claim) + " entries, not "
                   + std::to_string(count));
  return {};
}

caf::error check_replay(const std::string& stream, const std::string& from, const std::string& to,
                        uint32_t count) {
  if (auto err = invalid(check_stream_name(stream)))
    return err;
  if (auto err = invalid(check_read_count(count)))
    return err;
  if ((from == "-" || is_id(from)) && (to == "+" || is_id(to)))
    return {};
  return invalid("a replay goes from an id <ms>-<seq>, a time <ms> or - to an id, a time or +; "
                 "not \""
                 + from + "\" .. \"" + to + "\"");
}

caf::error missing_group(const std::string& stream, const std::string& group) {
  return make_error(errc::not_found,
                    "stream " + stream + " has no consumer group " + group + ": create it first");
}

} // namespace brokedancer
