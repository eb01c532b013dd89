"""Command-line options shared by more than one stage's command (typer ``Annotated`` types)."""

from __future__ import annotations

from typing import Annotated

import typer

LLMTimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", min=1.0, help="LLM backends: seconds to wait for one answer before retrying "
                 "(default: anthropic 120, openai 300; raise it for a slow local model).", show_default=False),
]
LLMRetriesOpt = Annotated[
    int | None,
    typer.Option("--max-retries", min=0, help="LLM backends: retries of a request after a timeout, 429 or 5xx, "
                 "with growing waits (default 6; 0: stop at the first).", show_default=False),
]
