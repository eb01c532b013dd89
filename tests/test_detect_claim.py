"""Format detection's fast path: a format's ``claim`` answers from a file's first 8 KB, and must pick exactly the
format that asking every format about the whole 64 KB head picks (``base.detect(path, head)`` still does that)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest

from codecensus.sources import base

FIX = Path(__file__).parent / "fixtures" / "formats"
SID = "0b3c7f4e-2a61-4d7e-9c55-1f0e8a9b2c3d"
BOM = b"\xef\xbb\xbf"


def _j(obj: Any) -> bytes:
    return orjson.dumps(obj)


CC_USER = _j({"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/w", "sessionId": SID,
              "version": "2.1.50", "type": "user", "message": {"role": "user", "content": "fix the tests"},
              "uuid": "11111111-1111-4111-8111-111111111111", "timestamp": "2025-10-01T10:00:00.000Z"})
# First lines: Claude Code's in its shapes (the claim should answer for most), damaged ones, and other formats'
# first records, some carrying part of Claude Code's envelope.
FIRST: dict[str, bytes] = {
    "cc_user": CC_USER,
    "cc_user_spaced": b'{"parentUuid": null, "sessionId": "s", "type": "user"}',
    "cc_summary": _j({"type": "summary", "summary": "Fix tests", "leafUuid": "u1"}),
    "cc_summary_no_leaf": _j({"type": "summary", "summary": "Fix tests"}),
    "cc_snapshot": _j({"type": "file-history-snapshot", "messageId": "m", "snapshot": {}, "isSnapshotUpdate": False}),
    "cc_queue": _j({"type": "queue-operation", "operation": "enqueue", "sessionId": SID}),
    "cc_mode": _j({"type": "mode", "mode": "normal", "sessionId": SID}),
    "cc_no_type": _j({"sessionId": SID}),
    "cc_parent_only": _j({"parentUuid": "p"}),
    "cc_leaf_only": _j({"leafUuid": "l"}),
    "cc_escaped_key": b'{"\\u0073essionId":"s","type":"user"}',
    "cc_nested_only": _j({"type": "user", "message": {"sessionId": SID, "parentUuid": "p"}}),
    "cc_cut": CC_USER[: len(CC_USER) // 2],
    "cc_damaged": CC_USER.replace(b'"type":"user"', b'"type":"user",,'),
    "cc_array": b"[" + CC_USER + b"]",
    "cc_long": _j({"parentUuid": None, "sessionId": SID, "type": "user", "message": {"content": "x" * 20_000}}),
    "cc_openhands": _j({"instance_id": "i-1", "history": [], "sessionId": SID, "type": "user"}),
    "cc_openhands_dict": _j({"instance_id": "i-1", "history": {}, "sessionId": SID, "type": "user"}),
    "codex_meta": _j({"timestamp": "t", "type": "session_meta", "payload": {"id": "x", "cwd": "/w"}}),
    "codex_meta_nested_cc": _j({"type": "session_meta", "payload": {"id": "x", "sessionId": SID, "parentUuid": "p"}}),
    "codex_meta_top_cc": _j({"type": "session_meta", "payload": {"id": "x"}, "sessionId": SID}),
    "codex_legacy": _j({"id": "x", "timestamp": "t", "instructions": "be nice"}),
    "stream_init": _j({"type": "system", "subtype": "init", "session_id": SID, "tools": []}),
    "stream_init_cc": _j({"type": "system", "subtype": "init", "session_id": SID, "sessionId": SID}),
    "copilot": _j({"type": "session.start", "data": {"sessionId": SID}}),
    "copilot_cc": _j({"type": "session.start", "data": {}, "sessionId": SID}),
    "otel": _j({"resourceLogs": []}),
    "otel_cc": _j({"resourceLogs": [], "sessionId": SID, "type": "log"}),
    "platform": _j({"raw": {"type": "message"}, "kind": "message", "role": "user"}),
    "platform_cc": _j({"raw": {"type": "message"}, "kind": "message", "role": "user", "parentUuid": "p"}),
    "blank": b"",
    "spaces": b"   ",
    "text": b"hello",
    "number": b"42",
}
SECOND: dict[str, bytes | None] = {
    "none": None,
    "cc_user": CC_USER,
    "cc_summary": FIRST["cc_summary"],
    "codex_event": _j({"timestamp": "t", "type": "event_msg", "payload": {"type": "user_message", "message": "hi"}}),
    "stream_user": _j({"type": "user", "session_id": SID, "message": {"role": "user"}, "parent_tool_use_id": None}),
}
NAMES = [
    "a.jsonl",
    ".claude/projects/-w/b.jsonl",  # Claude Code's projects folder: even an odd file is its
    ".codex/sessions/2025/01/01/rollout-2025-01-01T00-00-00-0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.jsonl",
    "session-state/x/events.jsonl",
    "c.json",
    "d.ndjson",
]


def _detected(p: Path) -> tuple[str | None, str | None, bool]:
    """(fast path's pick, every format on the whole head's pick, whether Claude Code's claim answered)."""
    fast = base.detect(p)
    full = base.detect(p, base.read_head(p))
    claimed = base.get("claude_code").claim(p, base.read_head(p, base.CLAIM_BYTES))  # type: ignore[attr-defined]
    return (fast.name if fast else None), (full.name if full else None), claimed


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_claim_picks_what_every_format_picks_on_tricky_heads(tmp_path: Path) -> None:
    claimed: dict[str, set[bool]] = {}
    n = 0
    for (fk, first), (sk, second), bom, end, name in itertools.product(
        FIRST.items(), SECOND.items(), (b"", BOM, BOM + BOM), (b"\n", b""), NAMES
    ):
        if bom and (sk != "none" or name != "a.jsonl"):
            continue  # a byte order mark: enough with one file shape
        data = bom + first + (b"\n" + second if second is not None else b"") + end
        p = _write(tmp_path / f"{n:05d}" / name, data)
        n += 1
        fast, full, did = _detected(p)
        assert fast == full, (fk, sk, bom, end, name, fast, full)
        if did:
            assert full == "claude_code", (fk, sk, name)
        claimed.setdefault(fk if not bom else f"{fk}+bom{len(bom) // 3}", set()).add(did)
    # The claim answers for Claude Code's usual first lines (else there is no fast path) ...
    for fk in ("cc_user", "cc_user_spaced", "cc_summary", "cc_summary_no_leaf", "cc_snapshot", "cc_queue", "cc_mode", "cc_parent_only",
               "cc_leaf_only", "cc_openhands_dict", "codex_meta_top_cc", "copilot_cc", "otel_cc", "platform_cc",
               "stream_init_cc", "cc_user+bom1"):
        assert True in claimed[fk], fk
    # ... and never where it cannot know: a first line damaged, cut by the 8 KB, not an object, without the
    # envelope (or with it only nested or escaped), OpenHands' instance record, a second byte order mark.
    for fk in ("cc_cut", "cc_damaged", "cc_array", "cc_long", "cc_no_type", "cc_escaped_key", "cc_nested_only",
               "cc_openhands", "codex_meta", "codex_meta_nested_cc", "codex_legacy",
               "stream_init", "copilot", "otel", "platform", "blank", "spaces", "text", "number", "cc_user+bom2"):
        assert claimed[fk] == {False}, fk


def test_claim_answers_only_with_the_first_line_complete(tmp_path: Path) -> None:
    # A file of one line without its newline: the line may still be being written; the full path decides.
    p = _write(tmp_path / "one.jsonl", CC_USER)
    assert _detected(p) == ("claude_code", "claude_code", False)
    # A first line ending just inside / just past the 8 KB read.
    pad = base.CLAIM_BYTES - len(CC_USER) - 1  # the first line with its newline fills the read exactly
    for extra, claimed in ((0, True), (1, False)):
        line = CC_USER[:-1] + b',"pad":"' + b"y" * (pad + extra - 9) + b'"}'
        assert line.find(b"\n") < 0
        p = _write(tmp_path / f"pad{extra}.jsonl", line + b"\n" + CC_USER + b"\n")
        assert len(line) + 1 == base.CLAIM_BYTES + extra
        assert _detected(p) == ("claude_code", "claude_code", claimed)


def test_claim_and_full_detection_agree_on_every_fixture(tmp_path: Path) -> None:
    # Every format's fixtures as they are, and each with a Claude Code line put before it and after its first line.
    seen = 0
    for p in sorted(FIX.rglob("*")):
        fast, full, _ = _detected(p)
        assert fast == full, p
        if p.is_file():
            lines = p.read_bytes().split(b"\n")
            for i, variant in enumerate((CC_USER + b"\n" + p.read_bytes(),
                                         b"\n".join([lines[0], CC_USER, *lines[1:]]))):
                q = _write(tmp_path / f"{seen}-{i}" / p.name, variant)
                fast, full, _ = _detected(q)
                assert fast == full, (p, i)
            seen += 1
    assert seen >= 15


def test_claim_reads_only_the_first_bytes_of_a_claude_code_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _write(tmp_path / "s.jsonl", (CC_USER + b"\n") * 500)
    reads: list[int] = []
    real = base.read_head
    monkeypatch.setattr(base, "read_head", lambda path, n=base.HEAD_BYTES, errors=None: reads.append(n) or real(path, n, errors))
    assert base.detect(p).name == "claude_code"  # type: ignore[union-attr]
    assert reads == [base.CLAIM_BYTES]
    reads.clear()
    q = _write(tmp_path / "c.jsonl", FIRST["codex_meta"] + b"\n" + SECOND["codex_event"] + b"\n")  # type: ignore[operator]
    assert base.detect(q).name == "codex"  # type: ignore[union-attr]
    assert reads == [base.CLAIM_BYTES, base.HEAD_BYTES]  # not claimed: the whole head, every format


def test_claim_was_checked_against_every_registered_format() -> None:
    # Claude Code's claim reasons about every other format's `detect`. A format added since turns it off (see the
    # next test); check the reasoning in ClaudeCodeParser.claim against the new format, then add it to claim_checked.
    assert set(base.parsers()) == base.get("claude_code").claim_checked  # type: ignore[attr-defined]
    assert [p.name for p in base._claimers()] == ["claude_code"]


def test_a_format_registered_since_turns_the_claim_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Greedy:
        name = "greedy"
        version = "1"
        append_only = True
        folder = False

        def detect(self, path: Path, head: bytes) -> float:
            return 0.99 if path.suffix == ".jsonl" else 0.0

    p = _write(tmp_path / "s.jsonl", CC_USER + b"\n")
    assert base.detect(p).name == "claude_code"  # type: ignore[union-attr]
    base.parsers()
    monkeypatch.setitem(base._REGISTRY, "greedy", Greedy())  # type: ignore[arg-type]
    monkeypatch.setattr(base, "_CLAIMERS", None)
    assert base._claimers() == []
    assert base.detect(p).name == "greedy"  # type: ignore[union-attr]
    monkeypatch.undo()
    base._CLAIMERS = None
