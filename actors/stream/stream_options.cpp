#include "actors/stream/stream_options.hpp"

namespace brokedancer {

const stream_settings& settings_of(const stream_options& options, const std::string& stream) {
  auto found = options.streams.find(stream);
  if (found != options.streams.end())
    return found->second;
  const std::string suffix = ":dead";
  if (stream.size() > suffix.size()
      && stream.compare(stream.size() - suffix.size(), suffix.size(), suffix) == 0)
    return settings_of(options, stream.substr(0, stream.size() - suffix.size()));
  return options.defaults;
}

} // namespace brokedancer
