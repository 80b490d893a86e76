"""@NAME@/threaded: a skeleton of a lab server (runtimes/SPEC.md) on http.server.

It answers GET /ping and 404s everything else. TODO, until `uv run invoke lab.verify
--target @NAME@` passes: /info, /cpu, /work, /hash, /sleep, offload=1, parameter
checks, 405 with Allow, the limits (431, 413) and every rule of SPEC.md.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says Connection: close

    def send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/ping":
            self.send(200, "text/plain; charset=utf-8", b"pong")
        else:
            self.send(404, "application/json", json.dumps({"error": "not found"}).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass  # SPEC section 1: no per-request logging


def main() -> None:
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"@NAME@/threaded listening on http://{host}:{port} (pid {os.getpid()})",
          file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
