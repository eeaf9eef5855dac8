#pragma once

// The checks every market-data stream backend makes of a request before it does anything, so
// that both refuse the same requests with the same words (an empty error: the request may go).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "messages/market_stream.hpp"

namespace brokedancer {

caf::error check_publish(const std::string& stream, const market_tick& tick);
caf::error check_publish(const std::string& stream, const std::vector<market_tick>& ticks);
caf::error check_subscribe(const std::string& stream, const caf::actor& subscriber);
caf::error check_group_create(const std::string& stream, const std::string& group,
                              const std::string& start);
caf::error check_group_read(const std::string& stream, const std::string& group,
                            const std::string& consumer, uint32_t count);
caf::error check_ack(const std::string& stream, const std::string& group,
                     const std::vector<std::string>& ids);
caf::error check_pending(const std::string& stream, const std::string& group, uint32_t count);
caf::error check_claim(const std::string& stream, const std::string& group,
                       const std::string& consumer, int64_t min_idle_ms, uint32_t count);
caf::error check_replay(const std::string& stream, const std::string& from, const std::string& to,
                        uint32_t count);

// not_found, for a request to a group the stream does not have.
caf::error missing_group(const std::string& stream, const std::string& group);

} // namespace brokedancer
