"""Claude Code OpenTelemetry: the OTLP/HTTP JSON receiver and ``codecensus otel import``."""

from __future__ import annotations

import gzip
import json
import math
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codecensus.cli import app
from codecensus.export import session_table
from codecensus.otel.server import OtelReceiver
from codecensus.store import Store

FIX = Path(__file__).parent / "fixtures" / "formats" / "claude_otel"
SID = "otel:5e7a1c2d-3b4f-4a6e-9d8c-7b6a5f4e3d2c"
ACCOUNT = "0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff"


def _export_lines() -> list[dict[str, Any]]:
    out = []
    for line in (FIX / "export.jsonl").read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def receiver(tmp_path: Path):  # type: ignore[no-untyped-def]
    # A long flush interval: the test decides when to ingest (flush / close), no timing involved.
    r = OtelReceiver(tmp_path / "db" / "codecensus.duckdb", "127.0.0.1", 0, flush_interval=3600)
    r.start()
    yield r
    r.close()


def test_receiver_builds_sessions_from_telemetry_alone(receiver: OtelReceiver) -> None:
    batch1, batch2, retried, metrics = _export_lines()
    assert retried == batch1
    base = receiver.url
    with urllib.request.urlopen(f"{base}/health", timeout=10) as resp:
        assert json.loads(resp.read())["status"] == "ok"

    assert _post(f"{base}/v1/logs", json.dumps(batch1).encode()) == (200, {})
    gz = gzip.compress(json.dumps(batch2).encode())
    assert _post(f"{base}/v1/logs", gz, {"Content-Encoding": "gzip"}) == (200, {})
    assert _post(f"{base}/v1/logs", json.dumps(retried).encode())[0] == 200  # an exporter retry
    assert _post(f"{base}/v1/metrics", json.dumps(metrics).encode())[0] == 200
    # Refused requests are not spooled.
    assert _post(f"{base}/v1/logs", b"\x0a\x02", {"Content-Type": "application/x-protobuf"})[0] == 415
    assert _post(f"{base}/v1/logs", b"{not json")[0] == 400
    assert _post(f"{base}/v1/logs", json.dumps({"resourceLogs": "x"}).encode())[0] == 400
    assert _post(f"{base}/v1/traces", b"{}")[0] == 404
    assert receiver.received == 4

    # Durable before ingestion: one line per accepted request, per kind and day.
    spool = receiver.spool.folder
    logs = sorted(spool.glob("logs-*.jsonl"))
    assert len(logs) == 1 and len(logs[0].read_text().splitlines()) == 3
    assert len(next(spool.glob("metrics-*.jsonl")).read_text().splitlines()) == 1

    done = receiver.flush()
    assert done is not None and done["files_failed"] == 0 and done["sessions"] == 1

    with Store(receiver.db, read_only=True) as store:
        row = store.one(
            "SELECT source, prompts, actions, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, "
            "cost_usd, tool_errors, rejections, api_errors, commits, test_runs, active_s, models FROM sessions "
            "WHERE session_key = ?",
            [SID],
        )
        assert row is not None
        (source, prompts, actions, tin, tout, cr, cw, cost, errors, rejections, api_errors, commits, tests, active, models) = row
        assert source == "claude_otel"
        assert (prompts, actions) == (2, 5)  # the retried batch is not counted twice
        assert (tin, tout, cr, cw) == (40, 330, 30500, 1800)
        assert cost == pytest.approx(0.0425)
        assert (errors, rejections, api_errors, commits, tests) == (1, 1, 1, 1, 1)
        assert active == pytest.approx(42.5)  # active_time metric (user 12.5 s + cli 30 s)
        assert models == "claude-sonnet-4-5-20250929"
        # Actions per prompt, grouped by prompt.id.
        per_prompt = dict(
            store.con.execute(
                "SELECT msg_id, count(DISTINCT tool_use_id) FROM actions WHERE session_key = ? GROUP BY 1", [SID]
            ).fetchall()
        )
        assert per_prompt == {"p-1111": 3, "p-2222": 2}
        # The user is the account uuid, hashed on export.
        raw_user = store.one("SELECT user_key FROM session_files WHERE session_key = ?", [SID])
        assert raw_user == (ACCOUNT,)
        exported = session_table(store).to_pylist()
        assert exported[0]["user"] == store.hash_name(ACCOUNT) != ACCOUNT

    # More telemetry later: only the new line is read.
    extra = json.loads(json.dumps(batch1).replace("p-1111", "p-4444").replace('"toolu_', '"toolu_x'))
    for rl in extra["resourceLogs"]:
        for sl in rl["scopeLogs"]:
            for rec in sl["logRecords"]:
                for a in rec["attributes"]:
                    if a["key"] == "event.sequence":
                        a["value"]["intValue"] = str(100 + int(a["value"]["intValue"]))
                    if a["key"] == "request_id":
                        a["value"]["stringValue"] = "req_later"
    assert _post(f"{base}/v1/logs", json.dumps(extra).encode())[0] == 200
    done = receiver.flush()
    assert done is not None and done["files_appended"] == 1 and done["files_parsed"] == 0
    with Store(receiver.db, read_only=True) as store:
        assert store.one("SELECT prompts, actions FROM sessions WHERE session_key = ?", [SID]) == (3, 7)


