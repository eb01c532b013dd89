"""The ``codecensus`` command line (typer + rich).

Each stage lives in its own package; this module only wires commands to them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import click
import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from codecensus import __version__, quickcheck
from codecensus.paths import as_text
from codecensus.store import NotAStore, Store, StoreBusy, default_db_path

# 128 + SIGPIPE: the status a shell reports for a Unix tool whose reader stopped reading (`... | head -1`)
EXIT_CLOSED_PIPE = 141


def _closed_pipe(exc: BaseException) -> bool:
    """A broken pipe, and the broken one is standard output (not a socket or a child's stdin: those stay errors).
    Where poll cannot tell (not Linux), any broken pipe is taken as standard output's."""
    if not (isinstance(exc, OSError) and exc.errno == errno.EPIPE):
        return False
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLERR)  # a pipe whose reader is gone reports POLLERR
        return bool(poll.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def _quit_on_closed_stdout() -> NoReturn:
    """Standard output's reader is gone (``codecensus sessions | head -1``): stop quietly, as Unix tools do. What is
    still buffered goes nowhere (flushing it at exit would print 'Exception ignored ... BrokenPipeError')."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    raise SystemExit(EXIT_CLOSED_PIPE)


def _console_on_broken_pipe(self: Console) -> None:
    """For every rich console of the process (ours and the help's): rich's own answer is exit status 1."""
    self.quiet = True
    _quit_on_closed_stdout()


class _Group(TyperGroup):
    """The root command: a closed standard output ends any command quietly (click would exit 1)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if not _closed_pipe(exc):
                raise
            _quit_on_closed_stdout()


app = typer.Typer(
    cls=_Group,
    name="codecensus",
    help=(
        "Privacy-preserving analytics of coding-agent sessions.\n\n"
        "Typical use: `codecensus ingest` (reads ~/.claude), `codecensus classify`, "
        "`codecensus report --out report/`. Try everything on generated data with `codecensus demo`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
out = Console()

DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB database file. Default: $CODECENSUS_DB or a file in the platform user-data dir.",
        envvar="CODECENSUS_DB",
        show_default=False,
    ),
]
WaitOpt = Annotated[
    float, typer.Option("--wait", help="Seconds to wait for another codecensus process holding the database.")
]


def open_store(
    db: Path | None, *, read_only: bool = False, wait: float = 30.0, or_read_only: str | None = None,
    must_exist: bool = False,
) -> Store:
    """The command's database, or a plain message and exit. ``or_read_only``: a command that only needs to record
    its run there opens a database it may not write read-only instead, and says so with this text. ``must_exist``:
    a command that reads what ingest stored (and writes beside it) creates no database at a mistyped --db."""
    path = db or default_db_path()
    if path.is_dir():  # "Is a directory" from DuckDB; `--db demo` (the demo's folder) means the database in it
        inside = sorted(p.name for p in path.glob("*.duckdb"))
        hint = f": did you mean --db {escape(str(path / inside[0]))}?" if len(inside) == 1 else ": name the database file."
        console.print(f"[red]--db {escape(str(path))} is a folder[/red]{hint}")
        raise typer.Exit(2)
    if (read_only or must_exist) and not path.exists():
        console.print(f"[red]No database at {escape(str(path))}[/red]: run `codecensus ingest` first (or pass --db).")
        raise typer.Exit(2)
    try:
        return Store(path, read_only=read_only, wait_s=wait)
    except StoreBusy as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(3) from exc
    except NotAStore as exc:  # another tool's DuckDB database: never written, not even read-only fallback
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except (duckdb.IOException, duckdb.SerializationException) as exc:  # not a database, another version, no access
        if or_read_only is not None and not read_only and path.is_file():
            try:
                store = Store(path, read_only=True, wait_s=wait)
            except (duckdb.Error, StoreBusy):
                pass  # the first reason is the one to give
            else:
                console.print(f"[yellow]The database {escape(str(path))} is read-only here[/yellow] ({escape(_reason(exc))}): {or_read_only}")
                return store
        console.print(f"[red]Cannot open the database {escape(str(path))}[/red]: {escape(_reason(exc))}")
        raise typer.Exit(2) from exc
    except OSError as exc:  # its folder cannot be made (a file in the way, no permission, a read-only mount)
        console.print(f"[red]Cannot create the database {escape(str(path))}[/red]: {escape(exc.strerror or _reason(exc))}")
        raise typer.Exit(2) from exc


def _reason(exc: BaseException) -> str:
    """The first line of an error's message (DuckDB's run on with hints), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in str(exc)


def _store_failed(store: Store, exc: BaseException) -> NoReturn:
    """End a command whose database write failed: DuckDB's reason, and what a re-run does."""
    with contextlib.suppress(Exception):
        store.close()
    hint = "free some space, then " if _disk_full(exc) else ""
    console.print(
        f"[red]The database could not be written[/red] ({_reason(exc)}). What was committed before is kept: "
        f"{hint}run the same command again to go on from there."
    )
    raise typer.Exit(1) from exc


def validate_day(v: str | None, name: str) -> None:
    """A --since/--until value must be a day (YYYY-MM-DD): said before any work, with the option's name."""
    if v is None:
        return
    from datetime import datetime

    try:
        datetime.strptime(v, "%Y-%m-%d")
    except ValueError as exc:
        console.print(f"[red]{name} must be a date like 2026-01-31, not {escape(repr(v))}[/red]")
        raise typer.Exit(2) from exc


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to read. Default: every Claude Code config dir "
            "(~/.claude, ~/.config/claude, each dir in $CLAUDE_CONFIG_DIR).",
            show_default=False,
        ),
    ] = None,
    db: DbOpt = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Attribute every file to this user (stored only as a salted hash).")
    ] = None,
    user_from_dir: Annotated[
        bool,
        typer.Option(
            "--user-from-dir",
            help="The first path component under each PATH is the user: for team corpora laid out as "
            "`ROOT/USER/...`",
        ),
    ] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Force one format instead of autodetecting (see `codecensus formats`).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            "-j",
            help="Parser processes beside the writer (default: cores - 1, at least 1; 0 parses in the writer).",
        ),
    ] = -1,
    engine: Annotated[
        str, typer.Option("--engine", help="`local` (process pool) or `ray` (Ray Data; see docs/ray.md).")
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join (default: start a local one).")
    ] = None,
    parts_out: Annotated[
        str | None,
        typer.Option("--parts", help="Ray: folder or fsspec URL for the Parquet partitions (default: temporary)."),
    ] = None,
    wait: WaitOpt = 30.0,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Remove from the database the files stored from under PATHs that are no longer there (deleted, "
            "moved, renamed): it then holds what a fresh ingest of PATHs would. Without it their sessions are kept.",
        ),
    ] = False,
    full_measure: Annotated[
        bool,
        typer.Option(
            "--full-measure",
            help="Measure every session again (by default only the sessions whose rows changed since the last run, "
            "with the sessions that share copied history with them: the same result).",
        ),
    ] = False,
) -> None:
    """Read transcripts into the database: incremental (only what changed), crash-safe (one transaction per batch of whole files).

    PATHs may be local folders or, with `--engine ray`, fsspec URLs (s3://…, gs://…). A transcript stored by an
    earlier run keeps its sessions when its file is deleted (Claude Code deletes old ones) unless `--prune`.
    """
    from codecensus.engine import RayUnavailable, ingest_with
    from codecensus.ingest import default_claude_dirs
    from codecensus.manifest import record_run
    from codecensus.measure import build_sessions, needs_measure

    if user is not None and not user.strip():  # else its files went to the login user, unsaid
        console.print("[red]--user is empty[/red]: give a user name, or leave --user out (files are then the login "
                      "user's).")
        raise typer.Exit(2)
    if user and user_from_dir:
        console.print("[red]--user and --user-from-dir are exclusive.[/red]")
        raise typer.Exit(2)
    if prune and engine != "local":
        console.print("[red]--prune works with --engine local only[/red]: run `codecensus ingest --prune` on the local paths.")
        raise typer.Exit(2)
    if fmt is not None:
        from codecensus.sources import parsers

        if fmt not in parsers():
            console.print(f"[red]Unknown format {escape(repr(fmt))}[/red]: one of {', '.join(sorted(parsers()))} (`codecensus formats`).")
            raise typer.Exit(2)
    roots = list(paths or [])
    if not roots:
        roots = default_claude_dirs()
        if not roots:
            console.print(
                "[yellow]No Claude Code config dir found[/yellow] (~/.claude/projects, ~/.config/claude/projects, "
                "$CLAUDE_CONFIG_DIR). Pass PATHs explicitly, or try `codecensus demo`."
            )
            raise typer.Exit(1)
    if user_from_dir:
        _warn_tool_folders_as_users(roots)
    n_workers = workers if workers >= 0 else max(1, (os.cpu_count() or 1) - 1)
    db_path = (db or default_db_path()).expanduser()
    # The corpus as it is before this run: saved below as the snapshot of a complete ingest, it lets the
    # next `codecensus ingest` of an unchanged corpus answer without opening the database (quickcheck).
    snap_opts = quickcheck.options_key(roots, user, user_from_dir, fmt) if engine == "local" else None
    listing = quickcheck.listing_for(roots, snap_opts) if snap_opts is not None else None
    store = open_store(db_path, wait=wait)
    quickcheck.clear(db_path)
    t0 = time.perf_counter()
    with _progress() as prog:
        task = prog.add_task("ingest", total=None, current="")

        def cb(done: int, total: int, current: str) -> None:
            prog.update(task, completed=done, total=total, current=as_text(Path(current).name[:40]) if current else "")

        try:
            stats = ingest_with(
                engine, store, roots, address=address, out=parts_out, user=user, user_from_dir=user_from_dir,
                fmt=fmt, workers=n_workers, progress=cb, **({"prune": True} if prune else {}),
            )
        except (FileNotFoundError, ValueError, RayUnavailable) as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        except KeyboardInterrupt:
            store.close()  # the batch in progress is rolled back; every batch committed before stays
            console.print(
                "[yellow]ingest interrupted[/yellow]: the files committed so far are kept; run the same command "
                "again to go on from there."
            )
            raise typer.Exit(130) from None
        except duckdb.Error as exc:  # the database's own failure (a full disk, most often): said, not a traceback
            _store_failed(store, exc)
    n_sessions = None
    # needs_measure: also rows an earlier run committed and did not measure (killed in between)
    if stats.changed or full_measure or needs_measure(store):
        try:
            n_sessions = build_sessions(store, full=full_measure)
        except duckdb.Error as exc:
            _store_failed(store, exc)
    elapsed = time.perf_counter() - t0
    record_run(
        store,
        "ingest",
        {
            "paths": [as_text(str(p)) for p in roots],
            "engine": engine,
            "workers": n_workers,
            "files_seen": stats.files_seen,
            "files_parsed": stats.files_parsed,
            "files_appended": stats.files_appended,
            "files_skipped": stats.files_skipped,
            "files_failed": stats.files_failed,
            "files_gone": stats.files_gone,
            "files_removed": stats.files_removed,
            "not_readable": len(stats.not_readable),
            "bytes_read": stats.bytes_read,
            "bad_lines": stats.bad_lines,
            "seconds": round(elapsed, 3),
        },
    )
    t = Table(title="ingest", show_header=False)
    t.add_row("files seen", str(stats.files_seen))
    t.add_row("parsed / appended / unchanged", f"{stats.files_parsed} / {stats.files_appended} / {stats.files_skipped}")
    t.add_row("formats", ", ".join(f"{k}: {v}" for k, v in sorted(stats.by_source.items())) or "-")
    t.add_row("damaged lines (skipped, logged)", str(stats.bad_lines))
    if stats.not_readable:
        t.add_row("not readable (files, folders)", str(len(stats.not_readable)))
    t.add_row("MB read", f"{stats.bytes_read / 1e6:.1f} in {elapsed:.1f}s")
    if n_sessions is not None:
        t.add_row("sessions in database", str(n_sessions))
    console.print(t)
    if stats.files_seen == 0:
        what = f"in the {fmt} format" if fmt else "in a format codecensus reads"
        console.print(f"[yellow]No transcript {what} under {', '.join(escape(as_text(str(r))) for r in roots)}[/yellow]"
                      " (`codecensus formats` lists them).")
    if stats.files_removed:
        console.print(f"{stats.files_removed} file(s) stored by an earlier run are no longer under the paths: "
                      "their rows were removed (--prune).")
    elif stats.files_gone:
        warn, rest = quickcheck.gone_note(stats.files_gone)
        console.print(f"[yellow]{warn}[/yellow]{rest}")
    if stats.errors:
        console.print(f"[red]{len(stats.errors)} file(s) failed and were not committed:[/red]")
        for e in stats.errors[:20]:
            console.print(f"  {escape(str(e))}")
    if stats.not_readable:
        console.print(f"[red]{len(stats.not_readable)} file(s) or folder(s) could not be read[/red] (no permission?); "
                      "their stored rows, if any, are kept. Give this user read access and run the same command again:")
        for d in stats.not_readable[:20]:
            console.print(f"  {d}", markup=False)
    complete = (
        not stats.files_failed
        and not stats.not_readable
        and store.table_exists("sessions")
        and (store.one("SELECT count(*) FROM files WHERE consumed < size") or (1,))[0] == 0
    )
    if n_sessions is None and complete:
        row = store.one("SELECT count(*) FROM sessions")
        n_sessions = row[0] if row else None
    store.close()
    if snap_opts is not None and listing is not None and complete:
        quickcheck.save(db_path, snap_opts, listing, sessions=n_sessions, gone=stats.files_gone - stats.files_removed)
    if stats.files_failed or stats.not_readable:
        raise typer.Exit(1)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


