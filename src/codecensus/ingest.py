"""Incremental, crash-safe ingestion: discover files, parse what changed, commit per file.

- Unchanged files (same size, mtime, ctime and inode, fully consumed) cost one ``stat``; a same-size rewrite with its
  mtime put back (touch -r, rsync -t) has another ctime, and is read again. A file whose mtime was not safely older
  than the moment it was last stat'ed (``paths.racily_clean``: a write in the same timestamp tick would not show)
  is read again whole.
- Append-only formats resume at the stored byte offset when the head and the
  bytes before the offset are unchanged; anything else is re-parsed whole and
  its old rows replaced in the same transaction.
- Each file's rows and bookkeeping are one DuckDB transaction: a kill at any
  moment loses nothing committed, and a re-run never duplicates.
- A file larger than ``piece_bytes`` (append-only formats) is read and committed in pieces of about that
  size, each resumed from where the last ended, as an append is: its rows never all sit in memory at once.
  A kill between pieces leaves the file partly read, and the next run reads the rest.
- Parsing runs in ``workers`` parser processes (``sources.base.ParserPool``; 0 =
  in this process, as are jobs under two chunks), fed chunks of files while
  discovery goes on; the single writer is this process. Rows come back as one
  set of Arrow tables per chunk and go to DuckDB in batches (<= 32 MB of input
  per transaction), under a small DuckDB memory limit, then one checkpoint.
"""

from __future__ import annotations

import getpass
import itertools
import logging
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

from codecensus.paths import SKIP_DIRS, as_text, default_claude_dirs, racily_clean, walk
from codecensus.records import ParseResult, share_tables, stored_text
from codecensus.runtime import bulk_gc
from codecensus.sources import base as registry
from codecensus.sources.base import (
    FileContext,
    Parser,
    ParserPool,
    Run,
    fingerprints,
    release_memory,
    tail_fingerprint,
)
from codecensus.sources.base import parse_chunk as _parse_chunk
from codecensus.store import FileCommit, FileState, Store

__all__ = ["SETTLE_S", "SKIP_DIRS", "IngestStats", "default_claude_dirs", "discover", "ingest"]

log = logging.getLogger(__name__)
SETTLE_S = 60.0  # a file untouched this long is complete: its last line is read even without a newline


@dataclass(slots=True)
class Candidate:
    path: Path
    parser: Parser
    user: str | None
    file_id: str
    real: str  # its absolute path through no symlink: the path stored for it (the same from any cwd or root form)


@dataclass(slots=True)
class IngestStats:
    files_seen: int = 0
    files_skipped: int = 0
    files_appended: int = 0
    files_parsed: int = 0
    files_failed: int = 0
    bytes_read: int = 0
    bad_lines: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    changed_sessions: set[str] = field(default_factory=set)
    files_gone: int = 0  # stored under the paths in an earlier run, no longer there
    files_removed: int = 0  # of those, removed from the database (``prune``)
    paths_updated: int = 0  # unchanged files stored under a path as given by an older ingest, now their real path
    # files and folders met under the paths that could not be read (no permission): their stored rows are kept
    not_readable: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.files_parsed or self.files_appended or self.files_removed)


def _walk(root: Path, on_error: Callable[[str], object] | None = None) -> Iterator[Path]:
    """Files under root, and folders a folder-format parser claims (not descended into)."""
    if root.is_file():
        yield root
        return
    folder_parsers = [p for p in registry.parsers().values() if getattr(p, "folder", False)]

    def claim(d: str, entries: list[os.DirEntry[str]]) -> bool:
        names = {e.name for e in entries}
        # A parser's `markers` (names one of which its folders hold) spare the stat calls of detect().
        cands = [p for p in folder_parsers if not getattr(p, "markers", None) or names & p.markers]  # type: ignore[attr-defined]
        return any(_claims(p, Path(d)) for p in cands)

    for path, _entry in walk(str(root), claim if folder_parsers else None, on_error):
        yield Path(path)


def _claims(p: Parser, d: Path) -> bool:
    try:
        return p.detect(d, b"") >= 0.5
    except Exception:
        return False


