"""The ``codecensus`` executable.

``codecensus ingest`` of a corpus that has not changed since the last ingest is answered by
:mod:`codecensus.quickcheck` before the CLI, DuckDB and Arrow are imported; everything else goes
to :mod:`codecensus.cli`.
"""

from __future__ import annotations

import sys

# 128 + SIGINT: what a shell reports for a command stopped with Ctrl-C (a command's own handlers exit with it too)
EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        _run(sys.argv[1:])
    except KeyboardInterrupt:
        # Ctrl-C while Python loads the command line (half a second, before typer's own handler is there):
        # it printed a KeyboardInterrupt traceback through the import machinery
        sys.stderr.write("\ninterrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None


def _run(argv: list[str]) -> None:
    if argv[:1] == ["ingest"]:
        from codecensus.quickcheck import try_fast_ingest

        if try_fast_ingest(argv[1:]):
            return
    from codecensus.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
