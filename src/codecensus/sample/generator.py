"""Write a realistic synthetic Claude Code corpus to disk.

Layout (one folder per user, so ``--user-from-dir`` attributes sessions)::

    out_dir/<user>/.claude/projects/<encoded-cwd>/<sessionId>.jsonl
    out_dir/<user>/.claude/projects/<encoded-cwd>/agent-<7hex>.jsonl                      (≤ 2.0.x subagents)
    out_dir/<user>/.claude/projects/<encoded-cwd>/<sessionId>/subagents/agent-<17hex>.jsonl (2.1.x subagents)
    out_dir/<user>/.claude/projects/<encoded-cwd>/<sessionId>/subagents/agent-<17hex>.meta.json
    out_dir/truth.csv              planted ground truth, one row per main session (a session written as one in
                                   which nothing can be judged has no mode, expertise or topic, and its
                                   expected abstention reason in ``abstain``)
    out_dir/planted_secrets.json   fake secrets / PII planted for the privacy pipeline
    out_dir/manifest.json          parameters, damaged lines, versions, summary

Deterministic: the same arguments give byte-identical files (``random.Random``
seeded from ``seed``; no wall clock, no global random state).
"""

from __future__ import annotations

import contextlib
import csv
import io
import queue
import random
import shutil
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import orjson

from codecensus.sample.planner import STUB_KINDS, STUB_RATE, Population, SessionPlan, new_uuid
from codecensus.sample.versions import parse_version
from codecensus.sample.writer import OutFile, SessionResult, SessionWriter

TRUTH_FIELDS = ("session_id", "user", "month", "mode", "occupation", "expertise", "outcome", "topic",
                "verified_evidence", "language", "abstain")
NON_OBJECT_LINES = (b'"[REDACTED]"', b"null", b"[]", b"0")
DAMAGE_RATE = 0.02
RESUME_RATE = 0.025


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    files: int  # transcript files (.jsonl): main sessions + subagents
    sessions: int  # main sessions (= rows of truth.csv)
    subagent_files: int
    users: int  # users with at least one session
    bytes: int  # bytes of transcript files (.jsonl and .meta.json)
    months: int
    damaged_lines: int