def discover(
    paths: Iterable[Path],
    *,
    user: str | None = None,
    user_from_dir: bool = False,
    fmt: str | None = None,
    unchanged: Callable[[Path, str], bool] | None = None,
    unreadable: list[str] | None = None,
) -> Iterator[Candidate]:
    """Every transcript under ``paths`` with the parser that owns it.

    ``unchanged(path, user, real)`` (``real``: the file's absolute path through no symlink) lets the caller skip
    files it already holds in full, attributed to ``user``, without reading their heads for format detection (a
    re-ingest then costs one ``stat`` per file). Folders, and files no format took, that cannot be read are
    appended to ``unreadable``, each as walked and as its real path.
    """
    default_user = user or _local_user()
    forced = registry.get(fmt) if fmt else None
    for root in paths:
        root = Path(root).expanduser()
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or directory")
        # _walk follows no symlink below the root, so a file's resolved path is the resolved root + the rest.
        root_s, real_root = os.path.join(str(root), ""), os.path.join(str(root.resolve()), "")

        def real_of(ps: str, root_s: str = root_s, real_root: str = real_root) -> str:
            return real_root + ps[len(root_s):] if ps.startswith(root_s) else str(Path(ps).resolve())

        on_error = None if unreadable is None else (lambda d, real_of=real_of: unreadable.extend((d, real_of(d))))
        for p in _walk(root, on_error):
            u = default_user
            if user_from_dir and root.is_dir():
                rel = p.relative_to(root).parts
                u = rel[0] if len(rel) > 1 else default_user
            real = real_of(str(p))
            if unchanged is not None and unchanged(p, u, real):
                continue
            errors: list[OSError] = []  # why its head could not be read: said, not skipped unsaid as empty
            if forced is not None:
                head = b"" if p.is_dir() else registry.read_head(p, registry.HEAD_BYTES, errors)
                parser: Parser | None = None if errors or forced.detect(p, head) <= 0 else forced
            else:
                parser = registry.detect(p, None, errors)
            if parser is None:
                # deleted since it was listed: not met
                if unreadable is not None and errors and not isinstance(errors[0], FileNotFoundError):
                    unreadable.extend((str(p), real))
                continue
            yield Candidate(p, parser, u, registry.file_id_for(p, parser.name, real), real)


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "local"


_fingerprints = fingerprints  # (kept under this name for codecensus.engine)


def _dir_stat(path: Path) -> tuple[int, int, int]:
    """A folder's total size, latest mtime and latest ctime over the files below it."""
    size = mtime = ctime = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(root, f))
            size += st.st_size
            mtime = max(mtime, st.st_mtime_ns)
            ctime = max(ctime, st.st_ctime_ns)
    return size, mtime, ctime


