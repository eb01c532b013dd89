"""``codecensus otel serve`` and ``codecensus otel import`` (a typer sub-app)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

otel_app = typer.Typer(
    name="otel",
    help=(
        "Claude Code OpenTelemetry: receive it (`serve`) or import an export of it (`import`).\n\n"
        "Point Claude Code at the receiver with\n\n"
        "`CLAUDE_CODE_ENABLE_TELEMETRY=1 OTEL_LOGS_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp "
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/json OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`"
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB database file. Default: $CODECENSUS_DB or a file in the platform user-data dir.",
        envvar="CODECENSUS_DB",
        show_default=False,
    ),
]


@otel_app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (keep 127.0.0.1 unless behind a proxy).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (4318 is OTLP/HTTP's default; 0: any free one).")
    ] = 4318,
    db: DbOpt = None,
    flush_interval: Annotated[
        float, typer.Option("--flush-interval", min=0.1, help="Seconds between ingestions of newly received telemetry.")
    ] = 5.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not log requests.")] = False,
) -> None:
    """Receive Claude Code telemetry (OTLP/HTTP JSON: POST /v1/logs, /v1/metrics), spool it durably and ingest it."""
    import duckdb

    from codecensus.cli import _reason, console
    from codecensus.otel.server import OtelReceiver
    from codecensus.store import Store, StoreBusy, default_db_path

    path = db or default_db_path()
    try:  # a database that cannot be opened is said now, not as a traceback at the first ingestion or at Ctrl-C
        Store(path, wait_s=0).close()
    except StoreBusy:
        pass  # another codecensus command holds it: the receiver ingests once it is done
    except (duckdb.IOException, duckdb.SerializationException) as exc:  # not a database, another version, no access
        console.print(f"[red]Cannot open the database {escape(str(path))}[/red]: {escape(_reason(exc))}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # its folder cannot be made (a file in the way, no permission), as open_store says it
        console.print(f"[red]Cannot create the database {escape(str(path))}[/red]: {escape(exc.strerror or _reason(exc))}")
        raise typer.Exit(2) from exc
    try:
        receiver = OtelReceiver(
            path, host, port, flush_interval=flush_interval, log=None if quiet else lambda m: console.print(m, markup=False)
        )
    except OSError as exc:
        console.print(f"[red]cannot listen on {host}:{port}: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"listening on {receiver.url} (POST /v1/logs, /v1/metrics); spool {escape(str(receiver.spool.folder))}; db {escape(str(path))}")
    console.print("Ctrl-C (or SIGTERM) to stop.")

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Stop cleanly (ingesting what is left) on SIGTERM too, and on Ctrl-C even when started in the background.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        receiver.serve_forever()
    except duckdb.Error as exc:
        console.print(f"[red]Could not ingest the received telemetry into {escape(str(path))}[/red]: {escape(_reason(exc))}. It is kept in "
                      f"{escape(str(receiver.spool.folder))}: `codecensus otel serve` ingests it when started again.")
        raise typer.Exit(1) from exc
    console.print(f"stopped after {receiver.received} request(s).")


@otel_app.command("import")
def import_cmd(
    files: Annotated[list[Path], typer.Argument(help="OTLP JSON export(s): one request object per line, or one whole object/list.")],
    db: DbOpt = None,
    user: Annotated[
        str | None, typer.Option("--user", help="User for events that carry no user.account_uuid (stored hashed).")
    ] = None,
) -> None:
    """Import exported Claude Code OTLP JSON telemetry into the database."""
    from rich.table import Table

    from codecensus.cli import console, open_store
    from codecensus.ingest import ingest
    from codecensus.manifest import record_run
    from codecensus.measure import build_sessions, needs_measure

    missing = [f for f in files if not f.exists()]
    if missing:
        console.print(f"[red]no such file: {escape(str(missing[0]))}[/red]")
        raise typer.Exit(2)
    store = open_store(db)
    t0 = time.perf_counter()
    stats = ingest(store, files, fmt="claude_otel", user=user, workers=1)
    n = build_sessions(store) if stats.changed or needs_measure(store) else None
    otel_sessions = store.one("SELECT count(*) FROM sessions WHERE source = 'claude_otel'")
    record_run(
        store,
        "otel-import",
        {
            "files": [str(f) for f in files],
            "files_parsed": stats.files_parsed,
            "files_appended": stats.files_appended,
            "files_skipped": stats.files_skipped,
            "files_failed": stats.files_failed,
            "bad_lines": stats.bad_lines,
            "seconds": round(time.perf_counter() - t0, 3),
        },
    )
    store.close()
    t = Table(title="otel import", show_header=False)
    t.add_row("files read / unchanged", f"{stats.files_parsed + stats.files_appended} / {stats.files_skipped}")
    t.add_row("damaged lines (skipped, logged)", str(stats.bad_lines))
    if n is not None:
        t.add_row("sessions in database", str(n))
    t.add_row("telemetry sessions", str(otel_sessions[0] if otel_sessions else 0))
    console.print(t)
    if stats.errors:
        for e in stats.errors[:20]:
            console.print(f"[red]{escape(str(e))}[/red]")
        raise typer.Exit(1)
    if stats.files_seen == 0:
        console.print("[yellow]no OTLP JSON found in the given file(s)[/yellow]")
        raise typer.Exit(1)
