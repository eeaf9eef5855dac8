#include "cli/cli.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "actors/supervision/supervisor.hpp"
#include "cli/control_command.hpp"
#include "cli/exchange_command.hpp"
#include "cli/run_command.hpp"
#include "cli/workflow_command.hpp"
#include "core/host_port.hpp"
#include "core/json_text.hpp"
#include "core/secret_masker.hpp"
#include "runtime/build_info.hpp"
#include "runtime/certificates.hpp"
#include "runtime/config.hpp"
#include "runtime/config_schema.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/operator_auth.hpp"
#include "runtime/runtime.hpp"

namespace brokedancer {

namespace {

void report(const config_error& err) {
  for (const auto& problem : err.problems())
    std::cerr << "error: " << problem.render() << '\n';
  std::cerr << "brokedancer: the configuration was rejected (" << err.problems().size()
            << (err.problems().size() == 1 ? " problem" : " problems") << ")\n";
}

int config_check(const std::string& path) {
  auto env = process_environment();
  try {
    auto config = load_selected_config(path, env);
    std::cout << dump_json(config.masked(), 2) << '\n';
    std::cerr << "config OK: " << config.source;
    if (!config.overrides.empty()) {
      std::cerr << "; environment overrides:";
      for (const auto& name : config.overrides)
        std::cerr << ' ' << name;
    }
    std::cerr << '\n';
    return exit_code::ok;
  } catch (const config_error& err) {
    report(err);
    return exit_code::config_invalid;
  }
}

int config_keys() {
  auto all = config_schema();
  for (const auto& s : endpoint_schema())
    all.push_back(s);
  for (const auto& s : all) {
    std::cout << s.json_path() << "  (" << s.environment_name() << ")\n    " << to_string(s.kind);
    if (!s.secret)
      std::cout << ", default " << s.default_value.dump();
    else
      std::cout << ", secret: from the environment only";
    std::cout << "\n    " << s.help << '\n';
  }
  return exit_code::ok;
}

// `brokedancer credentials add`: a new token, printed once; its digest appended to the file.
int add_credential(const std::string& name, const std::string& role_text, const std::string& file) {
  operator_credential credential;
  credential.name = name;
  if (!valid_node_name(name)) {
    std::cerr << "brokedancer: --name is 1 to 64 letters, digits, '-', '_' or '.'\n";
    return exit_code::usage;
  }
  if (!from_string(role_text, credential.role)) {
    std::cerr << "brokedancer: --role is viewer, operator or risk, not \"" << role_text << "\"\n";
    return exit_code::usage;
  }
  std::vector<operator_credential> existing;
  {
    std::ifstream in{file};
    if (in) {
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string why;
      if (!parse_credentials(text, existing, why)) {
        std::cerr << "brokedancer: " << file << ": " << why << '\n';
        return exit_code::config_invalid;
      }
    }
  }
  for (const auto& c : existing)
    if (c.name == name) {
      std::cerr << "brokedancer: " << file << " has a credential called \"" << name
                << "\" already; pick another name, or remove its line first\n";
      return exit_code::usage;
    }
  auto token = make_token();
  credential.digest = digest_of(token);
  // Only digests are written, but nobody else needs to read them: 0600.
  auto old_mask = umask(077);
  std::ofstream out{file, std::ios::app};
  umask(old_mask);
  if (!out) {
    std::cerr << "brokedancer: cannot write \"" << file << "\"\n";
    return exit_code::internal_error;
  }
  out << credential_line(credential) << '\n';
  out.close();
  if (!out) {
    std::cerr << "brokedancer: cannot write \"" << file << "\"\n";
    return exit_code::internal_error;
  }
  std::cerr << "credential \"" << name << "\" (role " << to_string(credential.role) << ") added to "
            << file
            << ". Its token follows; it is shown once and the node keeps only its digest:\n";
  std::cout << token << '\n';
  return exit_code::ok;
}

} // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{"brokedancer: an actor runtime that hosts trading bots", "brokedancer"};
  app.set_version_flag("--version", std::string("brokedancer ") + std::string(version()));
  app.require_subcommand(1);

  auto* config_cmd = app.add_subcommand("config", "Work with configuration files");
  config_cmd->require_subcommand(1);
  std::string check_path;
  auto* check_cmd = config_cmd->add_subcommand(
      "check", "Validate a config file and print the effective configuration (environment "
               "overrides applied, secrets masked); exit code 2 when it is rejected");
  check_cmd->add_option("file", check_path,
                        "JSON config file; default: $BROKEDANCER_CONFIG, else the embedded "
                        "development configuration");