@app.command()
def sessions(
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", "-f", help="Output format. Default: from the --out suffix (.jsonl or .ndjson, .csv, "
                     ".parquet or .pq); jsonl for standard output or a name without a suffix. Another suffix needs "
                     "--format.", show_default=False),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of standard output ('-': standard output; a file "
                                            "is required for parquet).")
    ] = None,
    summaries: Annotated[
        bool,
        typer.Option("--summaries", help="Add each classified session's one-line summary (free text: an LLM "
                     "backend's is its own redacted words about the transcript)."),
    ] = False,
    db: DbOpt = None,
) -> None:
    """Export one row per session (shape, and facets once classified). No transcript text, no free text unless
    --summaries; users and projects hashed.

    Where a facet has no finding (expertise empty, occupation not_inferable, outcome unclear), its column
    expertise_reason, occupation_reason or outcome_reason says why, as one of these keys: empty_session,
    no_answer, no_human_request, too_little_text, unreadable_request, thin_evidence, nothing_done, no_result,
    model_cannot_tell, not_recorded (classified before reasons were stored: classify again). Empty otherwise."""
    from codecensus.export import session_table, write_table

    if out_file is not None and str(out_file) == "-":  # the Unix name of standard output (was a file named '-')
        out_file = None
    db_path = (db or default_db_path()).expanduser()
    if out_file is not None:  # (before its suffix is read: `-o db.duckdb` is said to be the database)
        if out_file.is_dir():
            console.print(f"[red]--out {escape(str(out_file))} is a folder[/red]: name the file to write.")
            raise typer.Exit(2)
        if _same_file(out_file, db_path) or _same_file(out_file, Path(f"{db_path}.wal")):
            console.print(f"[red]--out {escape(str(out_file))} is the database itself[/red]: name another file to write.")
            raise typer.Exit(2)
    fmt = _export_format(fmt, out_file)
    if fmt is ExportFormat.parquet and out_file is None:
        console.print("[red]--format parquet needs --out FILE[/red]")
        raise typer.Exit(2)
    if out_file is not None:
        try:
            out_file.parent.mkdir(parents=True, exist_ok=True)  # as report --out does
        except OSError as exc:  # FileExistsError: a file where the folder would be ("File exists" read as the output)
            why = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror or _reason(exc)
            console.print(f"[red]Cannot write --out {escape(str(out_file))}[/red]: {escape(why)}")
            raise typer.Exit(2) from exc
    store = open_store(db_path, read_only=True)
    try:
        if not store.table_exists("sessions"):
            console.print("[red]no `sessions` table: run `codecensus ingest` first[/red]")
            raise typer.Exit(1)
        tbl = session_table(store, summaries=summaries)
    finally:
        store.close()
    try:
        write_table(tbl, fmt.value, out_file or sys.stdout)
    except OSError as exc:
        if out_file is None or _disk_full(exc):
            raise  # stdout: a closed pipe is the root command's to handle (_Group); a full disk is main()'s
        console.print(f"[red]Cannot write --out {escape(str(out_file))}[/red]: {escape(exc.strerror or _reason(exc))}")
        raise typer.Exit(2) from exc
    if out_file:
        console.print(f"wrote {tbl.num_rows} sessions to {escape(str(out_file))}")


