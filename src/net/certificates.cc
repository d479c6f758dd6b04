#include "net/certificates.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "corvee/errors.h"

namespace corvee::net {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

Status openssl(const std::string& what) {
  unsigned long code = ERR_get_error();
  char reason[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  return Status::error(errc::kInternal, what + ": " + reason);
}

Result<KeyPtr> newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl("making an EC P-256 key");
  return key;
}

// A DNS name as a certificate may hold it: labels of letters, digits and '-', a leading "*." allowed.
bool isDnsName(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  std::string_view rest = host;
  if (rest.substr(0, 2) == "*.") rest.remove_prefix(2);
  std::size_t label = 0;
  for (char c : rest) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

Status addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  ExtPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) return openssl(std::string("adding ") + value);
  return Status::ok();
}

// subjectAltName from `hosts`: an address as iPAddress, anything else as dNSName.
Status addSubjectAltNames(X509* cert, const std::vector<std::string>& hosts) {
  NamesPtr names(GENERAL_NAMES_new());
  if (!names) return openssl("subjectAltName");
  for (const std::string& host : hosts) {
    GENERAL_NAME* name = nullptr;
    if (ASN1_OCTET_STRING* address = a2i_IPADDRESS(host.c_str())) {
      name = GENERAL_NAME_new();
      if (name != nullptr) GENERAL_NAME_set0_value(name, GEN_IPADD, address);
      else ASN1_OCTET_STRING_free(address);
    } else {
      ERR_clear_error();
      if (!isDnsName(host)) {
        return Status::error(errc::kBadRequest, "'" + host + "' is neither a DNS name nor an IP address");
      }
      ASN1_IA5STRING* text = ASN1_IA5STRING_new();
      if (text != nullptr && ASN1_STRING_set(text, host.data(), static_cast<int>(host.size())) == 1) {
        name = GENERAL_NAME_new();
        if (name != nullptr) GENERAL_NAME_set0_value(name, GEN_DNS, text);
        else ASN1_IA5STRING_free(text);
      } else if (text != nullptr) {
        ASN1_IA5STRING_free(text);
      }
    }
    if (name == nullptr || sk_GENERAL_NAME_push(names.get(), name) == 0) {
      if (name != nullptr) GENERAL_NAME_free(name);
      return openssl("subjectAltName " + host);
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return openssl("adding subjectAltName");
  }
  return Status::ok();
}

// A certificate for `key` named `common_name`, valid for `days`, not signed yet and without
// extensions; its issuer is `issuer`'s subject (or its own name when `issuer` is null).
Result<CertPtr> newCertificate(EVP_PKEY* key, const std::string& common_name, X509* issuer, int days) {
  CertPtr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return openssl("making a certificate");
  // A random 159-bit serial: positive, under the 20 bytes RFC 5280 allows, never repeated.
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return openssl("making a serial number");
  }
  // Valid from five minutes ago: a peer whose clock is a little behind still accepts it.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
    return openssl("setting the validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Corvee"), -1,
                                 -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    return openssl("setting the subject");
  }
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : subject;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return openssl("setting the issuer");
  }
  return cert;
}

Result<PemCredential> toPem(X509* cert, EVP_PKEY* key) {
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return openssl("writing PEM");
  }
  PemCredential pem;
  char* data = nullptr;
  long size = BIO_get_mem_data(cert_bio.get(), &data);
  pem.certificate.assign(data, static_cast<std::size_t>(size));
  size = BIO_get_mem_data(key_bio.get(), &data);
  pem.private_key.assign(data, static_cast<std::size_t>(size));
  return pem;
}

Status checkDays(int days) {
  if (days < 1 || days > 36500) return Status::error(errc::kBadRequest, "days must be 1 to 36500");
  return Status::ok();
}

}  // namespace

Result<PemCredential> makeCertificateAuthority(const std::string& common_name, int days) {
  if (Status valid = checkDays(days); !valid) return valid;
  auto key = newKey();
  if (!key) return key.status();
  auto cert = newCertificate(key->get(), common_name, nullptr, days);
  if (!cert) return cert.status();
  X509* x = cert->get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (Status added = addExtension(x, x, nid, value); !added) return added;
  }
  if (X509_sign(x, key->get(), EVP_sha256()) == 0) return openssl("signing the CA certificate");
  return toPem(x, key->get());
}

Result<PemCredential> makeSignedCertificate(const PemCredential& ca, const std::string& common_name,
                                            const std::vector<std::string>& hosts, bool server, int days) {
  if (Status valid = checkDays(days); !valid) return valid;
  BioPtr ca_cert_bio(BIO_new_mem_buf(ca.certificate.data(), static_cast<int>(ca.certificate.size())));
  BioPtr ca_key_bio(BIO_new_mem_buf(ca.private_key.data(), static_cast<int>(ca.private_key.size())));
  CertPtr ca_cert(ca_cert_bio ? PEM_read_bio_X509(ca_cert_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  KeyPtr ca_key(ca_key_bio ? PEM_read_bio_PrivateKey(ca_key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!ca_cert || !ca_key || X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return Status::error(errc::kBadRequest, "the CA's certificate and key cannot be read, or do not match");
  }
  auto key = newKey();
  if (!key) return key.status();
  auto cert = newCertificate(key->get(), common_name, ca_cert.get(), days);
  if (!cert) return cert.status();
  X509* x = cert->get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature,keyAgreement"},
                            std::pair{NID_ext_key_usage, server ? "serverAuth" : "clientAuth"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (Status added = addExtension(x, ca_cert.get(), nid, value); !added) return added;
  }
  if (server) {
    if (hosts.empty()) return Status::error(errc::kBadRequest, "a server certificate needs at least one host");
    if (Status added = addSubjectAltNames(x, hosts); !added) return added;
  }
  if (X509_sign(x, ca_key.get(), EVP_sha256()) == 0) return openssl("signing the certificate");
  return toPem(x, key->get());
}

}  // namespace corvee::net
