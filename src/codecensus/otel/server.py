"""An OTLP/HTTP JSON receiver for Claude Code telemetry.

``POST /v1/logs`` and ``POST /v1/metrics`` accept OTLP JSON
(``Content-Type: application/json``, optionally gzip-encoded). Every accepted
request is first appended, as one compact JSON line, to a spool file per kind
and UTC day (``<db folder>/otel-spool/logs-YYYY-MM-DD.jsonl``) and fsynced
before the 200 answer, so nothing acknowledged is lost. A background thread
then ingests the spool folder into the database with the ``claude_otel``
parser (incrementally: only new lines are read) and rebuilds the sessions —
the database is opened only for that, so other codecensus commands can use it
in between. Protobuf requests get 415 with a hint to set
``OTEL_EXPORTER_OTLP_PROTOCOL=http/json``.

Uses only the standard library (``http.server``): telemetry from a team's
machines is a few requests per second at most.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import orjson

MAX_BODY = 64 * 1024 * 1024  # bytes, compressed or not
IDLE_TIMEOUT_S = 60.0  # seconds a connection may send nothing (mid-body, or idle between requests)
SPOOL_DIR = "otel-spool"
PATHS = {"/v1/logs": ("logs", "resourceLogs"), "/v1/metrics": ("metrics", "resourceMetrics")}


def spool_dir_for(db: Path) -> Path:
    return Path(db).expanduser().resolve().parent / SPOOL_DIR


class Spool:
    """Append-only JSONL files, one per kind and UTC day."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def append(self, kind: str, payload: bytes, now: datetime | None = None) -> Path:
        day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
        path = self.folder / f"{kind}-{day}.jsonl"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(payload.rstrip(b"\n") + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
        return path


def _inflate(data: bytes, wbits: int) -> bytes | None:
    """``data`` inflated (gzip: every member), or None past :data:`MAX_BODY` bytes.

    At most MAX_BODY + 1 bytes are ever inflated: a small body that inflates to gigabytes (a "zip bomb") is
    refused without the memory for it being taken first. Raises ``zlib.error`` on a damaged or cut-short stream.
    """
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits)
        out += inflater.decompress(data, MAX_BODY + 1 - len(out))
        if len(out) > MAX_BODY:
            return None
        if not inflater.eof:
            raise zlib.error("compressed body cut short")
        data = inflater.unused_data if wbits == 31 else b""  # gzip bodies may hold several members
    return bytes(out)


class _BadChunk(ValueError):
    """A chunked request body that does not follow RFC 9112 §7.1."""


def _read_chunked(rfile: BinaryIO, limit: int) -> bytes | None:
    """A ``Transfer-Encoding: chunked`` body, or None past ``limit`` bytes. Raises :class:`_BadChunk`.

    OpenTelemetry's Node exporter (Claude Code's) streams a gzip body this way, without Content-Length.
    """
    out = bytearray()
    while True:
        line = rfile.readline(1026)  # a size, maybe extensions (";name=value"), CRLF
        if not line.endswith(b"\n"):
            raise _BadChunk("chunk size line cut short")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadChunk(f"bad chunk size {line[:20]!r}") from None
        if size < 0:
            raise _BadChunk("negative chunk size")
        if size == 0:
            break
        if len(out) + size > limit:
            return None
        data = rfile.read(size)
        if len(data) < size or rfile.read(2) != b"\r\n":
            raise _BadChunk("chunk cut short")
        out += data
    while True:  # trailer fields, up to the empty line
        line = rfile.readline(8194)
        if line in (b"\r\n", b"\n", b""):
            return bytes(out)
        if not line.endswith(b"\n"):
            raise _BadChunk("trailer cut short")