_SUFFIX_FORMATS = {".jsonl": ExportFormat.jsonl, ".ndjson": ExportFormat.jsonl, ".csv": ExportFormat.csv,
                   ".parquet": ExportFormat.parquet, ".pq": ExportFormat.parquet}


# Folders an agent makes itself: under --user-from-dir they would each become a "user" (one user's ~ or ~/.claude
# passed instead of the team's root gave every session the user ".claude" or "projects", unsaid)
_TOOL_FOLDERS = frozenset({".claude", ".codex", ".gemini", ".config", ".aider", ".openhands", "projects", "sessions",
                           "tasks", "tmp", "todos", "subagents", "logs"})


def _warn_tool_folders_as_users(roots: list[Path]) -> None:
    for root in roots:
        try:
            names = sorted(e.name for e in os.scandir(root) if e.is_dir() and e.name in _TOOL_FOLDERS)
        except OSError:
            continue  # ingest says what is wrong with it
        if names:
            shown = ", ".join(repr(n) for n in names)
            console.print(f"[yellow]--user-from-dir: the folders under {escape(str(root))} become users[/yellow], and "
                          f"{escape(shown)} {'is' if len(names) == 1 else 'are'} an agent's own: pass the folder that "
                          "holds one folder per user (<root>/<user>/...), or use --user NAME for one person's files.")


