"""Every LLM prompt codecensus sends, in one place.

Templates are package data files next to this module (``*.md``), written with
``string.Template`` placeholders (``$name``) so that JSON braces need no
escaping. Each one is exposed as a :class:`Prompt` carrying its text and the
sha256 of that text; run manifests record :func:`prompt_hashes` so results are
only ever compared within one set of prompts.

The taxonomy is never re-typed here: :func:`render_facets_system` fills the
rubric from :mod:`codecensus.taxonomy`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template

from codecensus import taxonomy as tx

__all__ = [
    "ANSWER_KEYS",
    "Prompt",
    "all_prompts",
    "get",
    "neutralize_tags",
    "prompt_hashes",
    "render_facets_repair",
    "render_facets_system",
    "render_facets_user",
    "render_keys",
]

#: Prompt names (file stem) shipped with the package.
NAMES: tuple[str, ...] = ("facets_system", "facets_user", "facets_repair")


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    text: str  # the raw template
    sha256: str  # hex digest of the template text

    @property
    def template(self) -> Template:
        return Template(self.text)

    def render(self, **values: object) -> str:
        """Fill every placeholder (a missing one raises KeyError)."""
        return self.template.substitute({k: str(v) for k, v in values.items()})


@cache
def get(name: str) -> Prompt:
    if name not in NAMES:
        raise KeyError(f"unknown prompt {name!r}; known: {NAMES}")
    text = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    return Prompt(name=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())


def all_prompts() -> dict[str, Prompt]:
    return {n: get(n) for n in NAMES}


def prompt_hashes() -> dict[str, str]:
    """``{name: sha256}`` of every template (for run manifests)."""
    return {n: p.sha256 for n, p in all_prompts().items()}


# -- the answer keys (the same fields as codecensus.classify.base.Facets) ------------------
def _enum(values: tuple[str, ...] | list[str]) -> str:
    return " | ".join(f'"{v}"' for v in values)


def _answer_keys() -> tuple[tuple[str, str], ...]:
    soc = [*tx.SOC_KEYS]
    return (
        ("summary", "string: one privacy-safe sentence in English (section 7)"),
        ("mode", _enum(tx.MODE_KEYS)),
        ("mode_confidence", "number 0 to 1"),
        ("outcome", _enum(tx.OUTCOME_KEYS)),
        ("outcome_confidence", "number 0 to 1"),
        ("outcome_score", "number 0 to 1: probability that the goal was achieved"),
        ("outcome_evidence", f"list of zero or more of {_enum([e.key for e in tx.OUTCOME_EVIDENCE])}"),
        ("trouble", "true | false"),
        ("recovered", "true | false"),
        ("abandoned", "true | false"),
        ("expertise", " | ".join(str(level) for level in tx.EXPERTISE_LEVELS) + " | null (cannot tell: section 3)"),
        ("expertise_confidence", "number 0 to 1"),
        ("occupation", _enum([*soc, tx.NOT_INFERABLE])),
        ("occupation_confidence", "number 0 to 1"),
        ("user_planning_pct", "number 0 to 100"),
        ("user_execution_pct", "number 0 to 100"),
        ("value_hours", "number >= 0"),
        ("value_soc", _enum(soc)),
    )


#: Keys of the JSON answer, in the order the model is asked to write them (summary first, so the
#: model states what the session was about before it labels it).
ANSWER_KEYS: tuple[str, ...] = tuple(k for k, _ in _answer_keys())


def render_keys() -> str:
    return "\n".join(f"- {k}: {desc}" for k, desc in _answer_keys())


def _labels(items: tuple[tx.Label, ...], *, quote: bool = True) -> str:
    return "\n".join(f'- {"`" + i.key + "`" if quote else i.key}: {i.name}: {i.description}' for i in items)


@cache
def render_facets_system() -> str:
    """The rubric (system prompt), with every definition rendered from :mod:`codecensus.taxonomy`."""
    return get("facets_system").render(
        modes=_labels(tx.WORK_MODES),
        outcomes=_labels(tx.OUTCOMES),
        evidence=_labels(tx.OUTCOME_EVIDENCE),
        trouble=_labels(tx.TROUBLE_FLAGS),
        expertise_signals="\n".join(f"- {s}" for s in tx.EXPERTISE_SIGNALS),
        expertise=_labels(tx.EXPERTISE, quote=False),
        soc="\n".join(f'- "{g.key}": {g.name} ({g.description})' for g in tx.SOC_MAJOR_GROUPS),
        decisions=_labels(tx.DECISION_KINDS),
        not_inferable=tx.NOT_INFERABLE,
        software_soc=tx.SOFTWARE_SOC,
        keys=render_keys(),
    )


_TAG = re.compile(r"<\s*(/?)\s*(transcript)\b", re.IGNORECASE)


def neutralize_tags(text: str) -> str:
    """Make ``<transcript>`` / ``</transcript>`` inside data harmless (it cannot close the data block)."""
    return _TAG.sub(lambda m: f"\u2039{m.group(1)}{m.group(2)}", text)


def render_facets_user(transcript: str) -> str:
    """The user message: the condensed session as delimited data."""
    return get("facets_user").render(transcript=neutralize_tags(transcript))


def render_facets_repair(errors: str) -> str:
    """The follow-up message sent after an answer that failed validation."""
    return get("facets_repair").render(errors=neutralize_tags(errors), keys=render_keys())
