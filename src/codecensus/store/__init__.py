"""DuckDB storage: one file, typed tables, atomic per-file commits."""

from codecensus.paths import default_db_path
from codecensus.store.db import FileCommit, FileState, NotAStore, Store, StoreBusy, readable_times, rollback

__all__ = ["FileCommit", "FileState", "NotAStore", "Store", "StoreBusy", "default_db_path", "readable_times", "rollback"]
