// OpenSSL keeps one error queue per thread, and SSL_get_error() reports SSL_ERROR_SSL whenever
// that queue is not empty, whatever the call it is asked about did. OpenSSL's manual says to
// empty the queue before every TLS I/O call; CAF 0.17's OpenSSL module (libcaf_openssl, which
// carries the traffic between nodes) never does, and drains it only in log statements that this
// CAF build compiles out. All its sessions share the middleman's one network thread, so an
// error left by a stranger's session (a client without a certificate, a peer that closes without
// a close_notify: "unexpected eof while reading") made the next read of a member's healthy
// session look failed, and CAF closed that connection: both nodes lost each other within a
// heartbeat of any stranger leaving, and on reconnecting often lost each other again (two
// connections between the same nodes). Measured: in the cluster test of intruders, every
// intruder's exit dropped the link between the two members 35-150 ms later.
//
// These definitions take the place of libssl's for the whole process (the executable's
// symbols come first in the dynamic linker's lookup, libcaf_openssl's calls included): each
// empties the calling thread's queue, then calls libssl's own function.

#include "runtime/openssl_error_queue.hpp"

#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

// libssl's own `name`. Without it no TLS can work at all: stop at once, saying why, rather than
// jump to address 0 on the first read.
template <class Function>
Function libssl(const char* name) {
  auto found = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
  if (!found) {
    std::fprintf(stderr, "brokedancer: libssl's %s not found (%s)\n", name, dlerror());
    std::abort();
  }
  return found;
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = libssl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = libssl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto real = libssl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto real = libssl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}

} // extern "C"

namespace brokedancer {

void link_openssl_error_queue_clearing() {
  // nop: being called is what keeps this object in the program
}

} // namespace brokedancer
