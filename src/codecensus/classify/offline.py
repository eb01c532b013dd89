"""The offline backend: no network, no key.

Facets come from two kinds of evidence, combined with the weight tables below
(the only place where the offline rules' numbers live; they are part of the
rubric hash, so changing one makes results incomparable on purpose):

1. **What the transcript proves** (:mod:`codecensus.classify.features`):
   files written and their types, commands and their classes, tests and their
   results, commits, errors left at the end, interruptions.
2. **What the human asked for**, compared with prototype sentences of each
   label (:mod:`codecensus.classify.prototypes`) by a multilingual sentence
   embedder (:mod:`codecensus.embed`), plus language-light lexical signals
   (:mod:`codecensus.classify.text`).

Text in a transcript is data: sentences that address a classifier are removed
before anything is read (see :func:`codecensus.classify.text.sanitize`).

Work mode (§2)
    A *work ledger*: every successful change and command votes for the mode it
    is evidence of (``MODE_VOTES``); edits to code that existed before the
    session vote *fix*, code created in the session votes *build*. The vote
    shares (damped for sessions with little activity) are added to the
    embedding z-scores of the prompts, plus a few documented bonuses. Where a file class does not say
    which of two modes it serves, the request decides: prose documents are *plan* when the prompts read
    more like planning than writing, and new scripts are *analyze* when the prompts clearly ask for data
    analysis and no existing code was changed.
Occupation (§5)
    Software work (code changed or a dense developer vocabulary) is 15 unless
    the prompts are clearly about another group's domain; a non-software group
    needs a clear embedding margin; otherwise ``not_inferable``.
Expertise (§4)
    From the human side only: precision (code tokens, constraints, acceptance
    criteria), verification requests, corrections of the agent, minus novice
    markers, plus the embedding contrast between expert and novice prototypes.
Outcome (§3)
    A logistic score over hard evidence (tests passing after the last change,
    a commit after it, the user's confirmation) and negative evidence (a final
    complaint, errors or failing tests left at the end, an interruption, an
    unanswered last prompt). ``unclear`` when nothing was done.
Decisions (§6), value (§7) and summary (§8): see the functions below and
:mod:`codecensus.classify.value`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from codecensus.classify.base import Facets, SessionEvidence
from codecensus.classify.features import (
    Features,
    RunFeatures,
    changed_path,
    command_class,
    extract,
    file_class,
    human_request_reason,
    run_features,
)
from codecensus.classify.prototypes import (
    expertise_texts,
    feedback_texts,
    mode_texts,
    occupation_texts,
    prototype_hash,
)
from codecensus.classify.value import estimate_hours, value_soc_for
from codecensus.taxonomy import (
    MODE_KEYS,
    NOT_INFERABLE,
    SOFTWARE_SOC,
    TAXONOMY_VERSION,
    WORK_MODES,
)

OFFLINE_VERSION = "1"

# --- weight tables ---------------------------------------------------------------------------------------
# Work ledger: (file class of a successful change) -> (mode, votes). Code votes build when the file was
# created in the session, fix when it existed before.
CHANGE_VOTES: dict[str, tuple[str, float]] = {
    "code": ("build|fix", 1.0),
    "other": ("build|fix", 0.3),
    "test": ("test", 0.8),  # test mode wins only when test files clearly outnumber code (TDD is build/fix)
    "ci": ("orchestrate", 1.5),
    "agentcfg": ("orchestrate", 1.0),
    "plan": ("plan", 1.2),
    "prose": ("write", 1.0),
    "data": ("analyze", 1.2),
    "config": ("operate", 0.5),  # only counted when no code changed (config edits are part of code work)
    "memory": ("", 0.0),  # agent memory / instructions files: neutral
}
# (command class) -> (mode, votes per command)
# (a file created or rewritten is ~1 unit of work; a command is a fraction of one: git status/add/commit
# are bookkeeping of any work, an install or a service restart is operating, a deploy is a deliverable)
COMMAND_VOTES: dict[str, tuple[str, float]] = {
    "test": ("test", 0.2),
    "install": ("operate", 0.3),
    "git": ("operate", 0.15),
    "ops": ("operate", 0.35),
    "deploy": ("operate", 0.8),
    "data": ("analyze", 0.5),
    "build": ("", 0.0),
    "run": ("", 0.0),
    "explore": ("understand", 0.03),
    "other": ("", 0.0),
}
# other tool categories -> (mode, votes per call)
CATEGORY_VOTES: dict[str, tuple[str, float]] = {
    "read": ("understand", 0.08),
    "search": ("understand", 0.08),
    "web": ("understand", 0.15),
    "plan": ("plan", 0.8),
}
HARNESS_PLAN_VOTES = 0.8  # a plan file the harness writes in plan mode: one more plan-mode call (see _HARNESS_PLAN)
PLAN_MODE_WITH_CHANGES = 0.25  # plan-mode calls count this much when the session went on to change files
DOCS_WITH_CODE = 0.5  # plan and prose files count this much when the session changed code
NEUTRAL_EDIT_BUILD_SHARE = 0.0  # an edit of an existing file whose request neither adds nor repairs: fix (§2 "modifies")
OPS_WITH_CODE = 0.5  # install and git commands count this much when the session changed code
TEST_FILES_MAIN_RATIO = 1.0  # test files must outnumber code files (x this) for their changes to vote test
TEST_RUNS_WITH_CODE = 0.5  # test runs count this much when the session changed code
READING_WITH_CHANGES = 0.25  # understand votes (reads, searches) are scaled by this when the session changed things
W_STRUCT = 3.0  # weight of the ledger's vote shares
STRUCT_DAMP = 2.0  # shares are scaled by votes / (votes + STRUCT_DAMP): little activity, little weight
W_EMB = 0.8  # weight of the prompts' embedding z-scores (first prompt and all prompts, averaged) ...
EMB_TOPICAL = {"orchestrate": 0.6}  # positive embedding z of these modes x factor when nothing was produced
EMB_CHARS_FIRST = 250  # characters of the first substantive prompt that are embedded
EMB_CHARS_ALL = 250  # characters of all substantive prompts (from the first) that are embedded
EMB_ALL_CHUNKS = 2  # "all" is embedded as up to this many chunks of EMB_CHARS_ALL characters
EMB_CHARS_LAST = 150  # characters of the last feedback prompt that are embedded
EMB_MAX_UNKNOWN = 0.25  # a text with more than this share of tokens unknown to the embedder is not embedded
# (a script the model was not trained on: its vector is noise; measured on the same requests in 11 languages with
# USE: Hindi 0.30-0.41, Korean at most 0.12, the other nine at most 0.04)
EMB_AT_FULL_ACTIVITY = 0.4  # ... scaled down to this share of it as the ledger fills (what was done beats what was said)
ANALYSIS_REQUEST_MARGIN = 1.0  # analyze: lead of the analyze z-score over build that lets new code count as analysis
B_ERROR_PASTE = 0.8  # fix: the task statement carries a pasted error / failing status
B_EDITS_AFTER_ERROR = 0.6  # fix: edits right after a failing command or test (x min(1, n/3))
B_NO_CHANGE_UNDERSTAND = 0.3  # understand: nothing written, something read/answered
B_QUESTIONS = 0.3  # understand: share of substantive prompts phrased as questions
B_PLAN_MODE = 0.6  # plan: plan mode used and no file changed but plans
B_OPS_NO_CODE = 0.5  # operate: many ops/install/git commands and no code changed (x min(1, n/5))
MODE_TEMPERATURE = 1.0  # softmax temperature for the mode confidence

# Occupation
# z-scores are over the 22 groups' similarities; the best of 22 near-random similarities already reaches
# z ~ 1.9, so a group must stand out clearly (thresholds set from the score distribution of unlabelled
# sessions: roughly the top decile).
OCC_MIN_WORDS = 4  # fewer substantive prompt words than this: not_inferable
OCC_MIN_WORDS_OTHER = 25  # a non-software group needs at least this many words of prompts
OCC_MIN_DEV_COMMANDS = 2  # builds / project installs that count as software work without a code change
OCC_SOFTWARE_CODE_TOKENS = 8  # this many distinct code tokens in the prompts also count as software work
# per embedder: (z-score of the best non-software group, its lead over the next group, its lead over group 15,
# z-score of group 15 that names software work by text alone). Set at fixed percentiles of each score over
# the unlabelled sample sessions (claude_code sessions outside the dev set with >= OCC_MIN_WORDS_OTHER words):
# about the 97th / 95th / 85th / 80th (use-m3) and 90th / 90th / 84th / 88th (e5), so a group is named only
# when it stands out. They depend on the embedded text length (EMB_CHARS_*): when that changes, map each
# threshold to the same percentile of the new distribution (done for the cut from one 600-character text to
# two 250-character chunks).
OCC_THRESHOLDS: dict[str, tuple[float, float, float, float]] = {
    "e5-small-q4": (2.3, 0.85, 1.04, 2.86),
    "use-m3": (2.71, 1.12, 1.31, 2.92),
}
OCC_THRESHOLDS_DEFAULT = (2.71, 1.12, 1.31, 2.92)
OCC_CODE_WORK_MARGIN = 1.0  # extra lead over group 15 needed when the session changed code (software work is 15)

# Expertise: e = base + precision + verification + corrections + novice + embedding
EXP_BASE = 1.8
EXP_PRECISION = 2.2  # x precision in [0, 1]
EXP_VERIFY = (0.4, 0.7)  # one / two or more prompts asking for tests or checks
EXP_CORRECTION = 0.25  # per correction of the agent (max 2), rejections count half
EXP_NOVICE_QUESTION = -0.5  # per question about basic terms (max 2)
EXP_VAGUE_COMPLAINT = -0.4  # per "it doesn't work" without detail (max 2)
EXP_EMB = 0.3  # x embedding contrast expert-vs-novice, clipped to [-1, 1]
EXP_PASTED_ERROR_FACTOR = 0.3  # a prompt carrying a pasted error: its tokens are mostly the error's, not the user's
EXP_FLOOR_WITHOUT_NOVICE_MARKERS = 1.5  # without novice markers the level is at least 2

# Outcome: logistic score
OUT_BASE = 0.9
OUT_TESTS_PASS = 1.6
OUT_COMMIT = 1.2
OUT_CONFIRM = 1.8  # explicit "it works" after the last change (hard evidence)
OUT_ACK = 0.6  # the last feedback is thanks / praise (satisfaction, not proof)
OUT_FINAL_COMPLAINT = -1.6  # the last feedback is a complaint and nothing was changed after it
OUT_FINAL_COMPLAINT_ADDRESSED = -0.7  # ... and the agent changed files after it (result unknown)
FB_EMB_MARGIN = 1.0  # embedding contrast (confirm vs complain prototypes, in spread units) that counts as thanks
FB_EMB_MARGIN_COMPLAINT = 1.5  # ... as a complaint (only for short feedback: long prompts are new requests)
FB_EMB_COMPLAINT_MAX_WORDS = 15
OUT_ERRORS_AT_END = -0.6  # per error among the last 3 actions
OUT_TESTS_FAIL_AT_END = -0.8
OUT_INTERRUPTED_AT_END = -0.9
OUT_API_ERROR_AT_END = -0.8
OUT_UNANSWERED = -0.8  # the last request got no concluding reply (cut off, or unanswered)
OUT_NEGATIVE_REPLY = -0.9
# A session with a human is judged by its end state (§3); errors and failed attempts on the way are the
# *trouble* flag, not the outcome. Struggle counts only for autonomous runs (below), where nobody judges the
# end and long trajectories with many errors are the classic marks of failure.
OUT_SUCCESS_AT = 0.62  # p >= this: success (verified_success with hard evidence)
OUT_FAILURE_BELOW = 0.30  # p < this: failure; in between: partial
# Autonomous runs (benchmark agents given one task, no human feedback: features.run_features). Nobody confirms or
# complains, so the run's own final state is the evidence. Added to the logit above; a run with none of these
# signals keeps the generic score.
OUT_AUTO_NO_WORK = -3.0  # the agent never started (install failed) or took no action at all: nothing can pass
OUT_AUTO_LIMIT = -1.5  # stopped by a step/cost/time limit, a format error or a crash (status != Submitted)
OUT_AUTO_EMPTY_PATCH = -2.5  # the submitted patch is empty
OUT_AUTO_CHECK_PASS = 0.5  # the last verification run (test, reproduction script, program on sample input) passed
OUT_AUTO_CHECK_FAIL = -1.0  # ... failed
OUT_AUTO_UNVERIFIED = -0.4  # files changed after the last verification run, or changed and never run at all
OUT_AUTO_FAIL_STREAK = -0.3  # per failing verification run in the streak that ends the run (max 3)
OUT_AUTO_REPEATED_FAIL = -0.15  # per verification command that failed two or more times (max 4)
OUT_AUTO_TOOL_ERRORS = -0.08  # per tool error in the run (max 5)
OUT_AUTO_REVERT = -0.2  # per revert of edits (git checkout/restore/stash/reset --hard; max 3)
OUT_AUTO_CLAIM = 0.4  # the final message claims success (a claim, not proof: small)
OUT_AUTO_GIVE_UP = -1.2  # the final message says it could not do it
OUT_AUTO_STEPS = -0.8  # x ln(steps / OUT_AUTO_STEPS_REF), clipped to [-1, 1.5]: long struggles fail more
OUT_AUTO_TOKENS = -0.6  # runs of fewer than OUT_AUTO_FEW_STEPS steps (single-shot reasoning agents such as codex exec):
# x ln(tokens / OUT_AUTO_TOKENS_REF), clipped to [-1, 1.5]: long deliberation marks a hard task
OUT_AUTO_FEW_STEPS = 5
OUT_AUTO_TOKENS_REF = 8000
OUT_AUTO_STEPS_REF = 25  # typical steps of a resolved agent benchmark run (SWE-bench bash-only: ~38 API calls avg)
OUT_AUTO_WORDS_REF = 2500  # typical words of output of such a run

# Every number above, in one table (recorded in the run manifest and hashed into the rubric hash).
WEIGHTS: dict[str, object] = {
    k: v
    for k, v in dict(globals()).items()
    if k.isupper()
    and k != "MODE_KEYS"
    and k.split("_")[0]
    in ("ANALYSIS", "CHANGE", "HARNESS", "PLAN", "DOCS", "NEUTRAL", "OPS", "TEST", "COMMAND", "CATEGORY", "READING", "W", "STRUCT", "B", "MODE", "OCC", "EXP", "EMB", "OUT", "FB")
}


_RULE_MODULES = ("offline", "features", "text", "prototypes", "value")


def rubric_hash(embedder_name: str) -> str:
    """Hash of everything that decides an offline label: weights, prototypes, lexicons and rule code, embedder.

    Stored facets are re-classified when it changes (run.select_sessions skips only rows of the same hash), so
    the rule code is hashed as code (:func:`_rule_code`): an edited comment, docstring or layout no longer
    re-classifies a whole store (it did: the modules' bytes were hashed).

    Everything else in these modules is hashed, the abstention reasons too: a reason is an output of the rules
    (which branch abstained), stored beside the label. When the rules give a new or different reason, rows of the
    old hash hold the old one, or 'not_recorded' (run.ensure_facets_table), and only classifying them again
    records the new one; a hash that left the reasons out would keep them stale (`codecensus classify` would skip
    the sessions, and the report's "re-run classify" would do nothing). So adding the reason fields changed the
    hash, and an upgraded store was classified again once: its labels stayed the same, but no hash can tell that
    from a change that moves labels, which would leave stale labels mixed with new ones.
    """
    from importlib import resources

    h = hashlib.sha256()
    h.update(f"offline:{OFFLINE_VERSION}|taxonomy:{TAXONOMY_VERSION}|emb:{embedder_name}|".encode())
    h.update(repr(sorted((k, repr(v)) for k, v in WEIGHTS.items())).encode())
    h.update(prototype_hash().encode())
    for mod in _RULE_MODULES:
        h.update(_rule_code(resources.files("codecensus.classify").joinpath(f"{mod}.py").read_bytes()))
    # the embedder's code decides labels too: what it reads (its cut, the unreadable-script check) and its vectors
    h.update(_rule_code(resources.files("codecensus").joinpath("embed.py").read_bytes()))
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=len(_RULE_MODULES) + 1)  # ~50 ms for the six modules, once per process
def _rule_code(source: bytes) -> bytes:
    """A module's code as it runs: without comments, docstrings or layout (none of them decides a label; no
    module hashed reads its docstrings). Its syntax tree, docstrings dropped, written out by :func:`_tree_text`."""
    import ast

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                first.value.value, str
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return _tree_text(tree).encode()


def _tree_text(node: object) -> str:
    """A syntax tree as text, the same on every Python this project runs on (3.11-3.13 measured): node names and
    their non-empty fields. (``ast.unparse`` writes f-strings' quotes differently from 3.12 on, and ``ast.dump``
    shows the empty fields later versions add: either would re-classify a store after a Python upgrade.)"""
    import ast

    if isinstance(node, ast.AST):
        fields = ((f, getattr(node, f, None)) for f in node._fields)
        return "(" + " ".join([type(node).__name__, *(f"{f}={_tree_text(v)}" for f, v in fields
                                                      if v is not None and v != [])]) + ")"
    if isinstance(node, list):
        return "[" + ",".join(_tree_text(x) for x in node) + "]"
    return repr(node)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _softmax(x: np.ndarray, t: float = 1.0) -> np.ndarray:
    e = np.exp((x - x.max()) / t)
    return e / e.sum()


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


@dataclass(slots=True)
class _Protos:
    """Prototype embeddings, per label: mean of the top-2 cosine similarities is the label's similarity."""

    keys: list[str]
    mats: list[np.ndarray]
    # the last vector asked about and its similarities: the expertise step asks the mode prototypes about the
    # same "all" vector as the mode step just did (held here, so its identity cannot be reused by another array)
    _last: tuple[np.ndarray, np.ndarray] | None = None

    def sims(self, v: np.ndarray) -> np.ndarray:
        last = self._last
        if last is not None and last[0] is v:
            return last[1].copy()
        out = self._sims(v)
        self._last = (v, out)
        return out.copy()

    def _sims(self, v: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.keys), dtype=np.float32)
        two = np.float32(2.0)
        for i, m in enumerate(self.mats):
            # one product per label, as before (a stacked product would round rows by their position); the
            # top-2 mean in float32 arithmetic, bit for bit what ``np.sort(s)[::-1][:2].mean()`` returns, without
            # numpy's sort and mean call overhead (~5 us per label, ~7 calls per session)
            s = (m @ v).tolist()
            if len(s) >= 2:
                a = max(s)
                s.remove(a)
                out[i] = (np.float32(a) + np.float32(max(s))) / two
            else:
                out[i] = s[0]
        return out


