#include "runtime/certificates.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/host_port.hpp"
#include "core/openssl_handles.hpp"
#include "runtime/exit_codes.hpp"

namespace brokedancer {

namespace {

using openssl::pkey_ptr;
using openssl::x509_ptr;

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int fail(const std::string& why) {
  std::cerr << "brokedancer certs: " << why << '\n';
  return exit_code::usage;
}

// Writes with `mode`, refusing to replace a file that is there.
template <class Write>
bool write_new(const std::string& path, mode_t mode, Write write, std::string& why) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) {
    why = "cannot create \"" + path + "\" (is it there already?)";
    return false;
  }
  FILE* file = fdopen(fd, "w");
  bool ok = file != nullptr && write(file) == 1;
  if (file != nullptr)
    ok = std::fclose(file) == 0 && ok;
  else
    close(fd);
  if (!ok) {
    why = "cannot write \"" + path + "\": " + openssl::last_error();
    unlink(path.c_str());
  }
  return ok;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr)
    return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key`, named `name`, valid from now for `days`; self-signed when
// `issuer` is null.
x509_ptr make_certificate(EVP_PKEY* key, const std::string& name, int days, X509* issuer,
                          EVP_PKEY* issuer_key, bool authority, const std::string& alt_names) {
  x509_ptr cert{X509_new()};
  if (!cert)
    return nullptr;
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1)
    return nullptr;
  serial_bytes[0] &= 0x7F; // positive
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300); // tolerate a little clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(),
                       issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get()));
  X509* signer = issuer ? issuer : cert.get();
  bool ok = true;
  if (authority) {
    ok = add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE")
         && add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign")
         && add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE")
         && add_extension(cert.get(), signer, NID_key_usage,
                          "critical,digitalSignature,keyEncipherment")
         && add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth")
         && add_extension(cert.get(), signer, NID_subject_alt_name, alt_names)
         && add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  }
  if (!ok || X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    return nullptr;
  return cert;
}

pkey_ptr new_key() {
  return pkey_ptr{EVP_EC_gen("P-256")};
}

// The key (mode 0600) and its certificate, neither written over an existing file.
bool write_pair(const std::string& key_path, EVP_PKEY* key, const std::string& cert_path,
                X509* cert, std::string& why) {
  return write_new(
             key_path, 0600,
             [&](FILE* f) {
               return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
             },
             why)
         && write_new(
             cert_path, 0644, [&](FILE* f) { return PEM_write_X509(f, cert); }, why);
}

} // namespace

int make_authority(const certificate_request& request) {
  auto cert_path = request.dir + "/ca.pem";
  auto key_path = request.dir + "/ca.key";
  if (exists(cert_path) || exists(key_path))
    return fail(cert_path + " or " + key_path + " exists already; nothing was changed");
  mkdir(request.dir.c_str(), 0700);
  auto key = new_key();
  if (!key)
    return fail("cannot make a key: " + openssl::last_error());
  auto cert = make_certificate(key.get(), "brokedancer cluster authority",
                               request.days > 0 ? request.days : 3650, nullptr, nullptr, true, "");
  if (!cert)
    return fail("cannot make the certificate: " + openssl::last_error());
  std::string why;
  if (!write_pair(key_path, key.get(), cert_path, cert.get(), why))
    return fail(why);
  std::cerr << "brokedancer certs: wrote " << cert_path << " and " << key_path
            << " (keep the key offline; every node gets ca.pem as node.tls_ca)\n";
  return exit_code::ok;
}

int make_node_certificate(const certificate_request& request) {
  if (!valid_node_name(request.name))
    return fail("a node's name is 1 to 64 letters, digits, '-', '_' or '.', as "
                "runtime.node_name");
  auto ca_cert_path = request.dir + "/ca.pem";
  auto ca_key_path = request.dir + "/ca.key";
  FILE* ca_file = std::fopen(ca_cert_path.c_str(), "r");
  FILE* ca_key_file = std::fopen(ca_key_path.c_str(), "r");
  x509_ptr ca_cert{ca_file ? PEM_read_X509(ca_file, nullptr, nullptr, nullptr) : nullptr};
  pkey_ptr ca_key{ca_key_file ? PEM_read_PrivateKey(ca_key_file, nullptr, nullptr, nullptr)
                              : nullptr};
  if (ca_file)
    std::fclose(ca_file);
  if (ca_key_file)
    std::fclose(ca_key_file);
  if (!ca_cert || !ca_key)
    return fail("cannot read the authority " + ca_cert_path + " and " + ca_key_path
                + "; make it first with `brokedancer certs ca --dir " + request.dir + "`");
  auto cert_path = request.dir + "/" + request.name + ".pem";
  auto key_path = request.dir + "/" + request.name + ".key";
  if (exists(cert_path) || exists(key_path))
    return fail(cert_path + " or " + key_path + " exists already; nothing was changed");
  std::string alt = "DNS:" + request.name + ",DNS:localhost,IP:127.0.0.1";
  for (const auto& ip : request.ips) {
    if (!valid_host(ip) || ip.find_first_not_of("0123456789.:abcdefABCDEF") != std::string::npos)
      return fail("--ip takes an IP address, not \"" + ip + "\"");
    alt += ",IP:" + ip;
  }
  for (const auto& name : request.dns) {
    if (!valid_host(name))
      return fail("--dns takes a host name, not \"" + name + "\"");
    alt += ",DNS:" + name;
  }
  auto key = new_key();
  if (!key)
    return fail("cannot make a key: " + openssl::last_error());
  auto cert = make_certificate(key.get(), request.name, request.days > 0 ? request.days : 825,
                               ca_cert.get(), ca_key.get(), false, alt);
  if (!cert)
    return fail("cannot make the certificate: " + openssl::last_error());
  std::string why;
  if (!write_pair(key_path, key.get(), cert_path, cert.get(), why))
    return fail(why);
  std::cerr << "brokedancer certs: wrote " << cert_path << " and " << key_path << " for node \""
            << request.name << "\" (" << alt << ")\n";
  return exit_code::ok;
}

} // namespace brokedancer
