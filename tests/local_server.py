"""A threaded HTTP server on 127.0.0.1 for tests that need a real server (fake LLM APIs)."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from llm_replay import FIXTURES

_HELD: list[socket.socket] = []


def closed_url() -> str:
    """``http://127.0.0.1:PORT`` where nothing listens for the rest of the test run, so a connection is refused at
    once. The port is bound by this process and never listened on: no other program can take it meanwhile. A fixed
    port (9, discard) is open wherever that service runs, and a request there then waits for an answer."""
    if not _HELD:
        held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        held.bind(("127.0.0.1", 0))
        _HELD.append(held)
    return f"http://127.0.0.1:{_HELD[0].getsockname()[1]}"


class LocalServer:
    """Serves ``handler`` on a free port of 127.0.0.1 until :meth:`close` (or the end of a ``with`` block);
    ``release`` is an event a handler may hold requests on (closing sets it)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.release = threading.Event()

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (an interrupted run, a timeout) is gone when its answer is written

        self.httpd = Quiet(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class ChatServer(LocalServer):
    """A local OpenAI-compatible server answering every chat request with the recorded answer
    (tests/fixtures/llm/openai_chat_ok.json: 3,120 tokens in, 208 out) once ``release`` is set (then ``hold`` seconds
    more); ``requests`` counts the requests, ``max_in_flight`` is the most it held at once. A request whose body
    contains ``reject`` (bytes) is answered HTTP 400 instead (counted in ``requests`` too)."""

    def __init__(self) -> None:
        self.hold = 0.0
        self.reject: bytes | None = None
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        lock = threading.Lock()
        answer = (FIXTURES / "openai_chat_ok.json").read_bytes()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.requests += 1
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    outer.release.wait(120)
                    time.sleep(outer.hold)
                finally:
                    with lock:  # before the answer is written: the client's next request may follow at once
                        outer.in_flight -= 1
                if outer.reject is not None and outer.reject in body:
                    err = b'{"error": {"message": "request rejected", "type": "invalid_request_error"}}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        super().__init__(Handler)
