// Small network helpers shared by the test suites that run servers or stubs on loopback.
#pragma once

#include <string>

namespace bxtest {

/// A TCP port on 127.0.0.1 where nothing listens (bound once, then released).
int closed_port();

struct TestCert {
  std::string cert_pem, key_pem;
};
/// A self-signed certificate (its own CA) and its key, PEM, for the given subjectAltName,
/// e.g. "DNS:localhost,IP:127.0.0.1"; valid from an hour ago for a day.
TestCert make_test_cert(const std::string& san);

}  // namespace bxtest
