"""A generated repository with known agent and human commits gives exact counts."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from codecensus.gitagents.cli import git_agents
from codecensus.gitagents.demo import SynthCommit, make_demo_repos, write_history
from codecensus.gitagents.scan import (
    RepoScan,
    adoption_table,
    discover_repos,
    scan_paths,
    scan_repo,
    store_results,
    summarize,
)
from codecensus.store import Store

ADA = ("Ada Lovelace", "ada@example.org")
GRACE = ("Grace Hopper", "grace@example.org")
CLAUDE_HUMAN = ("Claude Martin", "claude@martin.fr")
TRAILER = "\n\n🤖 Generated with [Claude Code](https://claude.ai/code)\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"


def ts(month: int, day: int = 10, year: int = 2025) -> int:
    return int(datetime(year, month, day, 12, tzinfo=UTC).timestamp())


def known_commits() -> list[SynthCommit]:
    h = SynthCommit
    return [
        # 2025-01: 3 human (2 authors), a human called Claude, a dependabot bump
        h(*ADA, ts(1, 2), "Initial commit"),
        h(*GRACE, ts(1, 3), "Add parser"),
        h(*CLAUDE_HUMAN, ts(1, 4), "Fix typo\n\nCo-authored-by: Claude Martin <claude@martin.fr>"),
        h(
            "dependabot[bot]",
            "49699333+dependabot[bot]@users.noreply.github.com",
            ts(1, 5),
            "Bump x from 1 to 2",
        ),
        # 2025-02: 2 Claude Code commits, 1 human talking about Claude Code
        h(*ADA, ts(2, 1), "Add retry" + TRAILER),
        h(*GRACE, ts(2, 2), "Add cache" + TRAILER),
        h(*ADA, ts(2, 3), "Document how to use Claude Code and Cursor here"),
        # 2025-03: Copilot agent x2 (one 'Initial plan'), aider x1
        h("Copilot", "198982749+Copilot@users.noreply.github.com", ts(3, 1), "Initial plan"),
        h(
            "Copilot",
            "198982749+Copilot@users.noreply.github.com",
            ts(3, 2),
            "Fix login\n\nCo-authored-by: Ada <ada@example.org>",
        ),
        h("Ada Lovelace (aider)", ADA[1], ts(3, 3), "feat: add flag"),
        # 2025-04: a Codex branch (2 human-identity commits) merged with a PR merge commit
        h(*ADA, ts(4, 1), "Add feature", branch="codex/add-feature"),
        h(*ADA, ts(4, 2), "Polish feature", branch="codex/add-feature"),
        h(*GRACE, ts(4, 3), "Unrelated work"),
        h(
            *GRACE,
            ts(4, 4),
            "Merge pull request #7 from acme/codex/add-feature\n\nAdd feature",
            merge="codex/add-feature",
        ),
        # 2025-05: a Cursor agent commit on main, an unmerged cursor/ branch with 2 human-identity commits,
        # and a weak-signal commit by an author called "codex"
        h("Cursor Agent", "cursoragent@cursor.com", ts(5, 1), "Refactor"),
        h(*ADA, ts(5, 2), "Try fix", branch="cursor/try-fix"),
        h(*ADA, ts(5, 3), "Try fix again", branch="cursor/try-fix"),
        h("codex", "codex-user@example.org", ts(5, 4), "Tweak"),
        h(*GRACE, ts(5, 5), "Release 1.0"),
    ]


@pytest.fixture(scope="module")
def known_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gitrepos")
    write_history(root / "proj-a", known_commits())
    write_history(root / "proj-b", [SynthCommit(*GRACE, ts(m), f"Work {m}") for m in (2, 4, 6)])
    (root / "nested" / "empty").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root / "nested" / "empty")], check=True)
    return root


def by_month_agent(scan: RepoScan) -> dict[tuple[str, str, str], tuple[int, int]]:
    return {k: (g.commits, len(g.authors)) for k, g in scan.groups.items()}


def test_exact_groups(known_repo: Path) -> None:
    scan = scan_repo(known_repo / "proj-a")
    assert scan.error is None
    assert scan.commits == 19
    assert by_month_agent(scan) == {
        ("2025-01", "human", ""): (3, 3),
        ("2025-01", "automation", "H"): (1, 1),
        ("2025-02", "claude_code", "H"): (2, 2),
        ("2025-02", "human", ""): (1, 1),
        ("2025-03", "copilot", "H"): (2, 1),
        ("2025-03", "aider", "H"): (1, 1),
        ("2025-04", "codex", "M"): (3, 2),  # 2 branch commits + the merge commit
        ("2025-04", "human", ""): (1, 1),
        ("2025-05", "cursor", "H"): (1, 1),
        ("2025-05", "cursor", "M"): (2, 1),  # unmerged cursor/ branch
        ("2025-05", "codex", "L"): (1, 1),
        ("2025-05", "human", ""): (1, 1),
    }
    assert scan.signature_hits["codex-branch"] == 3
    assert scan.signature_hits["cursor-branch"] == 2
    assert scan.signature_hits["copilot-initial-plan"] == 1
    assert scan.first_ts == ts(1, 2) and scan.last_ts == ts(5, 5)


def test_summary_by_confidence(known_repo: Path) -> None:
    scans = scan_paths([known_repo])
    assert sorted(s.path.name for s in scans) == ["empty", "proj-a", "proj-b"]
    assert all(s.error is None for s in scans)
    assert summarize(scans) == {
        "repos": 3,
        "commits": 22,
        "agent_commits": 11,
        "by_agent": {"codex": 3, "cursor": 3, "claude_code": 2, "copilot": 2, "aider": 1},
        "repos_with_agent": 1,
    }
    h = summarize(scans, "H")
    assert h["agent_commits"] == 6 and h["by_agent"] == {
        "claude_code": 2,
        "copilot": 2,
        "aider": 1,
        "cursor": 1,
    }
    assert summarize(scans, "L")["by_agent"]["codex"] == 4


def test_head_only_and_since(known_repo: Path) -> None:
    head = scan_repo(known_repo / "proj-a", all_refs=False)
    assert head.commits == 17  # the unmerged cursor/ branch is not on HEAD
    assert head.agent_commits()["cursor"] == 1
    assert head.agent_commits()["codex"] == 3  # merged branch still found through the merge subject
    recent = scan_repo(known_repo / "proj-a", since="2025-04-01")
    assert recent.commits == 9
    assert sorted({m for m, _, _ in recent.groups}) == ["2025-04", "2025-05"]


def test_discovery(known_repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "mirror" / "proj-a.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(known_repo / "proj-a"), str(bare)], check=True)
    found = discover_repos([tmp_path])
    assert found == [bare.resolve()]
    scan = scan_repo(bare)
    assert scan.error is None and scan.commits == 19  # a bare clone has every branch as a local ref
    # a path inside a working tree finds the enclosing repository
    sub = known_repo / "proj-a" / "sub"
    sub.mkdir(exist_ok=True)
    assert discover_repos([sub]) == [(known_repo / "proj-a").resolve()]
    with pytest.raises(FileNotFoundError):
        discover_repos([tmp_path / "nope"])


def test_clones_of_one_remote_count_once(known_repo: Path, tmp_path: Path) -> None:
    for name in ("clone1", "clone2"):
        subprocess.run(["git", "clone", "-q", str(known_repo / "proj-a"), str(tmp_path / name)], check=True)
    scans = scan_paths([tmp_path])
    assert len(scans) == 1
    # a clone sees the remote-tracking branches: origin/cursor/try-fix is still an unmerged agent branch
    assert scans[0].agent_commits()["cursor"] == 3


def test_store_and_adoption(known_repo: Path, tmp_path: Path) -> None:
    scans = scan_paths([known_repo])
    db = tmp_path / "c.duckdb"
    with Store(db) as store:
        assert store_results(store, scans) == 3
        assert store_results(store, scans) == 3  # re-scan replaces, never duplicates
        assert store.one("SELECT count(*) FROM git_repos") == (3,)
        monthly = store.query("SELECT sum(commits) AS c FROM git_agent_monthly").to_pylist()
        assert monthly == [{"c": 22}]
        # privacy: no raw e-mail, name or path anywhere in the stored tables
        for table in ("git_repos", "git_agent_monthly", "git_agent_signature_hits"):
            for row in store.query(f"SELECT * FROM {table}").to_pylist():
                for v in row.values():
                    if isinstance(v, str):
                        assert "@" not in v and "/" not in v and "Ada" not in v, (table, v)

        rows = {(r["period"], r["agent"]): r for r in adoption_table(store).to_pylist()}
        # 2025-04: proj-a (codex) and proj-b active
        assert rows[("2025-04", "any")] == {
            "period": "2025-04",
            "agent": "any",
            "repos_active": 2,
            "repos_with_agent": 1,
            "share": 0.5,
            "agent_commits": 3,
            "commits": 5,
            "agent_commit_share": 0.6,
        }
        assert rows[("2025-04", "copilot")]["repos_with_agent"] == 0
        assert rows[("2025-01", "any")]["repos_with_agent"] == 0  # dependabot is not an agent
        assert rows[("2025-06", "any")]["repos_active"] == 1
        assert rows[("2025-05", "cursor")]["agent_commits"] == 3
        assert rows[("2025-05", "codex")]["agent_commits"] == 0  # L is below the default floor
        lrows = {(r["period"], r["agent"]): r for r in adoption_table(store, min_confidence="L").to_pylist()}
        assert lrows[("2025-05", "codex")]["agent_commits"] == 1
        hrows = {(r["period"], r["agent"]): r for r in adoption_table(store, min_confidence="H").to_pylist()}
        assert hrows[("2025-04", "any")]["repos_with_agent"] == 0

        half = {(r["period"], r["agent"]): r for r in adoption_table(store, period="half").to_pylist()}
        assert half[("2025-H1", "any")]["repos_active"] == 2
        assert half[("2025-H1", "any")]["repos_with_agent"] == 1
        assert half[("2025-H1", "any")]["commits"] == 22
        assert half[("2025-H1", "any")]["agent_commits"] == 11
        with pytest.raises(ValueError):
            adoption_table(store, period="week")


def test_adoption_table_without_scans(tmp_path: Path) -> None:
    with Store(tmp_path / "empty.duckdb") as store:
        t = adoption_table(store)
        assert t.num_rows == 0 and "share" in t.schema.names


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("git-agents")(git_agents)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps "git-agents" as a sub-command
        pass

    return app


def test_cli_json(known_repo: Path, tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    res = CliRunner().invoke(_app(), ["git-agents", str(known_repo), "--db", str(db), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {
        "repos": 3,
        "commits": 22,
        "agent_commits": 11,
        "by_agent": {"codex": 3, "cursor": 3, "claude_code": 2, "copilot": 2, "aider": 1},
        "repos_with_agent": 1,
    }
    with Store(db) as store:
        assert store.one("SELECT count(*) FROM git_repos") == (3,)
        assert store.one("SELECT count(DISTINCT repo_key) FROM git_agent_monthly") == (
            2,
        )  # the empty repo has no months
    res_h = CliRunner().invoke(
        _app(), ["git-agents", str(known_repo), "--no-store", "--json", "--min-confidence", "h"]
    )
    assert json.loads(res_h.stdout)["agent_commits"] == 6


def test_cli_table_and_errors(known_repo: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(_app(), ["git-agents", str(known_repo / "proj-a"), "--no-store"])
    assert res.exit_code == 0, res.output
    assert "any agent" in res.stdout and "Claude Code" in res.stdout
    empty_dir = tmp_path / "nothing-here"
    empty_dir.mkdir()
    res = CliRunner().invoke(_app(), ["git-agents", str(empty_dir), "--no-store"])
    assert res.exit_code == 1
    res = CliRunner().invoke(_app(), ["git-agents", str(known_repo), "--no-store", "--min-confidence", "X"])
    assert res.exit_code != 0


def test_demo_repos_show_rising_adoption(tmp_path: Path) -> None:
    repos = make_demo_repos(tmp_path / "demo", seed=0)
    again = make_demo_repos(tmp_path / "demo2", seed=0)
    s1, s2 = summarize(scan_paths(repos)), summarize(scan_paths(again))
    assert s1 == s2  # deterministic
    assert s1["repos"] == 12 and s1["agent_commits"] > 0 and len(s1["by_agent"]) >= 5
    with Store(tmp_path / "demo.duckdb") as store:
        store_results(store, scan_paths(repos))
        half = [r for r in adoption_table(store, period="half").to_pylist() if r["agent"] == "any"]
    assert [r["period"] for r in half] == ["2025-H1", "2025-H2", "2026-H1"]
    assert half[-1]["share"] >= 2 * half[-2]["share"] > 0


def test_commit_without_author_time_is_in_no_period(known_repo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit whose author time git cannot give (an unparseable date) counts in the repository's commits but in no
    month: it used to land in 1970-01 and start every adoption series 55 years early."""
    import codecensus.gitagents.scan as scan_mod

    real = scan_mod.iter_git_log

    def with_undated(*args, **kw):  # type: ignore[no-untyped-def]
        for i, rec in enumerate(real(*args, **kw)):
            yield (*rec[:6], "not-a-time", *rec[7:]) if i == 0 else rec

    monkeypatch.setattr(scan_mod, "iter_git_log", with_undated)
    scans = scan_paths([known_repo])
    assert all(not s.error for s in scans)
    with Store(tmp_path / "u.duckdb") as store:
        store_results(store, scans)
        assert store.query("SELECT sum(commits) AS c FROM git_agent_monthly").to_pylist() == [{"c": 22}]
        assert store.one("SELECT count(*) FROM git_agent_monthly WHERE month IS NULL")[0] >= 1
        for period in ("month", "quarter", "half", "year"):
            periods = {r["period"] for r in adoption_table(store, period=period).to_pylist()}
            assert periods and all(p is not None and p >= "2025" for p in periods), (period, periods)
        half = {(r["period"], r["agent"]): r for r in adoption_table(store, period="half").to_pylist()}
        assert half[("2025-H1", "any")]["commits"] == 22 - sum(1 for s in scans if s.commits)  # one undated a repo


