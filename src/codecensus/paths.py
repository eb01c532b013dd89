"""Where things live: the database, the Claude Code config dirs, the folders ingest never descends.

Standard library and platformdirs only: the CLI's quick unchanged-corpus check uses this module
without importing DuckDB or Arrow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import platformdirs


def as_text(s: str) -> str:
    """``s`` as valid Unicode text, to store or show.

    A file or folder name need not be valid UTF-8 on Linux: Python holds its undecodable bytes as lone
    surrogates (``os.fsdecode``), which Arrow, DuckDB and JSON refuse. Those bytes are written as ``\\xNN``
    escapes (``café`` in Latin-1 becomes ``caf\\xe9``); valid text is returned as it is.
    """
    if s.isascii():
        return s
    try:
        s.encode()
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return s


SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        "__pycache__",
        ".venv",
        "file-history",
        "shell-snapshots",
        "tool-results",
        "debug",
        "todos",
        "session-env",
        "statsig",
        "plugins",
        "ide",
    }
)


# A file whose mtime (or ctime) is less than this before the moment its state was recorded, or after it, is "racily
# clean" (git's term): a write in the same timestamp tick leaves its size and times as recorded. Ticks are 2 s on
# FAT/exFAT, 1 s on HFS+ and some network filesystems, a few ms with coarse-grained kernel timestamps. Such a file is
# read again, not trusted as unchanged; one modified earlier costs one stat. (Tests that write a file and read it
# within milliseconds set this to 0; tests/test_ingest_racy.py puts it back.)
RACY_NS = 2_000_000_000


def racily_clean(stamp_ns: int, recorded_ns: int | None) -> bool:
    """Whether a file with this mtime/ctime may have changed unseen since its state was recorded at ``recorded_ns``
    (epoch ns, taken before its stat; None: unknown)."""
    return recorded_ns is None or stamp_ns >= recorded_ns - RACY_NS


def default_db_path() -> Path:
    """$CODECENSUS_DB, else ``codecensus.duckdb`` in the platform user-data dir."""
    env = os.environ.get("CODECENSUS_DB")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("codecensus")) / "codecensus.duckdb"


def default_claude_dirs() -> list[Path]:
    """Every Claude Code config dir on this machine (CLAUDE_CONFIG_DIR may list several)."""
    dirs: list[Path] = []
    env = os.environ.get("CLAUDE_CONFIG_DIR")
    if env:
        dirs += [Path(p).expanduser() for p in env.split(",") if p.strip()]
    home = Path.home()
    dirs += [home / ".claude", home / ".config" / "claude"]
    seen: set[Path] = set()
    out = []
    for d in dirs:
        r = d.resolve() if d.exists() else d
        if r not in seen and (d / "projects").is_dir():
            seen.add(r)
            out.append(d / "projects")
    return out


def pending_runs_path(db: Path) -> Path:
    """Manifests of runs that did not open the database, moved into its ``runs`` table by the next writer."""
    return db.with_name(db.name + ".pending-runs.jsonl")


def walk(
    root: str,
    claim: Callable[[str, list[os.DirEntry[str]]], bool] | None = None,
    on_error: Callable[[str], object] | None = None,
) -> Iterator[tuple[str, os.DirEntry[str] | None]]:
    """Every regular file under the folder ``root``, depth first in name order, as ``(path, entry)``.

    No symlink is followed and no ``SKIP_DIRS`` folder entered. A folder below ``root`` that
    ``claim(path, entries)`` takes (a folder-format transcript) is yielded as ``(path, None)`` and not
    entered. ``on_error(path)`` hears of a folder that cannot be read. Ingest and the unchanged-corpus
    snapshot walk with this one function, so they always see the same files.
    """
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            if on_error is not None:
                on_error(d)
            continue
        if claim is not None and d != root and claim(d, entries):
            yield d, None
            continue
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                if e.name not in SKIP_DIRS:
                    subdirs.append(e.path)
            elif e.is_file(follow_symlinks=False):
                yield e.path, e
        stack.extend(reversed(subdirs))
