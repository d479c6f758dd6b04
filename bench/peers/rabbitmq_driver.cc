// RabbitMQ driver: librabbitmq (rabbitmq-c), used as Celery uses RabbitMQ: a work queue on the
// default exchange, publisher confirms, manual acks. One publisher connection plus --consumers
// consumer connections, one thread each, in this one process.
//
//  W1  The publisher puts its channel in confirm mode and publishes pipelined: up to 1,000
//      unconfirmed messages, reading basic.ack confirms (multiple or single) as they come. Each
//      consumer has its own connection with basic.qos prefetch_count = 1 + --prefetch, consumes
//      without auto-ack, and basic.acks each message after the no-op; that ack is the completion.
//  W2  RPC through RabbitMQ: the client publishes (confirmed) with reply_to = its exclusive
//      server-named reply queue; a consumer publishes the reply there, then acks the request. One
//      trip = publish -> consumer -> reply published -> reply delivered to the client. The
//      request's confirm is read too before the next trip, but the clock stops at the reply.
//  W3  Publishes --jobs messages with confirms into a queue nobody consumes.
//
// memory: non-durable classic queue, transient messages (delivery_mode 1).
// durable: durable classic queue, persistent messages (delivery_mode 2): a confirm then means the
// message is on disk.
#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "driver_common.h"

namespace {

constexpr const char* kSystem = "rabbitmq";
constexpr amqp_channel_t kChannel = 1;
constexpr long kWindow = 1000;  // unconfirmed publishes at most
constexpr long kChunk = 100;    // publishes between two looks for confirms

using peers::Options;

void check_reply(amqp_rpc_reply_t r, const char* what) {
  if (r.reply_type == AMQP_RESPONSE_NORMAL) return;
  std::string detail;
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
    detail = amqp_error_string2(r.library_error);
  } else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    // Both close methods start with reply_code and reply_text.
    auto* c = static_cast<amqp_channel_close_t*>(r.reply.decoded);
    detail = std::to_string(c->reply_code) + " " +
             std::string(static_cast<const char*>(c->reply_text.bytes), c->reply_text.len);
  } else {
    detail = "server exception";
  }
  peers::die(kSystem, std::string(what) + ": " + detail);
}

void check_status(int status, const char* what) {
  if (status != AMQP_STATUS_OK) peers::die(kSystem, std::string(what) + ": " + amqp_error_string2(status));
}

