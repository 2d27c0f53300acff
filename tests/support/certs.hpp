// Test support: a throwaway PKI generated at test time with the openssl command line.
// SPDX-License-Identifier: MIT
//
//   pixel_test::test_certs certs;            // a few EC keys, well under a second
//   server uses certs.server_cert() / certs.server_key() (SAN IP:127.0.0.1, DNS:localhost)
//   client trusts certs.ca_file(); certs.other_ca_file() is an unrelated CA (must fail)
#ifndef PIXEL_TEST_CERTS_HPP
#define PIXEL_TEST_CERTS_HPP

#include <string>
#include <vector>

#include "spawn.hpp"

namespace pixel_test {

class test_certs {
 public:
  test_certs() : dir_("pixel-certs") {
    make_ca("ca", "pixel test CA");
    make_ca("other-ca", "pixel unrelated CA");
    make_leaf("server", "127.0.0.1", "IP:127.0.0.1,DNS:localhost");
    // Signed by the right CA but for a name the client never asks for.
    make_leaf("wrong-host", "wrong-host.invalid", "DNS:wrong-host.invalid");
  }

  std::string ca_file() const { return (dir_ / "ca.pem").string(); }
  std::string other_ca_file() const { return (dir_ / "other-ca.pem").string(); }
  std::string server_cert() const { return (dir_ / "server.pem").string(); }
  std::string server_key() const { return (dir_ / "server.key").string(); }
  std::string wrong_host_cert() const { return (dir_ / "wrong-host.pem").string(); }
  std::string wrong_host_key() const { return (dir_ / "wrong-host.key").string(); }

 private:
  // P-256 keys: generated in milliseconds, unlike RSA.
  std::vector<std::string> ec_key_args() const {
    return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  }

  void make_ca(const std::string& name, const std::string& cn) {
    std::vector<std::string> argv = {"openssl", "req", "-x509"};
    for (auto& a : ec_key_args()) argv.push_back(a);
    for (const std::string& a :
         {std::string("-keyout"), (dir_ / (name + ".key")).string(), std::string("-out"),
          (dir_ / (name + ".pem")).string(), std::string("-days"), std::string("3"),
          std::string("-subj"), "/CN=" + cn, std::string("-addext"),
          std::string("basicConstraints=critical,CA:TRUE"), std::string("-addext"),
          std::string("keyUsage=critical,keyCertSign,cRLSign")}) {
      argv.push_back(a);
    }
    run_checked(argv, dir_ / "openssl.log");
  }

  void make_leaf(const std::string& name, const std::string& cn, const std::string& san) {
    const std::string key = (dir_ / (name + ".key")).string();
    const std::string csr = (dir_ / (name + ".csr")).string();
    const std::string ext = (dir_ / (name + ".ext")).string();
    std::vector<std::string> req = {"openssl", "req"};
    for (auto& a : ec_key_args()) req.push_back(a);
    for (const std::string& a : {std::string("-keyout"), key, std::string("-out"), csr,
                                 std::string("-subj"), "/CN=" + cn}) {
      req.push_back(a);
    }
    run_checked(req, dir_ / "openssl.log");
    write_file(ext,
               "basicConstraints=critical,CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\n"
               "subjectKeyIdentifier=hash\n"
               "authorityKeyIdentifier=keyid,issuer\n"
               "subjectAltName=" +
                   san + "\n");
    run_checked({"openssl", "x509", "-req", "-in", csr, "-CA", ca_file(), "-CAkey",
                 (dir_ / "ca.key").string(), "-CAcreateserial", "-out",
                 (dir_ / (name + ".pem")).string(), "-days", "3", "-sha256", "-extfile", ext},
                dir_ / "openssl.log");
  }

  temp_dir dir_;
};

}  // namespace pixel_test

#endif  // PIXEL_TEST_CERTS_HPP
