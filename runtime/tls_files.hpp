#pragma once

// TLS between nodes is CAF's OpenSSL module, which reads the certificate, key and CA file only
// when the first connection is made -- in its network thread, where a bad file ends the
// process. The runtime reads them the same way at start instead, and refuses to start with a
// clear message.

#include <string>

namespace brokedancer {

// Empty when the certificate chain, its key (decrypted with `passphrase` if it is encrypted),
// and the CA file load and belong together; otherwise what is wrong. Never contains the
// passphrase.
std::string check_tls_files(const std::string& certificate, const std::string& key,
                            const std::string& ca, const std::string& passphrase);

} // namespace brokedancer
