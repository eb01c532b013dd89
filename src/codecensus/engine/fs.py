"""Inputs for the distributed engine: local paths or fsspec URLs (``s3://``, ``gs://``, ``abfs://``, ``memory://``).

A :class:`FileSpec` is everything a worker needs to parse one file without
asking the driver anything else: where it is, who it belongs to, its size and
mtime, and (for local paths) the parser and file id already chosen by
:func:`codecensus.ingest.discover`.

File identity
    A local file's id is :func:`codecensus.sources.base.file_id_for` of its
    resolved path, exactly as in the single-machine ingest, so a corpus ingested
    locally and through Ray gets the same ids and the same rows. A remote file's
    id is the same hash over its canonical URL (``protocol://bucket/key``): stable
    across runs and machines, distinct from any local path. ``file://`` URLs are
    treated as local paths.

Remote files
    A worker copies a remote file into a private temp folder that mirrors the
    URL's path (``<tmp>/<bucket>/<key>``), so parsers that read identity from the
    layout (``.../projects/<cwd>/<session>/subagents/agent-*.jsonl``) see the same
    path components as on a laptop. Folder formats and parsers that read
    neighbouring files (aider's input history, Copilot's ``workspace.yaml``)
    need a shared filesystem path: from object storage each file is parsed alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

_GLOB = re.compile(r"[*?\[]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_COLLAPSED = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)")  # pathlib turns "s3://b/k" into "s3:/b/k"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One input file as handed to a worker (plain fields: it travels as a Ray Data row)."""

    url: str  # local path (as discovered) or canonical fsspec URL
    local: bool
    user: str | None
    size: int
    mtime_ns: int
    parser: str = ""  # chosen by the driver for local files; "" = detect in the worker
    file_id: str = ""  # local files only; remote ids depend on the parser and are set by the worker
    replace: bool = False  # the store already holds rows of this file: delete them first
    fs_options: str = ""  # JSON of fsspec storage options (remote only)
    ord: int = 0  # position in discovery order: rows are loaded in this order, as a local ingest commits them
    checked_at: float | None = None  # time.time() before the stat or listing that gave size and mtime (ingested_at)
    ctime_ns: int | None = None  # local files: the ctime and inode of that stat (FileCommit.ctime_ns); remote: None
    inode: int | None = None

    def row(self) -> dict[str, Any]:
        return asdict(self)


def as_text(p: str | os.PathLike[str]) -> str:
    """The input as a string; a URL that went through ``pathlib.Path`` (``s3:/b/k``) gets its ``//`` back."""
    s = str(p)
    if not isinstance(p, str) and not _URL.match(s):
        m = _COLLAPSED.match(s)
        if m and len(m.group(1)) > 1:  # not a Windows drive letter
            s = f"{m.group(1)}://{s[m.end():]}"
    return s


def is_url(p: str | os.PathLike[str]) -> bool:
    """True for ``proto://...`` other than ``file://`` (which is a local path)."""
    s = as_text(p)
    return bool(_URL.match(s)) and not s.startswith("file://")


def local_path(p: str | os.PathLike[str]) -> Path:
    """The local path of a path or ``file://`` URL (also one that went through ``pathlib.Path``: ``file:/tmp/x``,
    which was taken as a relative folder named ``file:`` and not found)."""
    s = str(p)
    if s.startswith("file:"):
        s = s[len("file:") :]
        if s.startswith("//"):
            s = s[2:]
    return Path(s).expanduser()


def remote_file_id(url: str, source: str) -> str:
    """Id of a remote file: like :func:`codecensus.sources.base.file_id_for` but over the URL."""
    return hashlib.sha1(f"{source}\0{url}".encode()).hexdigest()[:20]


def _filesystem(url: str, options: dict[str, Any] | None = None) -> tuple[Any, str]:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url, **(options or {}))
    except ImportError as exc:  # the protocol's package (s3fs, gcsfs, adlfs) is not installed
        raise ValueError(f"{url}: {exc} (docs/ray.md, Install)") from None
    except ValueError as exc:  # an unknown protocol
        raise ValueError(f"{url}: {exc}") from None
    return fs, path


def canonical_url(fs: Any, path: str) -> str:
    """``protocol://path`` for a path of ``fs`` (memory paths keep their leading slash)."""
    proto = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    return fs.unstrip_protocol(path) if hasattr(fs, "unstrip_protocol") else f"{proto}://{path}"


def _mtime_ns(info: dict[str, Any]) -> int:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        v = info.get(key)
        if v is None:
            continue
        if hasattr(v, "timestamp"):
            return int(v.timestamp() * 1e9)
        if isinstance(v, int | float):
            return int(v * 1e9) if v < 1e12 else int(v)
        if isinstance(v, str):
            from datetime import datetime

            try:
                return int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1e9)
            except ValueError:
                continue
    return 0


def list_remote(
    url: str,
    *,
    user: str | None,
    user_from_dir: bool,
    skip_dirs: frozenset[str],
    options: dict[str, Any] | None = None,
) -> Iterator[FileSpec]:
    """Every file under a URL (or matching a URL glob), skipping ``skip_dirs`` components."""
    import orjson

    fs, root = _filesystem(url, options)
    opts = orjson.dumps(options or {}).decode()
    if _GLOB.search(root):
        infos = {p: fs.info(p) for p in fs.glob(root)}
        base = root[: _GLOB.search(root).start()].rsplit("/", 1)[0]  # type: ignore[union-attr]
    else:
        if not fs.exists(root):  # as a missing local path: said, not an empty run
            raise FileNotFoundError(f"{url}: no such file or folder")
        infos = fs.find(root, withdirs=False, detail=True)
        base = root
    for path in sorted(infos):
        info = infos[path]
        if info.get("type", "file") != "file":
            continue
        rel = PurePosixPath(path).relative_to(base).parts if path != base else (PurePosixPath(path).name,)
        if any(part in skip_dirs for part in rel[:-1]):
            continue
        u = user
        if user_from_dir and len(rel) > 1:
            u = rel[0]
        yield FileSpec(
            url=canonical_url(fs, path),
            local=False,
            user=u,
            size=int(info.get("size") or 0),
            mtime_ns=_mtime_ns(info),
            fs_options=opts,
        )


@contextmanager
def fetched(spec: FileSpec) -> Iterator[Path]:
    """A local path holding the file: the file itself when local, else a mirrored temp copy."""
    if spec.local:
        yield Path(spec.url)
        return
    import orjson

    options = orjson.loads(spec.fs_options) if spec.fs_options else {}
    fs, path = _filesystem(spec.url, options)
    tmp = Path(tempfile.mkdtemp(prefix="codecensus-fetch-"))
    try:
        target = tmp.joinpath(*[p for p in PurePosixPath(path).parts if p not in ("/", "")])
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(path, str(target))
        yield target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def output_fs(out: str | os.PathLike[str], options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """(filesystem, root path) of an output dir or URL; local dirs are created."""
    if is_url(out):
        return _filesystem(str(out), options)
    p = local_path(out).resolve()
    p.mkdir(parents=True, exist_ok=True)
    import fsspec

    return fsspec.filesystem("file"), str(p)


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def split_inputs(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """(local paths, remote URLs) of the inputs, order kept."""
    local: list[Path] = []
    remote: list[str] = []
    for p in paths:
        if is_url(p):
            remote.append(as_text(p))
        else:
            local.append(local_path(p))
    return local, remote
