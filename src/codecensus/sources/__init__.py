"""Transcript formats, one module each, registered with :mod:`codecensus.sources.base`.

Importing this package imports every format module so that each registers itself.
"""

from codecensus.sources import (
    aider,  # noqa: F401
    claude_agent_platform,  # noqa: F401
    claude_code,  # noqa: F401
    claude_stream_json,  # noqa: F401
    cline,  # noqa: F401
    codex,  # noqa: F401
    copilot_cli,  # noqa: F401
    cursor,  # noqa: F401
    gemini_cli,  # noqa: F401
    mini_swe_agent,  # noqa: F401
    openhands,  # noqa: F401
    otel,  # noqa: F401
    swe_agent,  # noqa: F401
    terminal_bench,  # noqa: F401
)
from codecensus.sources.base import FileContext, Parser, detect, file_id_for, get, parsers, register

__all__ = ["FileContext", "Parser", "detect", "file_id_for", "get", "parsers", "register"]
