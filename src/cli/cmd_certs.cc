// `corvee certs make DIR`: a private CA, a broker certificate and a client certificate, for a
// quick start with TLS (docs/security.md).
#include <algorithm>
#include <iostream>

#include "cli/client_command.h"
#include "cli/common.h"
#include "cli/validators.h"
#include "corvee/errors.h"
#include "net/certificates.h"
#include "platform/filesystem.h"
#include "platform/hostname.h"

namespace corvee::cli {

namespace {

struct CertsArgs {
  std::string dir;
  std::vector<std::string> hosts;
  std::uint64_t days = 825;
  bool force = false;
};

// The files made, in the order they are written: the CA's key last, so that an interrupted run
// leaves no CA key without the certificates it could not finish.
constexpr const char* kFiles[] = {"ca.pem", "broker.pem", "broker.key", "client.pem", "client.key", "ca.key"};

int runCertsMake(const CertsArgs& args) {
  if (Status made = ensureDirectory(args.dir); !made) {
    printError(made.message());
    return kExitUnavailable;
  }
  if (!args.force) {
    for (const char* name : kFiles) {
      std::string path = args.dir + "/" + name;
      if (pathExists(path)) {
        printError(path + " exists already; give --force to replace every file");
        return kExitUsage;
      }
    }
  }
  // The names a broker on this machine is reached by, then the ones asked for.
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  if (std::string host = hostName(); !host.empty() && host != "localhost") hosts.push_back(host);
  for (const std::string& host : args.hosts) {
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
  }
  int days = static_cast<int>(args.days);
  auto ca = net::makeCertificateAuthority("Corvee CA", days);
  if (!ca) return failWith(ca.status());
  auto broker = net::makeSignedCertificate(*ca, "corvee broker", hosts, /*server=*/true, days);
  if (!broker) return failWith(broker.status());
  auto client = net::makeSignedCertificate(*ca, "corvee client", {}, /*server=*/false, days);
  if (!client) return failWith(client.status());
  // Keys are readable by their owner only; certificates by anyone.
  struct Output {
    const char* name;
    const std::string& content;
    unsigned mode;
  };
  const Output outputs[] = {{"ca.pem", ca->certificate, 0644},       {"broker.pem", broker->certificate, 0644},
                            {"broker.key", broker->private_key, 0600}, {"client.pem", client->certificate, 0644},
                            {"client.key", client->private_key, 0600}, {"ca.key", ca->private_key, 0600}};
  for (const Output& output : outputs) {
    if (Status written = writeNewFile(args.dir + "/" + output.name, output.content, output.mode, args.force);
        !written) {
      printError(written.message());
      return kExitUnavailable;
    }
  }
  std::string names;
  for (const std::string& host : hosts) names += (names.empty() ? "" : ", ") + host;
  const std::string& d = args.dir;
  std::cout << "made in " << d << " (valid " << days << " days):\n"
            << "  ca.pem, ca.key          the CA (keep ca.key private: it can sign more certificates)\n"
            << "  broker.pem, broker.key  the broker's certificate for " << names << "\n"
            << "  client.pem, client.key  a client certificate, for mutual TLS\n"
            << "broker:  corvee broker --tls-cert " << d << "/broker.pem --tls-key " << d << "/broker.key"
            << " [--tls-client-ca " << d << "/ca.pem]\n"
            << "peers:   corvee worker --tls-ca " << d << "/ca.pem [--tls-cert " << d << "/client.pem --tls-key " << d
            << "/client.key] ...\n";
  return kExitOk;
}

}  // namespace

void addCertsCommand(CLI::App& app, int& exit_code) {
  CLI::App* certs = app.add_subcommand("certs", "make TLS certificates for a quick start");
  certs->require_subcommand(1);
  auto args = std::make_shared<CertsArgs>();
  CLI::App* make = certs->add_subcommand(
      "make", "make a CA (ca.pem, ca.key), a broker certificate (broker.pem, broker.key) and a client certificate "
              "(client.pem, client.key) in DIR; keys are EC P-256, written mode 0600");
  make->add_option("dir", args->dir, "the directory to write them to (made if missing)")->required()->check(nonEmpty());
  make->add_option("--host", args->hosts,
                   "another name or address the broker is reached by, for its certificate (besides localhost, "
                   "127.0.0.1, ::1 and this machine's host name); repeat for more")
      ->allow_extra_args(false);
  make->add_option("--days", args->days, "how long the certificates are valid")
      ->capture_default_str()
      ->transform(numberIn<std::uint64_t>(1, 36500));
  make->add_flag("--force", args->force, "replace the files if they exist");
  make->callback([args, &exit_code] { exit_code = runCertsMake(*args); });
}

}  // namespace corvee::cli