class OfflineBackend:
    """Evidence-based rules + multilingual prototype similarity (see module docstring).

    ``embedder``: ``'use'`` (default: USE-multilingual, ~5-10x faster than E5 at equal or better dev-set
    figures, which matters at 400K sessions), ``'e5'`` (multilingual-e5-small: also covers Vietnamese and
    Indonesian), or ``None`` / ``'none'`` (structural rules and lexicons only).
    """

    name = "offline"

    def __init__(self, embedder: str | None = "use", store: object | None = None) -> None:
        self._emb = None
        if embedder not in (None, "none"):
            from codecensus.embed import get_embedder

            self._emb = get_embedder(embedder, store=store)  # type: ignore[arg-type]
        emb_name = self._emb.name if self._emb is not None else "none"
        self._emb_name = emb_name
        self.model = f"offline-v{OFFLINE_VERSION}+{emb_name}"
        # the embedder's exact computation (e.g. "use-m3/tc": USE with per-token caching) decides the last bits
        self.rubric_hash = rubric_hash(str(getattr(self._emb, "cache_key", emb_name)))
        self._protos: dict[str, _Protos] | None = None

    # -- prototypes ----------------------------------------------------------------------------------
    def _prototypes(self) -> dict[str, _Protos]:
        if self._protos is None:
            assert self._emb is not None
            out = {}
            for name, texts in (
                ("mode", mode_texts()),
                ("occ", occupation_texts()),
                ("exp", expertise_texts()),
                ("fb", feedback_texts()),
            ):
                keys = list(texts)
                flat = [t for k in keys for t in texts[k]]
                mat = self._emb.encode(flat)
                mats, i = [], 0
                for k in keys:
                    n = len(texts[k])
                    mats.append(mat[i : i + n])
                    i += n
                out[name] = _Protos(keys, mats)
            self._protos = out
        return self._protos

    # -- batch ---------------------------------------------------------------------------------------
    def classify(self, batch: list[SessionEvidence]) -> list[Facets]:
        feats = [extract(ev) for ev in batch]
        texts = [_session_texts(ev, f) for ev, f in zip(batch, feats, strict=True)]
        vecs: list[dict[str, np.ndarray]] = [{} for _ in batch]
        unread: set[int] = set()  # sessions whose prompts the embedder cannot read
        if self._emb is not None:
            flat: list[str] = []
            where: list[tuple[int, str]] = []
            unknown = getattr(self._emb, "unknown_share", None)  # an embedder that cannot say: every text is read
            for i, t in enumerate(texts):
                # (ASCII text is all known pieces: only other text asks the tokenizer, a second encode per text)
                bad = (
                    {k for k, s in t.items() if s and not s.isascii() and unknown(s) > EMB_MAX_UNKNOWN}
                    if unknown is not None
                    else set()
                )
                if bad & {"first", "all"}:
                    # the embedder cannot read this session's request: classified from what was done and the
                    # lexicons, as without an embedder (a noise vector would pick a mode or a group at random)
                    unread.add(i)
                    continue
                for k, s in t.items():
                    if s and k not in bad:  # an unreadable later text alone (a last "thanks" in Hindi) is left out
                        flat.append(s)
                        where.append((i, k))
            if flat:
                mat = self._emb.encode(flat)
                for (i, k), v in zip(where, mat, strict=True):
                    vecs[i][k] = v
            for v in vecs:  # "all" is read in short chunks (cheaper than one long text): their mean direction
                more = [v.pop(k) for k in [k for k in v if k.startswith("all.")]]
                if more and "all" in v:
                    m = v["all"] + np.sum(more, axis=0)
                    v["all"] = m / (float(np.linalg.norm(m)) or 1.0)
        return [self._one(ev, f, v, i in unread) for i, (ev, f, v) in enumerate(zip(batch, feats, vecs, strict=True))]

    # -- one session ---------------------------------------------------------------------------------
    def _one(self, ev: SessionEvidence, f: Features, vec: dict[str, np.ndarray], unread: bool = False) -> Facets:
        if (not f.substantive or unread) and f.n_actions == 0:
            # nothing asked (no prompt with content: only slash commands, greetings or wrappers) and nothing done:
            # no mode, expertise or value can be read from it; the explicit abstention (in no mode's share)
            # rather than the first mode with confidence 1/9 and a software wage. The same for a request in a
            # language the embedder cannot read (``unread``) with nothing done: the lexicons' default (build,
            # expertise 2) would be a guess stored as a finding; a session with actions is classified from them
            from codecensus.classify.llm import abstention

            return abstention("unreadable_request" if f.substantive else human_request_reason(ev))
        protos = self._prototypes() if (self._emb is not None and vec) else None
        mode, mode_conf, mode_scores = self._mode(ev, f, vec, protos)
        occ, occ_conf, occ_reason = self._occupation(ev, f, vec, protos)
        level, exp_conf = self._expertise(f, vec, protos)
        out = self._outcome(ev, f, vec, protos)
        plan_pct, exec_pct = decisions(ev, f)
        hours = estimate_hours(ev, f)
        soc = value_soc_for(mode, occ, f)
        summary = offline_summary(ev, f, mode)
        return Facets(
            mode=mode,
            mode_confidence=round(mode_conf, 3),
            occupation=occ,
            occupation_confidence=round(occ_conf, 3),
            expertise=level,
            expertise_confidence=round(exp_conf, 3),  # expertise None: abstained, confidence 0
            outcome=out.label,
            outcome_confidence=round(out.confidence, 3),
            outcome_score=round(out.score, 4),
            outcome_evidence=out.evidence,  # type: ignore[arg-type]
            trouble=out.trouble,
            recovered=out.recovered,
            abandoned=out.abandoned,
            user_planning_pct=round(plan_pct, 1),
            user_execution_pct=round(exec_pct, 1),
            value_hours=round(hours, 3),
            value_soc=soc,
            summary=summary,
            expertise_reason=None if level is not None else human_request_reason(ev),
            occupation_reason=occ_reason,
            outcome_reason=out.reason,
        )

    # -- §2 work mode -------------------------------------------------------------------------------
    def _mode(
        self, ev: SessionEvidence, f: Features, vec: dict[str, np.ndarray], protos: dict[str, _Protos] | None
    ) -> tuple[str, float, dict[str, float]]:
        votes = mode_votes(ev, f)
        ez: np.ndarray | None = None
        if protos is not None:
            zs = [_z(protos["mode"].sims(vec[k])) for k in ("first", "all") if k in vec]
            if zs:
                ez = np.mean(zs, axis=0)
        i_plan, i_write = MODE_KEYS.index("plan"), MODE_KEYS.index("write")
        if ez is not None and votes.get("write", 0.0) > 0 and ez[i_plan] > ez[i_write]:
            # a document whose name does not say what it is (prose, not a plan file): a design document, spec or
            # roadmap when the request asks for a plan rather than for writing (taxonomy §2: plan vs write)
            votes["plan"] = votes.get("plan", 0.0) + votes.pop("write")
        i_an, i_build = MODE_KEYS.index("analyze"), MODE_KEYS.index("build")
        if (
            ez is not None
            and votes.get("build", 0.0) > 0
            and int(np.argmax(ez)) == i_an
            and ez[i_an] - ez[i_build] >= ANALYSIS_REQUEST_MARGIN
            and f.modified_code == 0
            and not (f.substantive and _turn_kind(f, f.substantive[0]) == "fix")
        ):
            # new scripts or pages written for a request that clearly reads as data analysis are the means of that
            # analysis, not a new program (taxonomy §2 analyze: queries, statistics, charts, notebooks, reports on
            # data); not when existing code was changed or the request reports a problem (work on a codebase)
            votes["analyze"] = votes.get("analyze", 0.0) + votes.pop("build")
        total = sum(votes.values())
        score = np.zeros(len(MODE_KEYS), dtype=np.float64)
        damp = total / (total + STRUCT_DAMP) if total > 0 else 0.0
        if total > 0:
            score += W_STRUCT * damp * np.array([votes.get(m, 0.0) / total for m in MODE_KEYS])
        if ez is not None:
            # automation words (agents, workflows, bots) are often the *topic* of a request about the agent tool
            # itself: unless the session produced automation (CI or agent configuration), they count only partly
            for m, factor in EMB_TOPICAL.items():
                j = MODE_KEYS.index(m)
                if votes.get(m, 0.0) <= 0 and ez[j] > 0:
                    ez[j] *= factor
            score += W_EMB * (1.0 - (1.0 - EMB_AT_FULL_ACTIVITY) * damp) * ez
        idx = {m: i for i, m in enumerate(MODE_KEYS)}
        code_changed = f.created_code + f.modified_code + f.changed["test"] > 0
        subs = [f.signals[i] for i in f.substantive]
        first = subs[0] if subs else None
        if first is not None and first.error_paste:
            score[idx["fix"]] += B_ERROR_PASTE
        n_changes = sum(f.changed.values()) - f.changed["memory"]
        # by volume: the share of the session's changes that follow an error, not a single such edit
        score[idx["fix"]] += B_EDITS_AFTER_ERROR * min(1.0, f.edits_after_error / max(3, n_changes))
        if n_changes == 0 and (f.reads + f.searches + f.web + f.commands["explore"]) > 0:
            score[idx["understand"]] += B_NO_CHANGE_UNDERSTAND
        if subs:
            # questions asked while the session changes things are part of that work: the bonus fades with it
            work = total - votes.get("understand", 0.0)
            score[idx["understand"]] += (
                B_QUESTIONS * sum(s.question for s in subs) / len(subs) * (STRUCT_DAMP / (work + STRUCT_DAMP))
            )
        if f.plan_mode and not any(c for k, c in f.changed.items() if k not in ("plan", "memory")):
            score[idx["plan"]] += B_PLAN_MODE  # a plan, and nothing done after it (§2: "without doing it")
        ops = f.commands["ops"] + f.commands["install"] + f.commands["git"] + f.commands["deploy"]
        if not code_changed:
            score[idx["operate"]] += B_OPS_NO_CODE * min(1.0, ops / 5)
        p = _softmax(score, MODE_TEMPERATURE)
        best = int(np.argmax(score))
        return MODE_KEYS[best], float(p[best]), {m: float(score[i]) for m, i in idx.items()}

    # -- §5 occupation ------------------------------------------------------------------------------
    def _occupation(
        self, ev: SessionEvidence, f: Features, vec: dict[str, np.ndarray], protos: dict[str, _Protos] | None
    ) -> tuple[str, float, str | None]:
        """The group, its confidence, and why it is not inferable (taxonomy.ABSTENTION_REASONS; None: inferred)."""
        subs = [f.signals[i] for i in f.substantive]
        words = sum(s.words for s in subs)
        if words < OCC_MIN_WORDS:
            return NOT_INFERABLE, 0.9, human_request_reason(ev)
        code_tokens = sum(s.code_tokens for s in subs)
        # code work: source, test or CI files changed, or tests run (files of unknown type are not evidence)
        code_changed = (f.changed["code"] + f.changed["test"] + f.changed["ci"]) > 0 or f.commands["test"] > 0
        # a session whose product is prose or data (documents, course material, reports) is not software work
        # for its own sake, however technical its vocabulary or tooling: only the content's domain names a group
        non_code_product = not code_changed and (f.changed["prose"] + f.changed["data"] + f.changed["plan"]) > 0
        code_work = code_changed or (
            not non_code_product and f.commands["build"] + f.dev_installs >= OCC_MIN_DEV_COMMANDS
        )
        software = code_work or (code_tokens >= OCC_SOFTWARE_CODE_TOKENS and not non_code_product)
        z = None
        if protos is not None and "all" in vec:
            z = _z(protos["occ"].sims(vec["all"]))
            keys = protos["occ"].keys
            i15 = keys.index(SOFTWARE_SOC)
            order = [int(i) for i in np.argsort(z)[::-1]]
            top = order[0] if order[0] != i15 else order[1]
            second = next(i for i in order if i != top)
            z_min, gap_min, margin_min, z_soft = OCC_THRESHOLDS.get(self._emb_name, OCC_THRESHOLDS_DEFAULT)
            if (
                words >= OCC_MIN_WORDS_OTHER
                and z[top] >= z_min
                and z[top] - z[second] >= gap_min
                and z[top] - z[i15] >= margin_min + (OCC_CODE_WORK_MARGIN if code_work else 0.0)
            ):
                conf = min(0.95, 0.5 + 0.2 * float(z[top] - z[second]))
                return keys[top], conf, None
            if software:
                return SOFTWARE_SOC, 0.8 if code_work else 0.6, None
            tech = sum(s.tech_words for s in subs)
            # without code work: group 15 by text (its z-score) and some tech vocabulary
            if z[i15] >= z_soft and tech >= 2 and not non_code_product:
                return SOFTWARE_SOC, 0.5, None
            return NOT_INFERABLE, 0.6, "thin_evidence"
        if software:
            return SOFTWARE_SOC, 0.7 if code_work else 0.5, None
        return NOT_INFERABLE, 0.5, "thin_evidence"

    # -- §4 expertise -------------------------------------------------------------------------------
    def _expertise(
        self, f: Features, vec: dict[str, np.ndarray], protos: dict[str, _Protos] | None
    ) -> tuple[int | None, float]:
        subs = [f.signals[i] for i in f.substantive]
        if not subs:
            # expertise is judged from the human's side only (§4): with no substantive prompt there is nothing
            # to judge (a level here was a guess that went into every by-expertise figure); it abstains
            return None, 0.0
        prec = [
            min(1.0, math.log1p(s.code_tokens + 0.5 * s.tech_words + 0.5 * min(s.constraints, 4) + 2 * s.acceptance)
                / math.log(12))
            * min(1.0, 0.4 + s.words / 60)
            * (EXP_PASTED_ERROR_FACTOR if s.error_paste else 1.0)
            for s in subs
        ]
        precision = 0.5 * max(prec) + 0.5 * (sum(prec) / len(prec))
        n_verify = sum(s.verify for s in subs)
        verify = EXP_VERIFY[1] if n_verify >= 2 else EXP_VERIFY[0] if n_verify == 1 else 0.0
        later = [f.signals[i] for i in f.substantive if i > 0]
        corrections = min(2.0, sum(s.correction for s in later) + 0.5 * f.rejections)
        novice = min(2, sum(s.novice for s in subs))
        vague = min(2, sum(1 for s in later if s.complaint and s.code_tokens == 0 and not s.error_paste and s.words < 10))
        e = (
            EXP_BASE
            + EXP_PRECISION * precision
            + verify
            + EXP_CORRECTION * corrections
            + EXP_NOVICE_QUESTION * novice
            + EXP_VAGUE_COMPLAINT * vague
        )
        if protos is not None and "all" in vec:
            s = protos["exp"].sims(vec["all"])
            spread = float(protos["mode"].sims(vec["all"]).std()) or 1.0
            contrast = float(np.clip((s[1] - s[0]) / (2 * spread), -1.0, 1.0))  # keys: novice, expert
            e += EXP_EMB * contrast
        if not (novice or vague):
            e = max(e, EXP_FLOOR_WITHOUT_NOVICE_MARKERS)  # level 1 needs an explicit novice marker (§4)
        level = int(min(5, max(1, round(e))))
        conf = max(0.2, 1.0 - 2 * abs(e - round(e))) * min(1.0, 0.4 + 0.2 * len(subs))
        return level, min(0.95, conf)

    # -- §3 outcome ---------------------------------------------------------------------------------
    def _outcome(
        self, ev: SessionEvidence, f: Features, vec: dict[str, np.ndarray], protos: dict[str, _Protos] | None
    ) -> _Outcome:
        return outcome(ev, f, vec, protos)


