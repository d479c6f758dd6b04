#!/usr/bin/env python3
"""Fills a Corvee broker's queue with N jobs, pipelined, and reports how long the broker took to
acknowledge them all. Standard library only, written from docs/protocol.md alone: it doubles as a
check that the document is enough to speak the protocol from another language.

Usage: bench/fill_queue.py --connect tcp://127.0.0.1:7600 [--jobs 1000000] [--payload-bytes 100]
                           [--task noop] [--batch 5000]
Prints one line: RESULT fill <jobs> jobs <seconds> s <rate> jobs/s
"""
import argparse
import socket
import struct
import sys
import time

HELLO, WELCOME, ERROR, SUBMIT, SUBMITTED = 0x01, 0x02, 0x05, 0x10, 0x11
MAGIC, VERSION, ROLE_CLIENT = 0x45565243, 1, 1


def frame(msg_type, request_id, body):
    return struct.pack("<IBI", 5 + len(body), msg_type, request_id) + body


def string(s):
    return struct.pack("<H", len(s)) + s


def blob(b):
    return struct.pack("<I", len(b)) + b


class Reader:
    """Reads whole frames from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, bytearray()

    def frames(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        self.buf += chunk
        out, pos = [], 0
        while len(self.buf) - pos >= 4:
            (length,) = struct.unpack_from("<I", self.buf, pos)
            if len(self.buf) - pos < 4 + length:
                break
            msg_type, request_id = struct.unpack_from("<BI", self.buf, pos + 4)
            out.append((msg_type, request_id, bytes(self.buf[pos + 9 : pos + 4 + length])))
            pos += 4 + length
        del self.buf[:pos]
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", default="tcp://127.0.0.1:7600")
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--payload-bytes", type=int, default=100)
    ap.add_argument("--task", default="noop")
    ap.add_argument("--batch", type=int, default=5000)
    args = ap.parse_args()
    host, port = args.connect[len("tcp://") :].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = Reader(sock)
    sock.sendall(frame(HELLO, 1, struct.pack("<IHB", MAGIC, VERSION, ROLE_CLIENT) + string(b"fill_queue.py")))
    msg_type, _, body = reader.frames()[0]
    if msg_type != WELCOME:
        sys.exit(f"fill_queue: handshake refused: {body!r}")

    payload = (b"x" * args.payload_bytes)
    task = string(args.task.encode())
    tail = blob(payload) + struct.pack("<iIII", 0, 0, 0, 0)
    start = time.monotonic()
    sent = acked = 0
    while acked < args.jobs:
        # Keep at most two batches in flight: pipelined, but bounded.
        while sent < args.jobs and sent - acked < 2 * args.batch:
            n = min(args.batch, args.jobs - sent)
            sock.sendall(b"".join(frame(SUBMIT, sent + i + 1, task + tail) for i in range(n)))
            sent += n
        for msg_type, request_id, body in reader.frames():
            if msg_type == ERROR:
                sys.exit(f"fill_queue: request {request_id} refused: {body!r}")
            if msg_type == SUBMITTED:
                acked += 1
    seconds = time.monotonic() - start
    print(f"RESULT fill {args.jobs} jobs {seconds:.2f} s {args.jobs / seconds:.0f} jobs/s")


if __name__ == "__main__":
    main()
