"""Value of a session's work (taxonomy §7): professional hours x median hourly wage.

Wages: BLS OEWS May 2025, national, all industries (``data/wages_oews_may2025.csv``,
shipped with its source and release date). The occupation that would do the
work (``value_soc``) follows the work mode; for writing, planning and analysis
done in a non-software domain it is the user's occupation group.

Offline hours model (from what the session measurably produced; every
constant is a documented assumption, not a measurement):

========================  ================================  ===========================================
output                    rate                              rationale
========================  ================================  ===========================================
code written (words)      300 words / hour                  ~40-50 finished lines/h at ~6-7 words per
                                                            line, including reading the surrounding code
prose written (words)     400 words / hour                  drafting plus one editing pass
data/notebook written     300 words / hour                  same as code
edits                     half their words                  an edit repeats the old text it replaces
ops/install/git/deploy    5 min per command                 look up, run, check the result
test runs                 3 min per run
errors worked through     9 min per error                   diagnosis time a professional also spends
files read                3 min per distinct file           reading code to understand it
searches                  1 min each
web research              6 min per fetch/search
subagent tool calls       2 min each                        delegated reads/edits, coarsely
answers (no files)        1,500 reply words / hour          explaining or advising in writing
========================  ================================  ===========================================

The sum is damped for long sessions: ``hours = H0 * ln(1 + raw / H0)`` with
``H0 = 8`` (one working day): the first day counts almost fully, beyond it
agent sessions repeat and rewrite, so marginal output is worth less.
Reports must present value as an estimate.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from codecensus.taxonomy import CODE_PRODUCING_MODES, NOT_INFERABLE, SOFTWARE_SOC

if TYPE_CHECKING:
    from codecensus.classify.base import SessionEvidence
    from codecensus.classify.features import Features

WAGES_FILE = "wages_oews_may2025.csv"
WAGE_RELEASE = "BLS OEWS May 2025 (released 2026-05-15)"

CODE_WORDS_PER_HOUR = 300.0
PROSE_WORDS_PER_HOUR = 400.0
DATA_WORDS_PER_HOUR = 300.0
EDIT_WORD_FACTOR = 0.5
OPS_HOURS_PER_COMMAND = 5 / 60
TEST_HOURS_PER_RUN = 3 / 60
ERROR_HOURS = 9 / 60
READ_HOURS_PER_FILE = 3 / 60
SEARCH_HOURS = 1 / 60
WEB_HOURS = 6 / 60
SUBAGENT_HOURS_PER_ACTION = 2 / 60
ANSWER_WORDS_PER_HOUR = 1500.0
DAMPING_HOURS = 8.0

# Detailed occupation that would do the work, by mode (software context).
MODE_SOC = {
    "build": "15-1252",  # Software Developers
    "fix": "15-1252",
    "test": "15-1253",  # Software Quality Assurance Analysts and Testers
    "orchestrate": "15-1252",
    "operate": "15-1244",  # Network and Computer Systems Administrators
    "understand": "15-1252",
    "plan": "15-1252",
    "analyze": "15-2051",  # Data Scientists
    "write": "27-3042",  # Technical Writers (documentation next to code)
}
PROSE_SOC = "27-3043"  # Writers and Authors: prose outside a software context
PLAN_SOC = "13-1082"  # Project Management Specialists: plans outside a software context
GENERAL_SOC = "00-0000"  # All occupations: answers with no inferable domain


@dataclass(frozen=True, slots=True)
class Wage:
    soc: str
    title: str
    hourly_median: float


@lru_cache(maxsize=1)
def wage_table() -> dict[str, Wage]:
    text = resources.files("codecensus.data").joinpath(WAGES_FILE).read_text()
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {r["soc_code"]: Wage(r["soc_code"], r["title"], float(r["hourly_median"])) for r in rows}


def wage(soc: str | None) -> Wage:
    """Median hourly wage of a detailed SOC code ('15-1252') or a major group ('15' or '15-0000').

    Unknown detailed codes fall back to their major group, then to all occupations.
    """
    table = wage_table()
    if soc:
        s = soc.strip()
        if s in table:
            return table[s]
        major = s[:2] + "-0000"
        if s[:2].isdigit() and major in table:
            return table[major]
    return table[GENERAL_SOC]


def value_usd(hours: float, soc: str | None) -> float:
    return round(max(0.0, hours) * wage(soc).hourly_median, 2)


def value_soc_for(mode: str, occupation: str, f: Features | None = None) -> str:
    """The occupation that would do this work (a detailed SOC code, or a major group's XX-0000)."""
    domain = occupation not in (NOT_INFERABLE, SOFTWARE_SOC)
    code_context = False
    if f is not None:
        code_context = (f.created_code + f.modified_code + f.changed["test"] + f.changed["ci"]) > 0 or any(
            s.code_tokens >= 3 for s in f.signals
        )
    if mode in CODE_PRODUCING_MODES or mode == "operate":
        return MODE_SOC[mode]
    if mode == "write":
        if domain:
            return f"{occupation}-0000"
        return MODE_SOC["write"] if code_context or occupation == SOFTWARE_SOC else PROSE_SOC
    if mode == "plan":
        if domain:
            return f"{occupation}-0000"
        return MODE_SOC["plan"] if code_context or occupation == SOFTWARE_SOC else PLAN_SOC
    if mode == "analyze":
        return f"{occupation}-0000" if occupation in ("13", "19") else MODE_SOC["analyze"]
    # understand
    if code_context or occupation == SOFTWARE_SOC:
        return MODE_SOC["understand"]
    return f"{occupation}-0000" if domain else GENERAL_SOC


def raw_hours(ev: SessionEvidence, f: Features) -> float:
    """Undamped professional hours for what the session produced (see the module table)."""
    from codecensus.classify.features import changed_path, file_class

    code_w = prose_w = data_w = 0.0
    for a in ev.actions:
        path = changed_path(a)
        if path is None:
            continue
        w = a.input_words * (EDIT_WORD_FACTOR if a.category == "edit" else 1.0)
        fc = file_class(path)
        if fc in ("prose", "plan"):
            prose_w += w
        elif fc == "data":
            data_w += w
        elif fc == "memory":
            continue
        else:
            code_w += w
    cmds = f.commands
    hours = code_w / CODE_WORDS_PER_HOUR + prose_w / PROSE_WORDS_PER_HOUR + data_w / DATA_WORDS_PER_HOUR
    hours += OPS_HOURS_PER_COMMAND * (cmds["ops"] + cmds["install"] + cmds["git"] + cmds["deploy"] + cmds["data"])
    hours += TEST_HOURS_PER_RUN * f.tests_run
    hours += ERROR_HOURS * (f.tool_errors + f.tests_failed)
    read_files = len({a.file_path for a in ev.actions if a.category == "read" and a.file_path})
    hours += READ_HOURS_PER_FILE * read_files + SEARCH_HOURS * f.searches + WEB_HOURS * f.web
    sub_actions = int(ev.shape.get("subagent_actions") or 0)
    hours += SUBAGENT_HOURS_PER_ACTION * sub_actions
    if sum(f.changed.values()) == 0:
        reply_words = float(ev.shape.get("visible_words") or sum(len(r.split()) for r in ev.replies))
        hours += reply_words / ANSWER_WORDS_PER_HOUR
    return hours


def damp(hours: float) -> float:
    return DAMPING_HOURS * math.log1p(max(0.0, hours) / DAMPING_HOURS)


def estimate_hours(ev: SessionEvidence, f: Features) -> float:
    """Professional hours the session's output would take without an agent (damped; see module docs)."""
    return damp(raw_hours(ev, f))


HOURS_MODEL = {
    k: v
    for k, v in globals().items()
    if k.isupper() and isinstance(v, float) and not k.startswith("_")
}

__all__ = [
    "HOURS_MODEL",
    "MODE_SOC",
    "WAGE_RELEASE",
    "Wage",
    "estimate_hours",
    "raw_hours",
    "value_soc_for",
    "value_usd",
    "wage",
    "wage_table",
]
