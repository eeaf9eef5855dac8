#pragma once

// A peer's proof of identity (node_identity::check), against a throwaway authority made once
// per process with the openssl command line: an RSA CA and a node "fuzz-node" whose PEM holds
// its certificate and the CA's, so that check() also gets an untrusted chain.
//
// Input: one byte of flags, then NAME \0 PAYLOAD \0 CERTIFICATE \0 SIGNATURE (the last may hold
// NULs). Random bytes never chain to the authority, so the flags let the fuzzer start from a
// genuine proof and change it:
//   1: the certificate is this node's own PEM, patched by CERTIFICATE (see patched());
//   2: the signature is this node's RSA signature of PAYLOAD (deterministic), patched likewise;
//   4: the claimed name is this node's own.
// A genuine proof (flags 7, no patches) must pass, and with any other name must not.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include "core/node_identity.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline std::unique_ptr<node_identity> make_throwaway_identity() {
  namespace fs = std::filesystem;
  auto dir =
      fs::temp_directory_path() / ("brokedancer-fuzz-identity-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string script =
      "cd '" + dir.string()
      + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj /CN=fuzz-ca "
        "-days 2 && "
        "openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj /CN=fuzz-node && "
        "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem "
        "-days 2 && cat ca.pem >> node.pem";
  bool made = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  std::string why = "the openssl command line failed";
  std::unique_ptr<node_identity> identity;
  if (made)
    identity = node_identity::load((dir / "node.pem").string(), (dir / "node.key").string(),
                                   (dir / "ca.pem").string(), "", why);
  fs::remove_all(dir);
  if (!identity)
    throw std::runtime_error("cannot make a throwaway node identity: " + why);
  return identity;
}

inline const node_identity& throwaway_identity() {
  static const auto identity = make_throwaway_identity();
  return *identity;
}

// `base` with `patch` written over it: patch[0..1] is the offset (little-endian, modulo the
// size), the rest the bytes written there. An empty patch leaves `base` as it is.
inline std::string patched(std::string base, std::string_view patch) {
  if (patch.size() < 2 || base.empty())
    return base;
  auto offset = (static_cast<unsigned char>(patch[0]) | static_cast<unsigned char>(patch[1]) << 8)
                % base.size();
  auto bytes = patch.substr(2);
  base.resize(std::max(base.size(), offset + bytes.size()));
  base.replace(offset, bytes.size(), bytes);
  return base;
}

inline void node_proof(std::string_view input) {
  if (input.empty())
    return;
  const auto& identity = throwaway_identity();
  auto flags = static_cast<unsigned char>(input[0]);
  auto fields = split_fields(input.substr(1), 4);
  std::string name(flags & 4 ? std::string_view{identity.name()} : fields[0]);
  std::string payload(fields[1]);
  auto certificate =
      flags & 1 ? patched(identity.certificate_pem(), fields[2]) : std::string(fields[2]);
  auto signature = flags & 2 ? patched(identity.sign(payload), fields[3]) : std::string(fields[3]);
  auto why = identity.check(certificate, signature, payload, name);
  bool genuine = (flags & 3) == 3 && fields[2].size() < 2 && fields[3].size() < 2;
  if (genuine)
    expect(why.empty() == (name == identity.name()),
           "a genuine proof passes for its own name and for no other");
}

} // namespace brokedancer::fuzz
