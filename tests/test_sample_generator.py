"""Tests of the synthetic corpus generator (codecensus.sample)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from codecensus.sample import TRUTH_FIELDS, CorpusSummary, generate_corpus
from codecensus.sample import generator as gen_mod
from codecensus.sample import planner as planner_mod
from codecensus.sample import scenarios as sc
from codecensus.sample.planner import STUB_KINDS, Population, encode_cwd
from codecensus.sample.versions import features, parse_version, version_at
from codecensus.sample.writer import INTERRUPT, INTERRUPT_TOOL, REJECT
from codecensus.sources import common
from codecensus.sources.common import is_commit_command, is_deploy_command, is_push_command, is_test_command
from codecensus.taxonomy import MODE_KEYS, OUTCOME_KEYS, SOC_KEYS

from conftest import shared_dir

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REJECT_PREFIX = "The user doesn't want to proceed with this tool use. The tool use was rejected"


# ---------------------------------------------------------------------------------------------- fixtures


@dataclass
class FileRecs:
    rel: str
    kind: str  # main | legacy_agent | subagent
    records: list[dict[str, Any]] = field(default_factory=list)
    bad: list[int] = field(default_factory=list)  # 1-based line numbers that are not JSON objects


@dataclass
class Corpus:
    root: Path
    summary: CorpusSummary
    files: list[FileRecs]
    truth: list[dict[str, str]]
    manifest: dict[str, Any]

    def main(self) -> Iterator[FileRecs]:
        return (f for f in self.files if f.kind == "main")

    def records(self, kind: str | None = None) -> Iterator[dict[str, Any]]:
        for f in self.files:
            if kind is None or f.kind == kind:
                yield from f.records


def _load(root: Path, summary: CorpusSummary) -> Corpus:
    files: list[FileRecs] = []
    for p in sorted(root.rglob("*.jsonl")):
        rel = p.relative_to(root).as_posix()
        kind = "subagent" if "/subagents/" in rel else ("legacy_agent" if p.name.startswith("agent-") else "main")
        fr = FileRecs(rel, kind)
        for n, raw in enumerate(p.read_bytes().split(b"\n")[:-1], 1):
            try:
                obj = json.loads(raw)
            except ValueError:
                fr.bad.append(n)
                continue
            if isinstance(obj, dict):
                fr.records.append(obj)
            else:
                fr.bad.append(n)
        files.append(fr)
    truth = list(csv.DictReader((root / "truth.csv").open(encoding="utf-8")))
    manifest = json.loads((root / "manifest.json").read_text())
    return Corpus(root, summary, files, truth, manifest)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("sample") / "corpus"
    with pytest.MonkeyPatch.context() as mp:
        # Rare features made a little more common so a small corpus exercises all of them.
        mp.setattr(gen_mod, "DAMAGE_RATE", 0.08)
        mp.setattr(gen_mod, "RESUME_RATE", 0.12)
        mp.setattr(planner_mod, "SECRET_RATE", 0.04)
        summary = generate_corpus(root, users=40, sessions=260, months=7, seed=5)
    return _load(root, summary)


def _vgroup(v: str) -> str:
    t = parse_version(v)
    if t < (2, 0, 0):
        return "1.0"
    if t < (2, 1, 0):
        return "2.0"
    return "2.1"


def _file_version(f: FileRecs) -> str | None:
    for r in f.records:
        if "version" in r:
            return str(r["version"])
    return None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _is_prompt(r: dict[str, Any]) -> bool:
    """taxonomy / transcript-formats §1.8 rule for a human prompt."""
    if r.get("type") != "user" or r.get("isMeta") or r.get("isCompactSummary") or r.get("isSidechain"):
        return False
    c = r["message"]["content"]
    if isinstance(c, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in c):
        return False
    t = _text(c).strip()
    if t.startswith(("<command-", "<local-command", "<task-notification", "<bash-")):
        return False
    return t not in (INTERRUPT, INTERRUPT_TOOL)


# ---------------------------------------------------------------------------------------------- determinism


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = generate_corpus(tmp_path / "a", users=8, sessions=40, seed=11)
    b = generate_corpus(tmp_path / "b", users=8, sessions=40, seed=11)
    assert a == b
    sa, sb = _snapshot(tmp_path / "a"), _snapshot(tmp_path / "b")
    assert sa.keys() == sb.keys()
    assert all(sa[k] == sb[k] for k in sa)
    c = generate_corpus(tmp_path / "c", users=8, sessions=40, seed=12)
    assert c != a or _snapshot(tmp_path / "c") != sa


def test_regenerating_into_the_same_directory_replaces_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate_corpus(out, users=6, sessions=20, seed=1)
    first = _snapshot(out)
    generate_corpus(out, users=6, sessions=20, seed=2)
    second = _snapshot(out)
    assert first != second
    truth = list(csv.DictReader((out / "truth.csv").open()))
    mains = [k for k in second if k.endswith(".jsonl") and "/subagents/" not in k and "/agent-" not in k]
    assert len(mains) == len(truth)  # nothing stale left behind


def test_an_interrupted_run_is_replaced_by_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during generation left user folders and no manifest: every later run into that folder (and
    `codecensus demo` there) refused it as "not empty and holds no sample corpus"."""
    out = tmp_path / "out"
    write = gen_mod._Sink.write
    calls = 0

    def interrupted(self: gen_mod._Sink, f: Any, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 40:
            raise KeyboardInterrupt
        write(self, f, data)

    monkeypatch.setattr(gen_mod._Sink, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate_corpus(out, users=30, sessions=200, seed=1)
    monkeypatch.undo()
    left = {p.name for p in out.iterdir() if p.is_dir()}
    assert len(left) > 3  # the interrupted run wrote several users' folders
    assert json.loads((out / "manifest.json").read_text())["interrupted"] is True
    summary = generate_corpus(out, users=3, sessions=6, seed=1)
    assert len({p.name for p in out.iterdir() if p.is_dir()}) == summary.users <= 3  # none of the old ones left
    assert "interrupted" not in json.loads((out / "manifest.json").read_text())


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_corpus(tmp_path, users=2, sessions=2)
    assert (tmp_path / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------------------------------------- layout


def test_layout_and_summary(corpus: Corpus) -> None:
    s = corpus.summary
    mains = list(corpus.main())
    assert s.sessions == len(corpus.truth) == len(mains) == 260
    assert s.files == len(corpus.files)
    assert s.subagent_files == sum(1 for f in corpus.files if f.kind != "main") > 0
    assert s.users == len({t["user"] for t in corpus.truth})
    assert s.months == 7
    on_disk = sum(p.stat().st_size for p in corpus.root.rglob("*") if p.suffix in (".jsonl", ".json")
                  and p.parent != corpus.root)
    assert s.bytes == on_disk
    for f in corpus.files:
        parts = f.rel.split("/")
        assert parts[1] == ".claude" and parts[2] == "projects", f.rel
        cwds = {r["cwd"] for r in f.records if "cwd" in r}
        assert len(cwds) == 1, f.rel
        assert parts[3] == encode_cwd(cwds.pop())
        if f.kind == "main":
            assert len(parts) == 5 and UUID_RE.match(parts[4][:-6])
            assert {r["sessionId"] for r in f.records if "sessionId" in r} == {parts[4][:-6]}
        elif f.kind == "legacy_agent":
            assert len(parts) == 5 and re.fullmatch(r"agent-[0-9a-f]{7,8}\.jsonl", parts[4]), f.rel
        else:
            assert len(parts) == 7 and parts[5] == "subagents" and UUID_RE.match(parts[4]), f.rel
            assert re.fullmatch(r"agent-[0-9a-f]{17}\.jsonl", parts[6]), f.rel
            meta = json.loads((corpus.root / f.rel.replace(".jsonl", ".meta.json")).read_text())
            assert meta["agentType"] and meta["description"]
        if f.kind != "main":
            assert f.records and all(r.get("isSidechain") is True and r.get("agentId") for r in f.records
                                     if r.get("type") in ("user", "assistant"))
            first = f.records[0]
            assert first["type"] == "user" and first["parentUuid"] is None
            # The sessionId of a subagent is its parent's; the parent file exists beside it.
            sid = first["sessionId"]
            assert (corpus.root / "/".join(parts[:4]) / f"{sid}.jsonl").exists()


def test_both_subagent_generations_present(corpus: Corpus) -> None:
    kinds = Counter(f.kind for f in corpus.files)
    assert kinds["legacy_agent"] > 0 and kinds["subagent"] > 0
    for f in corpus.files:
        v = _file_version(f)
        if f.kind == "legacy_agent":
            assert v and parse_version(v) < (2, 1, 0)
        if f.kind == "subagent":
            assert v and parse_version(v) >= (2, 1, 0)


# ---------------------------------------------------------------------------------------------- lines


def test_every_line_is_json_object_or_a_planted_damaged_line(corpus: Corpus) -> None:
    planted = {(d["path"], d["line"]) for d in corpus.manifest["damaged_lines"]}
    found = {(f.rel, n) for f in corpus.files for n in f.bad}
    assert found == planted
    assert corpus.summary.damaged_lines == len(planted) > 0
    kinds = Counter(d["kind"] for d in corpus.manifest["damaged_lines"])
    assert kinds["truncated"] > 0 and kinds["non_object"] > 0
    damaged_files = {p for p, _ in planted}
    assert all(f.kind == "main" for f in corpus.files if f.rel in damaged_files)
    assert len(damaged_files) < 0.2 * corpus.summary.sessions


# ---------------------------------------------------------------------------------------------- generations


def test_record_types_follow_the_version_timeline(corpus: Corpus) -> None:
    types: dict[str, set[str]] = defaultdict(set)
    for f in corpus.main():
        v = _file_version(f)
        assert v is not None
        g = _vgroup(v)
        for r in f.records:
            t = r["type"]
            types[g].add(f"{t}/{r['subtype']}" if t == "system" else t)
    assert types["1.0"] <= {"user", "assistant", "summary"}
    assert {"user", "assistant", "summary"} <= types["1.0"]
    assert {"file-history-snapshot", "queue-operation", "system/api_error", "system/local_command"} <= types["2.0"]
    assert "system/compact_boundary" in types["2.0"] | types["2.1"]
    assert "progress" not in types["2.0"] and "attachment" not in types["2.0"]
    assert {"progress", "system/turn_duration", "last-prompt", "attachment", "ai-title", "mode", "permission-mode",
            "agent-name", "atis-latch", "bridge-session", "system/local_command"} <= types["2.1"]
    versions = {_file_version(f) for f in corpus.main()}
    assert any(v.startswith("1.0.") for v in versions if v)
    assert any(parse_version(v) >= (2, 1, 140) for v in versions if v)


def test_envelope_fields_per_generation(corpus: Corpus) -> None:
    seen: Counter[str] = Counter()
    for f in corpus.main():
        for r in f.records:
            if r["type"] not in ("user", "assistant", "system", "progress", "attachment"):
                assert "uuid" not in r and "parentUuid" not in r
                continue
            vt = parse_version(r["version"])
            feat = features(r["version"])
            for k in ("uuid", "parentUuid", "isSidechain", "userType", "cwd", "sessionId", "timestamp"):
                assert k in r, (k, r["type"])
            assert UUID_RE.match(r["uuid"])
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["timestamp"])
            assert ("entrypoint" in r) == feat.entrypoint
            if vt >= (1, 0, 58):
                assert "gitBranch" in r
            keys = list(r)
            if feat.new_key_order:  # payload first, envelope at the end (2.1.7x+)
                assert keys.index("type") < keys.index("cwd")
                seen["new"] += 1
            else:
                assert keys.index("cwd") < keys.index("type")
                seen["old"] += 1
            if r["type"] == "user" and _is_prompt(r):
                assert ("promptId" in r) == feat.prompt_id
                if not feat.permission_mode:
                    assert "permissionMode" not in r
                seen["permission"] += "permissionMode" in r
            if r["type"] == "assistant" and r["message"]["model"] != "<synthetic>":
                for b in r["message"]["content"]:
                    if b["type"] == "thinking":
                        assert (b["thinking"] == "") == feat.empty_thinking
                        assert b["signature"]
                    if b["type"] == "tool_use" and b["name"] in ("Task", "Agent"):
                        assert b["name"] == ("Agent" if feat.agent_tool else "Task")
    assert seen["new"] and seen["old"] and seen["permission"]


def test_chains_are_consistent(corpus: Corpus) -> None:
    for f in corpus.main():
        if f.bad or any(r.get("isCompactSummary") for r in f.records):
            continue
        uuids = {r["uuid"] for r in f.records if "uuid" in r}
        roots = 0
        for r in f.records:
            if "uuid" not in r:
                continue
            p = r["parentUuid"]
            if p is None:
                roots += 1
            else:
                assert p in uuids, f.rel
        assert roots >= 1


def test_assistant_responses_split_over_lines_with_final_usage_last(corpus: Corpus) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for f in corpus.files:
        if f.bad:  # a truncated line may have been one of a group's lines
            continue
        for r in f.records:
            if r["type"] == "assistant" and r["message"]["model"] != "<synthetic>":
                groups[(f.rel, r["message"]["id"])].append(r)
    multi = 0
    for lines in groups.values():
        assert len(lines) == sum(len(x["message"]["content"]) for x in lines)  # one block per line
        assert len({x.get("requestId") for x in lines}) == 1
        outs = [x["message"]["usage"]["output_tokens"] for x in lines]
        assert outs[-1] == max(outs)
        if len(lines) > 1:
            multi += 1
            if not lines[0]["version"].startswith("1.0."):
                assert all(x["message"]["stop_reason"] is None for x in lines[:-1])
                assert lines[-1]["message"]["stop_reason"] in ("tool_use", "end_turn")
        assert re.fullmatch(r"msg_01[0-9A-Za-z]{22}", lines[0]["message"]["id"])
    assert multi > 100


def test_tool_use_and_result_pairing_and_sidecars(corpus: Corpus) -> None:
    shapes: Counter[str] = Counter()
    for f in corpus.files:
        uses: dict[str, str] = {}
        results: Counter[str] = Counter()
        for r in f.records:
            if r["type"] == "assistant":
                for b in r["message"]["content"]:
                    if b["type"] == "tool_use":
                        assert re.fullmatch(r"toolu_01[0-9A-Za-z]{22}", b["id"])
                        uses[b["id"]] = b["name"]
            if r["type"] == "user" and isinstance(r["message"]["content"], list):
                for b in r["message"]["content"]:
                    if b.get("type") != "tool_result":
                        continue
                    results[b["tool_use_id"]] += 1
                    name = uses.get(b["tool_use_id"])
                    if name is None:  # its tool_use line was truncated by the planted damage
                        assert f.bad, f.rel
                        continue
                    tur = r.get("toolUseResult")
                    if tur is None:
                        assert f.kind != "main"
                        continue
                    if isinstance(tur, str):
                        assert b.get("is_error") is True
                        assert tur.startswith(("Error", "User rejected"))
                        shapes["error-string"] += 1
                        continue
                    if name == "Bash":
                        assert {"stdout", "stderr", "interrupted", "isImage"} <= tur.keys()
                    elif name == "Read":
                        assert tur["type"] == "text" and {"filePath", "content", "numLines"} <= tur["file"].keys()
                    elif name == "Edit":
                        assert tur["structuredPatch"] and {"oldString", "newString", "originalFile"} <= tur.keys()
                    elif name == "Write":
                        assert tur["type"] in ("create", "update") and "structuredPatch" in tur
                    elif name in ("Task", "Agent"):
                        assert "agentId" in tur or "totalToolUseCount" in tur
                        if tur.get("status") == "completed":
                            assert tur["totalToolUseCount"] > 0
                    elif name == "TodoWrite":
                        assert {"oldTodos", "newTodos"} <= tur.keys()
                    elif name in ("Glob", "Grep"):
                        assert "filenames" in tur and "numFiles" in tur
                    shapes[name] += 1
        if not f.bad:
            assert set(results) == set(uses), f.rel
            assert all(n == 1 for n in results.values())
    for name in ("Bash", "Read", "Edit", "Write", "Grep", "Glob", "TodoWrite", "error-string"):
        assert shapes[name] > 0, name
    assert shapes["Task"] + shapes["Agent"] > 0


def test_friction_and_harness_markers_present(corpus: Corpus) -> None:
    c: Counter[str] = Counter()
    for f in corpus.main():
        for r in f.records:
            t = r["type"]
            if t == "user":
                content = r["message"]["content"]
                text = _text(content)
                if isinstance(content, list):
                    for b in content:
                        if b.get("type") == "tool_result":
                            body = b["content"] if isinstance(b["content"], str) else ""
                            if body.startswith(REJECT_PREFIX):
                                assert body == REJECT and b["is_error"] is True
                                c["reject"] += 1
                            if body == INTERRUPT_TOOL:
                                c["interrupt_tool_result"] += 1
                        if b.get("type") == "image":
                            assert b["source"]["type"] == "base64" and b["source"]["data"].startswith("iVBOR")
                            c["image"] += 1
                c["interrupt"] += text == INTERRUPT
                c["interrupt_tool"] += text == INTERRUPT_TOOL
                c["command"] += text.startswith("<command-name>")
                c["stdout"] += text.startswith("<local-command-stdout>")
                c["caveat"] += bool(r.get("isMeta")) and "Caveat: The messages below" in text
                c["reminder"] += "<system-reminder>" in text or "<ide_opened_file>" in text
                c["notification"] += text.startswith("<task-notification>")
                c["compact_summary"] += bool(r.get("isCompactSummary"))
            elif t == "system":
                c["sys_" + r["subtype"]] += 1
                if r["subtype"] == "compact_boundary":
                    assert r["parentUuid"] is None and r["logicalParentUuid"]
                    assert r["compactMetadata"]["preTokens"] > 0
            elif t == "assistant" and r.get("isApiErrorMessage"):
                assert r["message"]["model"] == "<synthetic>"
                c["synthetic"] += 1
            elif t == "queue-operation":
                c["queue_" + r["operation"]] += 1
    for key in ("reject", "interrupt", "interrupt_tool", "command", "stdout", "caveat", "reminder", "notification",
                "compact_summary", "sys_compact_boundary", "sys_api_error", "synthetic", "queue_enqueue", "image",
                "sys_turn_duration", "sys_stop_hook_summary"):
        assert c[key] > 0, key


def test_summary_lines_mostly_point_outside_their_file(corpus: Corpus) -> None:
    foreign = own = 0
    for f in corpus.main():
        uuids = {r["uuid"] for r in f.records if "uuid" in r}
        for r in f.records:
            if r["type"] == "summary":
                if r["leafUuid"] in uuids:
                    own += 1
                else:
                    foreign += 1
    assert foreign > 3 * own and foreign > 10


def test_resumed_sessions_copy_history_with_the_same_uuids(corpus: Corpus) -> None:
    owner: dict[str, str] = {}
    dup_files = set()
    for f in corpus.main():
        for r in f.records:
            u = r.get("uuid")
            if u is None:
                continue
            if u in owner and owner[u] != f.rel:
                dup_files.add(f.rel)
            owner.setdefault(u, f.rel)
    assert dup_files
    for rel in dup_files:
        f = next(x for x in corpus.files if x.rel == rel)
        v = _file_version(f)
        assert v and parse_version(v) < (2, 1, 0)
        assert len({r["sessionId"] for r in f.records if "sessionId" in r}) == 1


def test_work_evidence_commands(corpus: Corpus) -> None:
    c: Counter[str] = Counter()
    for r in corpus.records("main"):
        if r["type"] != "assistant":
            continue
        for b in r["message"]["content"]:
            if b["type"] == "tool_use" and b["name"] == "Bash":
                cmd = b["input"]["command"]
                c["test"] += is_test_command(cmd)
                c["commit"] += is_commit_command(cmd)
                c["push"] += is_push_command(cmd)
                c["deploy"] += is_deploy_command(cmd)
    assert all(c[k] > 0 for k in ("test", "commit", "push", "deploy")), c
    statuses: Counter[str | None] = Counter()
    for r in corpus.records("main"):
        tur = r.get("toolUseResult")
        if r["type"] == "user" and isinstance(r["message"]["content"], list):
            for b in r["message"]["content"]:
                if b.get("type") == "tool_result" and isinstance(b["content"], str) and (
                        "passed" in b["content"] or "test result:" in b["content"] or "FAIL" in b["content"]):
                    statuses[common.test_status(b["content"])] += 1
        del tur
    assert statuses["pass"] > 0 and statuses["fail"] > 0


# ---------------------------------------------------------------------------------------------- truth


def _dedup_sessions(corpus: Corpus) -> dict[str, list[dict[str, Any]]]:
    """Main-chain records per session, with uuids copied by resumed sessions kept only where first seen."""
    def span(f: FileRecs) -> tuple[str, str]:
        ts = [r["timestamp"] for r in f.records if "timestamp" in r and "uuid" in r]
        return (min(ts), max(ts)) if ts else ("", "")

    # A resumed session starts with a copy of the original's history, so the original ends first.
    ordered = sorted(corpus.main(), key=span)
    seen: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {}
    for f in ordered:
        sid = f.rel.rsplit("/", 1)[1][:-6]
        recs = []
        for r in f.records:
            u = r.get("uuid")
            if u is not None:
                if u in seen:
                    continue
                seen.add(u)
            recs.append(r)
        out[sid] = recs
    return out


def test_truth_csv_is_consistent(corpus: Corpus) -> None:
    truth = corpus.truth
    assert list(truth[0].keys()) == list(TRUTH_FIELDS)
    ids = [t["session_id"] for t in truth]
    assert len(set(ids)) == len(ids)
    months = sorted({t["month"] for t in truth})
    assert len(months) == 7 and months[0] == "2025-10" and months[-1] == "2026-04"
    langs_by_user: dict[str, set[str]] = defaultdict(set)
    occ_by_user: dict[str, set[str]] = defaultdict(set)
    stubs = 0
    for t in truth:
        assert (corpus.root / t["user"] / ".claude" / "projects").is_dir()
        assert list((corpus.root / t["user"]).rglob(f"{t['session_id']}.jsonl"))
        assert t["outcome"] in OUTCOME_KEYS and t["occupation"] in SOC_KEYS
        assert (t["verified_evidence"] != "") == (t["outcome"] == "verified_success")
        assert t["verified_evidence"] in ("", "commit", "tests_pass", "user_confirmed")
        if t["abstain"]:  # a session in which nothing can be judged: no planted mode, expertise or topic
            assert t["abstain"] in set(STUB_KINDS.values()) and t["outcome"] == "unclear"
            assert t["mode"] == t["expertise"] == t["topic"] == ""
            stubs += 1
            continue
        assert t["mode"] in MODE_KEYS
        assert t["expertise"] in {"1", "2", "3", "4", "5"}
        assert t["topic"] in {x.title for x in sc.TOPICS}
        assert t["mode"] == next(x.mode for x in sc.TOPICS if x.title == t["topic"])
        langs_by_user[t["user"]].add(t["language"])
        occ_by_user[t["user"]].add(t["occupation"])
    assert all(len(v) == 1 for v in langs_by_user.values())
    assert all(len(v) == 1 for v in occ_by_user.values())
    assert stubs > 0
    assert len({t["topic"] for t in truth} - {""}) >= 35
    assert len({t["mode"] for t in truth} - {""}) == len(MODE_KEYS)
    assert len({t["occupation"] for t in truth}) >= 6
    other = sum(t["language"] != "en" for t in truth) / len(truth)
    assert 0.02 < other < 0.3


def test_outcomes_are_visible_in_the_transcripts(corpus: Corpus) -> None:
    sessions = _dedup_sessions(corpus)
    checked: Counter[str] = Counter()
    for t in corpus.truth:
        recs = sessions[t["session_id"]]
        uses: dict[str, str] = {}
        events: list[tuple[str, str]] = []  # (kind, detail) in order
        for r in recs:
            if r["type"] == "assistant":
                for b in r["message"]["content"]:
                    if b["type"] == "tool_use":
                        uses[b["id"]] = b["name"]
                        cmd = b["input"].get("command", "") if b["name"] == "Bash" else ""
                        if b["name"] in ("Edit", "Write"):
                            events.append(("change", ""))
                        if is_commit_command(cmd):
                            events.append(("commit", ""))
            if r["type"] == "user" and isinstance(r["message"]["content"], list):
                for b in r["message"]["content"]:
                    if b.get("type") == "tool_result" and uses.get(b["tool_use_id"]) == "Bash":
                        st = common.test_status(b["content"] if isinstance(b["content"], str) else "")
                        if st:
                            events.append(("test", st))
        commits = any(k == "commit" for k, _ in events)
        last_change = max((i for i, (k, _) in enumerate(events) if k == "change"), default=-1)
        passes_after = any(k == "test" and d == "pass" for k, d in events[last_change + 1:])
        if t["outcome"] != "verified_success":
            assert not commits, t
            assert not passes_after, t
            checked["not_verified"] += 1
        elif t["verified_evidence"] == "commit":
            assert commits, t
            checked["commit"] += 1
        elif t["verified_evidence"] == "tests_pass":
            assert passes_after, t
            checked["tests_pass"] += 1
        elif t["verified_evidence"] == "user_confirmed":
            prompts = [_text(r["message"]["content"]) for r in recs if _is_prompt(r)]
            assert len(prompts) >= 2
            checked["user_confirmed"] += 1
    assert all(checked[k] > 0 for k in ("not_verified", "commit", "tests_pass", "user_confirmed")), checked


def test_effort_rises_with_expertise(corpus: Corpus) -> None:
    sessions = _dedup_sessions(corpus)
    by_level: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for t in corpus.truth:
        prompts = actions = words = 0
        for r in sessions[t["session_id"]]:
            if _is_prompt(r):
                prompts += 1
            if r["type"] == "assistant" and r["message"]["model"] != "<synthetic>":
                for b in r["message"]["content"]:
                    if b["type"] == "text":
                        words += len(b["text"].split())
                    elif b["type"] == "tool_use":
                        actions += 1
                        words += sum(len(v.split()) for v in b["input"].values() if isinstance(v, str))
        if prompts and not t["abstain"]:
            by_level[int(t["expertise"])].append((prompts, actions, words))

    def per_prompt(level: int, i: int) -> float:
        rows = by_level[level]
        return sum(r[i] for r in rows) / sum(r[0] for r in rows)

    assert per_prompt(1, 1) < per_prompt(3, 1) < per_prompt(5, 1)
    assert per_prompt(1, 2) < per_prompt(3, 2) < per_prompt(5, 2)
    assert 3 < per_prompt(1, 1) < 8 and 7 < per_prompt(5, 1) < 15
    assert 350 < per_prompt(1, 2) < 1000 and 2000 < per_prompt(5, 2) < 4500


def test_prompt_wording_reflects_expertise(corpus: Corpus) -> None:
    sessions = _dedup_sessions(corpus)
    firsts: dict[int, list[str]] = defaultdict(list)
    for t in corpus.truth:
        if t["language"] != "en":
            continue
        prompts = [_text(r["message"]["content"]) for r in sessions[t["session_id"]] if _is_prompt(r)]
        if prompts and not t["abstain"]:
            firsts[int(t["expertise"])].append(prompts[0])

    def mean_len(level: int) -> float:
        return sum(len(p.split()) for p in firsts[level]) / len(firsts[level])

    def share_with_code(level: int) -> float:
        return sum("`" in p for p in firsts[level]) / len(firsts[level])

    # Experts frame precisely (longer, files/commands named); novices in everyday words.
    assert mean_len(1) < mean_len(4) and mean_len(3) < mean_len(5)
    assert share_with_code(1) < 0.1 < share_with_code(3) < share_with_code(5)


def test_planted_secrets_appear_in_their_files(corpus: Corpus) -> None:
    secrets = json.loads((corpus.root / "planted_secrets.json").read_text())
    assert secrets
    kinds = {s["kind"] for s in secrets}
    assert {"email", "aws_access_key_id", "github_token", "phone", "home_path"} <= kinds
    for s in secrets:
        data = (corpus.root / s["file"]).read_text(encoding="utf-8")
        assert s["value"] in data, s["kind"]
        if s["kind"] == "aws_access_key_id":
            assert re.fullmatch(r"AKIA[A-Z2-7]{16}", s["value"])
        if s["kind"] == "github_token":
            assert re.fullmatch(r"ghp_[A-Za-z0-9]{36}", s["value"])
    assert len({s["session_id"] for s in secrets}) < 0.15 * corpus.summary.sessions


# ---------------------------------------------------------------------------------------------- size / drift


def test_target_bytes_is_honoured(tmp_path: Path) -> None:
    target = 4_000_000
    s = generate_corpus(tmp_path / "t", users=10, sessions=1, seed=3, target_bytes=target)
    assert s.bytes >= target
    assert s.sessions > 1
    assert s.bytes < target + 6_000_000  # overshoot is at most the last session or two


def test_population_drifts_over_months() -> None:
    pop = Population(__import__("random").Random(1), users=300, months=7, start="2025-10-01")
    plans = [pop.draw(i, f"s{i}") for i in range(4000)]
    first = [p for p in plans if p.month in ("2025-10", "2025-11")]
    last = [p for p in plans if p.month in ("2026-03", "2026-04")]

    def share(group: list[Any], pred: Any) -> float:
        return sum(1 for p in group if pred(p)) / len(group)

    assert share(first, lambda p: p.mode == "fix") > share(last, lambda p: p.mode == "fix") + 0.06
    grow = {"operate", "analyze", "write"}
    assert share(last, lambda p: p.mode in grow) > share(first, lambda p: p.mode in grow) + 0.06
    mgmt = {"11", "41", "23"}
    assert share(last, lambda p: p.user.occupation in mgmt) > share(first, lambda p: p.user.occupation in mgmt)
    assert 0.25 < share(plans, lambda p: p.user.occupation != "15") < 0.7
    # Versions move forward with time, from 1.0.x to 2.1.2xx.
    assert version_at(0.0).startswith("1.0.") and parse_version(version_at(0.99)) >= (2, 1, 200)
    early = [parse_version(p.version) for p in first]
    late = [parse_version(p.version) for p in last]
    assert max(early) < min(late) or sorted(early)[len(early) // 2] < sorted(late)[len(late) // 2]


def test_scenario_library_is_rich() -> None:
    assert len(sc.TOPICS) >= 40
    assert {t.mode for t in sc.TOPICS} == set(MODE_KEYS)
    assert all(t.novice and t.mid and t.expert and t.changes for t in sc.TOPICS)
    assert len(sc.LANG_PACKS) >= 10
    for pack in sc.LANG_PACKS.values():
        assert set(pack.frames) == set(MODE_KEYS)
        for m in MODE_KEYS:
            assert all("{obj}" in fr for fr in pack.frames[m])


# ---------------------------------------------------------------------------------------------- realism vs real data


@pytest.mark.shared
def test_record_shapes_match_real_transcripts(corpus: Corpus) -> None:
    """Every generated (type, keys) combination uses only keys seen on that type in real transcripts."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared data not present")
    real: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    real_blocks: dict[str, set[str]] = defaultdict(set)
    real_tur: set[str] = set()
    for d in sorted((shared / "data" / "transcripts").glob("claude_code__*")):
        for p in d.rglob("*.jsonl"):
            with open(p, "rb") as fh:
                for raw in fh:
                    try:
                        o = json.loads(raw)
                    except ValueError:
                        continue
                    if not isinstance(o, dict):
                        continue
                    t = o.get("type")
                    real[(t, o.get("subtype") if t == "system" else None)].update(o)
                    m = o.get("message")
                    if isinstance(m, dict) and isinstance(m.get("content"), list):
                        for b in m["content"]:
                            if isinstance(b, dict):
                                real_blocks[str(b.get("type"))].update(b)
                    if isinstance(o.get("toolUseResult"), dict):
                        real_tur.update(o["toolUseResult"])
    if not real:
        pytest.skip("no Claude Code transcripts in ../shared")
    absent_in_sample = {"atis-latch", "bridge-session"}  # reported types the sample predates
    for r in corpus.records():
        t = r["type"]
        key = (t, r.get("subtype") if t == "system" else None)
        if t in absent_in_sample:
            continue
        assert key in real, key
        assert set(r) <= real[key], (key, set(r) - real[key])
        m = r.get("message")
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            for b in m["content"]:
                assert set(b) <= real_blocks[b["type"]], (b["type"], set(b) - real_blocks[b["type"]])
        if isinstance(r.get("toolUseResult"), dict):
            assert set(r["toolUseResult"]) <= real_tur, set(r["toolUseResult"]) - real_tur


# ---------------------------------------------------------------------------------------------- abstentions


def test_sessions_for_every_offline_abstention_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator never wrote a session in which expertise abstains: the demo's "Why facets have no finding"
    showed two reasons (thin evidence, no result) of the seven the offline classifier gives. It now writes short
    sessions of the kinds every real corpus holds (opened and closed, a greeting, /init, a question in a language
    the embedder cannot read, a request cancelled at once), each giving its reason; drawn from their own random
    stream, so the other sessions' plans are those of a corpus without them."""
    from codecensus.classify.offline import OfflineBackend
    from codecensus.classify.run import classify_store
    from codecensus.ingest import ingest
    from codecensus.measure import build_sessions
    from codecensus.store import Store
    from codecensus.taxonomy import ABSTAINING_FACETS, ABSTENTION_REASON_KEYS

    generate_corpus(tmp_path / "c", users=60, sessions=400, months=7, seed=7)
    store = Store(tmp_path / "db.duckdb")
    ingest(store, [tmp_path / "c"], user_from_dir=True, workers=1)
    build_sessions(store)
    classify_store(store, OfflineBackend(embedder="use"))
    given = {r[0] for facet in ABSTAINING_FACETS
             for r in store.con.execute(f"SELECT DISTINCT {facet}_reason FROM facets").fetchall() if r[0]}
    store.close()
    # every reason but the LLM's (no_answer, model_cannot_tell) and older stores' (not_recorded)
    offline = set(ABSTENTION_REASON_KEYS) - {"no_answer", "model_cannot_tell", "not_recorded"}
    assert given == offline, sorted(offline - given)

    with_stubs = list(csv.DictReader((tmp_path / "c" / "truth.csv").open(encoding="utf-8")))
    monkeypatch.setattr(gen_mod, "STUB_RATE", 0.0)
    generate_corpus(tmp_path / "n", users=60, sessions=400, months=7, seed=7)
    without = list(csv.DictReader((tmp_path / "n" / "truth.csv").open(encoding="utf-8")))
    changed = [(a, b) for a, b in zip(with_stubs, without, strict=True) if a != b]
    assert 10 <= len(changed) <= 40  # ~9 % of the 2.1 sessions
    assert all(a == {**b, "outcome": "unclear", "verified_evidence": "", "mode": "", "expertise": "", "topic": "",
                     "abstain": a["abstain"]} and a["abstain"] and not b["abstain"] for a, b in changed)
    # the reasons truth.csv expects are the reasons the classifier gave
    assert {a["abstain"] for a, _ in changed} <= given