@dataclass(slots=True)
class _Outcome:
    label: str
    score: float
    confidence: float
    evidence: list[str]
    trouble: bool
    recovered: bool
    abandoned: bool
    reason: str | None = None  # why the label is 'unclear' (taxonomy.ABSTENTION_REASONS)


def _turn_kind(f: Features, prompt_index: int) -> str:
    """'fix', 'build' or '' for a prompt's turn: what its request asks for (error/complaint → fix)."""
    if not (0 <= prompt_index < len(f.signals)):
        return ""
    s = f.signals[prompt_index]
    if s.defer and prompt_index > 0:  # "continue": same kind as the request before
        return _turn_kind(f, prompt_index - 1)
    if s.error_paste or s.complaint or (s.fix_intent and not s.add_intent):
        return "fix"
    if s.add_intent and not s.fix_intent:
        return "build"
    return ""


# jq, the JSON filter: not a data-analysis tool by itself (§2 analyze: queries, statistics, charts, notebooks)
_JQ_CALL = re.compile(r"\bjq\b")
# plan files the harness writes in plan mode (Claude Code ~/.claude/plans/, Cursor .cursor/plans/)
_HARNESS_PLAN = re.compile(r"(^|[/\\])\.(claude|cursor)[/\\]plans[/\\]", re.I)


