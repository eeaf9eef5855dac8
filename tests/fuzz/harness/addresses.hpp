#pragma once

// Addresses as the configuration, the command line and peers give them: HOST:PORT, lists of
// them, and redis:// URLs. A refusal says why; an address that is accepted reads back the same
// from the text the runtime writes for it.

#include <string>
#include <vector>

#include "core/host_port.hpp"
#include "core/redis_url.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline bool same(const host_port& a, const host_port& b) {
  return a.host == b.host && a.port == b.port;
}

inline void addresses(std::string_view input) {
  std::string text(input);
  for (bool any_port : {false, true}) {
    host_port parsed;
    std::string why;
    if (!parse_host_port(text, parsed, why, any_port)) {
      expect(!why.empty(), "a refused HOST:PORT says why");
      continue;
    }
    expect(valid_host(parsed.host), "an accepted HOST:PORT has a valid host");
    host_port again;
    expect(parse_host_port(parsed.text(), again, why, any_port) && same(again, parsed),
           "an accepted HOST:PORT reads back the same from its text()");
  }
  std::vector<host_port> list;
  std::string why;
  if (parse_host_port_list(text, list, why)) {
    std::vector<host_port> again;
    expect(parse_host_port_list(to_text(list), again, why) && again.size() == list.size(),
           "an accepted list reads back from to_text()");
    for (size_t i = 0; i < list.size(); ++i)
      expect(same(again[i], list[i]), "an accepted list reads back the same from to_text()");
  } else {
    expect(!why.empty(), "a refused list says why");
  }
  std::string problem;
  if (auto endpoint = parse_redis_url(input, problem))
    expect(!endpoint->host.empty() && endpoint->port != 0 && endpoint->db >= 0,
           "an accepted redis:// URL has a host, a port and a database");
  else
    expect(!problem.empty(), "a refused redis:// URL says why");
}

} // namespace brokedancer::fuzz
