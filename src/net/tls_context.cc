#include "net/tls_context.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "corvee/errors.h"
#include "platform/filesystem.h"

namespace corvee::net {

namespace ssl = boost::asio::ssl;

namespace {

// A certificate chain or key file is a few kilobytes; a CA bundle may hold a few hundred
// certificates.
constexpr std::size_t kMaxPemFile = 4 * 1024 * 1024;

Status badFile(const std::string& what, const std::string& path, const std::string& why) {
  return Status::error(errc::kBadRequest, what + " " + path + ": " + why);
}

// OpenSSL's reason for `error`; clears this thread's OpenSSL error queue.
std::string opensslReason(const boost::system::error_code& error) {
  std::string reason = error.message();
  ERR_clear_error();
  return reason;
}

Result<std::string> readPem(const std::string& what, const std::string& path) {
  auto content = readSmallFile(path, kMaxPemFile);
  if (!content) return Status::error(errc::kBadRequest, what + ": " + content.status().message());
  return content;
}

// What both sides share: TLS 1.2 and later only, no compression, no renegotiation.
void harden(ssl::context& context) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_RENEGOTIATION);
  // Only the chain the certificate file holds is sent, never certificates picked from the trust
  // store (a broker with --tls-client-ca would otherwise send that CA along).
  SSL_CTX_set_mode(context.native_handle(), SSL_MODE_NO_AUTO_CHAIN);
}

Status loadIdentity(ssl::context& context, const std::string& cert_file, const std::string& key_file) {
  auto cert = readPem("TLS certificate file", cert_file);
  if (!cert) return cert.status();
  auto key = readPem("TLS key file", key_file);
  if (!key) return key.status();
  boost::system::error_code error;
  context.use_certificate_chain(boost::asio::buffer(*cert), error);
  if (error) return badFile("TLS certificate file", cert_file, "no PEM certificate in it (" + opensslReason(error) + ")");
  context.use_private_key(boost::asio::buffer(*key), ssl::context::pem, error);
  if (error) {
    std::string reason = opensslReason(error);
    if (reason.find("mismatch") != std::string::npos) {
      return badFile("TLS key file", key_file, "does not match the certificate in " + cert_file);
    }
    return badFile("TLS key file", key_file, "no PEM private key in it (" + reason + ")");
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ERR_clear_error();
    return badFile("TLS key file", key_file, "does not match the certificate in " + cert_file);
  }
  return Status::ok();
}

Status loadAuthority(ssl::context& context, const std::string& what, const std::string& ca_file) {
  auto ca = readPem(what, ca_file);
  if (!ca) return ca.status();
  boost::system::error_code error;
  context.add_certificate_authority(boost::asio::buffer(*ca), error);
  if (error) return badFile(what, ca_file, "no PEM certificate in it (" + opensslReason(error) + ")");
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerContext(const std::string& cert_file, const std::string& key_file,
                                                        const std::string& client_ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  harden(*context);
  context->set_options(ssl::context::single_dh_use);
  if (Status loaded = loadIdentity(*context, cert_file, key_file); !loaded) return loaded;
  if (!client_ca_file.empty()) {
    if (Status loaded = loadAuthority(*context, "TLS client CA file", client_ca_file); !loaded) return loaded;
    // The CA's name goes in the CertificateRequest, so a peer with several certificates picks the
    // right one.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(context->native_handle(), names);
    }
    ERR_clear_error();
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Required with peer verification for session resumption, which would otherwise fail.
    static const unsigned char kSessionContext[] = "corvee";
    SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext, sizeof kSessionContext - 1);
  } else {
    context->set_verify_mode(ssl::verify_none);
  }
  return context;
}

Result<std::shared_ptr<ssl::context>> makeClientContext(const std::string& ca_file, const std::string& cert_file,
                                                        const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) {
    return Status::error(errc::kBadRequest, "a TLS client certificate and its key go together: give both or neither");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  harden(*context);
  if (ca_file.empty()) {
    boost::system::error_code error;
    context->set_default_verify_paths(error);
    if (error) return Status::error(errc::kTlsError, "cannot load the system's trust store: " + opensslReason(error));
  } else if (Status loaded = loadAuthority(*context, "TLS CA file", ca_file); !loaded) {
    return loaded;
  }
  context->set_verify_mode(ssl::verify_peer);
  if (!cert_file.empty()) {
    if (Status loaded = loadIdentity(*context, cert_file, key_file); !loaded) return loaded;
  }
  return context;
}

Status expectPeerHost(SSL* ssl, const std::string& host) {
  boost::system::error_code not_address;
  boost::asio::ip::make_address(host, not_address);
  if (not_address) {
    // SNI carries names only (RFC 6066), never addresses.
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1) {
      ERR_clear_error();
      return Status::error(errc::kTlsError, "cannot use '" + host + "' as a TLS host name");
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
    ERR_clear_error();
    return Status::error(errc::kTlsError, "cannot use '" + host + "' as a TLS address");
  }
  return Status::ok();
}

std::string describeTlsError(const boost::system::error_code& error, const SSL* ssl) {
  std::string text = error.message();
  if (error == ssl::error::stream_truncated) text = "the connection closed in the middle of the TLS exchange";
  if (ssl != nullptr) {
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) text += std::string(": ") + X509_verify_cert_error_string(verify);
  }
  ERR_clear_error();
  return text;
}

bool looksLikeTls(std::string_view bytes) {
  // A TLS record: content type 21 (alert) or 22 (handshake), then version 3.x. What a broker sends
  // first in plain TCP is a short frame (WELCOME, or an ERROR refusal): its little-endian length's
  // second byte is 0, never 3.
  if (bytes.size() < 3) return false;
  auto type = static_cast<unsigned char>(bytes[0]);
  return (type == 21 || type == 22) && static_cast<unsigned char>(bytes[1]) == 3 &&
         static_cast<unsigned char>(bytes[2]) <= 4;
}

namespace {
// OpenSSL's reason for a failed handshake (0 when the error is not OpenSSL's).
int tlsReason(const boost::system::error_code& error) {
  if (error.category() != boost::asio::error::get_ssl_category()) return 0;
  return ERR_GET_REASON(static_cast<unsigned long>(error.value()));
}
}  // namespace

bool peerSpokeNoTls(const boost::system::error_code& error) {
  int reason = tlsReason(error);
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_HTTP_REQUEST ||
         reason == SSL_R_HTTPS_PROXY_REQUEST;
}

bool peerSentPlainHttp(const boost::system::error_code& error) {
  int reason = tlsReason(error);
  return reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST;
}

std::string_view plainPeerAlert() {
  // Content type 21 (alert), record version 3.1 (TLS 1.0, what a record before the version is
  // agreed carries), length 2; level 2 (fatal), description 70 (protocol_version).
  static constexpr char kAlert[] = {21, 3, 1, 0, 2, 2, 70};
  return std::string_view(kAlert, sizeof kAlert);
}

}  // namespace corvee::net
