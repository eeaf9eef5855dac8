#include "runtime/control_command.hpp"

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/timespan.hpp>

#include "messages/control.hpp"
#include "messages/registry.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/host_port.hpp"
#include "runtime/unix_time.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

json cluster_json(const cluster_status& c) {
  json members = json::array();
  for (const auto& m : c.members)
    members.push_back(
        {{"name", m.info.name},
         {"address", m.info.address},
         {"connected", m.connected},
         {"level", to_string(m.info.level.level)},
         {"sequence", m.info.level.sequence},
         {"isolated", m.info.isolated},
         {"bots", m.info.bots},
         {"last_heard_us", m.last_heard_us},
         {"last_heard_ms_ago", m.last_heard_us > 0 ? (now_us() - m.last_heard_us) / 1000 : -1},
         {"reconnects", m.reconnects},
         {"last_error", m.last_error}});
  return {{"address", c.self.address},
          {"store_shared", c.store_shared},
          {"store_reachable", c.store_reachable},
          {"out_of_contact_since_us", c.out_of_contact_since_us},
          {"members", members}};
}

json status_json(const node_status& s) {
  json limits = json::array();
  for (const auto& l : s.emergency.limits)
    limits.push_back({{"name", l.name},
                      {"limit", l.limit},
                      {"current", l.current},
                      {"utilization", l.utilization}});
  json breakers = json::array();
  for (const auto& b : s.breakers)
    breakers.push_back({{"endpoint", b.endpoint},
                        {"state", to_string(b.state)},
                        {"calls", b.calls},
                        {"failures", b.failures},
                        {"rejected", b.rejected}});
  const auto& c = s.emergency.current;
  return {{"node", s.node},
          {"level", to_string(c.level)},
          {"reason", c.reason},
          {"source", to_string(c.source)},
          {"since_us", c.at_us},
          {"sequence", c.sequence},
          {"trading_allowed", s.emergency.trading_allowed},
          {"bots_registered", s.emergency.bots_registered},
          {"bots_acknowledged", s.emergency.bots_acknowledged},
          {"bots",
           {{"total", s.bots.total},
            {"running", s.bots.running},
            {"stopped", s.bots.stopped},
            {"given_up", s.bots.given_up},
            {"orders", s.bots.orders},
            {"fills", s.bots.fills},
            {"pnl", s.bots.pnl}}},
          {"limits", limits},
          {"breakers", breakers},
          {"source_node", c.node},
          {"isolated", s.emergency.isolated},
          {"cluster", s.clustered ? cluster_json(s.cluster) : json(nullptr)}};
}

void print_status(const node_status& s) {
  const auto& c = s.emergency.current;
  std::cout << "node " << s.node << ": " << to_string(c.level)
            << (s.emergency.trading_allowed ? " (trading)" : " (not trading)") << '\n'
            << "  since sequence " << c.sequence << " by " << to_string(c.source) << ": "
            << (c.reason.empty() ? std::string{"-"} : c.reason) << '\n'
            << "  bots: " << s.bots.running << " running, " << s.bots.stopped << " stopped, "
            << s.bots.given_up << " given up; " << s.emergency.bots_acknowledged << " of "
            << s.emergency.bots_registered << " registered acknowledged the level\n"
            << "  orders " << s.bots.orders << ", fills " << s.bots.fills << ", P&L " << s.bots.pnl
            << '\n';
  for (const auto& l : s.emergency.limits)
    std::cout << "  limit " << l.name << ": " << l.current << " of " << l.limit << " ("
              << l.utilization << "%)\n";
  for (const auto& b : s.breakers)
    std::cout << "  breaker " << b.endpoint << ": " << to_string(b.state) << '\n';
  if (s.emergency.isolated)
    std::cout << "  ISOLATED: the dead man's switch holds this node halted until contact is "
                 "back and an operator resumes\n";
  if (!s.clustered)
    return;
  std::cout << "  cluster (this node listens on "
            << (s.cluster.self.address.empty() ? std::string{"-"} : s.cluster.self.address)
            << "):\n";
  for (const auto& m : s.cluster.members) {
    std::cout << "    " << (m.info.name.empty() ? std::string{"?"} : m.info.name) << " at "
              << (m.info.address.empty() ? m.configured_address : m.info.address) << ": ";
    if (m.connected)
      std::cout << to_string(m.info.level.level) << ", " << m.info.bots << " bots, heard "
                << (now_us() - m.last_heard_us) / 1000 << " ms ago"
                << (m.info.isolated ? ", isolated" : "");
    else
      std::cout << "NOT CONNECTED"
                << (m.last_error.empty() ? std::string{} : " (" + m.last_error + ")");
    std::cout << '\n';
  }
  if (s.cluster.store_shared && !s.cluster.store_reachable)
    std::cout << "    the shared state store is unreachable\n";
}

} // namespace

int control_command(const control_command_options& options) {
  host_port address;
  std::string why;
  if (!parse_host_port(options.node, address, why)) {
    std::cerr << "brokedancer: --node must be HOST:PORT with a port from 1 to 65535, not \""
              << options.node << "\"\n";
    return exit_code::usage;
  }
  emergency_level level = emergency_level::halt;
  if (options.command == "resume" && !from_string(options.level, level)) {
    std::cerr << "brokedancer: --level must be NORMAL or ALERT, not \"" << options.level << "\"\n";
    return exit_code::usage;
  }
  if (options.command != "status" && options.reason.empty()) {
    std::cerr << "brokedancer: " << options.command
              << " needs --reason TEXT: every level change is recorded with its reason\n";
    return exit_code::usage;
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  register_message_types(cfg);
  // A node of a cluster drops a connection that sends no heartbeats (node.connection_timeout_ms,
  // 100 ms at the least): keep ours alive while a halt waits for the bots.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(50)});
  caf::actor_system sys{cfg};
  auto node = sys.middleman().remote_actor<node_control_actor>(address.host, address.port);
  if (!node) {
    std::cerr << "brokedancer: no node answers at " << options.node << ": "
              << sys.render(node.error())
              << " (is it running with node.control_port = " << address.port << "?)\n";
    return exit_code::node_unreachable;
  }
  caf::scoped_actor self{sys};
  int code = exit_code::ok;
  auto refused = [&](const caf::error& err) {
    std::cerr << "brokedancer: the node refused " << options.command << ": " << sys.render(err)
              << '\n';
    code = exit_code::command_refused;
  };
  auto changed = [&](const control_reply& reply) {
    std::cout << "node " << options.node << " is at " << to_string(reply.change.level)
              << " (sequence " << reply.change.sequence << "); " << reply.bots
              << " bots acknowledged within " << reply.acknowledged_us / 1000.0 << " ms\n";
  };
  // A change returns once every bot has acknowledged it, which the node bounds at 60 s.
  auto timeout = std::chrono::seconds(75);
  if (options.command == "status") {
    self->request(*node, timeout, status_atom::value)
        .receive(
            [&](const node_status& s) {
              if (options.json)
                std::cout << status_json(s).dump(2) << '\n';
              else
                print_status(s);
            },
            refused);
  } else if (options.command == "resume") {
    self->request(*node, timeout, resume_atom::value, level, options.reason)
        .receive(changed, refused);
  } else {
    level = options.command == "shutdown" ? emergency_level::shutdown : emergency_level::halt;
    self->request(*node, timeout, raise_atom::value, level, options.reason)
        .receive(changed, refused);
  }
  return code;
}

} // namespace brokedancer
