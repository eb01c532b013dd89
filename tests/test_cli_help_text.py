"""What `--help` shows a new user: the option texts as rendered, not only as written."""

from __future__ import annotations

from typer.testing import CliRunner

from codecensus.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "200", "TERMINAL_WIDTH": "200"}


def _help(*args: str) -> str:
    r = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert r.exit_code == 0, r.output
    return r.output


def test_user_from_dir_help_names_the_layout() -> None:
    # the markdown renderer took `<root>/<user>/...` for HTML tags: the help read "laid out as //..."
    text = " ".join(_help("ingest").split())
    assert "ROOT/USER/" in text
    assert "laid out as //" not in text


def test_otel_line_in_the_command_list_is_a_whole_sentence() -> None:
    # the list shows the first paragraph of a group's help: it ended "Point Claude Code at the receiver with"
    line = next(x for x in _help().splitlines() if " otel " in x)
    assert not line.rstrip(" │").endswith("with"), line
    assert "serve" in line and "import" in line


def test_git_agents_db_help_is_for_users() -> None:
    # it named a Python function: "default: codecensus.store.default_db_path(), env CODECENSUS_DB"
    text = _help("git-agents")
    assert "default_db_path" not in text
    assert "CODECENSUS_DB" in text


def test_sessions_help_names_the_reason_columns_and_every_reason() -> None:
    # the export gained <facet>_reason columns: their help lists the fixed vocabulary, all of it
    from codecensus.taxonomy import ABSTAINING_FACETS, ABSTENTION_REASON_KEYS

    text = " ".join(_help("sessions").split())
    assert all(f"{k}_reason" in text for k in ABSTAINING_FACETS), text
    assert [k for k in ABSTENTION_REASON_KEYS if k not in text] == []
