"""Claude Code on-disk JSONL transcripts, every generation (1.0.x – 2.1.2xx).

Implements transcript-formats.md §1: the human-prompt rule (§1.8), usage
rows per assistant line so that measure can keep the last line of each
``message.id`` group (§1.6), tool calls and results matched by id (§1.10),
subagent files attached to their parent session (§1.9), and tolerant parsing:
unknown record types are counted, damaged lines are logged with file and line.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from codecensus.records import (
    ActionRec,
    BadLine,
    EventRec,
    MessageRec,
    ParseResult,
    PromptRec,
    ResultRec,
    SessionInfo,
)
from codecensus.sources.base import FileContext, JsonLines, register
from codecensus.sources.common import (
    RESULT_HEAD,
    TEXT_HEAD,
    block_text,
    is_commit_command,
    is_deploy_command,
    is_push_command,
    is_test_command,
    leaf_words,
    parse_ts,
    test_status,
    tool_category,
    words,
)

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SYSTEM_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.S)
_INJECTED_PREFIXES = ("<command-", "<local-command", "<task-notification", "<bash-")
_INTERRUPTS = ("[Request interrupted by user]", "[Request interrupted by user for tool use]")
_REJECTED = "The user doesn't want to proceed with this tool use"
_COMMAND_NAME = re.compile(r"<command-name>\s*(/?[\w:.-]+)")
_EXIT_CODE = re.compile(r"^Exit code (\d+)", re.M)

CHAIN_TYPES = frozenset({"user", "assistant", "system", "attachment", "progress"})
# Known record types that carry nothing we count (kept for chain links by the format, skipped here).
KNOWN_SKIP = frozenset(
    {
        "summary",
        "file-history-snapshot",
        "progress",
        "attachment",
        "last-prompt",
        "ai-title",
        "custom-title",
        "mode",
        "permission-mode",
        "agent-name",
        "bridge-session",
        "atis-latch",
        "pr-link",
        "agent-setting",
        "turn_end",
        "tag",
    }
)
KNOWN_TYPES = KNOWN_SKIP | {"user", "assistant", "system", "queue-operation"}
_FILE_KEYS = ("file_path", "filePath", "notebook_path", "path")


def _text_of_user(content: Any) -> tuple[str, bool]:
    """(joined text, has_tool_result) of a user message's content."""
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        return "", False
    parts: list[str] = []
    has_result = False
    for b in content:
        if not isinstance(b, dict):
            continue
        t = b.get("type")
        if t == "tool_result":
            has_result = True
        elif t == "text":
            txt = b.get("text")
            if isinstance(txt, str):
                parts.append(txt)
    return "\n".join(parts), has_result