def mode_votes(ev: SessionEvidence, f: Features) -> dict[str, float]:
    """The work ledger: votes per mode from successful changes, commands and tool categories.

    A code change votes *build* when the file is created in the session, or when the request of its turn
    asks for something new; it votes *fix* when the turn's request reports an error or a complaint or asks
    to change existing behaviour, or when the edit follows a failing command or test; an edit of an
    existing file with no such signal votes fix (modifies existing code).

    Test files vote *test* only when they outnumber the session's code files; otherwise they are part of the
    feature or repair they come with and their votes go to build and fix in proportion. Plan mode (its calls
    and the plan files the harness writes for it) votes *plan* fully only when nothing else was changed.
    A command that is "data" only because of jq counts as what it is without jq.
    """
    votes: Counter[str] = Counter()
    code_changed = f.created_code + f.modified_code > 0
    # tests are the session's product (test mode) only when its test files outnumber its code files; otherwise
    # they are part of the feature or repair they come with (TDD is build or fix: taxonomy §2, labelling guide)
    tests_main = f.changed["test"] > f.changed["code"] * TEST_FILES_MAIN_RATIO
    code_tests = 0.0
    plan_mode = 0.0
    counted: set[str] = set()
    created: set[str] = set()
    seen: set[str] = set()
    since_error = 99
    session_kind = _turn_kind(f, f.substantive[0]) if f.substantive else ""  # a neutral turn continues the task
    for a in ev.actions:
        failed = (a.is_error and not a.rejected and not a.interrupted) or (
            a.is_test and (a.test_status == "fail" or bool(a.is_error))
        )
        path = changed_path(a)
        if path is not None:
            fc = file_class(path)
            is_new = a.file_op == "create" or (a.file_op is None and a.category != "edit" and path not in seen)
            if is_new:
                created.add(path)
            seen.add(path)
            mode, w = CHANGE_VOTES.get(fc, ("", 0.0))
            if fc == "plan" and _HARNESS_PLAN.search(path):
                mode, w = "plan-mode", HARNESS_PLAN_VOTES  # plan mode's own record of its plan, not a deliverable
            if fc == "test" and code_changed and not tests_main:
                mode = "code-tests"  # shared out at the end in proportion to the build and fix votes
            if fc == "config" and code_changed:
                continue
            if fc in ("plan", "prose") and code_changed:
                w *= DOCS_WITH_CODE  # the plan and the docs of code work are part of it
            if mode == "build|fix":
                kind = _turn_kind(f, a.prompt_index) or session_kind
                if path in created:
                    mode = "build"
                elif since_error <= 3 or kind == "fix":
                    mode = "fix"
                elif kind == "build":
                    mode = "build"
                else:
                    mode = "build|fix"  # an edit with no signal either way: adding to or changing existing code
            if mode:
                # repeated edits of one file count with diminishing weight
                w = w if path not in counted else w * 0.3
                if mode == "code-tests":
                    code_tests += w
                elif mode == "plan-mode":
                    plan_mode += w
                elif mode == "build|fix":
                    votes["build"] += w * NEUTRAL_EDIT_BUILD_SHARE
                    votes["fix"] += w * (1.0 - NEUTRAL_EDIT_BUILD_SHARE)
                else:
                    votes[mode] += w
                counted.add(path)
        elif a.category == "shell":
            cc = command_class(a.command, is_test=a.is_test, is_commit=a.is_commit, is_push=a.is_push,
                               is_deploy=a.is_deploy)
            if cc == "data" and _JQ_CALL.search(a.command or ""):
                # jq filters JSON (API responses, cloud and container tool output) in every kind of work: such a
                # command is what it is without jq (analysis only when another data tool is in it)
                cc = command_class(_JQ_CALL.sub(" ", a.command or ""))
            mode, w = COMMAND_VOTES.get(cc, ("", 0.0))
            if mode == "operate" and cc in ("install", "git") and code_changed:
                w *= OPS_WITH_CODE  # installing dependencies and committing are part of the code work
            elif cc == "test" and code_changed:
                w *= TEST_RUNS_WITH_CODE  # running the tests of one's own code is verification (TDD is build/fix)
            if mode:
                votes[mode] += w
        elif a.category == "read" and a.file_path:
            seen.add(a.file_path)
            if file_class(a.file_path) == "data":
                votes["analyze"] += 0.3
            else:
                votes["understand"] += CATEGORY_VOTES["read"][1]
        else:
            mode, w = CATEGORY_VOTES.get(a.category, ("", 0.0))
            if a.category == "plan":
                plan_mode += w
            elif mode:
                votes[mode] += w
        since_error = 0 if failed else since_error + 1
    # plan mode is a means of the work that follows it: a plan counts fully only when nothing else was changed
    # ("designs a change ... without doing it", taxonomy §2)
    did_work = any(c for k, c in f.changed.items() if k not in ("plan", "memory"))
    if plan_mode:
        votes["plan"] += plan_mode * (PLAN_MODE_WITH_CHANGES if did_work else 1.0)
    if code_tests:
        code = votes["build"] + votes["fix"]
        for m in ("build", "fix"):
            votes[m] += code_tests * (votes[m] / code if code > 0 else 0.5)
    # reading, searching and exploring are the means of any work: they count fully only when nothing changed
    changes = sum(v for m, v in votes.items() if m != "understand")
    if changes > 0 and "understand" in votes:
        votes["understand"] *= READING_WITH_CHANGES
    return dict(votes)


