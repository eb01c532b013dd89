"""Contracts of the classify stage: what a backend reads and what it must return.

A backend turns :class:`SessionEvidence` (what the store proves about one
session) into :class:`Facets` (taxonomy §2–§8). Results are stored per session
in the ``facets`` table with backend, model, rubric hash and confidences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from codecensus.taxonomy import (
    ABSTAINING_FACETS,
    ABSTENTION_REASON_KEYS,
    MODE_KEYS,
    OCCUPATION_KEYS,
    OUTCOME_KEYS,
)

EvidenceKind = Literal["commit", "tests_pass", "user_confirmed"]
#: the Facets fields that say why a facet abstains (set by the backend, never asked of an LLM)
REASON_FIELDS: tuple[str, ...] = tuple(f"{k}_reason" for k in ABSTAINING_FACETS)


@dataclass(slots=True)
class ActionEvidence:
    tool: str
    category: str
    file_path: str | None = None
    command: str | None = None
    is_test: bool = False
    is_commit: bool = False
    is_push: bool = False
    is_deploy: bool = False
    is_error: bool | None = None
    test_status: str | None = None
    result_head: str | None = None
    ts: int | None = None  # epoch ms
    prompt_index: int = 0  # index of the human prompt this action followed
    # added by the offline classifier (defaults keep older constructors valid)
    file_op: str | None = None  # create | update (Write results)
    exit_code: int | None = None
    rejected: bool = False  # the user refused the tool call
    interrupted: bool = False  # the user interrupted the tool call
    input_words: int = 0  # words the agent wrote into the call (file contents, edits, commands)


@dataclass(slots=True)
class SessionEvidence:
    """Everything a backend may read about one session (raw text stays inside the process)."""

    session_key: str
    session_id: str
    source: str
    shape: dict[str, Any]  # the `sessions` row
    prompts: list[str] = field(default_factory=list)  # human prompts, in order
    prompt_ts: list[int | None] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # heads of the agent's visible replies, in order
    actions: list[ActionEvidence] = field(default_factory=list)
    events: list[tuple[str, str | None]] = field(default_factory=list)  # (kind, detail)
    truth: str | None = None  # 'resolved' / 'unresolved' when the format carries ground truth (never used to classify)
    # added by the offline classifier: the prompt index each reply / event followed (parallel lists)
    reply_prompt_index: list[int] = field(default_factory=list)
    event_prompt_index: list[int] = field(default_factory=list)
    # whether the agent's last visible reply comes after its last tool call (False: the transcript stops
    # mid-turn, after a tool call; None: unknown)
    final_reply_after_last_action: bool | None = None


class Facets(BaseModel):
    """One session's classification (taxonomy §2–§8)."""

    mode: str
    mode_confidence: float = Field(ge=0, le=1)
    occupation: str  # SOC major group code or 'not_inferable'
    occupation_confidence: float = Field(ge=0, le=1)
    expertise: int | None = Field(ge=1, le=5)  # None: abstained (no human prompt to judge from, §4)
    expertise_confidence: float = Field(ge=0, le=1)
    outcome: str
    outcome_confidence: float = Field(ge=0, le=1)
    outcome_score: float = Field(ge=0, le=1, description="P(success): used for AUC against resolved labels")
    outcome_evidence: list[EvidenceKind] = Field(default_factory=list)
    trouble: bool = False
    recovered: bool = False
    abandoned: bool = False
    user_planning_pct: float = Field(ge=0, le=100)
    user_execution_pct: float = Field(ge=0, le=100)
    value_hours: float = Field(ge=0)
    value_soc: str  # the occupation that would do the work (SOC major group)
    summary: str  # one privacy-safe sentence (redacted before storage)
    # why a facet abstains (taxonomy.ABSTENTION_REASONS): set by the backend with expertise None, occupation
    # 'not_inferable' or outcome 'unclear'; never asked of an LLM (not in the answer keys)
    expertise_reason: str | None = None
    occupation_reason: str | None = None
    outcome_reason: str | None = None

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in MODE_KEYS:
            raise ValueError(f"mode must be one of {MODE_KEYS}")
        return v

    @field_validator("occupation")
    @classmethod
    def _occ(cls, v: str) -> str:
        if v not in OCCUPATION_KEYS:
            raise ValueError(f"occupation must be one of {OCCUPATION_KEYS}")
        return v

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, v: str) -> str:
        if v not in OUTCOME_KEYS:
            raise ValueError(f"outcome must be one of {OUTCOME_KEYS}")
        return v

    @field_validator("expertise_reason", "occupation_reason", "outcome_reason")
    @classmethod
    def _reason(cls, v: str | None) -> str | None:
        if v is not None and v not in ABSTENTION_REASON_KEYS:
            raise ValueError(f"an abstention reason must be one of {ABSTENTION_REASON_KEYS}")
        return v


class Backend(Protocol):
    name: str  # 'offline' | 'anthropic' | 'openai'
    model: str  # model id, or the offline model's id
    rubric_hash: str  # hash of the prompts/rubric/rules version: results are comparable only within one hash

    def classify(self, batch: list[SessionEvidence]) -> list[Facets]:
        """Classify a batch; must return one Facets per input, in order."""
        ...
