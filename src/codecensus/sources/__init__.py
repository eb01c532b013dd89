"""Transcript formats, one module each, registered with :mod:`codecensus.sources.base`.

Importing this package imports every format module so that each registers itself.
"""

from codecensus.sources import claude_code  # noqa: F401
from codecensus.sources.base import FileContext, Parser, detect, file_id_for, get, parsers, register

__all__ = ["FileContext", "Parser", "detect", "file_id_for", "get", "parsers", "register"]
