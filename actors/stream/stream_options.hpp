#pragma once

// How a node keeps its market-data streams: the settings of each configured stream (streams.*
// in the config) and those of every other.

#include <map>
#include <string>

#include "messages/market_stream.hpp"

namespace brokedancer {

struct stream_options {
  stream_settings defaults;
  std::map<std::string, stream_settings> streams; // by stream name
};

// The settings of `stream`; a dead-letter stream ("<name>:dead") has those of <name>.
const stream_settings& settings_of(const stream_options& options, const std::string& stream);

} // namespace brokedancer