def test_receiver_ingests_what_is_left_on_close(tmp_path: Path) -> None:
    r = OtelReceiver(tmp_path / "x.duckdb", "127.0.0.1", 0, flush_interval=3600)
    r.start()
    try:
        assert _post(f"{r.url}/v1/logs", (FIX / "whole.json").read_bytes().strip()[1:-1])[0] == 200
    finally:
        r.close()
    with Store(tmp_path / "x.duckdb", read_only=True) as store:
        assert store.one("SELECT count(*), sum(prompts) FROM sessions WHERE source = 'claude_otel'") == (1, 1)


def test_otel_import_command(tmp_path: Path) -> None:
    db = tmp_path / "imp.duckdb"
    runner = CliRunner()
    res = runner.invoke(app, ["otel", "import", str(FIX / "export.jsonl"), str(FIX / "whole.json"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store(db, read_only=True) as store:
        rows = store.con.execute("SELECT session_key, prompts FROM sessions ORDER BY session_key").fetchall()
        assert rows == [(SID, 2), ("otel:6f8b2d3e-4c5a-4b7f-8e9d-0c1b2a3f4e5d", 1)]
        assert store.one("SELECT count(*) FROM runs WHERE command = 'otel-import'") == (1,)
    # Not telemetry: refused.
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    res = runner.invoke(app, ["otel", "import", str(other), "--db", str(db)])
    assert res.exit_code == 1


def test_a_compressed_body_is_inflated_only_up_to_the_limit(receiver: OtelReceiver) -> None:
    """A few hundred KB of gzip that inflate to 4 x MAX_BODY (a "zip bomb") are refused, and without the memory:
    the whole body used to be inflated first and measured after (256 MB taken here, gigabytes for a larger one)."""
    import tracemalloc
    import zlib

    from codecensus.otel.server import MAX_BODY

    bomb = gzip.compress(b"0" * (4 * MAX_BODY), compresslevel=9)
    assert len(bomb) < MAX_BODY // 64
    tracemalloc.start()
    try:
        status, body = _post(f"{receiver.url}/v1/logs", bomb, {"Content-Encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and "too large" in body["error"]
    assert peak < 2.5 * MAX_BODY, f"{peak / 2**20:.0f} MiB taken to refuse the body"
    # what is within the limit still goes through, gzip with several members and zlib ("deflate") alike
    batch = json.dumps(_export_lines()[0]).encode()
    assert _post(f"{receiver.url}/v1/logs", gzip.compress(batch[:50]) + gzip.compress(batch[50:]),
                 {"Content-Encoding": "gzip"}) == (200, {})
    assert _post(f"{receiver.url}/v1/logs", zlib.compress(batch), {"Content-Encoding": "deflate"}) == (200, {})
    assert _post(f"{receiver.url}/v1/logs", gzip.compress(batch)[:-6], {"Content-Encoding": "gzip"})[0] == 400
    assert receiver.received == 2


def _post_raw(receiver: OtelReceiver, head: bytes, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST /v1/logs with hand-written headers (``head``, CRLF-separated lines) and raw body bytes."""
    import socket

    host, port = receiver.address
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + head + b"\r\n" + body)
        sock.shutdown(socket.SHUT_WR)  # all sent: a body cut short ends here
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2] or b"{}")


def test_a_chunked_body_is_read_not_acknowledged_and_dropped(receiver: OtelReceiver) -> None:
    """A client that streams its body (no Content-Length, ``Transfer-Encoding: chunked``, as a Node client piping a
    stream into its request does) got 200 and nothing was spooled: the body was read as 0 bytes."""
    import http.client

    batch = json.dumps(_export_lines()[0]).encode()
    host, port = receiver.address
    for body, headers in ((batch, {}), (gzip.compress(batch), {"Content-Encoding": "gzip"})):
        con = http.client.HTTPConnection(host, port, timeout=10)
        con.request("POST", "/v1/logs", body=iter([body[:100], body[100:]]), encode_chunked=True,
                    headers={"Content-Type": "application/json", **headers})
        resp = con.getresponse()
        assert (resp.status, resp.read()) == (200, b"{}")
        con.close()
    assert receiver.received == 2
    lines = next(receiver.spool.folder.glob("logs-*.jsonl")).read_bytes().splitlines()
    assert [json.loads(x) for x in lines] == [json.loads(batch)] * 2

    # extensions and trailers are read past; damaged or oversized chunking is refused, not spooled
    ok = b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (len(batch), batch)
    assert _post_raw(receiver, b"Transfer-Encoding: chunked\r\n", ok) == (200, {})
    status, err = _post_raw(receiver, b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n")
    assert status == 400 and "chunk" in err["error"]
    status, err = _post_raw(receiver, b"Transfer-Encoding: chunked\r\n", b"10\r\n{}\r\n")  # shorter than announced
    assert status == 400 and "chunk" in err["error"]
    from codecensus.otel.server import MAX_BODY

    status, _ = _post_raw(receiver, b"Transfer-Encoding: chunked\r\n", b"%x\r\n" % (MAX_BODY + 1))
    assert status == 413
    # neither a length nor chunks: the body's end cannot be known, so it is refused rather than read as empty
    status, err = _post_raw(receiver, b"Connection: close\r\n", batch)
    assert status == 411 and "Content-Length" in err["error"]
    assert receiver.received == 3


def test_non_finite_numbers_in_telemetry_cost_nothing_else(receiver: OtelReceiver) -> None:
    """OTLP JSON writes a non-finite double as a string. ``"1e400"`` tokens failed the whole day's spool file
    (OverflowError: every request of that day, the good ones too, stayed out of the database); a ``"NaN"`` cost
    made every later session build fail (DECIMAL cast); an ``"Infinity"`` active time gave an infinite active_s."""
    batch1, batch2, _, metrics = _export_lines()

    def with_attr(batch: dict[str, Any], key: str, value: dict[str, Any]) -> dict[str, Any]:
        b = json.loads(json.dumps(batch))
        for rl in b["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                for rec in sl["logRecords"]:
                    for a in rec["attributes"]:
                        if a["key"] == key:
                            a["value"] = value
        return b

    odd = with_attr(with_attr(batch2, "output_tokens", {"stringValue": "1e400"}), "cost_usd", {"doubleValue": "NaN"})
    points = json.dumps(metrics).replace('"asDouble": 12.5', '"asDouble": "Infinity"')
    assert _post(f"{receiver.url}/v1/logs", json.dumps(batch1).encode()) == (200, {})
    assert _post(f"{receiver.url}/v1/logs", json.dumps(odd).encode()) == (200, {})
    assert _post(f"{receiver.url}/v1/metrics", points.encode()) == (200, {})
    done = receiver.flush()
    assert done is not None and done["files_failed"] == 0 and done["sessions"] == 1, receiver.last_error
    with Store(receiver.db, read_only=True) as store:
        prompts, actions, cost, active = store.one(
            "SELECT prompts, actions, cost_usd, active_s FROM sessions WHERE session_key = ?", [SID])
    assert (prompts, actions) == (2, 5)
    assert math.isfinite(cost) and cost >= 0.0125  # batch1's recorded cost, and batch2's priced from its tokens
    assert active == pytest.approx(30.0)  # the infinite point is left out, the other one kept


def test_serve_on_a_database_it_cannot_open_says_so(tmp_path: Path) -> None:
    """`otel serve --db` on a file that is not a database (or that it may not write) ended in a traceback: at
    once when a spool was waiting, else at the first ingestion; in between, every ingestion failed unsaid."""
    import time

    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database\n")
    spool = tmp_path / "otel-spool" / "logs-2026-02-01.jsonl"  # waiting: the old code failed at start, not later
    spool.parent.mkdir()
    spool.write_text(json.dumps(_export_lines()[0]) + "\n")
    res = CliRunner().invoke(app, ["otel", "serve", "--db", str(bad), "--port", "0"])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), (res.exception, res.output)
    assert "Cannot open the database" in res.output and "not a valid DuckDB" in res.output
    spool.unlink()

    said: list[str] = []
    r = OtelReceiver(bad, "127.0.0.1", 0, flush_interval=0.05, log=said.append)
    r.start()
    try:
        assert _post(f"{r.url}/v1/logs", json.dumps(_export_lines()[0]).encode()) == (200, {})  # spooled all the same
        deadline = time.monotonic() + 20
        while not any("ingestion of the spool failed" in m for m in said) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        with pytest.raises(Exception, match="not a valid DuckDB database"):
            r.close()
    assert any("ingestion of the spool failed" in m and "not a valid DuckDB" in m for m in said), said


def test_a_client_that_stops_mid_body_gets_408_not_a_thread_held_forever(tmp_path: Path) -> None:
    """The receiver set no socket timeout: a client that announced 100 bytes and sent 10 held its thread (and
    its connection) until it disconnected, however long that took."""
    import socket

    # 2 s, not 0.5: the timeout also runs while the request line is awaited, and a test thread held up that long
    # between connecting and sending (a busy machine) was dropped without the 408 the test reads
    r = OtelReceiver(tmp_path / "db" / "codecensus.duckdb", "127.0.0.1", 0, flush_interval=3600, idle_timeout=2.0)
    r.start()
    try:
        with socket.create_connection(r.address, timeout=10) as sock:
            sock.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n" + b'{"resour')
            t0 = time.monotonic()
            data = b""
            while chunk := sock.recv(65536):  # the server answers, then closes
                data += chunk
            assert time.monotonic() - t0 < 9
        assert data.split(b"\r\n", 1)[0].endswith(b" 408 Request Timeout") and b"did not arrive within 2.0 s" in data
        # the receiver still serves others, and the cut request stored nothing
        batch = json.dumps(_export_lines()[0]).encode()
        assert _post(f"{r.url}/v1/logs", batch) == (200, {})
        assert r.received == 1
    finally:
        r.close()
