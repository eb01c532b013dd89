"""Where things live: the database, the Claude Code config dirs, the folders ingest never descends.

Standard library and platformdirs only: the CLI's quick unchanged-corpus check uses this module
without importing DuckDB or Arrow.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

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
