"""A tiny builder of Claude Code JSONL records for parser tests (hand-written from the documented schema)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import orjson

_counter = itertools.count(1)


def _uuid() -> str:
    n = next(_counter)
    return f"00000000-0000-4000-8000-{n:012d}"


class Session:
    """Builds one session's lines in order, with a uuid/parentUuid chain."""

    def __init__(self, session_id: str, *, version: str = "2.1.50", cwd: str = "/home/dev/app", t0: int = 1767225600):
        self.sid = session_id
        self.version = version
        self.cwd = cwd
        self.t = t0  # epoch seconds
        self.lines: list[dict[str, Any]] = []
        self.parent: str | None = None
        self._msg = 0
        self._tool = 0

    def _ts(self, dt: int = 5) -> str:
        self.t += dt
        import datetime as _dt

        return _dt.datetime.fromtimestamp(self.t, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def _env(self, typ: str, **extra: Any) -> dict[str, Any]:
        u = _uuid()
        rec = {
            "parentUuid": self.parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.sid,
            "version": self.version,
            "gitBranch": "main",
            "type": typ,
            "uuid": u,
            "timestamp": self._ts(),
        }
        rec.update(extra)
        self.parent = u
        self.lines.append(rec)
        return rec

    def prompt(self, text: str, **extra: Any) -> dict[str, Any]:
        return self._env("user", message={"role": "user", "content": text}, **extra)

    def user_blocks(self, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return self._env("user", message={"role": "user", "content": blocks}, **extra)

    def reply(
        self,
        text: str | None = None,
        tools: list[tuple[str, dict[str, Any]]] | None = None,
        *,
        usage: tuple[int, int] = (10, 100),
        model: str = "claude-sonnet-4-5-20250929",
        split: bool = True,
        request_id: str | None = "auto",
    ) -> list[str]:
        """One API response; each content block on its own line sharing message.id (last line has final usage)."""
        self._msg += 1
        mid = f"msg_{self.sid[:4]}_{next(_counter)}"
        rid = f"req_{self.sid[:4]}_{self._msg}" if request_id == "auto" else request_id
        blocks: list[dict[str, Any]] = []
        if text is not None:
            blocks.append({"type": "text", "text": text})
        ids = []
        for name, inp in tools or []:
            self._tool += 1
            tid = f"toolu_{self.sid[:4]}_{next(_counter)}"
            ids.append(tid)
            blocks.append({"type": "tool_use", "id": tid, "name": name, "input": inp})
        groups = [[b] for b in blocks] if split else [blocks]
        for i, g in enumerate(groups):
            last = i == len(groups) - 1
            u = {"input_tokens": usage[0], "output_tokens": usage[1] if last else 1, "cache_read_input_tokens": 1000,
                 "cache_creation_input_tokens": 50}
            extra: dict[str, Any] = {"message": {"id": mid, "type": "message", "role": "assistant", "model": model,
                                                  "content": g, "stop_reason": None, "usage": u}}
            if rid is not None:
                extra["requestId"] = rid
            self._env("assistant", **extra)
        return ids

    def result(self, tool_id: str, content: str, *, is_error: bool = False, tur: Any = None) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_id, "content": content}
        if is_error:
            block["is_error"] = True
        extra = {"toolUseResult": tur} if tur is not None else {}
        return self.user_blocks([block], **extra)

    def system(self, subtype: str, **fields: Any) -> dict[str, Any]:
        return self._env("system", subtype=subtype, **fields)

    def raw(self, rec: dict[str, Any]) -> None:
        self.lines.append(rec)

    def write(self, path: Path, *, damaged: list[str] | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            for rec in self.lines:
                fh.write(orjson.dumps(rec) + b"\n")
            for d in damaged or []:
                fh.write(d.encode() + b"\n")
        return path


def standard_session(sid: str, *, version: str = "2.1.50") -> Session:
    """A session with known counts: 3 prompts, 6 actions, 2 interrupts, 1 rejection, 1 compaction, 1 commit."""
    s = Session(sid, version=version)
    s.prompt("fix the failing test in tests/test_api.py")
    (t1,) = s.reply("Let me look.", [("Read", {"file_path": "/home/dev/app/tests/test_api.py"})])
    s.result(t1, "1 import pytest", tur={"type": "text", "file": {"filePath": "/home/dev/app/tests/test_api.py"}})
    (t2,) = s.reply(None, [("Bash", {"command": "pytest -q tests/test_api.py"})])
    s.result(t2, "1 failed, 3 passed in 0.2s", is_error=True, tur="Error: Exit code 1")
    (t3,) = s.reply(None, [("Edit", {"file_path": "/home/dev/app/api.py", "old_string": "a b", "new_string": "c d e"})])
    s.result(t3, "ok", tur={"filePath": "/home/dev/app/api.py", "oldString": "a b", "newString": "c d e"})
    s.system("turn_duration", durationMs=30000)
    s.prompt("<command-name>/model</command-name><command-message>model</command-message><command-args></command-args>")
    s.prompt("<local-command-stdout>Set model to opus</local-command-stdout>")
    s.prompt("Caveat: The messages below were generated by the user while running local commands.", isMeta=True)
    s.user_blocks([{"type": "text", "text": "[Request interrupted by user]"}])
    s.prompt("now run the whole suite and commit")
    (t4,) = s.reply("Running.", [("Bash", {"command": "pytest -q"})])
    s.result(t4, "10 passed in 1.0s", tur={"stdout": "10 passed in 1.0s", "stderr": "", "interrupted": False})
    (t5,) = s.reply(None, [("Bash", {"command": "git commit -am 'fix api'"})])
    s.result(t5, "[main abc123] fix api", tur={"stdout": "[main abc123] fix api", "stderr": ""})
    s.system("turn_duration", durationMs=20000)
    s.system("compact_boundary", content="Conversation compacted", compactMetadata={"trigger": "auto", "preTokens": 155554})
    s.prompt("This session is being continued from a previous conversation...", isCompactSummary=True,
             isVisibleInTranscriptOnly=True)
    s.prompt("<task-notification><task-id>x</task-id></task-notification>")
    s.prompt("and push it")
    (t6,) = s.reply(None, [("Bash", {"command": "git push origin main"})])
    s.result(t6, "The user doesn't want to proceed with this tool use. The tool use was rejected.", is_error=True,
             tur="Error: The user doesn't want to proceed with this tool use.")
    s.user_blocks([{"type": "text", "text": "[Request interrupted by user for tool use]"}])
    # synthetic API error line: no usage, no words
    s._env("assistant", isApiErrorMessage=True,
           message={"id": "synthetic-1", "model": "<synthetic>", "role": "assistant",
                    "content": [{"type": "text", "text": "API Error: overloaded"}],
                    "usage": {"input_tokens": 0, "output_tokens": 0}})
    s.raw({"type": "summary", "summary": "Fix API tests", "leafUuid": "not-in-file"})
    s.raw({"type": "file-history-snapshot", "messageId": "m", "snapshot": {"trackedFileBackups": {}}})
    s.raw({"type": "brand-new-record-type", "foo": 1})
    return s


def rewrite_keeping_size_and_mtime(path: Path, old: bytes = b"and push it", new: bytes = b"and undo it") -> None:
    """Rewrite ``path`` in place with ``old`` (found once) replaced by ``new`` of the same length, and its mtime
    put back: a change that size and mtime alone do not show (the tail-hash checks must)."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
