#pragma once

namespace brokedancer {

// Whether the process clears OpenSSL's error queue before each TLS read, write and handshake
// (runtime/openssl_error_queue.cpp says why). Always true; calling it keeps the object that does
// it linked into every program that uses TLS between nodes.
bool openssl_error_queue_cleared();

} // namespace brokedancer