class _Handler(BaseHTTPRequestHandler):
    server_version = "codecensus-otel/1"
    receiver: OtelReceiver  # set on the subclass made per receiver

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (signature of the base class)
        if self.receiver.log is not None:
            self.receiver.log(f"{self.address_string()} {format % args}")

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/") in ("/health", "/healthz", ""):
            self._reply(HTTPStatus.OK, {"status": "ok", "received": self.receiver.received})
        else:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _body(self) -> bytes | None:
        """The request body as sent (chunked or by Content-Length), or None once a refusal has been sent."""
        too_large = {"error": f"body must be 0..{MAX_BODY} bytes"}
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True  # what is left of a refused body is not read
            try:
                chunked = _read_chunked(self.rfile, MAX_BODY)
            except _BadChunk as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": f"bad chunked body: {exc}"})
                return None
            if chunked is None:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large)
                return None
            return chunked
        if self.headers.get("Content-Length") is None:
            self._reply(HTTPStatus.LENGTH_REQUIRED, {"error": "send Content-Length or Transfer-Encoding: chunked"})
            return None
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large)
            return None
        return self.rfile.read(length)

    def do_POST(self) -> None:  # noqa: N802
        route = PATHS.get(self.path.split("?", 1)[0].rstrip("/"))
        if route is None:
            self._reply(HTTPStatus.NOT_FOUND, {"error": "use POST /v1/logs or /v1/metrics"})
            return
        kind, key = route
        ctype = (self.headers.get("Content-Type") or "").lower()
        if "protobuf" in ctype:
            self._reply(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                {"error": "only OTLP JSON is accepted: set OTEL_EXPORTER_OTLP_PROTOCOL=http/json"},
            )
            return
        try:
            body = self._body()
        except TimeoutError:
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_TIMEOUT, {"error": f"the body did not arrive within {self.timeout} s"})
            return
        if body is None:
            return
        enc = (self.headers.get("Content-Encoding") or "").lower()
        if enc in ("gzip", "deflate"):
            try:
                inflated = _inflate(body, 31 if enc == "gzip" else 15)
            except zlib.error:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": "bad compressed body"})
                return
            if inflated is None:
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "decompressed body too large"})
                return
            body = inflated
        elif enc not in ("", "identity"):
            self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": f"unsupported Content-Encoding {enc}"})
            return
        try:
            req = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError as exc:
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"invalid JSON: {exc}"[:200]})
            return
        if not isinstance(req, dict) or not isinstance(req.get(key, []), list):
            self._reply(HTTPStatus.BAD_REQUEST, {"error": f"expected an OTLP JSON object with {key}"})
            return
        if req.get(key):
            self.receiver.accept(kind, orjson.dumps(req))
        self._reply(HTTPStatus.OK, {})


class OtelReceiver:
    """The HTTP server, its spool and the background ingestion."""

    def __init__(
        self,
        db: Path,
        host: str = "127.0.0.1",
        port: int = 4318,
        *,
        flush_interval: float = 5.0,
        user: str | None = None,
        log: Callable[[str], None] | None = None,
        idle_timeout: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.db = Path(db).expanduser()
        self.spool = Spool(spool_dir_for(self.db))
        self.flush_interval = flush_interval
        self.user = user
        self.log = log
        self.received = 0
        self.last_error: str | None = None
        self.flushes = 0
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._ingest_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._served = False
        # a client that stops sending (mid-body, or an idle kept-alive connection) gives its thread back after
        # ``idle_timeout`` seconds instead of holding it until it disconnects
        handler = type("Handler", (_Handler,), {"receiver": self, "timeout": idle_timeout})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def accept(self, kind: str, payload: bytes) -> None:
        self.spool.append(kind, payload)
        self.received += 1
        self._dirty.set()

    # -- ingestion -----------------------------------------------------------------
    def flush(self) -> dict[str, Any] | None:
        """Ingest the spool folder now. Returns the counts, or None when the database was busy."""
        from codecensus.ingest import ingest
        from codecensus.measure import build_sessions, needs_measure
        from codecensus.store import Store, StoreBusy

        folder = self.spool.folder
        with self._ingest_lock:
            if not folder.is_dir():
                return {"files_parsed": 0, "files_appended": 0, "sessions": None}
            try:
                store = Store(self.db, wait_s=2.0)
            except StoreBusy as exc:
                self.last_error = str(exc)
                self._dirty.set()  # try again at the next tick
                return None
            try:
                stats = ingest(store, [folder], fmt="claude_otel", user=self.user, workers=1)
                n = build_sessions(store) if stats.changed or needs_measure(store) else None
            finally:
                store.close()
            self.flushes += 1
            if stats.errors:
                self.last_error = stats.errors[0]
            return {
                "files_parsed": stats.files_parsed,
                "files_appended": stats.files_appended,
                "files_failed": stats.files_failed,
                "bad_lines": stats.bad_lines,
                "sessions": n,
            }

    def _flusher(self) -> None:
        while not self._stop.wait(self.flush_interval):
            if self._dirty.is_set():
                self._dirty.clear()
                try:
                    res = self.flush()
                except Exception as exc:  # keep receiving even when one ingestion fails
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    res = None
                    if self.log is not None:  # said, not only kept: the spool keeps what is received meanwhile
                        self.log(f"ingestion of the spool failed (tried again on the next request): {self.last_error}")
                if self.log is not None and res is not None:
                    self.log(f"ingested spool: {res}")

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Serve and ingest in background threads (returns at once)."""
        self._served = True
        t1 = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t2 = threading.Thread(target=self._flusher, daemon=True)
        for t in (t1, t2):
            t.start()
            self._threads.append(t)

    def serve_forever(self) -> None:
        """Serve until interrupted (Ctrl-C), then ingest what is left."""
        self.flush()
        flusher = threading.Thread(target=self._flusher, daemon=True)
        flusher.start()
        self._threads.append(flusher)
        self._served = True
        try:
            self.httpd.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> dict[str, Any] | None:
        """Stop serving, stop the flusher and ingest the rest of the spool once more."""
        self._stop.set()
        if self._served:
            self.httpd.shutdown()  # returns once serve_forever has stopped
            self._served = False
        self.httpd.server_close()
        deadline = time.monotonic() + 10
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        return self.flush()