class ClaudeCodeParser:
    name = "claude_code"
    version = "1"
    append_only = True
    folder = False

    # -- detection -------------------------------------------------------
    def detect(self, path: Path, head: bytes) -> float:
        if path.suffix != ".jsonl":
            return 0.0
        first = head.split(b"\n", 8)
        hits = 0
        for raw in first[:8]:
            raw = raw.strip()
            if not raw.startswith(b"{"):
                continue
            if b'"sessionId"' in raw and (b'"type"' in raw):
                hits += 2
            elif raw.startswith(b'{"type":"summary"') or raw.startswith(b'{"type":"file-history-snapshot"') or b'"leafUuid"' in raw or b'"parentUuid"' in raw:
                hits += 1
        if hits >= 2:
            return 0.9
        if hits == 1:
            return 0.6
        # Under a Claude Code projects dir, even an empty/odd file is ours.
        if "projects" in path.parts and (".claude" in path.parts or "claude" in path.parts):
            return 0.55
        return 0.0

    def role(self, path: Path) -> str:
        if path.name.startswith("agent-") or "subagents" in path.parts:
            return "subagent"
        return "main"

    # -- session identity ------------------------------------------------
    def session_key_for(self, path: Path, file_id: str) -> str:
        """The session a file belongs to (parent session for subagent files)."""
        parts = path.parts
        if "subagents" in parts:
            i = len(parts) - 1 - parts[::-1].index("subagents")
            if i >= 1 and _UUID_RE.match(parts[i - 1]):
                return parts[i - 1]
        stem = path.stem
        if self.role(path) == "main" and _UUID_RE.match(stem):
            return stem
        # Legacy flat agent files and renamed main files: the records' sessionId.
        counts: Counter[str] = Counter()
        try:
            with open(path, "rb") as fh:
                for n, raw in enumerate(fh):
                    if n > 2000:
                        break
                    if b'"sessionId"' not in raw:
                        continue
                    try:
                        rec = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(rec, dict) and rec.get("type") in CHAIN_TYPES:
                        sid = rec.get("sessionId")
                        if isinstance(sid, str) and sid:
                            counts[sid] += 1
                            if len(counts) == 1 and counts[sid] >= 3:
                                break
        except OSError:
            pass
        if counts:
            # The first session id seen is the file's own (later ones are resumes appended to it).
            return next(iter(counts))
        return f"{stem}-{file_id[:8]}"

    # -- parsing -------------------------------------------------------------
    def parse(self, ctx: FileContext) -> ParseResult:
        path = ctx.path
        role = self.role(path)
        sub = role == "subagent"
        skey = ctx.session_key or self.session_key_for(path, ctx.file_id)
        fid = ctx.file_id
        res = ParseResult()
        unknown: Counter[str] = Counter()
        unknown_first: dict[str, int] = {}
        info = SessionInfo(
            session_key=skey,
            file_id=fid,
            session_id=skey,
            source=self.name,
            role=role,
            user_key=ctx.user,
        )
        if sub:
            m = re.match(r"agent-(.+?)(?:\.jsonl)?$", path.name)
            info.agent_id = m.group(1) if m else path.stem
        tool_names: dict[str, tuple[str, str | None]] = {}
        prompts, messages, actions, results, events = res.prompts, res.messages, res.actions, res.results, res.events

        def bad(line: int, kind: str, detail: str) -> None:
            res.bad.append(BadLine(file_id=fid, path=str(path), line=line, kind=kind, detail=detail))

        reader = JsonLines(path, bad, start=ctx.start_offset, start_line=ctx.start_line, final=ctx.final)
        for line_no, rec in reader:
            rtype = rec.get("type")
            if not isinstance(rtype, str) or rtype not in KNOWN_TYPES:
                key = str(rtype)[:40]
                unknown[key] += 1
                unknown_first.setdefault(key, line_no)
                continue
            ts = parse_ts(rec.get("timestamp"))
            if rtype != "summary" and ts is not None:
                if info.first_ts is None or ts < info.first_ts:
                    info.first_ts = ts
                if info.last_ts is None or ts > info.last_ts:
                    info.last_ts = ts
            info.records += 1
            if rtype in CHAIN_TYPES:
                v = rec.get("version")
                if isinstance(v, str):
                    info.version = v
                ep = rec.get("entrypoint")
                if isinstance(ep, str):
                    info.entrypoint = ep
                cwd = rec.get("cwd")
                if info.project_key is None and isinstance(cwd, str) and cwd:
                    info.project_key = cwd
                if sub and info.agent_id is None and isinstance(rec.get("agentId"), str):
                    info.agent_id = rec["agentId"]
            if rtype in KNOWN_SKIP:
                continue
            # A sidechain line inside a main file replays subagent/parent traffic: not main-chain work.
            if not sub and rec.get("isSidechain") is True:
                continue
            uuid = rec.get("uuid") if isinstance(rec.get("uuid"), str) else None
            base = {"session_key": skey, "file_id": fid, "line": line_no, "uuid": uuid, "ts": ts, "is_subagent": sub}

            if rtype == "assistant":
                self._assistant(rec, base, messages, actions, tool_names)
            elif rtype == "user":
                self._user(rec, base, sub, prompts, results, events, tool_names)
            elif rtype == "system":
                self._system(rec, base, events)
            elif rtype == "queue-operation":
                op = rec.get("operation")
                events.append(EventRec(**base, kind="queue", detail=str(op)[:20] if op else None))

        for key, count in unknown.items():
            res.bad.append(
                BadLine(
                    file_id=fid,
                    path=str(path),
                    line=unknown_first[key],
                    kind="unknown_type",
                    detail=key,
                    count=count,
                )
            )
        if info.records or ctx.start_offset == 0:
            res.sessions.append(info)
        res.consumed = reader.consumed
        res.lines = reader.lines
        return res

    # -- record handlers -------------------------------------------------
    def _assistant(
        self,
        rec: dict[str, Any],
        base: dict[str, Any],
        messages: list[MessageRec],
        actions: list[ActionRec],
        tool_names: dict[str, tuple[str, str | None]],
    ) -> None:
        msg = rec.get("message")
        if not isinstance(msg, dict):
            return
        model = msg.get("model") if isinstance(msg.get("model"), str) else None
        synthetic = model == "<synthetic>" or rec.get("isApiErrorMessage") is True
        usage = msg.get("usage") if isinstance(msg.get("usage"), dict) else {}
        content = msg.get("content")
        blocks = content if isinstance(content, list) else ([{"type": "text", "text": content}] if isinstance(content, str) else [])
        msg_id = msg.get("id") if isinstance(msg.get("id"), str) else None
        vis = 0
        first_block = None
        texts: list[str] = []
        seq = 0
        for b in blocks:
            if not isinstance(b, dict):
                continue
            bt = b.get("type")
            first_block = first_block or bt
            if bt == "text":
                t = b.get("text")
                if isinstance(t, str):
                    vis += words(t)
                    texts.append(t)
            elif bt == "tool_use" and not synthetic:
                name = b.get("name") if isinstance(b.get("name"), str) else "unknown"
                inp = b.get("input") if isinstance(b.get("input"), dict) else {}
                fpath = None
                for k in _FILE_KEYS:
                    v = inp.get(k)
                    if isinstance(v, str) and v:
                        fpath = v
                        break
                cat = tool_category(name)
                cmd = inp.get("command") if isinstance(inp.get("command"), str) else None
                if cat != "shell":
                    fp_for_search = fpath if cat in ("read", "edit", "write") else None
                    fpath = fp_for_search
                tid = b.get("id") if isinstance(b.get("id"), str) else None
                is_test = is_test_command(cmd)
                if tid:
                    tool_names[tid] = (cat, cmd if is_test else None)
                actions.append(
                    ActionRec(
                        **base,
                        seq=seq,
                        msg_id=msg_id,
                        tool_use_id=tid,
                        tool=name[:80],
                        category=cat,
                        input_words=leaf_words(inp),
                        file_path=fpath,
                        command=cmd[:TEXT_HEAD] if cmd else None,
                        is_test=is_test,
                        is_commit=is_commit_command(cmd),
                        is_push=is_push_command(cmd),
                        is_deploy=is_deploy_command(cmd),
                    )
                )
                seq += 1
        text = "\n".join(texts)
        messages.append(
            MessageRec(
                **base,
                msg_id=msg_id,
                request_id=rec.get("requestId") if isinstance(rec.get("requestId"), str) else None,
                model=model,
                block=first_block or "other",
                visible_words=0 if synthetic else vis,
                input_tokens=_int(usage.get("input_tokens")),
                output_tokens=_int(usage.get("output_tokens")),
                cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
                cache_creation_tokens=_int(usage.get("cache_creation_input_tokens")),
                synthetic=synthetic,
                text=text[:TEXT_HEAD] if text else None,
            )
        )

    def _user(
        self,
        rec: dict[str, Any],
        base: dict[str, Any],
        sub: bool,
        prompts: list[PromptRec],
        results: list[ResultRec],
        events: list[EventRec],
        tool_names: dict[str, tuple[str, str | None]],
    ) -> None:
        msg = rec.get("message")
        if not isinstance(msg, dict):
            return
        content = msg.get("content")
        text, has_result = _text_of_user(content)
        if has_result and isinstance(content, list):
            tur = rec.get("toolUseResult")
            seq = 0
            for b in content:
                if not isinstance(b, dict) or b.get("type") != "tool_result":
                    continue
                out = block_text(b.get("content"))
                tid = b.get("tool_use_id") if isinstance(b.get("tool_use_id"), str) else None
                is_error = b.get("is_error") is True
                rejected = is_error and out.startswith(_REJECTED)
                interrupted = "[Request interrupted by user" in out[:200] or (
                    isinstance(tur, dict) and tur.get("interrupted") is True
                )
                file_op = None
                agent_id = None
                agent_actions = None
                exit_code = None
                stdout = out
                if isinstance(tur, dict):
                    t = tur.get("type")
                    if t in ("create", "update"):
                        file_op = t
                    if isinstance(tur.get("agentId"), str):
                        agent_id = tur["agentId"]
                    if isinstance(tur.get("totalToolUseCount"), int):
                        agent_actions = tur["totalToolUseCount"]
                    so = tur.get("stdout")
                    if isinstance(so, str):
                        se = tur.get("stderr")
                        stdout = so + ("\n" + se if isinstance(se, str) and se else "")
                if out.startswith("Exit code") or "\nExit code" in out[:200]:
                    m = _EXIT_CODE.search(out[:200])
                    if m:
                        exit_code = int(m.group(1))
                cat_cmd = tool_names.get(tid or "")
                # Test summaries are read only from the output of test commands.
                ts_status = test_status(stdout) if (cat_cmd is not None and cat_cmd[1] is not None) else None
                results.append(
                    ResultRec(
                        **base,
                        seq=seq,
                        tool_use_id=tid,
                        is_error=is_error,
                        rejected=rejected,
                        interrupted=interrupted,
                        file_op=file_op,
                        test_status=ts_status,
                        exit_code=exit_code,
                        agent_id=agent_id,
                        agent_actions=agent_actions,
                        text=out[:RESULT_HEAD] if out else None,
                    )
                )
                seq += 1
            # Interrupt markers may also sit beside results as text blocks.
            marker = text.strip()
            if marker in _INTERRUPTS:
                events.append(
                    EventRec(**base, seq=seq, kind="interrupt", detail="tool_use" if "tool use" in marker else None)
                )
            return
        stripped = text.strip()
        if stripped in _INTERRUPTS:
            events.append(EventRec(**base, kind="interrupt", detail="tool_use" if "tool use" in stripped else None))
            return
        if rec.get("isCompactSummary") is True:
            events.append(EventRec(**base, kind="compact_summary"))
            return
        if rec.get("isMeta") is True:
            return
        if stripped.startswith(_INJECTED_PREFIXES):
            m = _COMMAND_NAME.search(stripped[:300])
            if m:
                events.append(EventRec(**base, kind="command", detail=m.group(1)[:40]))
            return
        body = _SYSTEM_REMINDER.sub("", text).strip() if "<system-reminder>" in text else stripped
        if not body:
            return
        if sub:
            # The first line of a subagent file is the parent's task prompt, never a human prompt.
            return
        prompts.append(PromptRec(**base, text=body, words=words(body), chars=len(body)))

    def _system(self, rec: dict[str, Any], base: dict[str, Any], events: list[EventRec]) -> None:
        st = rec.get("subtype")
        if st == "turn_duration":
            d = rec.get("durationMs")
            if isinstance(d, int | float):
                events.append(EventRec(**base, kind="turn_duration", value=float(d)))
        elif st == "compact_boundary":
            meta = rec.get("compactMetadata") if isinstance(rec.get("compactMetadata"), dict) else {}
            pre = meta.get("preTokens")
            events.append(
                EventRec(
                    **base,
                    kind="compaction",
                    detail=str(meta.get("trigger"))[:20] if meta.get("trigger") else None,
                    value=float(pre) if isinstance(pre, int | float) else None,
                )
            )
        elif st == "api_error":
            events.append(EventRec(**base, kind="api_error"))
        elif st == "local_command":
            c = rec.get("content")
            m = _COMMAND_NAME.search(c[:300]) if isinstance(c, str) else None
            events.append(EventRec(**base, kind="command", detail=m.group(1)[:40] if m else None))


def _int(v: Any) -> int:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0


PARSER = register(ClaudeCodeParser())
