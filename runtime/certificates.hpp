#pragma once

// `brokedancer certs`: the certificates a cluster and its operator API run on, made with
// OpenSSL's library so that no one has to get `openssl req` right by hand.
//
//   certs ca --dir DIR                       DIR/ca.pem, DIR/ca.key: the cluster's authority
//   certs node NAME --dir DIR [--ip IP ...]  DIR/NAME.pem, DIR/NAME.key, signed by DIR/ca.*:
//                                            CN=NAME (the name peers must claim), subject
//                                            alternative names DNS:NAME, DNS:localhost and every
//                                            --ip/--dns given (for HTTPS on the operator API)
//
// Keys are ECDSA P-256, written with mode 0600; nothing is overwritten.

#include <string>
#include <vector>

namespace brokedancer {

struct certificate_request {
  std::string dir;
  std::string name;             // the node's name; empty for the authority
  std::vector<std::string> ips; // subject alternative names
  std::vector<std::string> dns; // subject alternative names
  int days = 0;                 // 0: 3650 for the authority, 825 for a node
};

// Returns the process exit code; says what it wrote, or why not, on standard error.
int make_authority(const certificate_request& request);
int make_node_certificate(const certificate_request& request);

} // namespace brokedancer
