"""Driver side of a distributed ingest: which files to parse, and the stats of a finished run."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from codecensus.engine.fs import FileSpec, list_remote, split_inputs
from codecensus.ingest import (
    SETTLE_S,
    SKIP_DIRS,
    IngestStats,
    _fingerprints,
    _local_user,
    _renumbered,
    _same_stat,
    _stat,
    discover,
    reread_lost_lines,
)
from codecensus.records import stored_text
from codecensus.sources import base as registry
from codecensus.sources.base import tail_fingerprint
from codecensus.store import FileState, Store


@dataclass(slots=True)
class Plan:
    specs: list[FileSpec] = field(default_factory=list)
    seen: int = 0
    skipped: int = 0
    # file id -> (ctime_ns, inode) of skipped local files whose stored ones are missing (stored before they were
    # kept) or only renumbered: stored by :func:`store_identities`, as the local ingest does (its ``identities``)
    identities: dict[str, tuple[int, int | None]] = field(default_factory=dict)


def _unchanged(state: FileState | None, version: str | None, parser_version: str | None, size: int, mtime_ns: int,
               final: bool, user: str | None, ctime_ns: int | None = None, inode: int | None = None) -> bool:
    if state is None or version is None or version != parser_version or state.user_name != stored_text(user):
        return False  # (attributed to another user now: every row is re-made)
    # (written in the tick of its last stat, maybe: read again; remote: no ctime to compare)
    return _same_stat(state, size, mtime_ns, ctime_ns, inode) and (state.consumed >= size or not final)


def _same_tail(path: Path, state: FileState | None) -> bool:
    """Whether a local file still ends, at the offset read to, as it did when stored (as the local ingest checks):
    a file rewritten in place with the same size and its mtime put back has another tail, and is read again."""
    if state is None:
        return False
    if path.is_dir():
        return True
    try:
        return tail_fingerprint(path, state.consumed) == state.tail_hash
    except OSError:
        return False  # read again: the task says why


def _renumbered_only(state: FileState | None, version: str | None, parser_version: str | None, path: Path, size: int,
                     mtime_ns: int, user: str | None, ctime_ns: int, inode: int | None) -> bool:
    """Whether a local file is as stored but for its inode number (a filesystem mounted again: the local ingest's
    ``_renumbered``), its head and tail unchanged too."""
    if (state is None or version is None or version != parser_version or state.user_name != stored_text(user)
            or path.is_dir() or state.consumed < size or not _renumbered(state, size, mtime_ns, ctime_ns, inode)):
        return False
    try:
        return _fingerprints(path, state.consumed) == (state.head_hash, state.tail_hash)
    except OSError:
        return False  # read again: the task says why


def plan_inputs(
    store: Store,
    paths: Iterable[str | Path],
    *,
    user: str | None = None,
    user_from_dir: bool = False,
    fmt: str | None = None,
    settle_s: float = SETTLE_S,
    fs_options: dict[str, Any] | None = None,
    full: bool = False,
) -> Plan:
    """Every input file that needs parsing (unchanged files are skipped unless ``full``)."""
    local, remote = split_inputs(paths)
    plan = Plan()
    now = time.time()
    default_user = user or _local_user()
    cands = list(discover(local, user=user, user_from_dir=user_from_dir, fmt=fmt)) if local else []
    # Only the states of the files found are read from the database (not every stored file's).
    states = reread_lost_lines(store, store.file_states(ids=[c.file_id for c in cands])) if cands else {}
    for c in cands:
        plan.seen += 1
        checked_at = time.time()  # before the stat: stored as the file's ingested_at (FileCommit.checked_at)
        _is_dir, size, mtime_ns, ctime_ns, inode = _stat(c.path)
        state = states.get(c.file_id)
        final = (now - mtime_ns / 1e9) >= settle_s
        version = state.parser_version if state else None
        if not full and state is not None:
            if (_unchanged(state, version, c.parser.version, size, mtime_ns, final, c.user, ctime_ns, inode)
                    and _same_tail(c.path, state)):
                if state.ctime_ns is None:
                    plan.identities[state.file_id] = (ctime_ns, inode)
                plan.skipped += 1
                continue
            if _renumbered_only(state, version, c.parser.version, c.path, size, mtime_ns, c.user, ctime_ns, inode):
                plan.identities[state.file_id] = (ctime_ns, inode)  # else read again on every later run
                plan.skipped += 1
                continue
        plan.specs.append(
            FileSpec(
                url=c.real, local=True, user=c.user, size=size, mtime_ns=mtime_ns,
                parser=c.parser.name, file_id=c.file_id, replace=state is not None, ord=plan.seen,
                checked_at=checked_at, ctime_ns=ctime_ns, inode=inode,
            )
        )
    if remote:
        known = registry.parsers()
        listed_at = time.time()  # before the listing that gave the sizes and mtimes
        listed = [
            spec
            for url in remote
            for spec in list_remote(url, user=default_user, user_from_dir=user_from_dir, skip_dirs=SKIP_DIRS,
                                    options=fs_options)
        ]
        found = reread_lost_lines(store, store.file_states(paths=[spec.url for spec in listed])) if listed else {}
        by_path = {s.path: s for s in found.values()}
        for spec in listed:
            plan.seen += 1
            state = by_path.get(spec.url)
            parser_version = known[state.source].version if state and state.source in known else None
            final = (now - spec.mtime_ns / 1e9) >= settle_s
            ver = state.parser_version if state else None
            if not full and _unchanged(state, ver, parser_version, spec.size, spec.mtime_ns, final, spec.user):
                plan.skipped += 1
                continue
            spec = FileSpec(**{**spec.row(), "replace": state is not None, "ord": plan.seen, "checked_at": listed_at})
            plan.specs.append(spec)
    return plan


def store_identities(store: Store, plan: Plan) -> None:
    """Store the ctime and inode :func:`plan_inputs` found for the files it skipped (:attr:`Plan.identities`)."""
    if plan.identities:
        ids = list(plan.identities)
        store.set_file_identities(ids, [plan.identities[i][0] for i in ids], [plan.identities[i][1] for i in ids])


def stats_from_files(files: pa.Table | None, plan: Plan) -> IngestStats:
    """:class:`IngestStats` of a run from its ``files`` partition rows."""
    stats = IngestStats(files_seen=plan.seen, files_skipped=plan.skipped)
    if files is None:
        return stats
    for r in _rows(files):
        status = r["status"]
        if status == "parsed":
            stats.files_parsed += 1
            stats.bytes_read += int(r["consumed"] or 0)
            stats.bad_lines += int(r["bad_lines"] or 0)
            src = r["source"]
            stats.by_source[src] = stats.by_source.get(src, 0) + 1
            stats.changed_sessions.update(r["sessions"] or ())
        elif status == "failed":
            stats.files_failed += 1
            stats.errors.append(f"{r['path']}: {r['error']}")
        else:  # undetected remote file: not a transcript
            stats.files_seen -= 1
    return stats


def _rows(tbl: pa.Table) -> Iterator[dict[str, Any]]:
    cols = ["path", "source", "status", "error", "consumed", "bad_lines", "sessions"]
    yield from tbl.select(cols).to_pylist()