  auto* keys_cmd = config_cmd->add_subcommand(
      "keys", "List every setting: JSON path, environment variable, type, default");

  auto* run_cmd = app.add_subcommand(
      "run", "Boot the runtime with its bots and run until the duration ends, SIGINT/SIGTERM (a "
             "graceful SHUTDOWN: positions closed, exit code 0) or an emergency SHUTDOWN");
  run_command_options run_options;
  run_cmd->add_option("-c,--config", run_options.config_path,
                      "JSON config file; default: $BROKEDANCER_CONFIG, else the embedded "
                      "development configuration");
  run_cmd->add_option("-b,--bots", run_options.bots, "bots to spawn (overrides bots.count)")
      ->check(CLI::Range(0, 1000000));
  run_cmd->add_option("-d,--duration", run_options.duration_s, "stop after this many seconds")
      ->check(CLI::Range(0.001, 1e7));
  run_cmd->add_option("--seed", run_options.seed,
                      "random seed of the market and every simulated endpoint (overrides "
                      "market.seed and resilience.endpoints.*.seed)");
  run_cmd->add_flag("--json", run_options.json, "print the summary as JSON on standard output");
  run_cmd
      ->add_flag("--dashboard", run_options.dashboard,
                 "serve the live dashboard and /metrics on the operator API (node.control_port, "
                 "else 8642, on node.control_host) and print its address with a viewer "
                 "credential valid for this run only")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto address_check = [](bool any_port) {
    return CLI::Validator(
        [any_port](std::string& text) {
          std::vector<host_port> parsed;
          host_port one;
          std::string why;
          bool ok = any_port ? parse_host_port(text, one, why, true)
                             : parse_host_port_list(text, parsed, why);
          return ok ? std::string{} : why;
        },
        "HOST:PORT");
  };
  run_cmd
      ->add_option("--listen", run_options.listen,
                   "listen for peer nodes on HOST:PORT (overrides node.listen)")
      ->check(address_check(true));
  run_cmd
      ->add_option("--join", run_options.join,
                   "join the peer node at HOST:PORT; repeatable (overrides node.peers)")
      ->check(address_check(false));

  auto* exchange_cmd = app.add_subcommand(
      "exchange", "Run the simulated exchange as its own process behind an HTTP/JSON API (orders, "
                  "cancels, order status, fills, health), for nodes whose endpoint is of type "
                  "http; until SIGINT/SIGTERM");
  exchange_command_options exchange_options;
  exchange_cmd
      ->add_option("--listen", exchange_options.listen,
                   "HOST:PORT to serve on (default 127.0.0.1:0, any free port; the port is "
                   "printed)")
      ->check(address_check(true));
  exchange_cmd->add_option("--ledger", exchange_options.ledger_file,
                           "keep the ledger in this file (JSON lines) as well, across restarts of "
                           "the exchange");
  exchange_cmd->add_flag("--fsync", exchange_options.fsync,
                         "flush the ledger file to disk after every record");
  exchange_cmd->add_option("--fee-rate", exchange_options.fee_rate, "fee as a share of notional")
      ->check(CLI::Range(0.0, 0.1));

