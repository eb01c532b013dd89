"""The `codecensus ...` commands the README and docs/ show name subcommands and options the CLI has.

Checked against typer's click command tree, without running anything, so the docs cannot drift from the code.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from codecensus.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# in a code block or an inline code span: `codecensus` as a command (not the package `codecensus.x`), up to the
# line's end or a comment
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+)`")
_CMD = re.compile(r"(?:^|[\s(/])codecensus((?:[ \t]+[^#\n]*)?)(?:#[^\n]*)?$", re.M)
_OPT = re.compile(r"(?<![\w-])(-{1,2}[A-Za-z][\w-]*)")


# typer vendors its own click: its command classes are not `click`'s, so they are read by their attributes
def _root() -> Any:
    cmd = typer.main.get_command(app)
    assert hasattr(cmd, "commands")
    return cmd


def _opts(cmd: Any) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}


def _resolve(words: list[str]) -> tuple[Any, list[str], str]:
    """The (sub)command the words name, the words after it, and its name; asserts every name exists."""
    cmd = _root()
    name = "codecensus"
    while hasattr(cmd, "commands") and words and not words[0].startswith("-"):
        sub = cmd.commands.get(words[0])
        assert sub is not None, f"`{name} {words[0]}`: no such command (there are {sorted(cmd.commands)})"
        name, cmd, words = f"{name} {words[0]}", sub, words[1:]
    return cmd, words, name


def _commands(text: str) -> list[str]:
    text = re.sub(r"\\\n\s*", " ", text)  # shell line continuations
    blocks = [m.group(1) for m in _FENCE.finditer(text)]
    spans = [m.group(1) for m in _SPAN.finditer(_FENCE.sub("", text))]
    return [m.group(1).strip() for chunk in blocks + spans for m in _CMD.finditer(chunk)]


def _doc_commands() -> list[tuple[str, str]]:
    return [(p.relative_to(ROOT).as_posix(), c) for p in DOCS for c in _commands(p.read_text(encoding="utf-8"))]


def _table_rows(text: str) -> list[tuple[str, str]]:
    """(command, row) for README table rows whose first cell is a `codecensus CMD ...` command."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\|\s*`codecensus ([^`]+)`", line)
        if m:
            rows.append((m.group(1), line))
    return rows


def _check(doc: str, rest: str, extra_opts: list[str] | None = None, *, also: set[str] | None = None) -> None:
    words = shlex.split(rest.replace("[", " ").replace("]", " ").replace("/", " / "))
    # prose words that end a command in a sentence ("`codecensus eval` scores ...") are not checked
    cmd, args, name = _resolve([w for w in words[:1] if re.match(r"[a-z-]+$", w)] + words[1:])
    have = _opts(cmd) | {"--help"} | (also or set())
    wanted = [w.split("=", 1)[0] for w in args if _OPT.fullmatch(w.split("=", 1)[0])] + (extra_opts or [])
    for opt in wanted:
        assert opt in have, f"{doc}: `{name}` has no option {opt} (it has {sorted(have)})"


@pytest.mark.parametrize(("doc", "rest"), _doc_commands(), ids=lambda v: v[:60])
def test_documented_command_exists(doc: str, rest: str) -> None:
    _check(doc, rest)


def test_readme_table_options_belong_to_their_command() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = _table_rows(text)
    assert len(rows) >= 8
    for first, row in rows:
        cells = row.split("|")
        opts = [o for o in _OPT.findall(" ".join(cells[2:])) if o.startswith("--")]
        # a row may also name the program's own options (`codecensus --version`)
        _check("README.md", first.split(" / ")[0].replace("...", ""), opts, also=_opts(_root()))


def test_every_subcommand_is_in_the_readme() -> None:
    shown = {c.split()[0] for doc, c in _doc_commands() if doc == "README.md" and c}
    missing = sorted(set(_root().commands) - shown)
    assert not missing, f"README.md shows no `codecensus X` for {missing}"


def test_every_option_named_in_the_docs_exists() -> None:
    # an option in backticks in prose (`--files-per-task`) belongs to some command
    every = {"--help", "--node-ip-address", "--disable-usage-stats"}  # with the two of `ray start` in docs/ray.md
    stack = [_root()]
    while stack:
        cmd = stack.pop()
        every |= _opts(cmd)
        stack.extend(getattr(cmd, "commands", {}).values())
    for p in DOCS:
        text = _FENCE.sub("", p.read_text(encoding="utf-8"))
        for span in _SPAN.findall(text):
            for opt in _OPT.findall(span):
                if opt.startswith("--") and not span.lstrip().startswith(("pip", "python", "pytest", "env ")):
                    assert opt in every, f"{p.name}: `{span}` names {opt}, which no codecensus command has"
