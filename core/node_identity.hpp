#pragma once

// Proof that a peer is the node it says it is. CAF's OpenSSL module checks that both ends of a
// connection hold a certificate of the cluster's authority, but not which one: any node of the
// cluster could claim any other's name. So each hello carries the sender's certificate and a
// signature, made with the key of that certificate, over what binds it to this one exchange:
//
//   brokedancer-hello-v2 \n <sender's name> \n <sender's CAF node id> \n <receiver's CAF node id>
//   \n <time, microseconds since the epoch> \n <sender's session key half, hex>
//   \n <in a welcome: the hello's session key half it answers, hex>
//
// The receiver checks that the certificate chains to the authority, that its subject's common
// name is the name claimed, that the signature verifies with its key, that the receiver's node
// id is its own and that the time is within a minute of its clock. A hello cannot then be
// replayed to another node, nor be made without the named node's private key, and the session
// key half it carries (core/peer_session.hpp) is the named node's own.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace brokedancer {

// What a peer's certificate and signature may weigh at most: enough for a chain of a few
// certificates, not a way to make a node parse megabytes.
constexpr size_t max_certificate_bytes = 16 * 1024;
constexpr size_t max_signature_bytes = 1024;
// How far a hello's time may be from the receiver's clock.
constexpr int64_t max_hello_skew_us = 60'000'000;

std::string hello_payload(std::string_view name, std::string_view from_node,
                          std::string_view to_node, int64_t at_us, std::string_view session_public,
                          std::string_view answers = {});

class node_identity {
public:
  // Loads this node's certificate (chain), its key and the authority peers must hold a
  // certificate of. Returns nothing and says why when any of them cannot be used.
  static std::unique_ptr<node_identity> load(const std::string& certificate_file,
                                             const std::string& key_file,
                                             const std::string& ca_file,
                                             const std::string& passphrase, std::string& why);
  ~node_identity();

  node_identity(const node_identity&) = delete;
  node_identity& operator=(const node_identity&) = delete;

  // The common name of this node's own certificate.
  const std::string& name() const;
  // This node's certificate chain, PEM, as peers are shown it.
  const std::string& certificate_pem() const;
  // A signature of `payload` with this node's key; empty if signing failed.
  std::string sign(std::string_view payload) const;

  // Empty when `certificate_pem` is a certificate of the authority whose common name is
  // `claimed_name` and `signature` is its key's signature of `payload`; otherwise why not.
  std::string check(std::string_view certificate_pem, std::string_view signature,
                    std::string_view payload, std::string_view claimed_name) const;

  // Whether the first certificate of `certificate_pem` names `host` (an IP address or a DNS
  // name) among its subject alternative names: that a peer may say it listens there.
  static bool names_host(std::string_view certificate_pem, std::string_view host);

private:
  node_identity();
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace brokedancer