class _Sink:
    """File output on a background thread (file writes release the GIL, so
    writing overlaps generation). Counting happens on the caller's thread, so
    the summary is deterministic; only the timing of the writes is not."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dirs: set[Path] = set()
        self.bytes = 0
        self.files = 0
        self.subagent_files = 0
        self.tops: set[str] = set()  # the folders made directly under root (one per user)
        self._q: queue.Queue[tuple[Path, bytes] | None] = queue.Queue(maxsize=256)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sample-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._error is not None:
                continue
            path, data = item
            try:
                with open(path, "wb") as fh:
                    fh.write(data)
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc

    def write(self, f: OutFile, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        path = self.root / f.rel
        parent = path.parent
        if parent not in self.dirs:
            self.tops.add(f.rel.split("/", 1)[0])
            parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(parent)
        self._q.put((path, data))
        self.bytes += len(data)
        if f.kind != "meta":
            self.files += 1
        if f.kind == "subagent":
            self.subagent_files += 1

    def close(self) -> None:
        self._q.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _prepare(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = list(out_dir.iterdir())
    if not entries:
        return
    manifest = out_dir / "manifest.json"
    if not manifest.exists():
        raise FileExistsError(f"{out_dir} is not empty and holds no sample corpus; use an empty directory")
    previous = orjson.loads(manifest.read_bytes())
    for name in previous.get("users", []):
        target = out_dir / name
        if target.is_dir() and target.parent == out_dir:
            shutil.rmtree(target)
    for name in ("truth.csv", "planted_secrets.json", "manifest.json"):
        (out_dir / name).unlink(missing_ok=True)


def _mark_interrupted(out_dir: Path, tops: set[str]) -> None:
    """A run that did not finish (Ctrl-C, a full disk) leaves a manifest naming the folders it wrote, so the next run
    into ``out_dir`` (and ``codecensus demo`` in the same folder) replaces them instead of refusing a folder that
    "holds no sample corpus". It has no summary: the corpus is not complete."""
    manifest = {"generator": "codecensus.sample", "interrupted": True, "users": sorted(tops)}
    with contextlib.suppress(OSError):
        (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))


def _damage(rng: random.Random, lines: list[bytes], rel: str, log: list[dict[str, object]]) -> list[bytes]:
    """Truncate one line mid-JSON (like a broken redaction tool) and maybe add a non-object line."""
    out = list(lines)
    cands = [i for i in range(1, len(out)) if len(out[i]) > 60]
    if cands:
        j = rng.choice(cands)
        b = out[j]
        out[j] = b[: rng.randint(len(b) // 3, len(b) * 9 // 10)]
    else:
        j = -1
    k = -1
    if rng.random() < 0.5 or j < 0:
        k = rng.randint(1, len(out))
        out.insert(k, rng.choice(NON_OBJECT_LINES))
        if j >= k:
            j += 1
    if j >= 0:
        log.append({"path": rel, "line": j + 1, "kind": "truncated"})
    if k >= 0:
        log.append({"path": rel, "line": k + 1, "kind": "non_object"})
    return out


@dataclass(slots=True)
class _Run:
    """What one generation run accumulates besides the transcript files."""

    truth: list[tuple[str, ...]] = field(default_factory=list)
    secrets: list[dict[str, str]] = field(default_factory=list)
    damaged: list[dict[str, object]] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)


def generate_corpus(out_dir: Path, *, users: int = 300, sessions: int = 3000, months: int = 7,
                    start: str = "2025-10-01", seed: int = 7, target_bytes: int | None = None) -> CorpusSummary:
    """Generate a synthetic corpus; see the module docstring for the layout.

    ``sessions`` main sessions are written, unless ``target_bytes`` is set, in
    which case sessions are generated until the transcripts reach that size.
    """
    if users < 1 or months < 1:
        raise ValueError("users and months must be at least 1")
    out_dir = Path(out_dir)
    _prepare(out_dir)
    sink = _Sink(out_dir)
    run = _Run()
    try:
        try:
            _generate(sink, run, users=users, sessions=sessions, months=months, start=start, seed=seed,
                      target_bytes=target_bytes)
        finally:
            sink.close()
    except BaseException:
        _mark_interrupted(out_dir, sink.tops)
        raise
    summary = CorpusSummary(
        files=sink.files, sessions=len(run.truth), subagent_files=sink.subagent_files, users=len(run.users),
        bytes=sink.bytes, months=months, damaged_lines=len(run.damaged),
    )
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TRUTH_FIELDS)
    w.writerows(run.truth)
    (out_dir / "truth.csv").write_text(buf.getvalue(), encoding="utf-8")
    (out_dir / "planted_secrets.json").write_bytes(orjson.dumps(run.secrets, option=orjson.OPT_INDENT_2))
    ordered = sorted(run.versions, key=parse_version)
    manifest = {
        "generator": "codecensus.sample",
        "params": {"users": users, "sessions": sessions, "months": months, "start": start, "seed": seed,
                   "target_bytes": target_bytes},
        "summary": asdict(summary),
        "versions": {"min": ordered[0] if ordered else None, "max": ordered[-1] if ordered else None,
                     "count": len(ordered)},
        "users": sorted(run.users),
        "damaged_lines": run.damaged,
    }
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return summary


def _stub(plan: SessionPlan, seed: int, index: int) -> SessionPlan | None:
    """The session to write instead of ``plan`` when it is one in which nothing can be judged (planner.STUB_KINDS),
    else None. Drawn from its own random stream (seed, index): the corpus' other draws are not moved. Only sessions
    of Claude Code 2.1 that are not resumed (they are never copied into a resumed one)."""
    if plan.resumed_from is not None or parse_version(plan.version) < (2, 1, 0):
        return None
    rng = random.Random(f"codecensus.sample.stub-kind:{seed}:{index}")
    if rng.random() >= STUB_RATE:
        return None
    return replace(plan, stub=rng.choice(list(STUB_KINDS)), outcome="unclear", evidence="", n_prompts=1,
                   plant_secret=False, subagents=0)


def _generate(sink: _Sink, run: _Run, *, users: int, sessions: int, months: int, start: str, seed: int,
              target_bytes: int | None) -> None:
    rng = random.Random(f"codecensus.sample:{seed}")
    pop = Population(rng, users=users, months=months, start=start)
    leaves: dict[str, list[tuple[str, str]]] = {}  # project cwd → (last uuid, title) of its sessions
    pending: tuple[SessionPlan, SessionResult] | None = None
    i = 0
    while True:
        if target_bytes is None:
            if i >= sessions:
                break
        elif sink.bytes >= target_bytes:
            break
        sid = new_uuid(rng)
        copy: SessionResult | None = None
        if pending is not None:
            prev_plan, copy = pending
            plan = pop.continuation(i, sid, prev_plan, copy.end_ms)
            pending = None
        else:
            plan = pop.draw(i, sid)
        proj_leaves = leaves.setdefault(plan.project.cwd, [])
        writer = SessionWriter(
            plan, random.Random(seed * 1_000_003 + i), foreign_leaves=proj_leaves,
            copy_from=copy.chain_lines if copy else None, copy_last=copy.last_uuid if copy else None,
            copy_sid=plan.resumed_from,
        )
        result = writer.build()
        stub = _stub(plan, seed, i)
        if stub is not None:
            # the planned session is still built and its damage drawn (then dropped): the shared random stream then
            # moves as without the stub, so every other session is the same as before stubs were written
            for f in result.files:
                if f.kind == "main" and rng.random() < DAMAGE_RATE and len(f.lines) > 3:
                    _damage(rng, f.lines, f.rel, [])
            plan = stub
            result = SessionWriter(plan, random.Random(f"codecensus.sample.stub:{seed}:{i}"),
                                   foreign_leaves=proj_leaves).build_stub()
        for f in result.files:
            lines = f.lines
            if stub is None and f.kind == "main" and rng.random() < DAMAGE_RATE and len(lines) > 3:
                lines = _damage(rng, lines, f.rel, run.damaged)
            sink.write(f, b"\n".join(lines) + b"\n")
            if f.kind == "main":
                run.secrets.extend({**s, "file": f.rel} for s in result.secrets)
        if result.last_uuid:
            proj_leaves.append((result.last_uuid, plan.topic.title))
            del proj_leaves[:-20]
        if plan.stub:  # nothing in the transcript shows a work mode, a task's expertise or a topic: none is planted
            run.truth.append((plan.session_id, plan.user.name, plan.month, "", plan.user.occupation, "",
                              plan.outcome, "", plan.evidence, plan.language, STUB_KINDS[plan.stub]))
        else:
            run.truth.append((plan.session_id, plan.user.name, plan.month, plan.mode, plan.user.occupation,
                              str(plan.expertise), plan.outcome, plan.topic.title, plan.evidence, plan.language, ""))
        run.users.add(plan.user.name)
        run.versions.add(plan.version)
        if (plan.resumed_from is None and parse_version(plan.version) < (2, 1, 0) and plan.outcome != "unclear"
                and rng.random() < RESUME_RATE and result.chain_lines):
            pending = (plan, result)
        i += 1