  auto* workflow_cmd = app.add_subcommand("workflow", "Work with workflow definitions");
  workflow_cmd->require_subcommand(1);
  std::string workflow_path;
  auto* workflow_validate_cmd = workflow_cmd->add_subcommand(
      "validate", "Check a workflow definition and report every problem with its JSON path; "
                  "exit code 2 when it is rejected");
  workflow_validate_cmd->add_option("file", workflow_path, "JSON workflow definition")->required();
  workflow_run_options workflow_run_opts;
  auto* workflow_run_cmd = workflow_cmd->add_subcommand(
      "run", "Run a workflow once on the configured runtime, showing each node as it starts and "
             "ends; exit code 0 completed, 9 failed, 10 halted, 2 invalid");
  workflow_run_cmd->add_option("file", workflow_run_opts.path, "JSON workflow definition")
      ->required();
  workflow_run_cmd->add_option("-c,--config", workflow_run_opts.config_path,
                               "JSON config file; default: $BROKEDANCER_CONFIG, else the embedded "
                               "development configuration");
  workflow_run_cmd->add_flag("--json", workflow_run_opts.json, "print the result as JSON");
  workflow_run_cmd
      ->add_option("--timeout", workflow_run_opts.timeout_s,
                   "seconds before the execution is cancelled (default 600)")
      ->check(CLI::Range(0.1, 86400.0));
  auto* workflow_types_cmd = workflow_cmd->add_subcommand(
      "types", "List the node types a workflow may use, with parameters, inputs and outputs");
  // A running node's workflows, through its operator API (as status, halt, ... do).
  workflow_operator_options workflow_op;
  auto* workflow_history_cmd = workflow_cmd->add_subcommand(
      "history", "The newest executions of a workflow on a running node, newest first");
  workflow_history_cmd->add_option("workflow_id", workflow_op.id, "the workflow's id")->required();
  workflow_history_cmd->add_option("--limit", workflow_op.limit, "how many (default 20)")
      ->check(CLI::Range(1, 1000));
  workflow_history_cmd->add_flag("--json", workflow_op.node.json, "print the entries as JSON");
  auto* workflow_breaker_cmd = workflow_cmd->add_subcommand(
      "breaker", "Force a workflow's breaker open (any role), or closed or reset (risk role), on "
                 "a running node");
  workflow_breaker_cmd->add_option("workflow_id", workflow_op.id, "the workflow's id")->required();
  workflow_breaker_cmd->add_option("action", workflow_op.action, "force_open, force_close, reset")
      ->required()
      ->check(CLI::IsMember({"force_open", "force_close", "reset"}));
  auto* workflow_cancel_cmd = workflow_cmd->add_subcommand(
      "cancel", "End a running execution (started by the node's executor) as cancelled");
  workflow_cancel_cmd->add_option("execution_id", workflow_op.id, "the execution's id")->required();
  auto* workflow_start_cmd = workflow_cmd->add_subcommand(
      "start", "Start one execution of a workflow of a running node now, through its gate; "
               "prints the execution's id");
  workflow_start_cmd->add_option("workflow_id", workflow_op.id, "the workflow's id")->required();
  auto* workflow_resume_cmd = workflow_cmd->add_subcommand(
      "resume", "Run an interrupted execution again from its checkpoint (risk role): completed "
                "nodes are not run again, nor is a node that is not idempotent");
  workflow_resume_cmd->add_option("execution_id", workflow_op.id, "the execution's id")->required();
  for (auto* cmd : {workflow_history_cmd, workflow_breaker_cmd, workflow_cancel_cmd,
                    workflow_start_cmd, workflow_resume_cmd}) {
    cmd->add_option("-n,--node", workflow_op.node.node,
                    "HOST:PORT (or https://HOST:PORT) of the node's operator API")
        ->required();
    cmd->add_option("--token-file", workflow_op.node.token_file,
                    "file holding your operator token (default: $BROKEDANCER_TOKEN)");
    cmd->add_option("--ca-file", workflow_op.node.ca_file,
                    "for https://: the authority that signed the node's certificate");
    if (cmd != workflow_history_cmd)
      cmd->add_option("-r,--reason", workflow_op.node.reason, "why; recorded in the audit trail")
          ->required();
  }

  auto* credentials_cmd = app.add_subcommand("credentials", "Manage operator credentials");
  credentials_cmd->require_subcommand(1);
  std::string credential_name, credential_role = "operator", credentials_file;
  auto* add_cmd = credentials_cmd->add_subcommand(
      "add", "Make a new operator token: print it once, append its digest to the file that "
             "node.credentials_file names");
  add_cmd->add_option("--name", credential_name, "who holds it (shown in the audit trail)")
      ->required();
  add_cmd->add_option(
      "--role", credential_role,
      "viewer (status, metrics, events, dashboard), operator (also halt, shutdown) or risk "
      "(also resume)");
  add_cmd->add_option("--file", credentials_file, "the credentials file")->required();

  auto* certs_cmd = app.add_subcommand(
      "certs", "Make the certificates of a cluster's mutual TLS and of HTTPS operator APIs");
  certs_cmd->require_subcommand(1);
  certificate_request certs;
  auto* ca_cmd = certs_cmd->add_subcommand("ca", "Make the cluster's authority: DIR/ca.pem, "
                                                 "DIR/ca.key");
  ca_cmd->add_option("--dir", certs.dir, "where to write them")->required();
  ca_cmd->add_option("--days", certs.days, "validity (default 3650)")->check(CLI::Range(1, 36500));
  auto* node_cert_cmd = certs_cmd->add_subcommand(
      "node", "Make a node's certificate, signed by DIR/ca.*: DIR/NAME.pem, DIR/NAME.key "
              "(CN=NAME: the node's runtime.node_name)");
  node_cert_cmd->add_option("name", certs.name, "the node's name")->required();
  node_cert_cmd->add_option("--dir", certs.dir, "where the authority is and the files go")
      ->required();
  node_cert_cmd->add_option("--ip", certs.ips, "an address the node is reached at; repeatable");
  node_cert_cmd->add_option("--dns", certs.dns, "a host name the node is reached at; repeatable");
  node_cert_cmd->add_option("--days", certs.days, "validity (default 825)")
      ->check(CLI::Range(1, 36500));

