// net/certificates: what `corvee certs make` signs must verify as a TLS server or client would
// check it, name exactly the hosts asked for, and fail clearly on bad input.
#include "net/certificates.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace corvee::net {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Cert readCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

Key readKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Key key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

// X509_V_OK when `leaf` chains to `ca` for `purpose` (X509_PURPOSE_SSL_SERVER or _CLIENT).
int verify(const PemCredential& ca, const PemCredential& leaf, int purpose) {
  Cert ca_cert = readCert(ca.certificate);
  Cert leaf_cert = readCert(leaf.certificate);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert.get());
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store, leaf_cert.get(), nullptr);
  X509_STORE_CTX_set_purpose(context, purpose);
  X509_verify_cert(context);
  int result = X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  X509_STORE_free(store);
  return result;
}

TEST(Certificates, CaIsSelfSignedCaWithEcKey) {
  auto ca = makeCertificateAuthority("Test CA", 30);
  ASSERT_TRUE(ca) << ca.status().toString();
  Cert cert = readCert(ca->certificate);
  Key key = readKey(ca->private_key);
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  EXPECT_EQ(verify(*ca, *ca, X509_PURPOSE_ANY), X509_V_OK);
}

TEST(Certificates, ServerCertificateVerifiesAndNamesItsHosts) {
  auto ca = makeCertificateAuthority("Test CA", 30);
  ASSERT_TRUE(ca);
  auto server = makeSignedCertificate(*ca, "broker", {"localhost", "127.0.0.1", "::1", "queue.example.com"}, true, 30);
  ASSERT_TRUE(server) << server.status().toString();
  EXPECT_EQ(verify(*ca, *server, X509_PURPOSE_SSL_SERVER), X509_V_OK);
  Cert cert = readCert(server->certificate);
  Key key = readKey(server->private_key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0) << "a leaf certificate must not be a CA";
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "queue.example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "other.example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
}

TEST(Certificates, ClientCertificateIsForClientsOnly) {
  auto ca = makeCertificateAuthority("Test CA", 30);
  ASSERT_TRUE(ca);
  auto client = makeSignedCertificate(*ca, "client", {}, false, 30);
  ASSERT_TRUE(client) << client.status().toString();
  EXPECT_EQ(verify(*ca, *client, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_NE(verify(*ca, *client, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST(Certificates, AnotherCaDoesNotVerify) {
  auto ca = makeCertificateAuthority("Test CA", 30);
  auto other = makeCertificateAuthority("Other CA", 30);
  ASSERT_TRUE(ca && other);
  auto server = makeSignedCertificate(*ca, "broker", {"localhost"}, true, 30);
  ASSERT_TRUE(server);
  EXPECT_NE(verify(*other, *server, X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST(Certificates, RefusesBadHostsDaysAndCa) {
  auto ca = makeCertificateAuthority("Test CA", 30);
  ASSERT_TRUE(ca);
  for (std::string bad : {"", "two words", "a,DNS:evil.example", "trailing.", "..", "x/y"}) {  // NOLINT
    auto made = makeSignedCertificate(*ca, "broker", {bad}, true, 30);
    ASSERT_FALSE(made) << "'" << bad << "'";
    EXPECT_EQ(made.status().code(), "bad_request");
  }
  EXPECT_TRUE(makeSignedCertificate(*ca, "broker", {"*.example.com"}, true, 30));
  EXPECT_FALSE(makeCertificateAuthority("CA", 0));
  PemCredential broken = *ca;
  broken.private_key = makeCertificateAuthority("Other", 30)->private_key;
  auto made = makeSignedCertificate(broken, "broker", {"localhost"}, true, 30);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.status().code(), "bad_request");
}

}  // namespace
}  // namespace corvee::net