def autonomous_outcome_z(r: RunFeatures, f: Features) -> float:
    """Logit contribution of an autonomous run's final state (0 for sessions with human feedback)."""
    if not r.autonomous:
        return 0.0
    if r.not_started or r.steps == 0:
        return OUT_AUTO_NO_WORK
    z = OUT_AUTO_LIMIT * r.limit_hit + OUT_AUTO_EMPTY_PATCH * bool(r.submission_empty)
    if r.last_check == "pass":
        z += OUT_AUTO_CHECK_PASS
    elif r.last_check == "fail":
        z += OUT_AUTO_CHECK_FAIL
    changed = f.last_change >= 0
    z += OUT_AUTO_UNVERIFIED * (r.edits_after_last_check > 0 or (changed and r.checks == 0))
    z += OUT_AUTO_FAIL_STREAK * min(r.fail_streak_at_end, 3) + OUT_AUTO_REPEATED_FAIL * min(r.repeated_failures, 4)
    z += OUT_AUTO_REVERT * min(r.reverts, 3) + OUT_AUTO_TOOL_ERRORS * min(f.tool_errors, 5)
    z += OUT_AUTO_CLAIM * r.claims_success + OUT_AUTO_GIVE_UP * r.gives_up
    # effort: long struggles fail more. Steps and words of output (what the agent generated: replies, code,
    # commands; taxonomy §1) each as a clipped log ratio to a typical resolved run, averaged
    effort = [min(1.5, max(-1.0, math.log(max(r.steps, 1) / OUT_AUTO_STEPS_REF)))]
    if r.output_words > 0:
        effort.append(min(1.5, max(-1.0, math.log(r.output_words / OUT_AUTO_WORDS_REF))))
    z += OUT_AUTO_STEPS * sum(effort) / len(effort)
    if r.steps < OUT_AUTO_FEW_STEPS and r.tokens > 0:
        z += OUT_AUTO_TOKENS * min(1.5, max(-1.0, math.log(r.tokens / OUT_AUTO_TOKENS_REF)))
    return z