def _stat(path: Path) -> tuple[bool, int, int, int, int | None]:
    """(is a folder, size, mtime, ctime, inode) of ``path``; a folder's over the files below it (inode: None)."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        return (True, *_dir_stat(path), None)
    return False, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _same_stat(state: FileState, size: int, mtime_ns: int, ctime_ns: int | None = None,
               inode: int | None = None) -> bool:
    """Whether ``state`` holds this stat of its file: the same size and mtime, the mtime safely older than the stat
    that stored them (``paths.racily_clean``: a write in the same tick would not show), and the same ctime and inode
    (a rewrite with its size and mtime put back changed them). The ctime and inode are not compared when either side
    has none: a store made before they were kept (the size, mtime and tail decide as before), or a remote listing."""
    return (
        state.size == size
        and state.mtime_ns == mtime_ns
        and not racily_clean(mtime_ns, state.checked_ns)
        and (ctime_ns is None or state.ctime_ns is None
             or (state.ctime_ns == ctime_ns and (state.inode is None or state.inode == inode)))
    )


def _renumbered(state: FileState, size: int, mtime_ns: int, ctime_ns: int | None, inode: int | None) -> bool:
    """Whether ``state`` holds this stat of its file but for the inode: the same size, mtime (safely older than the
    stat that stored it) and ctime, another inode number. A filesystem mounted again can number its files anew (a
    network or FUSE filesystem, an overlay, a disk image), and every file of a corpus then looked rewritten and was
    read again whole. A file replaced by another (a rename over it) has the ctime of its own creation or rename, so
    with the ctime equal only the numbering changed; the caller still compares the head and tail fingerprints."""
    return (
        ctime_ns is not None and inode is not None and state.ctime_ns == ctime_ns and state.inode is not None
        and state.inode != inode and state.size == size and state.mtime_ns == mtime_ns
        and not racily_clean(mtime_ns, state.checked_ns)
    )


@dataclass(slots=True)
class _Job:
    cand: Candidate
    ctx: FileContext
    replace: bool
    size: int
    mtime_ns: int
    existed: bool = False
    is_dir: bool = False
    new: bool = False  # no `files` row holds its id, nor will until it is committed (first meeting in this call)
    piece: bool = False  # the rest of a file whose first part was committed in this call (piece_bytes)
    committed: bool = False
    checked_at: float | None = None  # time.time() before the stat that gave size and mtime (FileCommit.checked_at)
    ctime_ns: int | None = None  # from that stat (a folder: its files' latest ctime)
    inode: int | None = None  # from that stat (a folder: None)


def reread_lost_lines(store: Store, states: dict[str, FileState]) -> dict[str, FileState]:
    """``states``, with those of the files an earlier version lost lines of to a lone surrogate escape (logged as
    damaged: "no low surrogate in string"; they read now, sources.base.loads) marked as of no parser version, so
    that their files are read again once, as after a parser change."""
    lost = store.con.execute(
        "SELECT DISTINCT file_id FROM ingest_log WHERE kind = 'bad_json' AND detail LIKE '%surrogate in string%'"
    ).fetchall()
    out = dict(states)
    for (fid,) in lost:
        if fid in out:
            out[fid] = replace(out[fid], parser_version=None)
    return out


def _plan(cand: Candidate, state: FileState | None, settle_s: float,
          identities: dict[str, tuple[int, int | None]] | None = None, salt: str = "") -> _Job | None:
    """The job that reads what changed of ``cand`` since ``state``, or None when nothing did. ``identities``: a file
    found unchanged whose state holds no ctime and inode (stored before they were kept) gets them put there,
    from the stat that found it unchanged. ``salt``: the store's (FileContext.salt)."""
    checked_at = time.time()
    is_dir, size, mtime_ns, ctime_ns, inode = _stat(cand.path)
    final = (time.time() - mtime_ns / 1e9) >= settle_s
    p = cand.parser
    ctx = FileContext(path=cand.path, file_id=cand.file_id, user=cand.user, final=final, salt=salt)
    # Attributed to another user now (--user changed, a --user-from-dir folder renamed): every row is re-made.
    if state is not None and state.parser_version == p.version and state.user_name == stored_text(cand.user):
        same = _same_stat(state, size, mtime_ns, ctime_ns, inode)
        if (
            same
            and (state.consumed >= size or not final)
            and (is_dir or tail_fingerprint(cand.path, state.consumed) == state.tail_hash)
        ):
            if identities is not None and state.ctime_ns is None:
                identities[state.file_id] = (ctime_ns, inode)
            return None  # unchanged
        if (
            not is_dir
            and _renumbered(state, size, mtime_ns, ctime_ns, inode)
            and state.consumed >= size
            and (state.head_hash, state.tail_hash) == _fingerprints(cand.path, state.consumed)
        ):
            if identities is not None:
                identities[state.file_id] = (ctime_ns, inode)
            return None  # unchanged, renumbered
        if (
            p.append_only
            and not is_dir
            and (size > state.size or same)  # an append grows the file: one of the same size was rewritten
            and size >= state.consumed
            and state.consumed > 0
            and (state.head_hash, state.tail_hash) == _fingerprints(cand.path, state.consumed)
            and _line_ends_at(cand.path, state.consumed)
        ):
            ctx.start_offset = state.consumed
            ctx.start_line = state.lines
            ctx.session_key = state.session_key
            return _Job(cand, ctx, False, size, mtime_ns, existed=True, is_dir=is_dir, checked_at=checked_at,
                        ctime_ns=ctime_ns, inode=inode)
    return _Job(cand, ctx, True, size, mtime_ns, existed=state is not None, is_dir=is_dir, checked_at=checked_at,
                ctime_ns=ctime_ns, inode=inode)


