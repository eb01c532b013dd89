"""A threaded HTTP server on 127.0.0.1 for tests that need a real server (fake LLM APIs)."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

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