def outcome(
    ev: SessionEvidence, f: Features, vec: dict[str, np.ndarray] | None = None, protos: dict[str, _Protos] | None = None
) -> _Outcome:
    """Outcome label, P(success) score, hard evidence and trouble flags (taxonomy §3)."""
    subs = f.substantive
    nothing_done = f.n_actions == 0 and f.n_replies == 0
    # feedback prompts: substantive prompts after the first ("ok"/"continue" carry no feedback)
    feedback = [i for i in subs if i > 0 and not f.signals[i].defer]
    last_fb = feedback[-1] if feedback else None
    complaint_idx = [i for i in feedback if f.signals[i].complaint]
    # a pasted error is a complaint when it repeats a problem (an earlier complaint or pasted error)
    pasted = [i for i in feedback if f.signals[i].error_paste]
    complaint_idx += [i for i in pasted[1:] if i not in complaint_idx]
    if pasted and complaint_idx and pasted[0] not in complaint_idx and min(complaint_idx) < pasted[0]:
        complaint_idx.append(pasted[0])
    confirm_idx = [i for i in feedback if f.signals[i].confirm]
    ack_last = last_fb is not None and f.signals[last_fb].ack and last_fb not in complaint_idx
    if protos is not None and vec and "last" in vec and last_fb is not None:
        s = protos["fb"].sims(vec["last"])  # keys: confirm, complain
        spread = float(protos["mode"].sims(vec["last"]).std()) or 1.0
        d = (s[0] - s[1]) / spread
        if d > FB_EMB_MARGIN and last_fb not in complaint_idx:
            ack_last = True
        elif (
            d < -FB_EMB_MARGIN_COMPLAINT
            and f.signals[last_fb].words <= FB_EMB_COMPLAINT_MAX_WORDS
            and last_fb not in confirm_idx
            and last_fb not in complaint_idx
        ):
            complaint_idx.append(last_fb)
    last_confirm = max(confirm_idx) if confirm_idx else -1
    last_complaint = max(complaint_idx) if complaint_idx else -1
    final_complaint = last_fb is not None and last_complaint == last_fb
    change_turn = ev.actions[f.last_change].prompt_index if f.last_change >= 0 else -1
    # explicit confirmation of the final state: after the last change, and no complaint after it
    confirmed = last_confirm > last_complaint and last_confirm > change_turn and f.activity_after_first
    changed_after_complaint = final_complaint and change_turn >= last_complaint

    evidence: list[str] = []
    if f.last_change >= 0 and f.commit_after_change:
        evidence.append("commit")
    if f.tests_pass_after_change and not f.tests_fail_after_change:
        evidence.append("tests_pass")
    if confirmed:
        evidence.append("user_confirmed")

    run = run_features(ev, f)
    submitted = run.autonomous and (run.status or "").lower() == "submitted"
    z = OUT_BASE
    # an autonomous run's tests are read once, as its final verification state (autonomous_outcome_z): the
    # session-level test terms would count the same evidence twice
    human = not run.autonomous
    z += OUT_TESTS_PASS * ("tests_pass" in evidence) * human
    z += OUT_COMMIT * ("commit" in evidence)
    z += OUT_CONFIRM * confirmed
    z += OUT_ACK * (ack_last and not confirmed)
    if final_complaint:
        z += OUT_FINAL_COMPLAINT_ADDRESSED if changed_after_complaint else OUT_FINAL_COMPLAINT
    z += OUT_ERRORS_AT_END * f.errors_at_end
    z += OUT_TESTS_FAIL_AT_END * f.tests_fail_after_change * human
    z += OUT_INTERRUPTED_AT_END * f.interrupted_at_end
    z += OUT_API_ERROR_AT_END * f.api_error_at_end
    z += OUT_UNANSWERED * (not f.last_turn_concluded and not submitted)  # a submission concludes a run
    z += OUT_NEGATIVE_REPLY * f.negative_final_reply
    z += autonomous_outcome_z(run, f)
    p = _sigmoid(z)

    corrections = sum(1 for i in feedback if f.signals[i].correction)
    trouble = (
        f.tool_errors >= 3 or f.tests_failed >= 2 or bool(complaint_idx) or corrections > 0 or f.rejections >= 2
        or f.interrupts >= 2
    )
    answered_any = f.n_actions > 0 or f.n_replies > 0
    # unclear: nothing done, or the transcript stops before any result (no turn was concluded)
    reason: str | None = None
    if run.autonomous and run.not_started:
        # a benchmark agent that never ran (its install failed) or did nothing: the task was not done at all
        label = "failure"
        conf = 0.8
    elif nothing_done or not subs or not answered_any or (not f.last_turn_concluded and not f.earlier_answered):
        label = "unclear"
        conf = 0.6 if nothing_done else 0.4
        reason = ("nothing_done" if nothing_done or not answered_any else human_request_reason(ev) if not subs
                  else "no_result")
    elif p >= OUT_SUCCESS_AT:
        label = "verified_success" if evidence and not final_complaint else "success"
        conf = p
    elif p < OUT_FAILURE_BELOW and f.last_turn_concluded:
        label = "failure"
        conf = 1 - p
    else:
        label = "partial"
        conf = 1 - abs(p - (OUT_SUCCESS_AT + OUT_FAILURE_BELOW) / 2) * 2
    recovered = trouble and label in ("verified_success", "success")
    abandoned = trouble and (label == "failure" or (label == "partial" and (final_complaint or f.errors_at_end > 0
                                                                            or f.interrupted_at_end)))
    return _Outcome(label, p, float(min(0.95, max(0.2, conf))), evidence, trouble, recovered, abandoned, reason)


