"""Scan local git repositories for coding-agent commits.

Reading: one streamed ``git log -z`` per repository (NUL-terminated records,
unit-separated fields), decoded chunk by chunk while git is still walking, so
git decompresses objects on one core while Python classifies on the other.
Only a few short strings per commit are kept (hash, parents, time, an
in-process author hash, the matched signatures) for the branch step.

Branch names are used where git still shows them:

* unmerged agent branches: commits reachable only from refs named like an
  agent branch (``copilot/…``, ``codex/…``; local or remote-tracking) get that
  branch's signature (one ``git rev-list`` per agent with such refs);
* merge subjects: ``Merge pull request #7 from o/codex/x`` / ``Merge branch
  'cursor/y'`` tag the merge commit and the commits it brought in (walked along
  first parents from the merged tip until the first-parent history of a
  non-agent branch, capped), and ``Merge branch 'main' into devin/z`` tags the
  merge itself.

Aggregation is per repository x month (UTC, author date) x agent x confidence,
with the number of distinct authors; author e-mails are reduced to in-process
hashes while scanning and only counts are stored.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import pyarrow as pa

from codecensus.gitagents.signatures import (
    CONF_RANK,
    HUMAN,
    NON_AGENTS,
    Signature,
    SignatureSet,
    default_signatures,
    merge_branches,
    normalize_email,
    subject_of,
)
from codecensus.paths import as_text

if TYPE_CHECKING:
    from codecensus.store import Store

GIT_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%at%x1f%B"
_CHUNK = 1 << 20
_WALK_CAP = 1000  # commits attributed per merged agent branch at most
_MAX_TS = 253402300799  # 9999-12-31 23:59:59 UTC: the last author time a month (and a stored timestamp) can hold
_SKIP_DIRS = frozenset({"node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", ".cache"})


class GitError(RuntimeError):
    """git failed on a repository."""


# ---------------------------------------------------------------------------
# discovery


def is_repo_root(d: Path) -> bool:
    """A working tree (``.git`` dir or file) or a bare repository."""
    if (d / ".git").exists():
        return True
    return (d / "HEAD").is_file() and (d / "objects").is_dir() and (d / "refs").is_dir()


def discover_repos(paths: Iterable[str | Path], max_depth: int = 6) -> list[Path]:
    """Every repository at or under ``paths`` (nested repos inside a found repo are not entered)."""
    found: dict[str, Path] = {}

    def walk(d: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if not e.is_dir(follow_symlinks=False) or e.name in _SKIP_DIRS or e.name == ".git":
                continue
            sub = Path(e.path)
            if is_repo_root(sub):
                found.setdefault(str(sub), sub)
            elif depth < max_depth:
                walk(sub, depth + 1)

    for raw in paths:
        p = Path(raw).expanduser().resolve()
        if not p.is_dir():
            raise FileNotFoundError(f"not a directory: {p}")
        if is_repo_root(p):
            found.setdefault(str(p), p)
            continue
        before = len(found)
        walk(p, 1)
        if len(found) == before:
            top = _run_git(p, "rev-parse", "--show-toplevel", check=False)
            if top.returncode == 0 and top.stdout.strip():
                q = Path(top.stdout.strip()).resolve()
                found.setdefault(str(q), q)
    return list(found.values())


# ---------------------------------------------------------------------------
# git plumbing


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"})
    return env


def _run_git(
    repo: Path, *args: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = ["git", "--no-pager", "-C", str(repo), *args]
    res = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, encoding="utf-8", errors="replace", env=_git_env()
    )
    if check and res.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {res.stderr.strip()[:300]}")
    return res


_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)", re.DOTALL)
_SCP = re.compile(r"(?:[^@/:]+@)?(?P<host>[^@/:]+):(?P<path>.*)", re.DOTALL)


# Hosts whose owner and repository names are case-insensitive (github.com/Org/Repo is github.com/org/repo),
# each under the name its other SSH hosts (ssh over port 443) stand for.
_CASELESS_HOSTS = {
    "github.com": "github.com",
    "www.github.com": "github.com",
    "ssh.github.com": "github.com",
    "gitlab.com": "gitlab.com",
    "www.gitlab.com": "gitlab.com",
    "altssh.gitlab.com": "gitlab.com",
}


def _network_identity(url: str) -> str | None:
    """``host/path`` of a remote reached over the network (see :func:`remote_identity`); None for a local path."""
    u = url.strip()
    m = _URL.fullmatch(u)
    scp = None if m else _SCP.fullmatch(u)
    if m and m["scheme"].lower() != "file":
        authority, _, path = m["rest"].partition("/")
        host = re.sub(r":\d*$", "", authority.rpartition("@")[2]).lower()  # no user:token@, no :port
    elif scp:
        host, path = scp["host"].lower(), scp["path"]
    else:
        return None
    path = path.strip("/")
    if host in _CASELESS_HOSTS:
        host, path = _CASELESS_HOSTS[host], path.lower()
    path = re.sub(r"\.git$", "", path).strip("/")
    return f"{host}/{path}"


def remote_identity(url: str, repo: Path) -> str:
    """One identity for every way of naming a remote: ``host/path`` with the host in lower case and no scheme,
    user, password/token, port, trailing slash or ``.git`` (``https://github.com/org/repo.git``,
    ``git@github.com:org/repo`` and ``ssh://git@GitHub.com/org/repo/`` are all ``github.com/org/repo``); on
    GitHub and GitLab, whose owner and repository names ignore case, the path in lower case too.
    A local path (or ``file://``) is the resolved path, relative ones read from ``repo`` as git does."""
    ident = _network_identity(url)
    if ident is not None:
        return ident
    m = _URL.fullmatch(url.strip())
    local = m["rest"] if m else url.strip()
    return re.sub(r"\.git$", "", str((repo / local).resolve()))


def _remote_urls(repo: Path) -> list[str]:
    """The fetch URLs of the repository's remotes: ``origin`` first, then ``upstream``, then the others by name."""
    res = _run_git(repo, "config", "--get-regexp", r"^remote\..*\.url$", check=False)
    urls: dict[str, str] = {}
    for line in res.stdout.splitlines():
        key, _, url = line.partition(" ")
        name = key[len("remote.") : -len(".url")]
        if url.strip():
            urls.setdefault(name, url.strip())
    order = sorted(urls, key=lambda n: (n != "origin", n != "upstream", n))
    return [urls[n] for n in order]


def root_commit(repo: Path) -> str | None:
    """The first commit of ``HEAD``'s first-parent history (None without one)."""
    res = _run_git(repo, "rev-list", "--first-parent", "--max-parents=0", "HEAD", "--", check=False)
    shas = res.stdout.split()
    return shas[-1] if res.returncode == 0 and shas else None


def repo_identity(repo: Path) -> str:
    """Which repository ``repo`` is a clone of (never credentials):

    - the identity (:func:`remote_identity`) of its first remote reached over the network, ``origin`` first, then
      ``upstream``, then the others by name (a clone whose remote is named ``github`` is the clone of ``origin``);
    - without one (no remote, or only local paths: a local clone, a copy): ``root:<sha>``, the first commit of
      ``HEAD``'s first-parent history, which every clone and copy of the repository shares (as do its linked
      worktrees, whose history is the main repository's);
    - with no commit either: the resolved path of the repository that owns the commits (a linked worktree is its
      main repository)."""
    for url in _remote_urls(repo):
        ident = _network_identity(url)
        if ident is not None:
            return ident
    root = root_commit(repo)
    if root is not None:
        return f"root:{root}"
    dirs = subprocess.run(
        ["git", "--no-pager", "-C", str(repo), "rev-parse", "--git-dir", "--git-common-dir"],
        capture_output=True,
        env=_git_env(),
    )
    # paths as the file system has them (undecodable bytes too), relative to the repository when git gives them so
    lines = [(repo / os.fsdecode(b)).resolve() for b in dirs.stdout.splitlines() if b]
    if dirs.returncode == 0 and len(lines) == 2 and lines[0] != lines[1]:
        owner = lines[1]  # a linked worktree: the main repository's .git (or the bare repository)
        return str(owner.parent if owner.name == ".git" else owner)
    return str(repo.resolve())


def _git_since(since: str) -> str:
    """``--since`` as git should read it: a bare date is midnight UTC (git would read it as that date at the
    *current* time of day). Every git call of a scan uses this, so they agree on where the period starts."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", since.strip()):
        return f"{since.strip()} 00:00:00 +0000"
    return since


def since_epoch(repo: Path, since: str) -> int | None:
    """The instant git reads ``since`` as (epoch seconds), or None when git fails in ``repo``."""
    res = _run_git(repo, "rev-parse", f"--since={_git_since(since)}", check=False)
    m = re.fullmatch(r"--max-age=(-?\d+)", res.stdout.strip())
    return int(m[1]) if m else None


def check_since(repo: Path, since: str) -> None:
    """Raise ValueError when git would not understand ``since``.

    git reads any text as a date (``--since banana`` is *now*, so every repository would be scanned as having no
    commits, and a stored scan replaced by an empty one); a day that does not exist (``2025-13-45``) is read as
    some other day. ``repo`` is any repository (git parses dates only inside one).
    """
    s = since.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", s):
        try:
            datetime.strptime(s, "%Y-%m-%d")
        except ValueError:
            raise ValueError(f"--since {since!r} is not a day: give one like 2025-01-31") from None
        return
    at = since_epoch(repo, s)
    if at is None:
        return  # git failed on this repository: its scan says why
    if abs(at - time.time()) < 5 and s.lower() != "now":
        raise ValueError(
            f"git does not understand --since {since!r} (it reads it as now): give a day like 2025-01-31 "
            "or a span like '6 months ago'"
        )


def iter_git_log(repo: Path, *, since: str | None = None, all_refs: bool = True) -> Iterator[list[str]]:
    """Stream ``[sha, parents, an, ae, cn, ce, at, message]`` for every commit."""
    args = [
        "git",
        "--no-pager",
        "-C",
        str(repo),
        "-c",
        "log.showSignature=false",
        "log",
        "-z",
        "--no-color",
        "--encoding=UTF-8",
        f"--format={GIT_FORMAT}",
    ]
    if since:
        args.append(f"--since={_git_since(since)}")
    if all_refs:
        args += ["--exclude=refs/stash", "--exclude=refs/notes/*", "--all"]
    else:
        args.append("HEAD")
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=_git_env())
        assert proc.stdout is not None
        buf = b""
        try:
            while True:
                chunk = proc.stdout.read(_CHUNK)
                if not chunk:
                    break
                buf += chunk
                cut = buf.rfind(b"\0")
                if cut < 0:
                    continue
                text = buf[:cut].decode("utf-8", "replace")
                buf = buf[cut + 1 :]
                for rec in text.split("\0"):
                    fields = rec.split("\x1f", 7)
                    if len(fields) == 8:
                        yield fields
            if buf.strip():
                fields = buf.decode("utf-8", "replace").split("\x1f", 7)
                if len(fields) == 8:
                    yield fields
        finally:
            proc.stdout.close()
            rc = proc.wait()
        if rc != 0:
            err.seek(0)
            msg = err.read().decode("utf-8", "replace").strip()
            if (
                "does not have any commits" in msg
                or "bad default revision 'HEAD'" in msg
                or "unknown revision" in msg
            ):
                return  # empty repository
            raise GitError(f"git log failed in {repo} (exit {rc}): {msg[:300]}")


def _branch_short(ref: str) -> str | None:
    if ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    if ref.startswith("refs/remotes/"):
        rest = ref[len("refs/remotes/") :]
        _, _, name = rest.partition("/")
        return None if not name or name == "HEAD" else name
    return None


# ---------------------------------------------------------------------------
# scanning


@dataclass(slots=True)
class Group:
    commits: int = 0
    authors: set[int] = field(default_factory=set)


@dataclass
class RepoScan:
    """Aggregated result for one repository.

    Holds no author identity (only in-process hashes); ``identity`` (remote URL
    without credentials, or the path) is hashed with the store salt before storage.
    """

    path: Path
    identity: str
    commits: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    groups: dict[tuple[str | None, str, str], Group] = field(default_factory=dict)  # (month, agent, confidence)
    signature_hits: Counter[str] = field(default_factory=Counter)
    all_refs: bool = True
    since: str | None = None
    error: str | None = None
    seconds: float = 0.0
    shallow: bool = False  # a shallow clone: only the fetched part of the history was there to count
    root: str | None = None  # the first commit of HEAD's first-parent history (root_commit)
    clones: list[Path] = field(default_factory=list)  # other clones of the same remote, counted as this one

    def agent_commits(self, min_confidence: str = "M") -> Counter[str]:
        floor = CONF_RANK[min_confidence.upper()]
        out: Counter[str] = Counter()
        for (_, agent, conf), g in self.groups.items():
            if agent not in NON_AGENTS and CONF_RANK.get(conf, -1) >= floor:
                out[agent] += g.commits
        return out


def _month(ts: int) -> str | None:
    """``YYYY-MM`` (UTC) of an author time; None for a commit without a usable one (stored as an undated month:
    counted in the repository's totals, in no period of the adoption tables)."""
    if ts <= 0:
        return None
    t = time.gmtime(ts)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}"


def scan_repo(
    repo: str | Path,
    signatures: SignatureSet | None = None,
    *,
    since: str | None = None,
    all_refs: bool = True,
) -> RepoScan:
    """Scan one repository. Errors are reported in ``RepoScan.error``, not raised."""
    t0 = time.perf_counter()
    path = Path(repo).resolve()
    sigs = signatures or default_signatures()
    scan = RepoScan(path=path, identity=str(path), all_refs=all_refs, since=since)
    try:
        scan.identity = repo_identity(path)
        scan.root = scan.identity[len("root:") :] if scan.identity.startswith("root:") else root_commit(path)
        _scan_into(scan, sigs, since=since, all_refs=all_refs)
        shallow = _run_git(path, "rev-parse", "--is-shallow-repository", check=False)
        scan.shallow = shallow.stdout.strip() == "true"
    except (GitError, OSError) as exc:
        scan.error = str(exc)
    scan.seconds = time.perf_counter() - t0
    return scan


def _scan_into(scan: RepoScan, sigs: SignatureSet, *, since: str | None, all_refs: bool) -> None:
    shas: list[str] = []
    parents: list[str] = []
    times: list[int] = []
    authors: list[int] = []
    hits: dict[int, list[Signature]] = {}
    # commit index -> (parent position, branch signatures of the branch that parent brought in)
    merge_src: dict[int, list[tuple[int, list[Signature]]]] = {}

    match_identity = sigs.match_identity
    match_message = sigs.match_message
    match_branches = sigs.match_branches
    for sha, par, an, ae, cn, ce, at, msg in iter_git_log(scan.path, since=since, all_refs=all_refs):
        i = len(shas)
        shas.append(sha)
        parents.append(par)
        try:
            ts = int(at)
        except ValueError:
            ts = 0
        if ts > _MAX_TS:  # a corrupt date (git fsck: badDateOverflow): undated, like an unparseable one
            ts = 0
        times.append(ts)
        authors.append(hash(normalize_email(ae) or an.strip().lower()))
        h = list(match_identity(an, ae, cn, ce))
        if msg:
            h += match_message(msg)
            if msg.startswith("Merge"):
                src, dst = merge_branches(subject_of(msg))
                bsrc = match_branches(src)
                if bsrc and " " in par:  # a real merge: its second (third, ...) parent brought the branch in
                    n_par = par.count(" ") + 1
                    brought = [(k, match_branches([b])) for k, b in enumerate(src[: n_par - 1], 1)]
                    merge_src[i] = [(k, bs) for k, bs in brought if bs]
                h += bsrc + match_branches(dst)
        if h:
            hits[i] = h

    if not shas:
        return
    _branch_attribution(scan.path, sigs, shas, parents, hits, merge_src, since=since, all_refs=all_refs)

    # git's --since is by committer date, the months by author date: a commit authored before the period and
    # committed in it (a rebase, a cherry-pick, an applied patch) would make its month partial. Undated ones stay.
    floor = since_epoch(scan.path, since) if since else None
    groups = scan.groups
    sig_hits = scan.signature_hits
    resolve = sigs.resolve
    kept = 0
    valid: list[int] = []
    for i, ts in enumerate(times):
        if floor is not None and 0 < ts < floor:
            continue
        kept += 1
        if ts > 0:
            valid.append(ts)
        h = hits.get(i)
        det = resolve(h) if h else None
        if det is None:
            key = (_month(ts), HUMAN, "")
        else:
            key = (_month(ts), det.agent, det.confidence)
            sig_hits.update(det.signatures)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group()
        g.commits += 1
        g.authors.add(authors[i])
    scan.commits = kept
    if valid:
        scan.first_ts, scan.last_ts = min(valid), max(valid)


def _branch_attribution(
    repo: Path,
    sigs: SignatureSet,
    shas: list[str],
    parents: list[str],
    hits: dict[int, list[Signature]],
    merge_src: dict[int, list[tuple[int, list[Signature]]]],
    *,
    since: str | None,
    all_refs: bool,
) -> None:
    """Add branch signatures to commits that belong to agent-named branches."""
    agent_refs: dict[str, list[str]] = {}  # signature id -> refs
    other_refs: list[str] = []
    mainline_tips: list[str] = []
    res = _run_git(repo, "for-each-ref", "--format=%(refname)%09%(objectname)%09%(*objectname)", check=False)
    for line in res.stdout.splitlines():
        ref, _, rest = line.partition("\t")
        obj, _, peeled = rest.partition("\t")
        name = _branch_short(ref)
        m = sigs.match_branches([name]) if name else []
        if m:
            best = max(m, key=lambda s: s.rank)
            agent_refs.setdefault(best.id, []).append(ref)
            continue
        other_refs.append(ref)
        if ref.startswith(("refs/heads/", "refs/remotes/", "refs/tags/")):
            mainline_tips.append(peeled or obj)
    head = _run_git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
    head_sha = head.stdout.strip() if head.returncode == 0 else ""
    if head_sha:
        mainline_tips.insert(0, head_sha)
    if not agent_refs and not merge_src:
        return
    index = {s: i for i, s in enumerate(shas)}

    # unmerged agent branches: commits reachable only from agent-named refs
    for sid, refs in agent_refs.items() if all_refs else ():
        sig = sigs.by_id[sid]
        excluded = other_refs + [r for k, rs in agent_refs.items() if k != sid for r in rs]
        lines = [*refs, *(f"^{r}" for r in excluded)]
        if head_sha:
            lines.append(f"^{head_sha}")
        args = ["rev-list", "--stdin"]
        if since:
            args.append(f"--since={_git_since(since)}")
        res = _run_git(repo, *args, stdin="\n".join(lines) + "\n", check=False)
        for sha in res.stdout.split():
            i = index.get(sha)
            if i is not None:
                hits.setdefault(i, []).append(sig)

    # merged agent branches: walk first parents from the merged tip to the mainline
    if merge_src:
        first_parent = [p.split(" ", 1)[0] if p else "" for p in parents]
        mainline: set[str] = set()
        for tip in mainline_tips:
            c = tip
            while c and c not in mainline and c in index:
                mainline.add(c)
                c = first_parent[index[c]]
        for i, brought in merge_src.items():
            par = parents[i].split()
            for k, bsigs in brought:
                c = par[k] if k < len(par) else ""
                steps = 0
                while c and c in index and c not in mainline and steps < _WALK_CAP:
                    j = index[c]
                    cur = hits.setdefault(j, [])
                    if any(s in cur for s in bsigs):
                        break  # already walked from another merge
                    cur.extend(bsigs)
                    c = first_parent[j]
                    steps += 1


def scan_paths(
    paths: Sequence[str | Path],
    signatures: SignatureSet | None = None,
    *,
    since: str | None = None,
    all_refs: bool = True,
    max_depth: int = 6,
    repos: Sequence[Path] | None = None,
    on_repo: Callable[[RepoScan], None] | None = None,
) -> list[RepoScan]:
    """Discover (unless ``repos`` is given) and scan every repository under ``paths``.

    Two clones of the same remote are one project: the larger scan is kept. A repository without a remote
    (identity ``root:<sha>``, see :func:`repo_identity`) is a clone of the one repository with a remote that
    shares its root commit, when there is exactly one (several: forks, which stay apart).
    ``on_repo`` is called after each repository (for progress display).
    """
    sigs = signatures or default_signatures()
    scans: dict[str, RepoScan] = {}

    def add(key: str, s: RepoScan) -> None:
        old = scans.get(key)
        if old is None:
            scans[key] = s
        elif s.commits > old.commits:
            s.identity = old.identity
            s.clones += [old.path, *old.clones]
            scans[key] = s
        else:
            old.clones += [s.path, *s.clones]

    for repo in repos if repos is not None else discover_repos(paths, max_depth=max_depth):
        s = scan_repo(repo, sigs, since=since, all_refs=all_refs)
        if on_repo is not None:
            on_repo(s)
        add(s.identity if s.error is None else f"error:{s.path}", s)
    remotes_by_root: dict[str, list[str]] = {}
    for key, s in scans.items():
        if s.error is None and s.root is not None and not key.startswith("root:"):
            remotes_by_root.setdefault(s.root, []).append(key)
    for key in [k for k in scans if k.startswith("root:")]:
        twins = remotes_by_root.get(key[len("root:") :], [])
        if len(twins) == 1:
            add(twins[0], scans.pop(key))
    return list(scans.values())


class Summary(TypedDict):
    repos: int
    commits: int
    agent_commits: int
    by_agent: dict[str, int]
    repos_with_agent: int


def summarize(scans: Iterable[RepoScan], min_confidence: str = "M") -> Summary:
    """The ``--json`` document."""
    ok = [s for s in scans if s.error is None]
    by_agent: Counter[str] = Counter()
    with_agent = 0
    for s in ok:
        c = s.agent_commits(min_confidence)
        by_agent.update(c)
        if sum(c.values()) > 0:
            with_agent += 1
    return {
        "repos": len(ok),
        "commits": sum(s.commits for s in ok),
        "agent_commits": sum(by_agent.values()),
        "by_agent": dict(sorted(by_agent.items(), key=lambda kv: (-kv[1], kv[0]))),
        "repos_with_agent": with_agent,
    }


# ---------------------------------------------------------------------------
# storage

REPOS_SCHEMA = pa.schema(
    [
        ("repo_key", pa.string()),
        ("path_key", pa.string()),
        ("commits", pa.int64()),
        ("first_ts", pa.timestamp("s", tz="UTC")),
        ("last_ts", pa.timestamp("s", tz="UTC")),
        ("all_refs", pa.bool_()),
        ("since", pa.string()),
        ("scanned_at", pa.timestamp("s", tz="UTC")),
    ]
)
MONTHLY_SCHEMA = pa.schema(
    [
        ("repo_key", pa.string()),
        ("month", pa.string()),
        ("agent", pa.string()),
        ("confidence", pa.string()),
        ("commits", pa.int64()),
        ("authors", pa.int64()),
    ]
)
HITS_SCHEMA = pa.schema(
    [
        ("repo_key", pa.string()),
        ("signature_id", pa.string()),
        ("commits", pa.int64()),
    ]
)
_DDL = {
    "git_repos": """CREATE TABLE IF NOT EXISTS git_repos (repo_key VARCHAR, path_key VARCHAR, commits BIGINT,
        first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, all_refs BOOLEAN, since VARCHAR, scanned_at TIMESTAMPTZ)""",
    "git_agent_monthly": """CREATE TABLE IF NOT EXISTS git_agent_monthly (repo_key VARCHAR, month VARCHAR,
        agent VARCHAR, confidence VARCHAR, commits BIGINT, authors BIGINT)""",
    "git_agent_signature_hits": """CREATE TABLE IF NOT EXISTS git_agent_signature_hits (repo_key VARCHAR,
        signature_id VARCHAR, commits BIGINT)""",
}


def _ts(v: int | None) -> datetime | None:
    return None if v is None else datetime.fromtimestamp(v, tz=UTC)


def store_results(store: Store, scans: Iterable[RepoScan]) -> int:
    """Write scans to ``git_repos``, ``git_agent_monthly`` and ``git_agent_signature_hits``.

    Each scanned repository's previous rows are replaced in one transaction, so
    a re-scan is idempotent; so are rows stored from the same folders (or clones) under
    another identity (an earlier way of naming the remote). Failed scans leave earlier
    rows alone. Returns the number of repositories written.
    """
    ok = [s for s in scans if s.error is None]
    now = datetime.now(tz=UTC).replace(microsecond=0)
    repos: dict[str, list[Any]] = {f.name: [] for f in REPOS_SCHEMA}
    monthly: dict[str, list[Any]] = {f.name: [] for f in MONTHLY_SCHEMA}
    sighits: dict[str, list[Any]] = {f.name: [] for f in HITS_SCHEMA}
    keys: list[str] = []
    path_keys = [store.hash_name(as_text(str(p))) for s in ok for p in (s.path, *s.clones)]
    for s in ok:
        key = store.hash_name(as_text(s.identity)) or ""
        if key in keys:
            continue
        keys.append(key)
        for col, v in (
            ("repo_key", key),
            ("path_key", store.hash_name(as_text(str(s.path)))),
            ("commits", s.commits),
            ("first_ts", _ts(s.first_ts)),
            ("last_ts", _ts(s.last_ts)),
            ("all_refs", s.all_refs),
            ("since", s.since),
            ("scanned_at", now),
        ):
            repos[col].append(v)
        for (month, agent, conf), g in sorted(s.groups.items(), key=lambda kv: (kv[0][0] or "", *kv[0][1:])):
            for col, v in (
                ("repo_key", key),
                ("month", month),
                ("agent", agent),
                ("confidence", conf),
                ("commits", g.commits),
                ("authors", len(g.authors)),
            ):
                monthly[col].append(v)
        for sid, n in sorted(s.signature_hits.items()):
            sighits["repo_key"].append(key)
            sighits["signature_id"].append(sid)
            sighits["commits"].append(n)
    tables = {
        "git_repos": pa.table(repos, schema=REPOS_SCHEMA),
        "git_agent_monthly": pa.table(monthly, schema=MONTHLY_SCHEMA),
        "git_agent_signature_hits": pa.table(sighits, schema=HITS_SCHEMA),
    }
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        for ddl in _DDL.values():
            con.execute(ddl)
        if keys:
            old = "SELECT repo_key FROM git_repos WHERE path_key IN (SELECT p FROM _paths)"
            con.register("_paths", pa.table({"p": pa.array(path_keys, pa.string())}))
            olds = [r[0] for r in con.execute(old).fetchall()]  # git_repos exists: the DDL above
            con.unregister("_paths")
            con.register("_keys", pa.table({"k": pa.array(keys + olds, pa.string())}))
            for name, tbl in tables.items():
                con.execute(f"DELETE FROM {name} WHERE repo_key IN (SELECT k FROM _keys)")
                con.register("_rows", tbl)
                cols = ", ".join(f'"{c}"' for c in tbl.schema.names)
                con.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM _rows")
                con.unregister("_rows")
            con.unregister("_keys")
        con.execute("COMMIT")
    except BaseException:
        from codecensus.store import rollback

        rollback(con)
        raise
    return len(keys)


# ---------------------------------------------------------------------------
# report tables

ADOPTION_SCHEMA = pa.schema(
    [
        ("period", pa.string()),
        ("agent", pa.string()),
        ("repos_active", pa.int64()),
        ("repos_with_agent", pa.int64()),
        ("share", pa.float64()),
        ("agent_commits", pa.int64()),
        ("commits", pa.int64()),
        ("agent_commit_share", pa.float64()),
    ]
)

_PERIOD_SQL = {
    "month": "month",
    "quarter": "substr(month, 1, 4) || '-Q' || CAST((CAST(substr(month, 6, 2) AS INTEGER) + 2) // 3 AS VARCHAR)",
    "half": "substr(month, 1, 4) || '-H' || CASE WHEN CAST(substr(month, 6, 2) AS INTEGER) <= 6 THEN '1' ELSE '2' END",
    "year": "substr(month, 1, 4)",
}
ANY_AGENT = "any"


def adoption_table(store: Store, period: str = "month", min_confidence: str = "M") -> pa.Table:
    """Share of repositories with at least one agent commit, and agent share of commits.

    One row per period x agent (every agent seen anywhere, plus ``any`` for any
    agent), including zero rows, ordered by period then agent:
    ``period, agent, repos_active, repos_with_agent, share, agent_commits,
    commits, agent_commit_share``. ``repos_active`` counts repositories with at
    least one commit in the period; ``share = repos_with_agent / repos_active``.
    ``period`` is ``month`` (``2025-07``), ``quarter`` (``2025-Q3``), ``half``
    (``2025-H2``, the study's granularity) or ``year``. A commit counts as an
    agent commit when its best signature has at least ``min_confidence``
    (``H`` = identity/trailer only; ``M`` adds product phrases and branch names;
    ``L`` adds weak conventions).
    """
    if period not in _PERIOD_SQL:
        raise ValueError(f"period must be one of {', '.join(_PERIOD_SQL)}")
    floor = CONF_RANK[min_confidence.upper()]
    if not store.table_exists("git_agent_monthly"):
        return ADOPTION_SCHEMA.empty_table()
    ok_conf = ", ".join(f"'{c}'" for c, r in CONF_RANK.items() if r >= floor)
    non_agents = ", ".join(f"'{a}'" for a in sorted(NON_AGENTS))
    sql = f"""
    WITH m AS (
        SELECT repo_key, {_PERIOD_SQL[period]} AS period, agent, commits,
               agent NOT IN ({non_agents}) AND confidence IN ({ok_conf}) AS is_agent
        FROM git_agent_monthly WHERE month IS NOT NULL  -- commits without a usable author time: in no period
    ),
    tot AS (SELECT period, count(DISTINCT repo_key) AS repos_active, sum(commits) AS commits FROM m GROUP BY period),
    per AS (
        SELECT period, agent, count(DISTINCT repo_key) AS repos_with_agent, sum(commits) AS agent_commits
        FROM m WHERE is_agent GROUP BY period, agent
        UNION ALL
        SELECT period, '{ANY_AGENT}', count(DISTINCT repo_key), sum(commits) FROM m WHERE is_agent GROUP BY period
    ),
    agents AS (SELECT DISTINCT agent FROM m WHERE is_agent UNION SELECT '{ANY_AGENT}')
    SELECT tot.period, agents.agent,
           tot.repos_active::BIGINT AS repos_active,
           coalesce(per.repos_with_agent, 0)::BIGINT AS repos_with_agent,
           coalesce(per.repos_with_agent, 0)::DOUBLE / nullif(tot.repos_active, 0) AS share,
           coalesce(per.agent_commits, 0)::BIGINT AS agent_commits,
           tot.commits::BIGINT AS commits,
           coalesce(per.agent_commits, 0)::DOUBLE / nullif(tot.commits, 0) AS agent_commit_share
    FROM tot CROSS JOIN agents
    LEFT JOIN per ON per.period = tot.period AND per.agent = agents.agent
    ORDER BY tot.period, agents.agent = '{ANY_AGENT}' DESC, agents.agent
    """
    tbl = store.query(sql)
    return tbl.cast(ADOPTION_SCHEMA)