def _line_ends_at(path: Path, offset: int) -> bool:
    """Whether the byte before ``offset`` ends a line. A last line read without its newline (the file had
    settled) may have been completed since: resuming after it would read its rest as a line of its own."""
    with open(path, "rb") as fh:
        fh.seek(offset - 1)
        return fh.read(1) == b"\n"


def _unchunk(runs: list[Run]) -> list[ParseResult | str]:
    """The per-file results of a parsed chunk, each holding its own part of the chunk's tables."""
    out: list[ParseResult | str] = []
    for results, merged in runs:
        if merged is not None:
            share_tables(results, merged)
        out += results
    return out


def ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    user: str | None = None,
    user_from_dir: bool = False,
    fmt: str | None = None,
    workers: int = 1,
    settle_s: float = SETTLE_S,
    batch_limit_bytes: int = int(os.environ.get("CODECENSUS_COMMIT_BYTES", "32000000")),
    batch_limit_files: int = int(os.environ.get("CODECENSUS_COMMIT_FILES", "1024")),
    progress: Callable[[int, int, str], None] | None = None,
    prune: bool = False,
    piece_bytes: int = int(os.environ.get("CODECENSUS_PIECE_BYTES", "64000000")),
) -> IngestStats:
    """Ingest every transcript under ``paths`` into ``store``. Returns counts.

    Files stored from an earlier run under ``paths`` that are no longer there (deleted, moved, renamed) are
    counted in ``files_gone``; their rows are kept (Claude Code deletes old transcripts: the database keeps
    the history) unless ``prune``, which removes them, so that the database holds what a clean ingest of the
    paths would.
    """
    # DuckDB only appends here: a small buffer pool is as fast and keeps the writer's memory flat, and
    # one DuckDB thread does the same work with less CPU (the parser processes have the other cores).
    # No automatic checkpoint under that small buffer: checkpointing a large database needs more (32 MB
    # failed on a 2.3 GB database, and a failed checkpoint is fatal to the DuckDB connection). Committed
    # batches stay durable in the WAL until the checkpoint below.
    # The buffer must also hold the `files` primary-key index (~70 bytes per file, always in memory): at
    # 240K files a flat 32 MB ran out in every batch commit and ingest fell back to file-by-file commits.
    limit = os.environ.get("CODECENSUS_INGEST_MEMORY") or _ingest_memory(store)
    # bulk_gc: the writer's collector passes found nothing and took 0.28-0.33 s of a 10K-session round
    with store.memory_limit(limit, threads=1, checkpoint_threshold="1TB"), bulk_gc():
        stats = _ingest(
            store, paths, user=user, user_from_dir=user_from_dir, fmt=fmt, workers=workers, settle_s=settle_s,
            batch_limit_bytes=batch_limit_bytes, batch_limit_files=batch_limit_files, progress=progress, prune=prune,
            piece_bytes=piece_bytes,
        )
    if stats.changed or stats.paths_updated:
        # Write the new rows into the database file now, under the store's own memory limit.
        store.con.execute("CHECKPOINT")
    return stats


def _ingest_memory(store: Store) -> str:
    """DuckDB's buffer while ingesting: 32 MB plus 128 bytes per file already in the database."""
    row = store.one("SELECT count(*) FROM files")
    return f"{32 + ((row[0] if row else 0) * 128) // 2**20}MB"


def _commit(store: Store, fcs: list[FileCommit]) -> None:
    """Commit a batch; when DuckDB runs out of memory, double its limit (at most three times) and retry.

    The limit set here lasts to the end of the ingest (``Store.memory_limit`` restores the old one).
    """
    store.grow_on_out_of_memory(
        lambda: store.commit_files(fcs), retries=3, log=log, restore=False,
        message="ingest: DuckDB out of memory at %d MiB in a batch commit; retrying at %d MiB",
    )


