"""Re-ingest of an unchanged corpus without opening the database.

After an ingest that committed everything it saw, the CLI saves a *snapshot* next to the
database (``<db>.snapshot.json``):

- the ingest options (roots, user attribution, forced format),
- a fingerprint of the codecensus code (every module's size and mtime, and the version),
- a hash of the listing of every file under the roots — path, size, mtime, ctime and inode, taken
  *before* the ingest started, with the walk rules ingest itself uses (no symlinks followed, the same
  skipped folders). A file rewritten with the same size and its mtime put back has another ctime (one
  renamed over it, another inode): the fast path takes the full path, whose tail check re-reads it.
  No snapshot is saved when a file's mtime or ctime is within 2 s of the listing (``paths.racily_clean``):
  written again in the same timestamp tick (2 s on FAT/exFAT, 1 s on HFS+, a few ms with coarse kernel
  timestamps), its size, times and inode would be as listed. The next run takes the full path instead,
- the database file's size and mtime after it was closed (and that no WAL was left),
- how many stored files under the roots that ingest did not find (kept without ``--prune``):
  the fast path says so as the full path does.

The next ``codecensus ingest`` with the same options lists the roots again (one ``stat`` per
file: the work the full path starts with). When the listing, the code and the database file are
all unchanged, no input of the ingest has changed, so its result cannot either: it reports and
exits without importing DuckDB or Arrow. Anything else — a new, grown or touched file, a removed
one, another command having written the database, other code, other options — takes the full
path, which saves a new snapshot. A listing taken before the ingest is conservative: a file that
changes while it is being read differs from the snapshot next time and is re-read.

The run's manifest is appended to ``<db>.pending-runs.jsonl``; the next process that opens the
database for writing moves it into the ``runs`` table.

Standard library and orjson only.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from codecensus import __version__
from codecensus.paths import (
    as_text,
    default_claude_dirs,
    default_db_path,
    pending_runs_path,
    racily_clean,
    walk,
)

SNAPSHOT_VERSION = 3  # 2: with the count of gone files; 3: ctime and inode in the listing
_PACKAGE_DIR = Path(__file__).resolve().parent


def snapshot_path(db: Path) -> Path:
    return db.with_name(db.name + ".snapshot.json")


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@dataclass(slots=True)
class Listing:
    """Every file under the roots: count and a hash of (path, size, mtime_ns, ctime_ns, inode) in walk order."""

    files: int
    digest: str
    racy: int = 0  # files whose mtime or ctime was within paths.RACY_NS of the listing: no snapshot describes them


def _racy(st: os.stat_result, listed_ns: int) -> bool:
    return racily_clean(max(st.st_mtime_ns, st.st_ctime_ns), listed_ns)


def list_roots(roots: list[Path]) -> Listing:
    """Walk the roots with ingest's own walk (:func:`codecensus.paths.walk`), hashing each file's stat."""
    h = hashlib.blake2b(digest_size=16)
    n = racy = 0
    listed_ns = time.time_ns()  # before any stat
    for root in roots:
        root = Path(root).expanduser()
        h.update(b"\x00root\x00" + os.fsencode(str(root)))
        try:
            st = root.stat()
        except OSError:
            h.update(b"\x00missing")
            continue
        if not stat.S_ISDIR(st.st_mode):
            h.update(_stat_key(st))
            n += 1
            racy += _racy(st, listed_ns)
            continue
        for path, entry in walk(str(root), on_error=lambda d: h.update(b"\x00unreadable\x00" + os.fsencode(d))):
            if entry is None:  # a claimed folder: none is claimed without a `claim`
                continue
            try:
                est = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            # fsencode: a name need not be valid UTF-8 (the same bytes as .encode() when it is)
            h.update(os.fsencode(path) + _stat_key(est))
            n += 1
            racy += _racy(est, listed_ns)
    return Listing(n, h.hexdigest(), racy)


def _stat_key(st: os.stat_result) -> bytes:
    """What the listing holds of a file's stat. Size and mtime alone miss a file rewritten with the same size and
    its mtime put back (``os.utime``), which the full path re-reads (its tail hash differs): any write or ``utime``
    sets the ctime to the current time, and a file replaced by a rename has another inode. Free: the same ``stat``."""
    return f"\x00{st.st_size}\x00{st.st_mtime_ns}\x00{st.st_ctime_ns}\x00{st.st_ino}\n".encode()


def code_fingerprint() -> str:
    """The codecensus version and every module's size and mtime: other code, other results."""
    h = hashlib.blake2b(__version__.encode(), digest_size=16)
    for dirpath, dirnames, filenames in os.walk(_PACKAGE_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py"):
                st = os.stat(os.path.join(dirpath, f))
                h.update(os.fsencode(f"{dirpath}/{f}") + f"\x00{st.st_size}\x00{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def options_key(roots: list[Path], user: str | None, user_from_dir: bool, fmt: str | None) -> dict[str, Any]:
    return {
        "roots": [as_text(str(Path(r).expanduser().absolute())) for r in roots],
        "user": as_text(user) if user else user,
        "user_from_dir": bool(user_from_dir),
        "format": fmt,
    }


def _db_stat(db: Path) -> list[int] | None:
    try:
        st = db.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def gone_note(n: int) -> tuple[str, str]:
    """What an ingest says about ``n`` stored files no longer under its paths: the part shown as a warning, the rest."""
    return (
        f"{n} file(s) stored by an earlier run are no longer under the paths",
        " (deleted, moved or renamed): their sessions are kept. A moved or renamed file is now stored twice; "
        "`codecensus ingest --prune` with the same paths removes the files that are gone.",
    )


def save(db: Path, options: dict[str, Any], listing: Listing, *, sessions: int | None, gone: int = 0) -> bool:
    """Save the snapshot after a complete ingest (the database closed). False when none can be trusted."""
    db = Path(db).expanduser()
    # uncheckpointed changes: the file's stat does not describe them; or a file written moments before the listing
    if wal_path(db).exists() or listing.racy:
        clear(db)
        return False
    dbst = _db_stat(db)
    if dbst is None:
        return False
    snap = {
        "v": SNAPSHOT_VERSION,
        "options": options,
        "code": code_fingerprint(),
        "files": listing.files,
        "listing": listing.digest,
        "db": dbst,
        "sessions": sessions,
        "gone": gone,
        "saved_at": time.time(),
    }
    tmp = snapshot_path(db).with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(snap))
    os.replace(tmp, snapshot_path(db))
    return True


def clear(db: Path) -> None:
    snapshot_path(Path(db).expanduser()).unlink(missing_ok=True)


def load(db: Path) -> dict[str, Any] | None:
    try:
        snap = orjson.loads(snapshot_path(db).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return snap if isinstance(snap, dict) and snap.get("v") == SNAPSHOT_VERSION else None


def unchanged(db: Path, options: dict[str, Any], roots: list[Path]) -> tuple[dict[str, Any] | None, Listing | None]:
    """The last ingest's snapshot when it still describes this corpus, code and database, else None."""
    db = Path(db).expanduser()
    snap = load(db)
    if snap is None or snap.get("options") != options or wal_path(db).exists():
        return None, None
    if snap.get("db") != _db_stat(db) or snap.get("code") != code_fingerprint():
        return None, None
    listing = list_roots(roots)
    same = listing.digest == snap.get("listing") and listing.files == snap.get("files")
    return (snap if same else None), listing


# -- the CLI's fast path ----------------------------------------------------------------------

_VALUE_OPTS = {"--db", "--user", "--format", "--workers", "-j", "--wait", "--engine"}
_FLAG_OPTS = {"--user-from-dir"}


def parse_ingest_args(argv: list[str]) -> dict[str, Any] | None:
    """The options of ``codecensus ingest ARGV`` when they are plain enough for the fast path, else None."""
    vals: dict[str, str] = {}
    flags: set[str] = set()
    paths: list[str] = []
    i = 0
    only_paths = False
    while i < len(argv):
        a = argv[i]
        if only_paths or not a.startswith("-") or a == "-":
            paths.append(a)
        elif a == "--":
            only_paths = True
        elif a in _FLAG_OPTS:
            flags.add(a)
        elif "=" in a and a.split("=", 1)[0] in _VALUE_OPTS:
            k, v = a.split("=", 1)
            vals[k] = v
        elif a in _VALUE_OPTS:
            if i + 1 >= len(argv):
                return None
            vals[a] = argv[i + 1]
            i += 1
        else:
            return None  # --help, --parts, --address, anything new: the full CLI handles it
        i += 1
    if vals.get("--engine", "local") != "local":
        return None
    return {"db": vals.get("--db"), "user": vals.get("--user"), "user_from_dir": "--user-from-dir" in flags,
            "format": vals.get("--format"), "paths": paths}


# The listing a fast path that found a change took, for the full path the same process goes on to (at most one).
_handed_over: list[tuple[dict[str, Any], Listing]] = []


def listing_for(roots: list[Path], options: dict[str, Any]) -> Listing:
    """The listing the full path saves in its snapshot: the one the fast path of this process took moments ago for
    the same options, when it took one (once), else a new one. Taken before the ingest either way (conservative).
    Listing 100K files took 0.4-0.5 s (1.0-1.6 s on a busy machine), twice a re-ingest before: for the check, then here."""
    taken = _handed_over.pop() if _handed_over else None
    if taken is not None and taken[0] == options:
        return taken[1]
    return list_roots(roots)


def try_fast_ingest(argv: list[str]) -> bool:
    """Handle ``codecensus ingest ARGV`` here when nothing changed since the last ingest. True if handled."""
    _handed_over.clear()
    if os.environ.get("CODECENSUS_NO_SNAPSHOT"):
        return False
    t0 = time.perf_counter()
    args = parse_ingest_args(argv)
    if args is None or (args["user"] and args["user_from_dir"]):
        return False
    db = Path(args["db"]).expanduser() if args["db"] else default_db_path()
    roots = [Path(p) for p in args["paths"]] or default_claude_dirs()
    if not roots or any(not Path(r).expanduser().exists() for r in roots):
        return False  # the full path explains what is missing
    options = options_key(roots, args["user"], args["user_from_dir"], args["format"])
    snap, listing = unchanged(db, options, roots)
    if snap is None or listing is None:
        if listing is not None:  # the corpus changed: the full path this process goes on to needs this listing
            _handed_over[:] = [(options, listing)]
        return False
    gone = snap.get("gone") or 0
    elapsed = time.perf_counter() - t0
    _record_pending_run(db, options, listing, elapsed, gone)
    sys.stderr.write(
        f"ingest: nothing changed since the last run: {listing.files} files under {len(roots)} path(s) unchanged, "
        f"checked in {elapsed:.2f}s without opening the database ({db}).\n"
    )
    if gone:
        sys.stderr.write("".join(gone_note(gone)) + "\n")
    return True


def _record_pending_run(db: Path, options: dict[str, Any], listing: Listing, elapsed: float, gone: int) -> None:
    from codecensus.manifest import build_manifest

    man = build_manifest(
        "ingest",
        {"paths": options["roots"], "engine": "local", "files_seen": listing.files, "files_parsed": 0,
         "files_appended": 0, "files_skipped": listing.files, "files_failed": 0, "files_gone": gone, "files_removed": 0, "bytes_read": 0, "bad_lines": 0,
         "seconds": round(elapsed, 3), "unchanged_snapshot": True},
    )
    man["run_id"] = hashlib.blake2b(orjson.dumps(man), digest_size=8).hexdigest()
    with open(pending_runs_path(db), "ab") as fh:
        fh.write(orjson.dumps(man) + b"\n")