def _export_format(fmt: ExportFormat | None, out_file: Path | None) -> ExportFormat:
    """--format, else the one --out's suffix names, else (standard output, a name without a suffix) jsonl. A suffix
    that names no format without --format (`-o s.cvs`, `-o s.json`) is refused, as is a --format that its --out
    suffix contradicts (`-f csv -o s.parquet`): nothing is written under a name that says another format."""
    by_suffix = _SUFFIX_FORMATS.get(out_file.suffix.lower()) if out_file is not None else None
    if fmt is None:
        if by_suffix is None and out_file is not None and out_file.suffix:  # "s.cvs", "s.xlsx" (was JSON Lines)
            known = ", ".join(_SUFFIX_FORMATS)
            console.print(f"[red]--out {escape(str(out_file))}: the suffix {escape(out_file.suffix)} names no "
                          f"format[/red]: name the file {known}, or pass --format jsonl, csv or parquet.")
            raise typer.Exit(2)
        return by_suffix or ExportFormat.jsonl
    if by_suffix is not None and by_suffix is not fmt:
        console.print(f"[red]--format {fmt.value} does not match --out {escape(str(out_file))}[/red] (a {by_suffix.value} name): "
                      "change one of them, or leave --format out to write what the name says.")
        raise typer.Exit(2)
    return fmt


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links and relative parts); False when either is missing."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the corpus, database and report.")] = Path(
        "demo-out"
    ),
    users: Annotated[int, typer.Option(help="Generated users.", min=1)] = 250,
    n_sessions: Annotated[int, typer.Option("--sessions", help="Generated sessions.", min=1)] = 1500,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same corpus).")] = 7,
) -> None:
    """Generate a sample corpus, run the whole pipeline on it, and write the HTML report."""
    from codecensus.pipeline import run_demo

    if out_dir.exists() and not out_dir.is_dir():
        console.print(f"[red]--out {escape(str(out_dir))} is a file[/red]: the demo writes a folder (corpus, database, report).")
        raise typer.Exit(2)
    from codecensus.report.cli import check_out_dir

    check_out_dir(out_dir, "the demo")  # a file or a read-only folder in the way: said, not a traceback
    try:
        report = run_demo(out_dir, users=users, sessions=n_sessions, seed=seed, console=console)
    except FileExistsError as exc:  # a folder of the user's own files: nothing there is touched
        console.print(f"[red]--out {escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        console.print(
            f"[yellow]demo interrupted[/yellow]: run the same command again to start over in "
            f"{escape(str(out_dir))}."
        )
        raise typer.Exit(130) from None
    out.print(f"report: {escape(str(report))}")