def _ingest(
    store: Store,
    paths: Iterable[Path],
    *,
    user: str | None,
    user_from_dir: bool,
    fmt: str | None,
    workers: int,
    settle_s: float,
    batch_limit_bytes: int,
    batch_limit_files: int,
    progress: Callable[[int, int, str], None] | None,
    prune: bool,
    piece_bytes: int,
) -> IngestStats:
    stats = IngestStats()
    paths = [Path(p) for p in paths]
    # Only the stored files under the roots (and, further down, those the discovered files' ids name) are
    # read from the database: an ingest call's memory and set-up follow its roots, not the database size.
    # A file's path is stored absolute through no symlink (Candidate.real): the same whether its root was given
    # relative, absolute or through a symlink, from any working directory, so a re-ingest under another form of
    # the root finds it with one stat (not a read of its head for format detection) and --prune finds it gone.
    # Stores written before kept the root as given (`ingest c`: paths `c/...`): those forms are looked for too,
    # and a file found under one gets its real path stored (`legacy`).
    cwd = os.getcwd()
    roots = [str(p.expanduser()) for p in paths]
    legacy_roots = [*roots, *(os.path.join(cwd, r) for r in roots), *(_relative(r, cwd) for r in roots)]
    under = dict.fromkeys(as_text(r) for r in [*(os.path.realpath(r) for r in roots), *legacy_roots] if r)
    states: dict[str, FileState | None] = dict(reread_lost_lines(store, store.file_states(under=list(under))))
    stored_under = [st for st in states.values() if st is not None]  # those no longer there are found at the end
    unreadable: list[str] = []
    current = {name: p.version for name, p in registry.parsers().items()}
    by_path = {st.path: st for st in states.values() if st and st.parser_version == current.get(st.source)}
    n_unchanged = 0
    counted: set[str] = set()  # unchanged paths counted (a root given twice lists its files twice)
    legacy: dict[str, str] = {}  # file id -> its real path, for the files stored under another path
    # file id -> (ctime, inode) of unchanged files whose stored state has none (stored before they were kept)
    identities: dict[str, tuple[int, int | None]] = {}  # (one row per file: an UPDATE takes no id twice)

    def unchanged(p: Path, user: str, real: str) -> bool:
        nonlocal n_unchanged
        ps = as_text(real)  # as stored
        st = by_path.get(ps)
        if st is None:  # stored by an older ingest, under the root as given (relative, or absolute from a cwd)
            for form in (str(p), os.path.join(cwd, str(p)), _relative(str(p), cwd)):
                st = by_path.get(as_text(form)) if form else None
                if st is not None:
                    ps = as_text(form)
                    break
        if st is None or st.user_name != stored_text(user):
            return False
        if ps in counted:
            return True
        try:
            fs = p.stat()
        except OSError:
            return False
        if stat.S_ISDIR(fs.st_mode):
            return False
        # (racily clean: planning reads it again)
        same = _same_stat(st, fs.st_size, fs.st_mtime_ns, fs.st_ctime_ns, fs.st_ino)
        renumbered = not same and _renumbered(st, fs.st_size, fs.st_mtime_ns, fs.st_ctime_ns, fs.st_ino)
        if st.consumed >= st.size and (same or renumbered):
            try:
                if renumbered:  # only the inode differs (a filesystem mounted again): the head must be the same too
                    if _fingerprints(p, st.consumed) != (st.head_hash, st.tail_hash):
                        return False
                elif tail_fingerprint(p, st.consumed) != st.tail_hash:
                    return False  # rewritten in place with the same size and mtime: read again
            except OSError:
                return False  # planning says why
            n_unchanged += 1
            if st.ctime_ns is None or renumbered:
                identities[st.file_id] = (fs.st_ctime_ns, fs.st_ino)
            counted.add(ps)
            if st.path != as_text(real):
                legacy[st.file_id] = as_text(real)
            return True
        return False

    planned = 0  # files to parse, known so far: discovery runs while the first chunks are parsed

    def with_states(cands: Iterator[Candidate]) -> Iterator[tuple[Candidate, FileState | None]]:
        """Each candidate with its stored state as of the start of this call.

        A discovered file's state is usually among those under the roots. The others are new files, or a file
        stored under another path to it (e.g. through a symlink): the store's stored-id filter, built on the
        first such candidate, tells most new files apart without a query; the rest are looked up by id, in groups
        (one semi-join per group, growing from 16 to 1024 candidates so the first chunks are parsed early).
        Ids met are remembered (None: not stored), so a file met twice keeps its state from the start.
        """
        n = 16
        may_be_stored: Callable[[str], bool] | None = None
        while group := list(itertools.islice(cands, n)):
            missing = list(dict.fromkeys(c.file_id for c in group if c.file_id not in states))
            if missing:
                if may_be_stored is None:  # a re-ingest of unchanged files never gets here
                    may_be_stored = store.stored_id_filter()
                lookup = [fid for fid in missing if may_be_stored(fid)]
                found = store.file_states(ids=lookup) if lookup else {}
                for fid in missing:
                    states[fid] = found.get(fid)  # None: not stored (ruled out by the filter, or not found)
            for c in group:
                yield c, states[c.file_id]
            n = min(2 * n, 1024)

    met: set[str] = set()  # ids of the files met in this call

    def plan_all() -> Iterator[_Job]:
        nonlocal planned
        cands = discover(paths, user=user, user_from_dir=user_from_dir, fmt=fmt, unchanged=unchanged, unreadable=unreadable)
        for c, state in with_states(cands):
            if c.file_id in met:
                continue  # the same file again (a root given twice, or a root inside another): read once
            try:
                job = _plan(c, state, settle_s, identities, store.salt)
            except FileNotFoundError:
                continue  # deleted since it was listed (Claude Code's clean-up, say): not met, so counted as gone
            except OSError as exc:  # met, but unreadable: said, and its stored rows are kept
                met.add(c.file_id)
                stats.files_seen += 1
                stats.files_failed += 1
                stats.errors.append(as_text(f"{c.path}: {type(exc).__name__}: {exc}"))
                continue
            met.add(c.file_id)
            stats.files_seen += 1
            if job is None:
                stats.files_skipped += 1
                if state is not None and state.path != as_text(c.real):
                    legacy[c.file_id] = as_text(c.real)
            else:
                job.new = state is None
                if c.parser.append_only and not job.is_dir:
                    job.ctx.max_bytes = piece_bytes
                planned += 1
                yield job

    if progress:
        progress(0, 0, "")

    def failed(job: _Job, exc: BaseException) -> None:
        stats.files_failed += 1
        stats.errors.append(as_text(f"{job.cand.path}: {type(exc).__name__}: {exc}"))

    batch: list[tuple[_Job, FileCommit]] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal batch_bytes
        if not batch:
            return
        committed = list(batch)
        try:
            _commit(store, [fc for _, fc in batch])
        except Exception:
            # Find the culprit: commit one by one; a file that cannot be stored is reported, never half-written.
            committed = []
            for job, fc in batch:
                try:
                    _commit(store, [fc])
                    committed.append((job, fc))
                except Exception as exc:
                    failed(job, exc)
        for job, fc in committed:
            job.committed = True
            result = fc.result
            stats.bytes_read += max(0, fc.consumed - job.ctx.start_offset) if not job.is_dir else fc.size
            stats.bad_lines += sum(b.count for b in result.bad if b.kind in ("bad_json", "bad_record"))
            for sess in result.sessions:
                stats.changed_sessions.add(sess.session_key)
            if job.piece:
                continue  # the file was counted with its first piece
            stats.by_source[fc.source] = stats.by_source.get(fc.source, 0) + 1
            if job.replace:
                stats.files_parsed += 1
            else:
                stats.files_appended += 1
        batch.clear()
        batch_bytes = 0
        release_memory()

    def commit(job: _Job, result: ParseResult) -> FileCommit:
        nonlocal batch_bytes
        c = job.cand
        path = c.path
        is_dir = job.is_dir
        consumed = result.consumed if not is_dir else job.size
        if is_dir:
            head, tail = "", ""
        elif result.fingerprints is not None:  # computed by the parser process
            head, tail = result.fingerprints
        else:
            head, tail = _fingerprints(path, consumed)
        skey = job.ctx.session_key or (result.sessions[0].session_key if result.sessions else None)
        fc = FileCommit(
            file_id=c.file_id,
            path=as_text(c.real),
            source=c.parser.name,
            role=c.parser.role(path),
            session_key=stored_text(skey),  # as the rows store it
            user_name=stored_text(c.user),
            size=job.size,
            mtime_ns=job.mtime_ns,
            head_hash=head,
            tail_hash=tail,
            parser_version=c.parser.version,
            result=result,
            replace=job.replace,
            existed=job.existed,
            consumed=consumed,
            lines=result.lines,
            new=job.new,
            checked_at=job.checked_at,
            ctime_ns=job.ctime_ns,
            inode=job.inode,
        )
        batch.append((job, fc))
        batch_bytes += max(0, consumed - job.ctx.start_offset)
        if batch_bytes >= batch_limit_bytes or len(batch) >= batch_limit_files:
            flush()
        return fc

    more: deque[_Job] = deque()  # the rest of files read in pieces, read before the next chunk

    def read_on(job: _Job, fc: FileCommit) -> None:
        """After a piece of a file: commit it now, then read the file on from where it ended, as an append."""
        flush()
        if not job.committed:
            return  # the piece failed (reported): the rest is not read
        ctx = replace(job.ctx, start_offset=fc.consumed, start_line=fc.lines, session_key=fc.session_key)
        more.append(_Job(job.cand, ctx, False, job.size, job.mtime_ns, existed=True, piece=True,
                         checked_at=job.checked_at, ctime_ns=job.ctime_ns, inode=job.inode))

    # Files are parsed in chunks (<= 64 files, <= 4 MB): one round trip to a worker and one Arrow
    # conversion per chunk, not per file.
    def chunked(jobs: Iterator[_Job]) -> Iterator[list[_Job]]:
        cur: list[_Job] = []
        cur_bytes = 0
        for job in jobs:
            cur.append(job)
            cur_bytes += max(0, job.size - job.ctx.start_offset)
            if len(cur) >= 64 or cur_bytes >= 4_000_000:
                yield cur
                cur, cur_bytes = [], 0
        if cur:
            yield cur

    done = 0

    def take(chunk: list[_Job], results: list[ParseResult | str]) -> None:
        nonlocal done
        for job, res in zip(chunk, results, strict=True):
            if isinstance(res, str):
                failed(job, RuntimeError(res))
            elif res.unreadable and job.existed:
                # A document cut short (a file rewritten whole, caught mid-write) replaced the sessions stored from
                # it by none: they are kept, and the file is read again next run.
                stats.files_failed += 1
                stats.errors.append(as_text(
                    f"{job.cand.path}: not readable as JSON ({res.unreadable}): cut short or damaged, perhaps "
                    "still being written; the sessions stored from it earlier are kept. Run ingest again once "
                    "the file is complete."
                ))
            else:
                try:
                    fc = commit(job, res)
                except Exception as exc:  # nothing of this file is committed
                    failed(job, exc)
                else:
                    if res.partial:
                        read_on(job, fc)
                        continue  # counted done when its last piece is
            done += 1
            if progress:
                progress(done, planned, str(job.cand.path))

    def items(chunk: list[_Job]) -> list[tuple[str, FileContext]]:
        # A read resumed after stored rows: the test commands among them still waiting for their result.
        resumed = {j.cand.file_id: j for j in chunk if j.ctx.start_offset > 0 and not j.is_dir}
        if resumed:
            # (a file read in pieces has all its calls and results stored: their anti-join can outgrow ingest's
            # small buffer, 30 MB at 200,000 results of one 680 MB session, which stopped the ingest)
            open_calls = store.grow_on_out_of_memory(
                lambda: store.open_test_calls(list(resumed)), retries=4, log=log, restore=False,
                message="ingest: DuckDB out of memory at %d MiB looking up a resumed file's test calls; "
                        "retrying at %d MiB",
            )
            for fid, tids in open_calls.items():
                resumed[fid].ctx.extra["test_calls"] = tids
        return [(j.cand.parser.name, j.ctx) for j in chunk]

    it = chunked(plan_all())
    first = [c for _, c in zip(range(2), it, strict=False)]
    it = itertools.chain(first, it)

    def next_chunk() -> list[_Job] | None:
        return [more.popleft()] if more else next(it, None)

    if workers < 1 or len(first) < 2:  # tiny jobs: parser processes would cost more than they save
        while (chunk := next_chunk()) is not None:
            take(chunk, _unchunk(_parse_chunk(items(chunk))))
    else:
        with ParserPool(workers) as pool:
            # Chunks in flight: enough that the parsers keep working while this process commits a batch
            # (a commit of 32 MB takes a few tenths of a second; 2 chunks per parser left them idle for
            # most of it). 8 per parser: 1 GB of real samples in 6.5-6.8 s instead of 7.2-7.8 s with one
            # parser, +3 MB peak RSS; 10K generated sessions with two parsers 11.5-12.1 s instead of 12.2-13.4 s.
            window = workers * 8
            pending: list[tuple[list[_Job], Future[list[Run]]]] = []
            while len(pending) < window and (chunk := next_chunk()) is not None:
                pending.append((chunk, pool.submit(items(chunk))))
            while pending:
                chunk, fut = pending.pop(0)
                try:
                    results = _unchunk(fut.result())
                except Exception as exc:  # the worker died: every file of the chunk failed, nothing committed
                    results = [f"{type(exc).__name__}: {exc}"] * len(chunk)
                take(chunk, results)
                nxt = next_chunk()  # discovered while the parser processes work
                if nxt is not None:
                    pending.append((nxt, pool.submit(items(nxt))))
    flush()
    if legacy:
        store.set_file_paths(legacy)
        stats.paths_updated = len(legacy)
    if identities:
        store.set_file_identities(list(identities), [c for c, _i in identities.values()], [i for _c, i in identities.values()])
    stats.files_seen += n_unchanged
    stats.files_skipped += n_unchanged
    seen = met | {by_path[ps].file_id for ps in counted}
    stats.not_readable = [as_text(d) for d in unreadable[0::2]]  # as walked (each is listed with its real path)
    stats.files_seen += sum(not os.path.isdir(d) for d in unreadable[0::2])
    gone = _gone(stored_under, seen, fmt, unreadable)
    stats.files_gone = len(gone)
    if prune and gone:
        store.grow_on_out_of_memory(  # one transaction, as a batch commit (see _commit)
            lambda: store.forget_files([st.file_id for st in gone]), retries=3, log=log, restore=False,
            message="ingest: DuckDB out of memory at %d MiB removing the files no longer there; retrying at %d MiB",
        )
        stats.files_removed = len(gone)
        stats.changed_sessions.update(st.session_key for st in gone if st.session_key)
    return stats