def decisions(ev: SessionEvidence, f: Features) -> tuple[float, float]:
    """Share of planning and execution decisions made by the user (taxonomy §6), in %.

    Planning decisions by the user: one per substantive directive, plus its constraints (half each, max 3),
    acceptance criteria and corrections; answers to the agent's questions (AskUserQuestion) count half.
    By the agent: planning in plan mode or in plan files (2), its own task lists (1), prompts where the user
    only defers ("ok", "continue": half each) and ln(1 + actions per prompt) / 2 for autonomous stretches.
    Execution decisions by the user: distinct code tokens it names (files, commands, identifiers); by the
    agent: distinct files changed plus half the commands it ran. Both shares use add-half smoothing.
    """
    subs = [f.signals[i] for i in f.substantive]
    u_plan = sum(1 + 0.5 * min(s.constraints, 3) + s.acceptance + (s.correction and i > 0)
                 for i, s in zip(f.substantive, subs, strict=True)) + 0.5 * f.asks
    defers = sum(1 for s in f.signals if s.defer)
    plan_files = f.changed["plan"]
    a_plan = (2.0 if (f.plan_mode or plan_files) else 0.0) + (1.0 if f.todos else 0.0) + 0.5 * defers
    a_plan += 0.5 * math.log1p(f.n_actions / max(1, f.n_prompts))
    planning = 100.0 * (u_plan + 0.5) / (u_plan + a_plan + 1.0)
    u_exec = sum(s.code_tokens for s in subs)
    files_changed = sum(f.changed.values())
    a_exec = files_changed + 0.5 * sum(f.commands.values())
    execution = 100.0 * (u_exec + 0.5) / (u_exec + a_exec + 1.0)
    return float(min(100.0, max(0.0, planning))), float(min(100.0, max(0.0, execution)))