// A connection with channel 1 open.
class Connection {
 public:
  explicit Connection(const Options& o) : conn_(amqp_new_connection()) {
    amqp_socket_t* socket = amqp_tcp_socket_new(conn_);  // rabbitmq-c sets TCP_NODELAY itself
    if (socket == nullptr) peers::die(kSystem, "amqp_tcp_socket_new failed");
    check_status(amqp_socket_open(socket, o.host.c_str(), o.port), "connect");
    check_reply(amqp_login(conn_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn_, kChannel);
    check_reply(amqp_get_rpc_reply(conn_), "channel.open");
  }
  ~Connection() {
    amqp_channel_close(conn_, kChannel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  amqp_connection_state_t get() const { return conn_; }

 private:
  amqp_connection_state_t conn_;
};

void declare(amqp_connection_state_t c, const std::string& queue, bool durable) {
  amqp_queue_declare(c, kChannel, amqp_cstring_bytes(queue.c_str()), 0, durable, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(c), "queue.declare");
}

void drop(amqp_connection_state_t c, const std::string& queue) {
  amqp_queue_delete(c, kChannel, amqp_cstring_bytes(queue.c_str()), 0, 0);
  check_reply(amqp_get_rpc_reply(c), "queue.delete");
}

// A publisher channel in confirm mode, keeping count of what the broker has confirmed.
class Publisher {
 public:
  explicit Publisher(const Options& o) : conn_(o), durable_(o.durable()) {
    amqp_confirm_select(conn_.get(), kChannel);
    check_reply(amqp_get_rpc_reply(conn_.get()), "confirm.select");
  }
  amqp_connection_state_t get() const { return conn_.get(); }

  void publish(const std::string& queue, const std::string& body, const amqp_basic_properties_t* extra = nullptr) {
    amqp_basic_properties_t props{};
    if (extra != nullptr) props = *extra;
    props._flags |= AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = durable_ ? 2 : 1;
    amqp_bytes_t bytes{body.size(), const_cast<char*>(body.data())};
    check_status(amqp_basic_publish(conn_.get(), kChannel, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0,
                                    &props, bytes),
                 "basic.publish");
    ++published_;
  }

  // Handles one frame that arrived on this connection if it is a confirm; returns false if the
  // frame was something else (the caller's business).
  bool take_confirm(const amqp_frame_t& f) {
    if (f.frame_type != AMQP_FRAME_METHOD) return false;
    if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) peers::die(kSystem, "the broker nacked a publish");
    if (f.payload.method.id != AMQP_BASIC_ACK_METHOD) return false;
    auto* ack = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
    // A single queue confirms in publish order, so "multiple" means all up to this tag.
    confirmed_ = ack->multiple ? static_cast<long>(ack->delivery_tag) : confirmed_ + 1;
    return true;
  }

  // Reads one frame, waiting at most `wait_us` (0: only what is already there). Returns false if
  // none came.
  bool read_frame(amqp_frame_t& f, long wait_us) {
    timeval tv{wait_us / 1000000, wait_us % 1000000};
    int r = amqp_simple_wait_frame_noblock(conn_.get(), &f, &tv);
    if (r == AMQP_STATUS_TIMEOUT) return false;
    check_status(r, "reading from the broker");
    return true;
  }

  void await_confirms(long upto) {
    amqp_frame_t f;
    while (confirmed_ < upto) {
      if (!read_frame(f, 30'000'000)) peers::die(kSystem, "no publisher confirm within 30 s");
      if (!take_confirm(f)) peers::die(kSystem, "unexpected frame while waiting for confirms");
    }
  }

  // Publishes `n` copies of `body` to `queue`, pipelined, and returns when all are confirmed.
  void publish_confirmed(const std::string& queue, long n, const std::string& body) {
    const long base = published_;
    amqp_frame_t f;
    while (confirmed_ < base + n) {
      if (published_ < base + n && published_ - confirmed_ < kWindow) {
        long k = std::min({kChunk, base + n - published_, kWindow - (published_ - confirmed_)});
        for (long i = 0; i < k; ++i) publish(queue, body);
        while (read_frame(f, 0)) take_confirm(f);  // what has come back already, without waiting
      } else {
        if (!read_frame(f, 30'000'000)) peers::die(kSystem, "no publisher confirm within 30 s");
        take_confirm(f);
      }
    }
    amqp_maybe_release_buffers(conn_.get());
  }

  long confirmed() const { return confirmed_; }
  long published() const { return published_; }

 private:
  Connection conn_;
  bool durable_;
  long published_ = 0;  // delivery tags are 1, 2, ... in publish order
  long confirmed_ = 0;
};

// --consumers consumer connections on `queue` until destroyed. In W2 mode each request's reply
// goes to its reply_to queue before the ack.
class Consumers {
 public:
  Consumers(const Options& o, const std::string& queue, peers::Counter& done) {
    peers::Counter ready;
    ready.reset(o.consumers);
    for (int i = 0; i < o.consumers; ++i) {
      threads_.emplace_back([this, &o, queue, &done, &ready] {
        Connection conn(o);
        amqp_connection_state_t c = conn.get();
        amqp_basic_qos(c, kChannel, 0, static_cast<uint16_t>(1 + o.prefetch), 0);
        check_reply(amqp_get_rpc_reply(c), "basic.qos");
        amqp_basic_consume(c, kChannel, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
        check_reply(amqp_get_rpc_reply(c), "basic.consume");
        ready.add();
        const std::string reply = "ok";
        while (!stop_.load(std::memory_order_relaxed)) {
          amqp_maybe_release_buffers(c);
          amqp_envelope_t env;
          timeval tv{0, 100000};  // only bounds how long an idle consumer takes to see the stop flag
          amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
          if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) continue;
          check_reply(r, "consume");
          const amqp_basic_properties_t& p = env.message.properties;
          if (p._flags & AMQP_BASIC_REPLY_TO_FLAG) {
            amqp_basic_properties_t rp{};
            rp._flags = AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
            rp.correlation_id = p.correlation_id;
            rp.delivery_mode = 1;
            check_status(amqp_basic_publish(c, kChannel, amqp_empty_bytes, p.reply_to, 0, 0, &rp,
                                            amqp_cstring_bytes(reply.c_str())),
                         "reply publish");
          }
          check_status(amqp_basic_ack(c, kChannel, env.delivery_tag, 0), "basic.ack");
          amqp_destroy_envelope(&env);
          done.add();
        }
      });
    }
    ready.wait(std::chrono::seconds(30), kSystem);
  }
  ~Consumers() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

void w1(const Options& o) {
  const std::string body = peers::make_payload(o.payload);
  Publisher pub(o);
  peers::Counter done;
  peers::run_w1(o, kSystem, [&](long jobs, const std::string& queue) {
    declare(pub.get(), queue, o.durable());
    done.reset(jobs);
    double seconds;
    {
      Consumers consumers(o, queue, done);
      auto t0 = peers::Clock::now();
      pub.publish_confirmed(queue, jobs, body);
      done.wait(std::chrono::seconds(o.timeout_s), kSystem);
      seconds = std::chrono::duration<double>(peers::Clock::now() - t0).count();
    }
    drop(pub.get(), queue);
    return seconds;
  });
}

void w2(const Options& o) {
  const std::string body = peers::make_payload(o.payload);
  const std::string queue = "w2-" + std::to_string(::getpid());
  Publisher pub(o);
  amqp_connection_state_t c = pub.get();
  declare(c, queue, o.durable());
  // The reply queue: server-named, exclusive, consumed with auto-ack, as an RPC client does.
  amqp_queue_declare_ok_t* ok = amqp_queue_declare(c, kChannel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(c), "reply queue.declare");
  std::string reply_queue(static_cast<const char*>(ok->queue.bytes), ok->queue.len);
  amqp_basic_consume(c, kChannel, amqp_cstring_bytes(reply_queue.c_str()), amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(c), "reply basic.consume");

  peers::Counter done;
  {
    Consumers consumers(o, queue, done);
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
    props.reply_to = amqp_cstring_bytes(reply_queue.c_str());
    long trip_no = 0;
    peers::run_w2(o, kSystem,
                  "confirmed publish to the work queue -> a consumer gets it, publishes the reply to the "
                  "client's exclusive reply_to queue, acks -> the reply is delivered to the client",
                  [&] {
                    std::string correlation = std::to_string(++trip_no);
                    props.correlation_id = amqp_cstring_bytes(correlation.c_str());
                    pub.publish(queue, body, &props);
                    peers::Clock::time_point arrived{};
                    bool replied = false;
                    amqp_frame_t f;
                    while (!replied || pub.confirmed() < pub.published()) {
                      if (!pub.read_frame(f, 30'000'000)) peers::die(kSystem, "no reply or confirm within 30 s");
                      if (pub.take_confirm(f)) continue;
                      if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_DELIVER_METHOD) {
                        arrived = peers::Clock::now();
                        amqp_message_t msg;
                        check_reply(amqp_read_message(c, f.channel, &msg, 0), "reading the reply");
                        amqp_destroy_message(&msg);
                        replied = true;
                        continue;
                      }
                      peers::die(kSystem, "unexpected frame in W2");
                    }
                    amqp_maybe_release_buffers(c);
                    return arrived;
                  });
  }
  drop(c, queue);
}

void w3(const Options& o) {
  const std::string queue = "w3-" + std::to_string(::getpid());
  Publisher pub(o);
  declare(pub.get(), queue, o.durable());
  auto t0 = peers::Clock::now();
  pub.publish_confirmed(queue, o.jobs, peers::make_payload(o.payload));
  peers::report_fill(kSystem, o, std::chrono::duration<double>(peers::Clock::now() - t0).count());
}

}  // namespace

int main(int argc, char** argv) {
  Options o = peers::parse_options(argc, argv, kSystem);
  if (o.workload == "W1") w1(o);
  else if (o.workload == "W2") w2(o);
  else w3(o);
  return 0;
}