@app.command()
def formats() -> None:
    """List the transcript formats codecensus can read."""
    from codecensus.sources import parsers

    t = Table("format", "version", "incremental", "reads")
    for name, p in sorted(parsers().items()):
        t.add_row(name, p.version, "append" if p.append_only else "whole file", "folder" if p.folder else "file")
    out.print(t)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(f"codecensus {__version__}")


def _print_version(value: bool) -> None:
    if value:
        version()
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    # `codecensus --version`, as most tools have it, beside `codecensus version`
    pass


# --- commands of later stages register here --------------------------------------------------
# (each stage module owns its command function; keep one line per command)
from codecensus.otel.cli import otel_app  # noqa: E402

app.add_typer(otel_app, name="otel")
from codecensus.gitagents.cli import git_agents  # noqa: E402

app.command("git-agents")(git_agents)
from codecensus.report.cli import report_cmd, summary_cmd  # noqa: E402

app.command("report")(report_cmd)
app.command("summary")(summary_cmd)
from codecensus.classify.cli import classify_cmd, eval_cmd  # noqa: E402

app.command("classify")(classify_cmd)
app.command("eval")(eval_cmd)
from codecensus.cluster.cli import cluster_cmd  # noqa: E402

app.command("cluster")(cluster_cmd)


def main() -> None:
    Console.on_broken_pipe = _console_on_broken_pipe  # type: ignore[method-assign]  # the executable only
    try:
        try:
            app()
        finally:  # what a command left buffered for a reader that is gone
            with contextlib.suppress(ValueError):
                sys.stdout.flush()
    except StoreBusy as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise SystemExit(3) from exc
    except (OSError, duckdb.Error) as exc:
        if _closed_pipe(exc):
            _quit_on_closed_stdout()
        # A full disk, in any command (classify, cluster, report: ingest says more itself): said, not a traceback.
        # Anything else is a bug, and its traceback is kept.
        if not _disk_full(exc):
            raise
        console.print(
            "[red]No space left on the device[/red]: what was written before is kept; free some space and run "
            "the same command again."
        )
        raise SystemExit(1) from exc


if __name__ == "__main__":  # pragma: no cover
    main()

__all__ = ["app", "main", "open_store"]