  // Operator control of a running node through its operator API (node.control_port).
  control_command_options control;
  std::vector<CLI::App*> control_cmds;
  for (auto [name, help] : std::initializer_list<std::pair<const char*, const char*>>{
           {"status", "Show a running node's level, bots, risk limits and breakers"},
           {"halt", "HALT a running node: no new orders, open ones cancelled; returns once "
                    "every bot has acknowledged"},
           {"reduce-only", "Put a running node at REDUCE_ONLY: only orders that reduce a "
                           "position pass; returns once every bot has acknowledged"},
           {"resume", "Lower a running node's level (to NORMAL by default), as an operator"},
           {"flatten", "Close a running node's positions (all, or --symbol's) with reduce-only "
                       "orders, and report each close"},
           {"cancel-all", "Cancel the working orders of a running node's bots (all, or those of "
                          "--bot, --strategy or --symbol), and report each cancel's answer"},
           {"shutdown", "SHUTDOWN a running node: positions closed, bots stopped, the process "
                        "exits"}}) {
    auto* cmd = app.add_subcommand(name, help);
    cmd->add_option("-n,--node", control.node,
                    "HOST:PORT (or https://HOST:PORT) of the node's operator API")
        ->required();
    cmd->add_option("--token-file", control.token_file,
                    "file holding your operator token (default: $BROKEDANCER_TOKEN)");
    cmd->add_option("--ca-file", control.ca_file,
                    "for https://: the authority that signed the node's certificate");
    if (std::string{name} != "status")
      cmd->add_option("-r,--reason", control.reason, "why; recorded with the change")->required();
    if (std::string{name} == "resume")
      cmd->add_option("-l,--level", control.level,
                      "the level to go down to: NORMAL, ALERT or REDUCE_ONLY");
    if (std::string{name} == "flatten")
      cmd->add_option("-s,--symbol", control.symbol,
                      "close only this symbol's positions (on every venue)");
    if (std::string{name} == "halt" || std::string{name} == "reduce-only"
        || std::string{name} == "resume" || std::string{name} == "cancel-all") {
      // One scope at most: the change is that scope's instead of the node's.
      auto* group = cmd->add_option_group("scope", "change one scope instead of the node");
      for (const char* kind : {"bot", "strategy", "symbol", "endpoint"})
        group
            ->add_option_function<std::string>(
                std::string{"--"} + kind,
                [&control, kind](const std::string& value) {
                  control.scope_kind = kind;
                  control.scope_name = value;
                },
                std::string{"only this "} + kind + " (its id or name)")
            ->type_name("NAME");
      group->require_option(0, 1);
    }
    if (std::string{name} == "status")
      cmd->add_flag("--json", control.json, "print the status as JSON");
    control_cmds.push_back(cmd);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& done) {
    return app.exit(done);
  } catch (const CLI::ParseError& err) {
    app.exit(err);
    return exit_code::usage;
  }
  if (check_cmd->parsed())
    return config_check(check_path);
  if (keys_cmd->parsed())
    return config_keys();
  if (run_cmd->parsed())
    return run_command(run_options);
  if (exchange_cmd->parsed())
    return exchange_command(exchange_options);
  if (workflow_validate_cmd->parsed())
    return workflow_validate(workflow_path);
  if (workflow_run_cmd->parsed())
    return workflow_run(workflow_run_opts);
  if (workflow_types_cmd->parsed())
    return workflow_types();
  for (auto* cmd : {workflow_history_cmd, workflow_breaker_cmd, workflow_cancel_cmd,
                    workflow_start_cmd, workflow_resume_cmd})
    if (cmd->parsed()) {
      workflow_op.node.command = "workflow " + cmd->get_name();
      return workflow_operator_command(workflow_op);
    }
  if (ca_cmd->parsed())
    return make_authority(certs);
  if (node_cert_cmd->parsed())
    return make_node_certificate(certs);
  if (add_cmd->parsed())
    return add_credential(credential_name, credential_role, credentials_file);
  for (auto* cmd : control_cmds)
    if (cmd->parsed()) {
      control.command = cmd->get_name();
      return control_command(control);
    }
  return exit_code::usage;
}

} // namespace brokedancer
