"""Signature table and detector unit tests (no git needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codecensus.gitagents.signatures import (
    AGENT_LABELS,
    MESSAGE_FIELDS,
    WHERE,
    CommitView,
    SignatureError,
    SignatureSet,
    default_signatures,
    literal_hint,
    load_signatures,
    merge_branches,
    normalize_email,
    passes,
)

ADA = ("Ada Lovelace", "ada@example.org")


def cv(name: str = ADA[0], email: str = ADA[1], message: str = "Fix bug", **kw: str) -> CommitView:
    return CommitView(
        author_name=name,
        author_email=email,
        committer_name=kw.get("committer_name", name),
        committer_email=kw.get("committer_email", email),
        message=message,
    )


POSITIVE: list[tuple[str, CommitView, str, str]] = [
    (
        "claude trailer",
        cv(
            message="Fix\n\n🤖 Generated with [Claude Code](https://claude.ai/code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
        ),
        "claude_code",
        "H",
    ),
    (
        "claude model trailer",
        cv(message="Fix\n\nCo-Authored-By: Claude Opus 4.1 <noreply@anthropic.com>"),
        "claude_code",
        "H",
    ),
    (
        "claude no-reply variant",
        cv(message="Fix\n\nCo-authored-by: Claude <no-reply@anthropic.com>"),
        "claude_code",
        "H",
    ),
    (
        "claude indented trailer (squash body)",
        cv(message="Squash (#4)\n\n* a\n\n    Co-Authored-By: Claude <noreply@anthropic.com>"),
        "claude_code",
        "H",
    ),
    ("claude phrase only", cv(message="Fix\n\nGenerated with Claude Code"), "claude_code", "M"),
    (
        "claude.com link",
        cv(message="Fix\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"),
        "claude_code",
        "M",
    ),
    ("claude name-only trailer", cv(message="Fix\n\nCo-Authored-By: Claude Sonnet 4"), "claude_code", "M"),
    ("claude author email", cv("Claude", "noreply@anthropic.com"), "claude_code", "H"),
    (
        "claude github app",
        cv("claude[bot]", "209825114+claude[bot]@users.noreply.github.com"),
        "claude_code",
        "H",
    ),
    (
        "copilot agent",
        cv("Copilot", "198982749+Copilot@users.noreply.github.com", "Initial plan"),
        "copilot",
        "H",
    ),
    (
        "copilot vscode trailer",
        cv(message="Fix\n\nCo-authored-by: Copilot <223556219+Copilot@users.noreply.github.com>"),
        "copilot",
        "H",
    ),
    (
        "copilot older trailer",
        cv(message="Fix\n\nCo-authored-by: Copilot <copilot@github.com>"),
        "copilot",
        "H",
    ),
    (
        "copilot autofix",
        cv(
            message="Fix\n\nCo-authored-by: Copilot Autofix powered by AI <62310815+github-advanced-security[bot]@users.noreply.github.com>"
        ),
        "copilot",
        "H",
    ),
    ("copilot initial plan subject", cv(message="Initial plan for issue"), "copilot", "M"),
    ("cursor agent", cv("Cursor Agent", "cursoragent@cursor.com"), "cursor", "H"),
    ("cursor login", cv("cursoragent", "cursoragent@users.noreply.github.com"), "cursor", "H"),
    (
        "cursor trailer",
        cv(message="Fix\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>"),
        "cursor",
        "H",
    ),
    ("cursor made-with", cv(message="Fix\n\nMade-with: Cursor"), "cursor", "M"),
    ("cursor checkpoint", cv(message="Checkpoint before follow-up message"), "cursor", "M"),
    (
        "devin bot",
        cv("devin-ai-integration[bot]", "158243242+devin-ai-integration[bot]@users.noreply.github.com"),
        "devin",
        "H",
    ),
    (
        "devin session link",
        cv(message="Fix\n\nLink to Devin run: https://app.devin.ai/sessions/abc123"),
        "devin",
        "M",
    ),
    (
        "jules bot",
        cv("google-labs-jules[bot]", "161369871+google-labs-jules[bot]@users.noreply.github.com"),
        "jules",
        "H",
    ),
    ("codex email", cv("Codex", "codex@openai.com"), "codex", "H"),
    ("codex task link", cv(message="Fix\n\nhttps://chatgpt.com/codex/tasks/task_e_123"), "codex", "M"),
    (
        "codex merged branch",
        cv(message="Merge pull request #12 from acme/codex/add-retry\n\nAdd retry"),
        "codex",
        "M",
    ),
    ("codex author name (weak)", cv("codex", "dev@example.org"), "codex", "L"),
    ("openhands", cv("openhands", "openhands@all-hands.dev"), "openhands", "H"),
    (
        "openhands trailer",
        cv(message="Fix\n\nCo-authored-by: openhands <openhands@all-hands.dev>"),
        "openhands",
        "H",
    ),
    (
        "amp trailer",
        cv(
            message="Fix\n\nAmp-Thread-ID: https://ampcode.com/threads/T-1\nCo-authored-by: Amp <amp@ampcode.com>"
        ),
        "amp",
        "H",
    ),
    ("aider suffix", cv("Ada Lovelace (aider)", "ada@example.org", "feat: add x"), "aider", "H"),
    ("aider trailer", cv(message="Fix\n\nCo-authored-by: aider (gpt-4o) <noreply@aider.chat>"), "aider", "H"),
    ("aider prefix", cv(message="aider: Added tests"), "aider", "M"),
    (
        "factory droid",
        cv("factory-droid[bot]", "138933559+factory-droid[bot]@users.noreply.github.com"),
        "factory_droid",
        "H",
    ),
    (
        "dependabot",
        cv("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", "Bump x"),
        "automation",
        "H",
    ),
    ("renovate", cv("Renovate Bot", "bot@renovateapp.com", "Update dep"), "automation", "H"),
    # self-managed GitLab: these were counted as human commits
    ("gitlab duo flow", cv("Duo Developer", "duo.workflow.agent@gitlab.com", "Fix flaky spec"), "gitlab_duo", "H"),
    (
        "gitlab duo co-author",
        cv(message="Fix\n\nCo-authored-by: GitLab Duo <duo.workflow.agent@gitlab.com>"),
        "gitlab_duo",
        "H",
    ),
    (
        "gitlab project token bot (self-managed)",
        cv("release-token", "project_42_bot_3f9a1c2b7e8d4a6b@noreply.gitlab.example.com", "Bump version"),
        "automation",
        "H",
    ),
    ("gitlab group token bot (old form)", cv("ci", "group7_bot2@noreply.git.corp.example", "Sync"), "automation", "H"),
    (
        "gitlab service account",
        cv("Service account user", "service_account_group_9_1a2b3c@noreply.gitlab.example.com"),
        "automation",
        "H",
    ),
]


@pytest.mark.parametrize(("label", "commit", "agent", "conf"), POSITIVE, ids=[p[0] for p in POSITIVE])
def test_positive_signatures(label: str, commit: CommitView, agent: str, conf: str) -> None:
    det = default_signatures().detect(commit)
    assert det is not None, label
    assert (det.agent, det.confidence) == (agent, conf)


NEGATIVE: list[tuple[str, CommitView]] = [
    ("plain human", cv()),
    ("human co-author", cv(message="Fix\n\nCo-authored-by: Grace Hopper <grace@example.org>")),
    (
        "human called Claude",
        cv("Claude Martin", "claude@martin.fr", "Fix\n\nCo-authored-by: Claude Martin <claude@martin.fr>"),
    ),
    ("human Claude short", cv(message="Fix\n\nCo-authored-by: Claude <claude.dupont@gmail.com>")),
    ("anthropic employee co-author", cv(message="Fix\n\nCo-authored-by: Jane Roe <jane@anthropic.com>")),
    ("talks about Claude", cv(message="Document how to use Claude Code and Cursor with this repo")),
    ("config file commit", cv(message="Add CLAUDE.md and .cursorrules")),
    ("database cursor", cv(message="Close the cursor after the query\n\nThe agent pool leaked cursors.")),
    ("initial planning", cv(message="Initial planning document for v2")),
    ("human merge", cv(message="Merge pull request #3 from acme/feature/login")),
    (
        "web-flow committer",
        cv(message="Fix (#5)", committer_name="GitHub", committer_email="noreply@github.com"),
    ),
    ("copilot word", cv(message="Disable copilot suggestions in settings.json")),
    ("gitlab private address", cv("Ada Lovelace", "123-ada@users.noreply.gitlab.example.com")),
    ("gitlab user named like a bot", cv("Project Bot", "project.bot@gitlab.example.com", "Fix")),
    ("mentions gitlab duo", cv(message="Turn off GitLab Duo suggestions for the docs folder")),
]


@pytest.mark.parametrize(("label", "commit"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_negative_signatures(label: str, commit: CommitView) -> None:
    assert default_signatures().detect(commit) is None, label


def test_automation_is_not_an_agent() -> None:
    det = default_signatures().detect(
        cv("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
    )
    assert det is not None and not det.is_agent and not passes(det, "L")


def test_one_attribution_all_signatures_recorded() -> None:
    # a Devin commit that also carries a Claude trailer: the bot identity is more specific
    commit = cv(
        "devin-ai-integration[bot]",
        "158243242+devin-ai-integration[bot]@users.noreply.github.com",
        "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>",
    )
    det = default_signatures().detect(commit)
    assert det is not None and det.agent == "devin" and det.confidence == "H"
    assert det.signatures[0].startswith("devin-")
    assert "claude-trailer-noreply" in det.signatures
    # an H trailer beats an M branch of another agent
    det2 = default_signatures().detect(
        cv(message="Merge branch 'main' into copilot/fix-1\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    )
    assert det2 is not None and det2.agent == "claude_code" and "copilot-branch" in det2.signatures


def test_confidence_floor() -> None:
    weak = default_signatures().detect(cv("codex", "dev@example.org"))
    assert passes(weak, "L") and not passes(weak, "M")
    medium = default_signatures().detect(cv(message="Initial plan"))
    assert passes(medium, "M") and not passes(medium, "H")
    assert not passes(None)


def test_normalize_email() -> None:
    assert normalize_email("198982749+Copilot@Users.NoReply.GitHub.com") == "copilot@users.noreply.github.com"
    assert normalize_email(" 12ab@x.org ") == "12ab@x.org"


def test_gitlab_noreply_addresses_are_normalised_like_githubs(tmp_path: Path) -> None:
    """GitLab's private commit address ``NNN-user@users.noreply.<host>`` kept its numeric prefix while GitHub's
    ``NNN+`` was removed: a signature for a GitLab account's address (written as the table documents, without the
    number) missed its commits, on gitlab.com and on a self-managed host. The prefix is now removed there too; an
    ordinary ``NNN-name@`` address elsewhere keeps it."""
    assert normalize_email("4711-Renovate-Bot@Users.NoReply.GitLab.com") == "renovate-bot@users.noreply.gitlab.com"
    assert normalize_email("12-3-ada@users.noreply.git.example.org") == "3-ada@users.noreply.git.example.org"
    assert normalize_email("4711-ada@example.org") == "4711-ada@example.org"
    assert normalize_email("4711-ada@noreply.gitlab.com") == "4711-ada@noreply.gitlab.com"
    table = tmp_path / "sigs.toml"
    table.write_text(
        '[[signature]]\nid = "renovate-gitlab"\nagent = "automation"\nwhere = "author_email"\n'
        "pattern = '^renovate-bot@users\\.noreply\\.'\nconfidence = \"H\"\n"
    )
    sigs = SignatureSet(load_signatures(table))
    for email in ("4711-renovate-bot@users.noreply.gitlab.com", "renovate-bot@users.noreply.git.example.org"):
        det = sigs.detect(cv("Renovate Bot", email))
        assert det is not None and det.agent == "automation", email


@pytest.mark.parametrize(
    ("subject", "src", "dst"),
    [
        ("Merge pull request #12 from acme/codex/add-x", ["codex/add-x"], []),
        ("Merge branch 'main' into copilot/fix-1", ["main"], ["copilot/fix-1"]),
        ("Merge branch 'cursor/a' of github.com:o/r into main", ["cursor/a"], ["main"]),
        ("Merge remote-tracking branch 'origin/devin/123-x'", ["devin/123-x"], []),
        ("Merge branch 'feature' into 'main'", ["feature"], ["main"]),
        ("Merged in codex/z (pull request #3)", ["codex/z"], []),
        ("Merge branches 'codex/a', 'cursor/b' and 'feature'", ["codex/a", "cursor/b", "feature"], []),
        ("Merge branches 'a' and 'devin/1' of github.com:o/r into main", ["a", "devin/1"], ["main"]),
        ("Merge remote-tracking branches 'origin/codex/a' and 'origin/b'", ["codex/a", "b"], []),
        ("Merge dev into devin/1-x", ["dev"], ["devin/1-x"]),
        ("Merge issue.", [], []),
        ("Fix merge conflict", [], []),
    ],
)
def test_merge_branches(subject: str, src: list[str], dst: list[str]) -> None:
    assert merge_branches(subject) == (src, dst)


def test_table_is_valid_and_labelled() -> None:
    sigs = load_signatures()
    assert len({s.id for s in sigs}) == len(sigs) >= 40
    assert {s.where for s in sigs} <= set(WHERE)
    for s in sigs:
        assert s.agent in AGENT_LABELS, f"{s.id}: add a display label for {s.agent}"
    # every agent named in the issue has at least one H signature
    for agent in ("claude_code", "copilot", "cursor", "devin", "jules", "codex", "openhands", "amp", "aider"):
        assert any(s.agent == agent and s.confidence == "H" for s in sigs), agent


def test_literal_hint() -> None:
    assert literal_hint(r"^co-authored-by:[^\n]*<no-?reply@anthropic\.com>") == "reply@anthropic.com>"
    assert literal_hint(r"^amp-thread(-id)?:") == "amp-thread"
    assert literal_hint(r"generated (with|by) \[?claude code\b") == "claude code"
    assert literal_hint(r"^(copilot|copilot-swe-agent)$") is None
    assert literal_hint(r"a|bcdef") is None
    assert literal_hint(r"ab+cde") == "cde"


def test_prefilter_never_drops_a_match() -> None:
    """Every message-level signature's own positive examples pass its hint."""
    sigs = default_signatures()
    for _, commit, _, _ in POSITIVE:
        low = commit.message.lower()
        for where in MESSAGE_FIELDS:
            text = commit.message if where != "subject" else commit.message.split("\n", 1)[0]
            direct = [s.id for s in sigs.signatures if s.where == where and sigs._compiled[s.id].search(text)]
            for sid in direct:
                hint = literal_hint(sigs.by_id[sid].pattern)
                assert hint is None or hint in low, (sid, hint)
            assert {s.id for s in sigs.match_message(commit.message) if s.where == where} == set(direct)


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "sigs.toml"
    p.write_text(body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        ('[[signature]]\nid="a"\nagent="x"\nwhere="nowhere"\npattern="a"\nconfidence="H"\n', "where="),
        (
            '[[signature]]\nid="a"\nagent="x"\nwhere="trailer"\npattern="x:"\nconfidence="H"\n',
            "must start with",
        ),
        ('[[signature]]\nid="a"\nagent="x"\nwhere="name"\npattern="("\nconfidence="H"\n', "bad pattern"),
        ('[[signature]]\nid="a"\nagent="x"\nwhere="name"\npattern="a"\nconfidence="Z"\n', "confidence"),
        ('[[signature]]\nid="a"\nagent="x"\nwhere="name"\npattern="a"\nconfidence="H"\n' * 2, "duplicate"),
        ('[[signature]]\nid="a"\nwhere="name"\npattern="a"\nconfidence="H"\n', "lacks agent"),
        ("title = 'nothing'\n", r"no \[\[signature\]\] entries"),
        ("signature = [1, 2]\n", r"entry 0 is not a \[\[signature\]\] table"),  # was AttributeError
    ],
)
def test_bad_tables_are_rejected(tmp_path: Path, body: str, msg: str) -> None:
    with pytest.raises(SignatureError, match=msg):
        load_signatures(_write(tmp_path, body))


def test_table_is_extensible(tmp_path: Path) -> None:
    extra = (
        '[[signature]]\nid="windsurf-trailer"\nagent="windsurf"\nwhere="trailer"\n'
        "pattern='^co-authored-by:[^\\n]*<windsurf@codeium\\.com>'\nconfidence=\"H\"\n"
    )
    sigs = SignatureSet([*load_signatures(), *load_signatures(_write(tmp_path, extra))])
    det = sigs.detect(cv(message="Fix\n\nCo-authored-by: Windsurf <windsurf@codeium.com>"))
    assert det is not None and det.agent == "windsurf" and det.signatures == ("windsurf-trailer",)


def test_unreadable_tables_name_the_file(tmp_path: Path) -> None:
    """A folder or a file that is not UTF-8 given as the table: IsADirectoryError (a traceback in the CLI) and a
    UnicodeDecodeError message that did not say which file."""
    with pytest.raises(SignatureError, match=f"{tmp_path}: cannot read"):
        load_signatures(tmp_path)
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b"# caf\xe9\n")
    with pytest.raises(SignatureError, match="latin1.toml: 'utf-8' codec"):
        load_signatures(bad)