# --- §8 summary -----------------------------------------------------------------------------------------
_BASE_FORM = {
    "writes": "write", "repairs": "repair", "modifies": "modify", "runs": "run", "builds": "build",
    "explains": "explain", "explores": "explore", "answers": "answer", "designs": "design", "analyses": "analyse",
}


def _verb_phrase(description: str) -> str:
    head = re.split(r"[:;]", description)[0]
    words = []
    for w in head.split():
        core = w.rstrip(",")
        words.append(_BASE_FORM.get(core, core) + w[len(core):])
    return " ".join(words)


#: The offline summary's mode clause per work mode ("The user asked the agent to <phrase> (topics: ...)."): public,
#: the cluster stage drops it before counting a summary's words (its words say the mode, not a topic)
MODE_SUMMARY_PHRASE = {m.key: _verb_phrase(m.description) for m in WORK_MODES}
_STOP = frozenset(
    """the and for with this that from have what when where which while your you are was were will would could
    should can please into them then than there their about also just make need want like some more most other
    only very much many such here does done dont doesnt cant wont isnt using used use file files code thing things
    something anything everything work working works now still again want wants let lets okay yes sure thanks
    thank help give take look see check sure able after before over under into onto each every all any been being
    because does did doing how why who whom its it's i'm i've i'd we're they're don't can't won't isn't aren't""".split()
)


# Words of the prototype texts that name no topic: verbs, adverbs, adjectives and vague nouns ("asked the agent to
# write prose (topics: budget, apply, research)" named the topic "Write apply, grant and proposal").
_NOT_TOPICS = frozenset(
    """analyze apply approach automate automatically back based behave break calculate case cases change changes
    click compare compute configure cover create current debug decide detailed diagnose discuss doesn draft
    edit edge empty estimate estimates evaluate everywhere evict existing explain explore fill find handle handled
    happened hour idea implement implementing improve increase keeps left line load manage migrate mode monthly needed
    night nothing numbers open optimize options organize part pass possible prepare process produce propose push
    quarterly question questions read reconcile remove rename repair restart restarting returns review rotate runs
    save saves scheduled sends show simple simulate start status summarize syncs terms these through toggle tracks
    technical behaviour train translate uninstall walk write""".split()
)


def _generic_vocab() -> frozenset[str]:
    from codecensus.classify.prototypes import MODE_EXAMPLES, OCCUPATION_EXAMPLES
    from codecensus.classify.text import _TECH_WORDS

    words: set[str] = set(_TECH_WORDS) | set(GENERIC_TOPICS)
    for group in (MODE_EXAMPLES, OCCUPATION_EXAMPLES):
        for texts in group.values():
            for t in texts:
                words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", t))
    return frozenset(w for w in words if w not in _STOP and w not in _NOT_TOPICS)


# Generic topic words a summary may name (anything else could identify a person, project or product).
GENERIC_TOPICS = tuple(
    """app apps website web page pages site landing dashboard login signup auth authentication account user users
    profile settings button form forms modal menu navbar sidebar layout theme style styles design responsive mobile
    android ios desktop extension plugin bot chatbot agent agents workflow pipeline script scripts tool tools
    library package module component components service services server backend frontend database table tables
    query queries index schema migration model models api endpoint endpoints webhook payment payments checkout cart
    order orders invoice email emails notification notifications message messages chat search filter sort upload
    download export import report reports chart charts graph graphs analytics metrics statistics data dataset
    spreadsheet csv excel notebook pdf document documents documentation readme docs guide tutorial blog post posts
    article articles essay paper thesis presentation slides resume letter contract proposal plan roadmap spec
    architecture refactor bug bugs error errors crash performance memory cache security permissions config
    configuration environment docker container deployment deploy hosting domain dns network router server logs
    monitoring backup git github commit branch merge test tests testing coverage lint build compile install
    dependencies upgrade update version release game games music audio video image images photo camera map maps
    calendar booking schedule timer weather translation language prompt prompts memory skill skills terminal shell
    keyboard shortcuts editor vim neovim dotfiles wallet blockchain token contract contracts smart crypto trading
    finance budget marketing sales customer customers students course lesson exam school research experiment
    simulation training inference classifier recommendation scraper crawler automation cron scheduler queue""".split()
)
_VOCAB: frozenset[str] | None = None


_VOCAB_WORD = re.compile(r"[A-Za-z]{3,}")


def offline_summary(ev: SessionEvidence, f: Features, mode: str) -> str:
    """A generic one-sentence summary: the work mode plus up to three generic topics.

    Only words from a fixed generic vocabulary can appear, so no name, product, place or secret can leak;
    the run driver still passes the result through the redactor. A topic is one such word, or two of them the
    prompts write next to each other ("landing page", "docker compose", "grant proposal") when at least half of
    the word's uses are in that pair: the topic names built from the summaries can then say "landing page"
    where they listed "landing" and "page" as two topics.
    """
    global _VOCAB
    if _VOCAB is None:
        _VOCAB = _generic_vocab()
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for i in f.substantive:
        text = f.signals[i].text[:2000]
        prev: re.Match[str] | None = None
        for m in _VOCAB_WORD.finditer(text):
            lw = m.group(0).lower()
            if lw not in _VOCAB:
                prev = None
                continue
            words[lw] += 1
            if prev is not None and text[prev.end() : m.start()] in (" ", "-") and prev.group(0).lower() != lw:
                pairs[f"{prev.group(0).lower()} {lw}"] += 1
            prev = m
    topics: list[str] = []
    for w, n in words.most_common(3):
        if any(w in t.split(" ") for t in topics):
            continue  # already said by a pair
        pair = max(((k, p) for p, k in pairs.items() if w in p.split(" ") and 2 * k >= n), default=None)
        topics.append(pair[1] if pair is not None else w)
    phrase = MODE_SUMMARY_PHRASE.get(mode, mode)
    if topics:
        return f"The user asked the agent to {phrase} (topics: {', '.join(topics)})."
    return f"The user asked the agent to {phrase}."


def _session_texts(ev: SessionEvidence, f: Features) -> dict[str, str]:
    """What the embedder reads: the first substantive prompt, all of them, and the last feedback prompt.

    Embedding cost grows super-linearly with text length, so every text is short (the gist of a request is in
    its first lines): each prompt is cut to EMB_CHARS_ALL characters, and "all" (the cut prompts joined) is
    embedded as up to EMB_ALL_CHUNKS chunks of that size (keys "all", "all.1", ...) whose mean vector stands
    for it. A single-prompt session embeds one text: "first" and "all" are the same string.
    """
    subs = f.substantive
    if not subs:
        return {}
    clean = [f.signals[i].text[:EMB_CHARS_ALL] for i in subs]
    joined = " ".join(clean)
    out = {"first": clean[0][:EMB_CHARS_FIRST], "all": joined[:EMB_CHARS_ALL]}
    for j in range(1, EMB_ALL_CHUNKS):
        out[f"all.{j}"] = joined[EMB_CHARS_ALL * j : EMB_CHARS_ALL * (j + 1)]
    later = [c for i, c in zip(subs, clean, strict=True) if i > 0]
    if later:
        out["last"] = later[-1][:EMB_CHARS_LAST]
    return {k: v for k, v in out.items() if v.strip()}


__all__ = ["WEIGHTS", "OfflineBackend", "decisions", "mode_votes", "offline_summary", "outcome", "rubric_hash"]
