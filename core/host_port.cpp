#include "core/host_port.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace brokedancer {

bool valid_node_name(const std::string& name) {
  return name.size() <= 64 && std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]")
    return true;
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

bool valid_host(const std::string& host) {
  return !host.empty() && host.size() <= 253
         && std::all_of(host.begin(), host.end(), [](unsigned char c) {
              return std::isalnum(c) || c == '-' || c == '.' || c == ':';
            });
}

bool parse_host_port(const std::string& text, host_port& out, std::string& why, bool any_port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    why = "expected HOST:PORT (\"127.0.0.1:7101\"), found \"" + text + "\"";
    return false;
  }
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  // Colons too: an IPv6 address before the last one, as node.control_host allows.
  if (!valid_host(host)) {
    why = "expected a host name or IP address before the port, found \"" + host + "\"";
    return false;
  }
  bool digits = port_text.size() <= 5
                && std::all_of(port_text.begin(), port_text.end(),
                               [](unsigned char c) { return std::isdigit(c); });
  auto port = digits ? std::stoul(port_text) : 0ul;
  if (!digits || port > 65535 || (port == 0 && !any_port)) {
    why = std::string{"expected a port from "} + (any_port ? "0" : "1") + " to 65535, found \""
          + port_text + "\"";
    return false;
  }
  out.host = std::move(host);
  out.port = static_cast<uint16_t>(port);
  return true;
}

bool parse_host_port_list(const std::string& text, std::vector<host_port>& out, std::string& why) {
  out.clear();
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    auto item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    host_port parsed;
    if (!parse_host_port(item, parsed, why))
      return false;
    out.push_back(std::move(parsed));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return true;
}

std::string to_text(const std::vector<host_port>& list) {
  std::string text;
  for (const auto& item : list)
    text += (text.empty() ? "" : ",") + item.text();
  return text;
}

} // namespace brokedancer
