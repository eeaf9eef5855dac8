#pragma once

namespace brokedancer {

// The process clears OpenSSL's error queue before each TLS read, write and handshake
// (runtime/openssl_error_queue.cpp says why). This does nothing: calling it keeps the object
// that does it linked (from the static runtime library) into every program using TLS.
void link_openssl_error_queue_clearing();

} // namespace brokedancer