# ---------------------------------------------------------------------------
# histories made with the git CLI the way users' repositories end up


def _git(repo: Path, *args: str, when: str = "2025-03-01T10:00:00+0000", stdin: bytes | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "TZ": "UTC",
    }
    res = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=env, check=True)
    return res.stdout.decode().strip()


def _commit(repo: Path, name: str, message: str, when: str = "2025-03-01T10:00:00+0000") -> None:
    (repo / name).write_text(message)
    _git(repo, "add", name)
    _git(repo, "commit", "-q", "-m", message, when=when)


def _init(repo: Path) -> Path:
    repo.mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "a", "init")
    return repo


def test_commit_with_overflowing_author_date(tmp_path: Path) -> None:
    """A commit whose author time overflows (git fsck: badDateOverflow, seen in imported histories) is undated:
    the scan used to end in OverflowError ('timestamp out of range for platform time_t') from the month."""
    repo = _init(tmp_path / "r")
    tree, parent = _git(repo, "write-tree"), _git(repo, "rev-parse", "HEAD")
    raw = (
        f"tree {tree}\nparent {parent}\nauthor Ada <ada@example.org> 99999999999999999999 +0000\n"
        f"committer Ada <ada@example.org> 1740823200 +0000\n\nFix\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n"
    )
    sha = _git(repo, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", stdin=raw.encode())
    _git(repo, "update-ref", "refs/heads/main", sha)
    scan = scan_repo(repo)
    assert scan.error is None
    assert scan.commits == 2 and scan.agent_commits() == {"claude_code": 1}
    assert by_month_agent(scan) == {("2025-03", "human", ""): (1, 1), (None, "claude_code", "H"): (1, 1)}
    with Store(tmp_path / "o.duckdb") as store:
        assert store_results(store, [scan]) == 1
        assert store.one("SELECT sum(commits) FROM git_agent_monthly") == (2,)


def test_linked_worktree_is_its_main_repository(tmp_path: Path) -> None:
    """``git worktree add`` (how coding agents work on branches side by side) shares the main repository's refs
    and objects: a folder holding both used to count every commit twice (2 repos, 2 x the commits)."""
    repo = _init(tmp_path / "proj")
    _commit(repo, "b", "Add b\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    _git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "proj-wt"), "HEAD~1")
    assert len(discover_repos([tmp_path])) == 2
    scans = scan_paths([tmp_path])
    assert summarize(scans) == {
        "repos": 1,
        "commits": 2,
        "agent_commits": 1,
        "by_agent": {"claude_code": 1},
        "repos_with_agent": 1,
    }
    alone = scan_repo(tmp_path / "proj-wt")
    assert alone.identity == scan_repo(repo).identity and alone.commits == 2


def test_repository_path_that_is_not_utf8(tmp_path: Path) -> None:
    """A folder name in Latin-1 (undecodable bytes): storing the scan used to raise UnicodeEncodeError from the
    path hash after the whole scan had run."""
    repo = _init(tmp_path / os.fsdecode(b"caf\xe9"))
    _commit(repo, "b", "Add b\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    with Store(tmp_path / "n.duckdb") as store:
        assert store_results(store, scan_paths([tmp_path])) == 1
        assert store.one("SELECT commits FROM git_repos") == (2,)
        keys = store.one("SELECT repo_key, path_key FROM git_repos")
        assert all(len(k) == 16 and "caf" not in k for k in keys)


def test_octopus_merge_of_agent_branches(tmp_path: Path) -> None:
    """git's own octopus subject ``Merge branches 'codex/a', 'cursor/b' and 'feature'`` (branches deleted after):
    each source is walked from its own parent. It used to give 0 agent commits."""
    repo = _init(tmp_path / "r")
    for branch, files in (("codex/a", ["a1", "a2"]), ("cursor/b", ["b1"]), ("feature", ["c1"])):
        _git(repo, "checkout", "-q", "-b", branch, "main")
        for f in files:
            _commit(repo, f, f)
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "--no-edit", "codex/a", "cursor/b", "feature")
    assert _git(repo, "log", "-1", "--format=%s") == "Merge branches 'codex/a', 'cursor/b' and 'feature'"
    _git(repo, "branch", "-q", "-D", "codex/a", "cursor/b", "feature")
    scan = scan_repo(repo)
    assert scan.commits == 6  # init, a1, a2, b1, c1, the merge
    counts = scan.agent_commits()
    # a1, a2 are codex's, b1 cursor's, the merge one of the two; init and c1 stay human
    assert counts["codex"] + counts["cursor"] == 4 and counts["codex"] >= 2 and counts["cursor"] >= 1
    assert sum(g.commits for (_, agent, _), g in scan.groups.items() if agent == "human") == 2


def test_since_date_is_the_same_day_for_unmerged_agent_branches(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``--since 2025-04-01`` reads as midnight UTC for git log, and must for the branch step too: a commit at
    00:00:05 on an unmerged cursor/ branch was counted as a commit but as human (the branch step's rev-list read
    the date at the current time of day)."""
    monkeypatch.setenv("TZ", "UTC")
    repo = _init(tmp_path / "r")
    _git(repo, "checkout", "-q", "-b", "cursor/fix")
    _commit(repo, "b", "try", when="2025-04-01T00:00:05+0000")
    _git(repo, "checkout", "-q", "main")
    scan = scan_repo(repo, since="2025-04-01")
    assert scan.commits == 1 and scan.agent_commits() == {"cursor": 1}


@pytest.mark.parametrize(
    ("since", "msg"),
    [
        ("banana", "does not understand --since 'banana'"),  # git: now, so every repository had 0 commits
        ("20250401", "does not understand --since '20250401'"),
        ("2025-13-45", "--since '2025-13-45' is not a day"),  # git: some day in November 2025
    ],
)
def test_cli_since_git_does_not_understand(tmp_path: Path, since: str, msg: str) -> None:
    """A --since git cannot read used to scan every repository as empty and replace its stored rows: the stored
    2 commits became 0. It is refused before any scan, and the database is left as it was."""
    repo = _init(tmp_path / "r")
    _commit(repo, "b", "Add b\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    db = str(tmp_path / "s.duckdb")
    assert CliRunner().invoke(_app(), ["git-agents", str(repo), "--db", db, "--json"]).exit_code == 0
    res = CliRunner().invoke(_app(), ["git-agents", str(repo), "--db", db, "--json", "--since", since])
    assert res.exit_code == 2 and msg in " ".join(res.output.split()), res.output
    with Store(Path(db)) as store:
        assert store.one("SELECT sum(commits) FROM git_agent_monthly") == (2,)
    ok = CliRunner().invoke(_app(), ["git-agents", str(repo), "--no-store", "--json", "--since", "6 months ago"])
    assert ok.exit_code == 0, ok.output


def test_cli_paths_with_brackets_and_undecodable_bytes(tmp_path: Path) -> None:
    """Paths are shown as they are: a folder named ``[/b]`` ended the command in rich's MarkupError ('closing tag
    ... doesn't match any open tag'), ``[red]x[/red]`` lost its brackets, and undecodable bytes showed as
    ``\\udce9``; a signature table given as a folder was an IsADirectoryError traceback."""
    runner = CliRunner(env={"COLUMNS": "1000"})  # one line per message
    empty = tmp_path / "[/b]"  # folders "[" and "b]"
    empty.mkdir(parents=True)
    res = runner.invoke(_app(), ["git-agents", str(empty), "--no-store"])
    assert res.exit_code == 1 and f"no git repositories found under {empty}" in " ".join(res.output.split())
    res = runner.invoke(_app(), ["git-agents", str(tmp_path / "[red]gone[/red]"), "--no-store"])
    assert res.exit_code == 2 and "[red]gone[/red]" in res.output, res.output
    broken = tmp_path / "x[/i]" / "r"
    broken.mkdir(parents=True)
    (broken / ".git").write_text("gitdir: /nowhere\n")
    _init(tmp_path / "ok")
    res = runner.invoke(_app(), ["git-agents", str(tmp_path), "--no-store"])
    assert res.exit_code == 0 and f"skipped {broken}" in res.output, res.output
    res = runner.invoke(_app(), ["git-agents", str(tmp_path / os.fsdecode(b"caf\xe9")), "--no-store"])
    assert res.exit_code == 2 and "caf\\xe9" in res.output, res.output
    res = runner.invoke(_app(), ["git-agents", str(tmp_path / "ok"), "--no-store", "--signatures", str(tmp_path)])
    assert res.exit_code == 2 and "cannot read the signature table" in res.output, res.output
    # a missing table printed "error: [Errno 2] No such file or directory: '...nope.toml'"
    res = runner.invoke(_app(), ["git-agents", str(tmp_path / "ok"), "--no-store", "--signatures", str(tmp_path / "nope.toml")])
    assert res.exit_code == 2 and "cannot read the signature table: No such file" in " ".join(res.output.split())
    assert "Errno" not in res.output, res.output


def test_cli_without_git(known_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no git on PATH every repository used to be 'skipped ... No such file or directory: 'git'' under an
    all-zero table (or 'error: [Errno 2] ...' for a folder inside a repository)."""
    monkeypatch.setenv("PATH", str(known_repo / "nested"))
    res = CliRunner(env={"COLUMNS": "1000"}).invoke(_app(), ["git-agents", str(known_repo), "--no-store"])
    assert res.exit_code == 2 and "git, which is not on PATH: install git" in res.output, res.output


def test_shallow_clone_is_reported(known_repo: Path, tmp_path: Path) -> None:
    """A --depth 1 clone was counted as a repository with 1 commit, active in one month only, with nothing said;
    the scan now marks it and the CLI says that only the fetched commits are counted."""
    clone = tmp_path / "shallow"
    src = (known_repo / "proj-a").resolve().as_uri()
    subprocess.run(["git", "clone", "-q", "--depth", "1", src, str(clone)], check=True, capture_output=True)
    scan = scan_repo(clone)
    assert scan.error is None and scan.shallow and scan.commits == 1
    assert not scan_repo(known_repo / "proj-a").shallow
    res = CliRunner(env={"COLUMNS": "1000"}).invoke(_app(), ["git-agents", str(clone), "--no-store", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["commits"] == 1
    assert f"1 shallow clone(s) ({clone}): only the fetched commits are counted" in res.stderr, res.stderr


def test_since_counts_by_author_date_like_the_months(tmp_path: Path) -> None:
    """git's --since filters by committer date, the months are author months: a commit authored in March and
    rebased (committed) in April was counted under --since 2025-04-01, in a March that was then partial."""
    repo = _init(tmp_path / "r")  # init: authored and committed 2025-03-01
    (repo / "b").write_text("b")
    _git(repo, "add", "b")
    env_when = "2025-04-05T10:00:00+0000"  # committed then, authored on 10 March (a rebase keeps the author date)
    _git(repo, "commit", "-q", "-m", "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>", when=env_when)
    _git(repo, "commit", "-q", "--amend", "--no-edit", "--date", "2025-03-10T10:00:00+0000", when=env_when)
    _commit(repo, "c", "later", when="2025-04-06T10:00:00+0000")
    scan = scan_repo(repo, since="2025-04-01")
    assert scan.commits == 1
    assert {month for (month, _, _) in scan.groups} == {"2025-04"}
    assert scan.first_ts == scan.last_ts == int(datetime(2025, 4, 6, 10, tzinfo=UTC).timestamp())
    assert scan_repo(repo).commits == 3  # without --since, all three


def test_https_and_ssh_clones_of_one_remote_count_once(tmp_path: Path) -> None:
    """One repository cloned over https and over ssh (scp-like or ssh://, a user, a token, a port, a trailing
    slash, an upper-case host) was 4 repositories with 4 x the commits: the identity was the URL as written.
    Rows stored under such an earlier identity for the same folders are replaced, not kept beside the new ones."""
    src = _init(tmp_path / "src")
    _commit(src, "b", "Add b\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    urls = {
        "a": "https://github.com/Org/Repo.git",
        "b": "git@github.com:Org/Repo.git",
        "c": "ssh://git@GitHub.com:22/Org/Repo/",
        "d": "https://user:s3cr3tTOKEN@github.com/Org/Repo",
    }
    for name, url in urls.items():
        subprocess.run(["git", "clone", "-q", str(bare), str(tmp_path / "clones" / name)], check=True)
        _git(tmp_path / "clones" / name, "remote", "set-url", "origin", url)
    assert {scan_repo(tmp_path / "clones" / n).identity for n in urls} == {"github.com/org/repo"}
    scans = scan_paths([tmp_path / "clones"])
    assert summarize(scans) == {
        "repos": 1,
        "commits": 2,
        "agent_commits": 1,
        "by_agent": {"claude_code": 1},
        "repos_with_agent": 1,
    }
    db = tmp_path / "g.duckdb"
    with Store(db) as store:
        # as an earlier version stored them: one key per way of writing the URL, each under its clone's folder
        earlier = []
        for name, url in urls.items():
            s = scan_repo(tmp_path / "clones" / name)
            s.identity = url.replace("user:s3cr3tTOKEN@", "")
            earlier.append(s)
        assert store_results(store, earlier) == 4
        assert store_results(store, scans) == 1
        assert store.one("SELECT count(*), sum(commits) FROM git_repos") == (1, 2)
        assert store.one("SELECT count(DISTINCT repo_key), sum(commits) FROM git_agent_monthly") == (1, 2)
    assert b"s3cr3tTOKEN" not in db.read_bytes()
    res = CliRunner().invoke(_app(), ["git-agents", str(tmp_path / "clones"), "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "s3cr3tTOKEN" not in res.output and "1 repositories, 2 commits" in res.output


def test_clones_without_origin_or_with_other_cases_count_once(tmp_path: Path) -> None:
    """A repository was identified by its ``origin`` remote only: a clone whose remote is named ``github``, one
    with no remote (removed, or a copy), and ``github.com/Org/Repo`` beside ``github.com/org/repo`` (GitHub and
    GitLab ignore case there) were 4 repositories with 4 x the commits. Other remotes, then the root commit, now
    say which repository a clone is; two forks sharing a root commit stay two, and so does a remote-less copy
    that could be either of them."""
    src = _init(tmp_path / "src")
    _commit(src, "b", "Add b\n\nCo-Authored-By: Claude <noreply@anthropic.com>")
    clones = tmp_path / "clones"
    for name in ("a", "b", "c", "d"):
        subprocess.run(["git", "clone", "-q", str(src), str(clones / name)], check=True)
    _git(clones / "a", "remote", "set-url", "origin", "https://github.com/Org/Repo.git")
    _git(clones / "b", "remote", "set-url", "origin", "git@github.com:org/repo.git")
    _git(clones / "c", "remote", "rename", "origin", "github")
    _git(clones / "c", "remote", "set-url", "github", "https://GitHub.com/ORG/repo")
    _git(clones / "d", "remote", "remove", "origin")
    _commit(clones / "d", "c", "Work on the copy")  # the larger scan is kept, under the remote's identity
    assert {scan_repo(clones / n).identity for n in "abc"} == {"github.com/org/repo"}
    scans = scan_paths([clones])
    assert [(s.identity, s.commits, len(s.clones)) for s in scans] == [("github.com/org/repo", 3, 3)]
    # GitLab too; not a host that may tell case apart (a self-hosted server)
    _git(clones / "a", "remote", "set-url", "origin", "git@gitlab.com:Org/Repo.git")
    _git(clones / "b", "remote", "set-url", "origin", "https://gitlab.com/org/repo")
    assert {scan_repo(clones / n).identity for n in "ab"} == {"gitlab.com/org/repo"}
    _git(clones / "b", "remote", "set-url", "origin", "https://git.example.org/Org/Repo")
    assert scan_repo(clones / "b").identity == "git.example.org/Org/Repo"
    # forks: two remotes share the root commit, so the remote-less copy is neither
    scans = scan_paths([clones])
    assert sorted(s.identity for s in scans) == sorted(
        ["gitlab.com/org/repo", "git.example.org/Org/Repo", "github.com/org/repo", scan_repo(clones / "d").identity]
    )
    assert scan_repo(clones / "d").identity.startswith("root:")


def test_a_gitlab_user_under_both_noreply_forms_is_one_author(tmp_path: Path) -> None:
    """GitLab's private commit address is ``NNN-user@users.noreply.<host>`` (older: without ``NNN-``); one user
    committing under both counted as 2 authors, where GitHub's ``NNN+`` forms count as one."""
    repo = tmp_path / "r"
    write_history(repo, [
        SynthCommit("Ada", "4711-ada@users.noreply.gitlab.com", ts(1, 2), "Fix a"),
        SynthCommit("Ada L", "ada@users.noreply.gitlab.com", ts(1, 3), "Fix b"),
        SynthCommit("Ada", "815+ada@users.noreply.github.com", ts(1, 4), "Fix c"),
    ])
    scan = scan_repo(repo)
    assert scan.error is None
    assert by_month_agent(scan) == {("2025-01", "human", ""): (3, 2)}
