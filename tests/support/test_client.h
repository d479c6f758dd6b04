// A client for tests that drive a real broker: it rides out a broker restart (30 s connect
// timeout, quick reconnection), and a failed connection is a test failure and a null pointer.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "corvee/client.h"

namespace corvee::testing {

inline std::unique_ptr<Client> connectTestClient(const std::string& endpoint) {
  ClientOptions options;
  options.endpoint = endpoint;
  options.connect_timeout = std::chrono::seconds(30);  // only bounds a hang
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  auto client = Client::connect(options);
  EXPECT_TRUE(client) << client.status().toString();
  return client ? std::move(*client) : nullptr;
}

}  // namespace corvee::testing
