"""Hand-built classifier evidence shared by the offline-backend tests (no transcript involved)."""

from __future__ import annotations

from typing import Any

from codecensus.classify.base import ActionEvidence, SessionEvidence


def act(cat: str, tool: str = "", **kw: Any) -> ActionEvidence:
    return ActionEvidence(tool=tool or cat, category=cat, **kw)


def write(path: str, words: int = 200, **kw: Any) -> ActionEvidence:
    return act("write", "Write", file_path=path, file_op="create", input_words=words, is_error=False, **kw)


def edit(path: str, words: int = 40, **kw: Any) -> ActionEvidence:
    return act("edit", "Edit", file_path=path, input_words=words, is_error=False, **kw)


def sh(cmd: str, **kw: Any) -> ActionEvidence:
    kw.setdefault("is_error", False)
    return act("shell", "Bash", command=cmd, **kw)


def read(path: str, **kw: Any) -> ActionEvidence:
    return act("read", "Read", file_path=path, is_error=False, **kw)


def session(prompts: list[str], actions: list[ActionEvidence] | None = None, replies: list[str] | None = None,
            *, reply_idx: list[int] | None = None, events: list[tuple[str, str | None]] | None = None,
            event_idx: list[int] | None = None, final_reply: bool | None = True, key: str = "s1") -> SessionEvidence:
    actions = actions or []
    replies = replies if replies is not None else ["Done."] * len(prompts)
    return SessionEvidence(
        session_key=key,
        session_id=key,
        source="claude_code",
        shape={"session_id": key, "prompts": len(prompts), "actions": len(actions), "visible_words": 50,
               "subagent_actions": 0},
        prompts=prompts,
        prompt_ts=[None] * len(prompts),
        replies=replies,
        actions=actions,
        events=events or [],
        reply_prompt_index=reply_idx if reply_idx is not None else list(range(len(replies))),
        event_prompt_index=event_idx or [0] * len(events or []),
        final_reply_after_last_action=final_reply,
    )
