// TLS for the wire protocol: the OpenSSL contexts the broker and its peers use, and the words for
// what went wrong in a handshake.
//
// Both sides speak TLS 1.2 or later only. The broker presents --tls-cert (with its chain) and, with
// --tls-client-ca, requires every peer to present a certificate that CA signed. A peer verifies the
// broker's certificate against its CA file (or the system's trust store when it gives none) and
// checks that the certificate names the host it dialled (subjectAltName DNS name or IP address),
// sending that name as SNI.
//
// The functions are thread-safe; a context is shared by every stream made from it and must
// outlive them.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "corvee/status.h"

namespace corvee::net {

// The broker's side. `cert_file` holds the certificate (then any intermediates), PEM; `key_file`
// its private key, PEM; `client_ca_file`, when not empty, the CA every peer's certificate must be
// signed by. Fails with bad_request naming the file and the reason: it cannot be read, it holds no
// certificate or key, the key does not match the certificate.
Result<std::shared_ptr<boost::asio::ssl::context>> makeServerContext(const std::string& cert_file,
                                                                     const std::string& key_file,
                                                                     const std::string& client_ca_file);

// A peer's side. `ca_file`: the CA the broker's certificate must chain to (empty: the system's
// trust store). `cert_file` and `key_file`: the peer's own certificate for mutual TLS, both or
// neither. Fails with bad_request as makeServerContext() does.
Result<std::shared_ptr<boost::asio::ssl::context>> makeClientContext(const std::string& ca_file,
                                                                     const std::string& cert_file,
                                                                     const std::string& key_file);

// Prepares a client stream's `ssl` to dial `host`: SNI (for a name, not an address) and the check
// that the broker's certificate names `host` (a DNS name or an IP address in its subjectAltName).
// Fails with tls_error when OpenSSL refuses the name.
Status expectPeerHost(SSL* ssl, const std::string& host);

// One line for a failed handshake or TLS read: OpenSSL's reason and, when the certificate check
// failed, why it failed ("certificate verify failed: unable to get local issuer certificate").
// `ssl` may be null.
std::string describeTlsError(const boost::system::error_code& error, const SSL* ssl);

// True when `bytes` (at least the first 3 received) start like a TLS record: a handshake or an
// alert of TLS 1.x. A plain-TCP peer that reads this is talking to a TLS port.
bool looksLikeTls(std::string_view bytes);

// True when a server-side handshake failed because the peer's first bytes were no TLS record at
// all: a plain-TCP peer (OpenSSL: wrong version number, unknown protocol) or a plain HTTP request
// (http request, https proxy request). Such a peer is owed an answer it can read, not TLS.
bool peerSpokeNoTls(const boost::system::error_code& error);
// True when that peer's first bytes were a plain HTTP request.
bool peerSentPlainHttp(const boost::system::error_code& error);

// A fatal TLS alert record, protocol_version, as the broker writes it to a peer whose first bytes
// were no TLS record (a plain-TCP peer on the TLS port) before closing: OpenSSL sends nothing
// then, and a plain peer that only saw the connection close could not tell it from a broker going
// down. Such a peer's looksLikeTls() recognises the record and fails at once.
std::string_view plainPeerAlert();

}  // namespace corvee::net
