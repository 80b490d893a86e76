"""A client that half-closes with a request still sleeping gets every answer (SPEC section 2).

The event-driven models run as real servers here. An inline /cpu on another connection holds
the loop while the client sends a /sleep, a /ping and its FIN, so that all of it is waiting
when the loop reads again: a reactor that took the end of the stream for the client's
departure would close with both answers owed (epoll-et, reading until EAGAIN, did).
"""

import os
import re
import socket
import subprocess
import sys
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["select_reactor", "poll_reactor", "epoll_lt", "epoll_et", "asyncio_server"]
REQUESTS = b"GET /sleep?ms=50 HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n"


class HalfClose(unittest.TestCase):
    def test_requests_pending_at_the_clients_fin_are_answered(self):
        for model in MODELS:
            with self.subTest(model=model):
                server = subprocess.Popen(
                    [sys.executable, "-m", f"lab_server.models.{model}"], cwd=ROOT,
                    env={**os.environ, "HOST": "127.0.0.1", "PORT": "0"},
                    stderr=subprocess.PIPE, text=True)
                try:
                    port = int(re.search(r":(\d+) ", server.stderr.readline())[1])
                    with socket.create_connection(("127.0.0.1", port), timeout=5) as busy, \
                            socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                        busy.sendall(b"GET /cpu?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
                        time.sleep(0.1)  # the loop is spinning now
                        sock.sendall(REQUESTS)
                        sock.shutdown(socket.SHUT_WR)
                        received = b""
                        while chunk := sock.recv(65536):
                            received += chunk
                    self.assertEqual(received.count(b"HTTP/1.1 200 OK"), 2, received)
                    self.assertTrue(received.endswith(b"pong"), received)
                finally:
                    server.terminate()
                    server.wait(5)
                    server.stderr.close()


if __name__ == "__main__":
    unittest.main()
