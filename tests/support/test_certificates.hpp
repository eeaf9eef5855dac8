#pragma once

// A temporary directory with a cluster authority (ca.pem, ca.key) made the way `brokedancer
// certs` makes it, and node certificates issued in it on request; removed with the object.

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/certificates.hpp"

namespace brokedancer::testing {

struct test_certificates {
  std::string dir;

  test_certificates() {
    char pattern[] = "/tmp/brokedancer-certs-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    certificate_request authority;
    authority.dir = dir;
    REQUIRE(make_authority(authority) == 0);
  }

  ~test_certificates() {
    [[maybe_unused]] auto ignored = std::system(("rm -rf '" + dir + "'").c_str());
  }

  test_certificates(const test_certificates&) = delete;
  test_certificates& operator=(const test_certificates&) = delete;

  // dir/NAME.pem and dir/NAME.key, naming `ips` and `dns` as the node's hosts.
  void issue(const std::string& name, std::vector<std::string> ips = {},
             std::vector<std::string> dns = {}) const {
    certificate_request node;
    node.dir = dir;
    node.name = name;
    node.ips = std::move(ips);
    node.dns = std::move(dns);
    REQUIRE(make_node_certificate(node) == 0);
  }

  std::string pem(const std::string& name) const {
    std::ifstream in{dir + "/" + name + ".pem"};
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
};

} // namespace brokedancer::testing