def _relative(path: str, cwd: str) -> str | None:
    """``path`` relative to ``cwd`` when it lies below it (a form an older ingest may have stored), else None."""
    rel = os.path.relpath(os.path.join(cwd, path), cwd)
    return None if rel == os.curdir or rel.startswith(os.pardir) else rel


def _gone(stored: list[FileState], seen: set[str], fmt: str | None, unreadable: list[str]) -> list[FileState]:
    """The stored files under the roots that this (complete) walk did not meet.

    Only a file whose stored path still names the same file id is counted (a relative path stored from another
    working directory, or under a root symlink that now points elsewhere, may name another file: left alone),
    none of another format than a forced ``fmt``, and none under a folder the walk could not read nor a file it
    could not open.
    """
    skip = tuple(d.rstrip(os.sep) + os.sep for d in unreadable)
    exact = set(unreadable)  # a file met but not readable is not gone (--prune would drop its rows)
    out = []
    for st in stored:
        if (st.file_id in seen or (fmt is not None and st.source != fmt) or (skip and st.path.startswith(skip))
                or st.path in exact):
            continue
        try:
            same = registry.file_id_for(Path(st.path), st.source) == st.file_id
        except (OSError, RuntimeError):  # a symlink loop on the way
            continue
        if same:
            out.append(st)
    return out
