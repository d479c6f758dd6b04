// Certificates for a quick start with TLS (`corvee certs make`): a private CA, a broker
// certificate it signs for the names the broker is reached by, and a client certificate for
// mutual TLS. Keys are EC P-256; signatures ECDSA with SHA-256. Everything is PEM text in memory:
// writing the files is the caller's business.
//
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <vector>

#include "corvee/status.h"

namespace corvee::net {

// A certificate and its private key, PEM (the key unencrypted PKCS#8).
struct PemCredential {
  std::string certificate;
  std::string private_key;
};

// A self-signed CA certificate valid for `days` (from a few minutes ago, so peers whose clock is a
// little behind accept it), named `common_name`. Fails with internal when OpenSSL fails.
Result<PemCredential> makeCertificateAuthority(const std::string& common_name, int days);

// A certificate for `common_name` signed by `ca` (as makeCertificateAuthority made it), valid for
// `days`. With `server`, usable by a TLS server and naming `hosts` in its subjectAltName (each a
// DNS name, "*.example.com" allowed, or an IPv4/IPv6 address); otherwise usable by a TLS client
// (mutual TLS), with `hosts` ignored. Fails with bad_request for a host that is neither a DNS name
// nor an address, or a CA that cannot be read; internal when OpenSSL fails.
Result<PemCredential> makeSignedCertificate(const PemCredential& ca, const std::string& common_name,
                                            const std::vector<std::string>& hosts, bool server, int days);

}  // namespace corvee::net
