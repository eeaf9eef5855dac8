#pragma once

// Nodes' names and "host:port" addresses, as the configuration (runtime.node_name, node.listen,
// node.peers), the command line (--listen, --join) and peers (their hello) give them: one rule
// for each, wherever it comes from.

#include <cstdint>
#include <string>
#include <vector>

namespace brokedancer {

// At most 64 letters, digits, '-', '_' or '.' (runtime.node_name; empty there means the host
// name, so emptiness is the caller's rule).
bool valid_node_name(const std::string& name);

// A host name or an IP address (IPv6 too): at most 253 letters, digits, '-', '.' or ':'.
bool valid_host(const std::string& host);
// True for an address of this host only: "localhost", an IPv4 address in 127.0.0.0/8, "::1".
// A host name that merely starts with "127." is not one.
bool is_loopback(const std::string& host);

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
