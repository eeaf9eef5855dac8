#pragma once

// "host:port" as node.listen, node.peers, --listen and --join take it.

#include <cstdint>
#include <string>
#include <vector>

namespace brokedancer {

struct host_port {
  std::string host;
  uint16_t port = 0;

  std::string text() const {
    return host + ":" + std::to_string(port);
  }
};

// Parses "host:port" (a host name or an IP address; the port 1-65535, or 0 too when
// `any_port` -- a listener on a port the system picks). On failure, `why` says what is wrong.
bool parse_host_port(const std::string& text, host_port& out, std::string& why,
                     bool any_port = false);

// "host:port,host:port"; empty text is an empty list.
bool parse_host_port_list(const std::string& text, std::vector<host_port>& out, std::string& why);

// The list as node.peers spells it: "host:port,host:port".
std::string to_text(const std::vector<host_port>& list);

} // namespace brokedancer
