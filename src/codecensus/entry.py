"""The ``codecensus`` executable.

``codecensus ingest`` of a corpus that has not changed since the last ingest is answered by
:mod:`codecensus.quickcheck` before the CLI, DuckDB and Arrow are imported; everything else goes
to :mod:`codecensus.cli`.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv[:1] == ["ingest"]:
        from codecensus.quickcheck import try_fast_ingest

        if try_fast_ingest(argv[1:]):
            return
    from codecensus.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
