#include "broker/listen.h"

#include "corvee/errors.h"

namespace corvee::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<std::uint16_t> listenOn(tcp::acceptor& acceptor, const protocol::Endpoint& endpoint) {
  boost::system::error_code error;
  tcp::resolver resolver(acceptor.get_executor());
  auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
  if (error || addresses.empty()) {
    return Status::error(errc::kBadRequest, "cannot resolve '" + endpoint.host + "': " + error.message());
  }
  tcp::endpoint local = addresses.begin()->endpoint();
  acceptor.open(local.protocol(), error);
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(local, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return Status::error(errc::kUnavailable, error.message());
  return acceptor.local_endpoint().port();
}

}  // namespace corvee::broker
