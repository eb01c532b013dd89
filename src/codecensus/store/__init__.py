"""DuckDB storage: one file, typed tables, atomic per-file commits."""

from codecensus.store.db import FileState, Store, StoreBusy, default_db_path

__all__ = ["FileState", "Store", "StoreBusy", "default_db_path"]
