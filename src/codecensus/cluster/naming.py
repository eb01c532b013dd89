"""Stage 3: cluster names and descriptions.

Offline (default): class-based TF-IDF (BERTopic's c-TF-IDF) over the summaries
of each cluster against the other clusters of the same level gives ranked
keyphrases; the best non-overlapping ones are turned into a short imperative
name led by the cluster's dominant work mode ("Fix React form state and
vitest tests"). A keyphrase may only appear in a name when at least
``min_users`` distinct users and ``min_sessions`` sessions used it anywhere in
the corpus (k-anonymous vocabulary), and when the redactor leaves it unchanged;
names never quote a summary.

With an LLM: Clio's contrastive labelling (App. G.5): the model sees sampled
summaries from inside the cluster and the summaries outside it nearest to its
centroid, and answers a name of at most ten words plus a two-sentence
description. The model is reached through a plain ``complete(prompt) -> str``
callable, so tests inject recorded answers.
"""

from __future__ import annotations

import functools
import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from codecensus.cluster.model import IntArray
from codecensus.redact.entities import KINDS
from codecensus.taxonomy import WORK_MODES

Complete = Callable[[str], str]
"""An LLM call: prompt in, completion text out (no system prompt, no prefill)."""

MAX_NAME_WORDS = 10
#: Characters kept of an LLM's name and description: ten words of a runaway answer (a 100,000-character "word")
#: were stored, released and printed whole.
MAX_NAME_CHARS = 120
MAX_DESCRIPTION_CHARS = 600

# --------------------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------------------

_TOKEN_BODY = r"[A-Za-z][A-Za-z0-9]*(?:[._+#/\-][A-Za-z0-9]+)*[+#]*"
TOKEN_PATTERN = r"(?u)" + _TOKEN_BODY

_FUNCTION_WORDS = """
a about above across after again against all almost alone along already also although always am among an and
another any anyhow anyone anything anyway anywhere are around as at be became because become becomes been
before beforehand behind being below beside besides between beyond both but by can cannot could did do does doing
done down due during each either else elsewhere enough etc even ever every everyone everything everywhere except
few for former formerly from further had has have having he hence her here hers herself him himself his how however
i ie if in indeed into is it its itself just keep last latter least less many may me meanwhile might mine more
moreover most mostly much must my myself namely neither never nevertheless next no nobody none nor not nothing now
nowhere of off often on once only onto or other others otherwise our ours ourselves out over own per perhaps please
quite rather really same seem seemed seeming seems she should since so some somehow someone something sometime
sometimes somewhere still such than that the their theirs them themselves then thence there thereafter thereby
therefore therein thereupon these they this those though through throughout thru thus to together too toward towards
under until up upon us very via was we well were what whatever when whence whenever where whereafter whereas whereby
wherein whereupon wherever whether which while whither who whoever whole whom whose why will with within without
would yet you your yours yourself yourselves
"""

#: Words of the summary templates and of the request itself: present in every cluster, never a topic.
_DOMAIN_WORDS = """
user users agent agents assistant assistants model claude asked ask asks asking wanted wants want need needed needs
request requested requests requesting session sessions summary conversation task tasks work works worked working
help helped helping using use used uses make makes made making get gets got getting new existing based related
specific various several multiple different one two three including include includes included thing things stuff
way ways issue issues problem problems something someone code file files project projects change changes changed
look looked looking try tried trying let lets go going able sure like topic topics
doesn isn didn wasn aren couldn wouldn shouldn hasn haven hadn weren won don ain
read reads reading find finds finding show shows showing open opens remove removed removing delete deleted
deleting move moved moving save saved saving send sent sending print printed printing

fix fixed fixes fixing repair repaired repairing build built builds building create created creates creating
implement implemented implements implementing add added adds adding write wrote writes writing written explain
explained explains explaining plan planned plans planning analyze analyzed analyzes analyzing analyse analysed
analysing understand understood understanding review reviewed reviewing update updated updates updating improve
improved improving set setting run ran runs running operate operated operating orchestrate orchestrated automate
automated automating modify modified modifying debug debugged debugging resolve resolved resolving configure
configured configuring deploy deployed deploying summarize summarized summarizing summarise summarised compute
computed computing cover covered covering draft drafted drafting explore explored exploring answer answered
answering investigate investigated investigating diagnose diagnosed diagnosing design designed designing produce
produced producing generate generated generating prepare prepared preparing check checked checking convert
converted converting install installed installing provide provided providing describe described describing
"""

STOP_WORDS: frozenset[str] = frozenset(_FUNCTION_WORDS.split() + _DOMAIN_WORDS.split())

#: Words that say little on their own in a topic name ("Fix logs, server and night", "Explain question"):
#: never a one-word keyphrase, but kept in a bigram ("edge cases", "feature flags", "command line"). Most
#: generic words are found from the data instead (:func:`term_spread`); these are the ones a small corpus
#: can make look distinctive.
WEAK_WORDS: frozenset[str] = frozenset("""
question questions line lines simple start started starts night case cases edge feature features thing
small quick basic good bad better best fine right wrong test tests step steps part parts kind lot analysis analyses
""".split())

_TOKEN = re.compile(TOKEN_PATTERN)
#: A term (:data:`TOKEN_PATTERN`) not touching a letter outside ASCII, or a word that holds one: summaries are
#: asked in English, and the ASCII pattern alone cut "demandé" to "demand" and "échoués" to "chou". Such a word
#: is no term, and a phrase does not span it.
_WORD = re.compile(r"(?u)(?<![^\W\d_])(?P<t>" + _TOKEN_BODY + r")(?![^\W\d_])|[^\W_]+")
#: Where a phrase ends: a list's comma, a bracket, a colon, a sentence end ("(topics: nginx, app)" holds no
#: phrase "nginx app"). A dot inside a word (node.js) does not end one.
_SEGMENT_END = re.compile(r"[,;:!?()\[\]{}\"|]|\.(?=\s|$)")


def analyze(text: str, ngram_max: int = 3) -> list[str]:
    """Lower-case terms of ``text``: its content words, plus n-grams of content words that stand next to
    each other inside one phrase (not across a comma or a bracket, nor across a dropped stop word)."""
    out: list[str] = []
    for seg in _SEGMENT_END.split(drop_placeholders(text).lower()):
        toks = [m.group("t") or "" for m in _WORD.finditer(seg)]  # "": a word outside ASCII, a break
        run: list[str] = []
        for t in [*toks, ""]:
            if t and t not in STOP_WORDS:
                run.append(t)
                continue
            for n in range(1, ngram_max + 1):
                out.extend(" ".join(run[i : i + n]) for i in range(len(run) - n + 1))
            run = []
    return out

#: A redaction placeholder ([EMAIL], [PATH_USER]): dropped from the summaries before their words are counted,
#: so no name quotes one, while the words it is made of (email, wallet, github, key) remain topics.
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(sorted(KINDS, key=len, reverse=True)) + r")\]", re.IGNORECASE)


def drop_placeholders(text: str) -> str:
    """``text`` without its redaction placeholders (each becomes one space)."""
    return _PLACEHOLDER.sub(" ", text) if "[" in text else text


@functools.cache
def _mode_template() -> re.Pattern[str]:
    """The offline summary's mode clause ("The user asked the agent to analyse data"), as the classify stage
    writes it (``classify.offline.MODE_SUMMARY_PHRASE``), ending where its topic list or its sentence does."""
    from codecensus.classify.offline import MODE_SUMMARY_PHRASE

    alts = "|".join(re.escape(p) for p in sorted(MODE_SUMMARY_PHRASE.values(), key=len, reverse=True))
    return re.compile(rf"\bThe user asked the agent to (?:{alts})(?=\s*\(topics:|\.?\s*$)")


def drop_mode_template(text: str) -> str:
    """``text`` without the offline summary's mode clause: its words ("data" of "analyse data", "automation" of
    "build automation", "tests") say the session's work mode, which the name's opening verb says, not a topic;
    the same word in the summary's topic list stays."""
    return _mode_template().sub(" ", text) if "asked the agent to" in text else text

# Imperative verb that opens a name, per dominant work mode (taxonomy §2).
MODE_VERB: dict[str, str] = {
    "build": "Build",
    "fix": "Fix",
    "test": "Test",
    "orchestrate": "Automate",
    "operate": "Set up",
    "understand": "Explain",
    "plan": "Plan",
    "analyze": "Analyze",
    "write": "Write",
}
MODE_NAME: dict[str, str] = {m.key: m.name.lower() for m in WORK_MODES}
#: What a cluster whose summaries name no topic word is about, per dominant work mode: the object of the mode's
#: summary template (taxonomy §2: "write new code", "explain or explore an existing system or codebase",
#: "write prose"), so such a cluster is "Explain existing code", not "Explain assorted topics".
MODE_OBJECT: dict[str, str] = {
    "build": "new code",
    "fix": "existing code",
    "test": "code",
    "orchestrate": "tasks",
    "operate": "software",
    "understand": "existing code",
    "plan": "code changes",
    "analyze": "data",
    "write": "prose",
}
_VERB_ENDINGS = frozenset("s es d ed ing ings ion ions er ers ation ations".split()) | {""}


def _verb_stems(verb: str) -> set[str]:
    """The opening verb's words as stems ("Automate" → "automat", "Set up" → "set", "setup")."""
    words = [w for w in verb.lower().split() if w not in ("and", "on", "up", "work")]
    if verb.lower().startswith("set up"):
        words.append("setup")
    return {w[:-1] if w.endswith("e") else w for w in words}


def repeats_verb(term: str, verb: str) -> bool:
    """Whether a word of ``term`` is the opening verb again ("Automate automation", "Test pytest tests",
    "Plan planning"): the verb's stem plus an inflection or -ion/-er ending, maybe with its last letter doubled."""
    stems = _verb_stems(verb)
    for w in term.lower().replace("-", " ").split():
        for s in stems:
            if w.startswith(s):
                rest = w[len(s):]
                if rest in _VERB_ENDINGS or (rest[:1] == s[-1:] and rest[1:] in _VERB_ENDINGS - {""}):
                    return True
    return False


def _looks_like_path(term: str) -> bool:
    return term.count("/") >= 2 or ("/" in term and "." in term) or len(term) > 40


@dataclass(slots=True)
class TermIndex:
    """Term counts of the distinct summaries plus which terms may appear in a name."""

    terms: list[str]  # lower-case, n-gram words joined by one space
    x: sparse.csr_matrix  # (n_texts, n_terms) counts
    xc: sparse.csc_matrix  # same, by column
    allowed: np.ndarray  # bool per term
    session_support: np.ndarray  # sessions whose summary contains the term
    user_support: np.ndarray  # distinct users whose summaries contain the term (0 = not computed)
    spread: np.ndarray | None = None  # per term, 0 (one cluster) … 1 (evenly over all): see term_spread


def term_spread(index: TermIndex, labels: IntArray, counts: np.ndarray, k: int) -> np.ndarray:
    """How evenly each term is spread over the ``k`` clusters: 0 = all in one cluster, 1 = the same share of
    every cluster's sessions. The effective number of clusters ``E = exp(H)`` of the term's per-cluster
    session shares (each cluster's count divided by its size, so big clusters weigh no more), as
    ``(E - 1) / (k - 1)``. A word every cluster uses ("question", "simple", "start") is generic whatever
    its c-TF-IDF in one cluster."""
    n_terms = len(index.terms)
    if k < 2 or n_terms == 0:
        return np.zeros(n_terms)
    w = np.asarray(counts, dtype=np.float64)
    x = index.x
    present = sparse.csr_matrix((np.ones(len(x.data)), x.indices, x.indptr), shape=x.shape)  # (x's own indices)
    onehot = sparse.csr_matrix((w, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    # the (cluster, term) pairs that occur, kept sparse: a dense (k, n_terms) table and its temporaries took
    # 7.7 GB at 949 leaves and 200,000 terms (the sums run in the same order, so the figures are the same)
    per = (onehot @ present).tocoo()  # sessions with the term, per cluster
    size = np.maximum(np.asarray(onehot.sum(axis=1)).ravel(), 1.0)
    share = per.data / size[per.row]
    tot = np.bincount(per.col, weights=share, minlength=n_terms)[per.col]
    q = np.divide(share, tot, out=np.zeros_like(share), where=tot > 0)
    pos = q > 0
    h = -np.bincount(per.col[pos], weights=q[pos] * np.log(q[pos]), minlength=n_terms)
    return np.clip((np.exp(h) - 1.0) / (k - 1), 0.0, 1.0)


def build_term_index(
    texts: Sequence[str],
    counts: np.ndarray,
    text_users: sparse.csr_matrix,
    *,
    min_users: int,
    min_sessions: int,
    redact: Callable[[str], str] | None = None,
    text_modes: sparse.csr_matrix | None = None,
    template_share: float = 0.8,
    ngram_max: int = 3,
) -> TermIndex:
    """Count the words, bigrams and trigrams of ``texts`` and mark the terms safe and useful for names.

    ``text_users`` is a (n_texts, n_users) incidence matrix (which users wrote each distinct text).
    ``text_modes`` (n_texts, n_modes) counts sessions per work mode; a term found in at least
    ``template_share`` of one mode's sessions (modes with ≥ 20 sessions) is part of that mode's
    summary template, says nothing the name's opening verb does not, and is excluded. The offline summaries'
    mode clause is dropped before counting (:func:`drop_mode_template`), whatever the mode's size.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(analyzer=lambda t: analyze(t, ngram_max), min_df=1, dtype=np.int32)
    try:
        x = vec.fit_transform([drop_mode_template(t) for t in texts]).tocsr()
    except ValueError:  # empty vocabulary
        x = sparse.csr_matrix((len(texts), 0), dtype=np.int32)
        return TermIndex([], x, x.tocsc(), np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, np.int64))
    terms = list(vec.get_feature_names_out())
    present = x.copy()
    present.data = np.ones_like(present.data)
    w = np.asarray(counts, dtype=np.int64)
    session_support = np.asarray(present.T @ w).ravel().astype(np.int64)
    allowed = session_support >= min_sessions
    allowed &= np.array([not _looks_like_path(t) and not any(ch.isdigit() for ch in t[:1]) for t in terms], bool)
    if text_modes is not None and text_modes.shape[1]:
        per_mode = np.asarray(text_modes.sum(axis=0)).ravel()
        big = per_mode >= 20
        if big.any():
            term_mode = (present.T.tocsr().astype(np.int64) @ text_modes.astype(np.int64)).toarray()
            share = term_mode[:, big] / per_mode[big]
            allowed &= share.max(axis=1) < template_share
    user_support = np.zeros(len(terms), dtype=np.int64)
    cand = np.flatnonzero(allowed)
    if len(cand):
        tu = (present[:, cand].T.tocsr() @ text_users.astype(np.int32)).tocsr()
        user_support[cand] = np.diff(tu.indptr)  # nnz per row = distinct users
        allowed[cand] &= user_support[cand] >= min_users
    if redact is not None:
        for j in np.flatnonzero(allowed):
            if redact(terms[j]) != terms[j]:
                allowed[j] = False
    return TermIndex(terms, x, x.tocsc(), allowed, session_support, user_support)


def ctfidf(index: TermIndex, labels: IntArray, counts: np.ndarray, k: int) -> sparse.csr_matrix:
    """Class-based TF-IDF: (k, n_terms) scores, ``tf(t,c)/|c| * log(1 + A / f(t))``."""
    n = index.x.shape[0]
    onehot = sparse.csr_matrix(
        (np.asarray(counts, dtype=np.float64), (labels, np.arange(n))), shape=(k, n)
    )
    tf = (onehot @ index.x.astype(np.float64)).tocsr()
    f = np.asarray(tf.sum(axis=0)).ravel()
    avg = tf.sum() / max(k, 1)
    idf = np.log1p(avg / np.maximum(f, 1e-12))
    row_tot = np.asarray(tf.sum(axis=1)).ravel()
    row_tot[row_tot == 0] = 1.0
    scores = sparse.diags(1.0 / row_tot) @ tf @ sparse.diags(idf)
    return scores.tocsr()


def _surface(index: TermIndex, term_j: int, rows: np.ndarray, texts: Sequence[str], rng: random.Random) -> str | None:
    """Most common original spelling of term ``term_j`` in the given texts (None if never contiguous)."""
    words = index.terms[term_j].split(" ")
    pat = re.compile(
        r"(?<![^\W_])" + r"[\s\-]+".join(re.escape(w) for w in words) + r"(?![^\W_])", re.IGNORECASE
    )
    sample = list(rows)
    if len(sample) > 60:
        sample = rng.sample(sample, 60)
    seen: Counter[str] = Counter()
    for r in sample:
        for m in pat.finditer(drop_placeholders(texts[int(r)])):
            seen[re.sub(r"\s+", " ", m.group(0))] += 1
    if not seen:
        return None
    best = max(seen.items(), key=lambda kv: (kv[1], kv[0] != kv[0].lower(), kv[0]))
    return best[0]


def _stem(word: str) -> str:
    """Crude singular, so a name does not list "query, queries" or "apps, app"."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@dataclass(slots=True)
class Keyphrase:
    """One ranked keyphrase of a cluster."""

    text: str  # surface spelling, as the cluster's summaries write it most often
    score: float  # weighted c-TF-IDF of the term it grew from (see :func:`ranked_keyphrases`)
    coverage: float  # share of the cluster's sessions whose summary contains it
    words: int


def _cluster_support(index: TermIndex, rows: np.ndarray, weights: np.ndarray) -> dict[int, float]:
    """Sessions of the given distinct texts (``rows``, weighted by ``weights``) that contain each term or one of
    its singular/plural spellings ("landing page" or "landing pages": one phrase, counted once per summary)."""
    sub = index.x[rows].tocsc()
    nz = np.flatnonzero(np.diff(sub.indptr))
    groups: dict[str, list[int]] = {}
    for c in nz.tolist():
        groups.setdefault(" ".join(_stem(w) for w in index.terms[c].split(" ")), []).append(c)
    out: dict[int, float] = {}
    for cs in groups.values():
        hit = np.zeros(len(rows), dtype=bool)
        for c in cs:
            hit[sub.indices[sub.indptr[c] : sub.indptr[c + 1]]] = True
        tot = float(weights[hit].sum())
        out.update(dict.fromkeys(cs, tot))
    return out


def ranked_keyphrases(
    index: TermIndex,
    scores: sparse.csr_matrix,
    cluster: int,
    labels: IntArray,
    texts: Sequence[str],
    *,
    counts: np.ndarray | None = None,
    top: int = 6,
    seed: int = 0,
    avoid: Collection[str] = (),
    min_share: float = 0.15,
    phrase_share: float = 0.5,
    verb: str = "",
) -> list[Keyphrase]:
    """Ranked, non-overlapping, readable keyphrases of one cluster.

    Only terms of ``index.allowed`` (the privacy rules: enough users and sessions, unchanged by the redactor)
    are ever considered, n-grams as their words. A term's c-TF-IDF score is weighted by how concentrated it is
    (``(1 - spread)^3``, :func:`term_spread`), a :data:`WEAK_WORDS` word is never a keyphrase alone, and a term
    holding a word of ``avoid`` (the parent's name) counts half. A term scoring below ``min_share`` of the best
    one is left out. A term with a word that repeats ``verb`` (the name's opening verb, :func:`repeats_verb`) is
    never a keyphrase: the next one, or the phrase's shorter form without that word, names the cluster.

    A ranked term grows into the longer phrase its words stand in: one word more (a bigram from a word, a trigram
    from a bigram) as long as the longer allowed phrase is in at least ``phrase_share`` of the cluster's sessions
    that hold the shorter one ("pytest" → "flaky pytest" → "flaky pytest tests"), so a name says "landing pages"
    rather than listing "landing" and "page" as two topics."""
    row = scores.getrow(cluster)
    if row.nnz == 0:
        return []
    cols, vals = row.indices, row.data
    allowed_cols = cols[index.allowed[cols]]
    keep = index.allowed[cols] & np.array([index.terms[c] not in WEAK_WORDS and not (verb and repeats_verb(
        index.terms[c], verb)) for c in cols.tolist()], dtype=bool)
    cols, vals = cols[keep], vals[keep].astype(np.float64)
    if len(cols) == 0:
        return []
    if index.spread is not None:
        vals = vals * (1.0 - index.spread[cols]) ** 3
    avoid_stems = {_stem(w.lower()) for w in avoid}
    if avoid_stems:
        vals = vals * np.array([0.5 if {_stem(w) for w in index.terms[c].split(" ")} & avoid_stems else 1.0
                                for c in cols.tolist()])
    order = np.argsort(-vals, kind="stable")[:40]
    cols, vals = cols[order], vals[order]
    best = float(vals[0])
    rows = np.flatnonzero(labels == cluster)
    w = np.ones(len(labels)) if counts is None else np.asarray(counts, dtype=np.float64)
    support = _cluster_support(index, rows, w[rows])
    size = max(float(w[rows].sum()), 1.0)
    # longer allowed phrases of the cluster by the phrase one word shorter they contain
    longer: dict[str, list[int]] = {}
    for c in allowed_cols.tolist():
        ws = index.terms[c].split(" ")
        if len(ws) > 1:
            longer.setdefault(" ".join(ws[:-1]), []).append(c)
            longer.setdefault(" ".join(ws[1:]), []).append(c)
    rng = random.Random(seed * 1_000_003 + cluster)
    chosen: list[Keyphrase] = []
    used: set[str] = set()  # stems of the chosen phrases' words

    def surface(c: int) -> str | None:
        lo, hi = index.xc.indptr[c], index.xc.indptr[c + 1]
        r = index.xc.indices[lo:hi]
        return _surface(index, c, r[labels[r] == cluster], texts, rng)

    def grow(c: int) -> list[int]:
        """``c`` and the longer phrases it stands in, longest first."""
        chain = [c]
        while True:
            cur = chain[-1]
            ups = [u for u in longer.get(index.terms[cur], ()) if support.get(u, 0.0) >= phrase_share * support.get(cur, 0.0)]
            if not ups:
                return chain[::-1]
            chain.append(max(ups, key=lambda u: (support.get(u, 0.0), index.terms[u])))

    for c, s in zip(cols.tolist(), vals.tolist(), strict=True):
        if len(chosen) >= top or s < min_share * best:
            break
        for o in grow(c):
            stems = {_stem(x) for x in index.terms[o].split(" ")}
            if stems & used or (verb and repeats_verb(index.terms[o], verb)):
                continue
            surf = surface(o)
            if surf is None:
                continue
            chosen.append(Keyphrase(surf, float(s), support.get(o, 0.0) / size, len(index.terms[o].split(" "))))
            used.update(stems)
            break
    return chosen


def keyphrases(
    index: TermIndex,
    scores: sparse.csr_matrix,
    cluster: int,
    labels: IntArray,
    texts: Sequence[str],
    **kw: object,
) -> list[str]:
    """Surface spellings of :func:`ranked_keyphrases` (same arguments)."""
    return [k.text for k in ranked_keyphrases(index, scores, cluster, labels, texts, **kw)]  # type: ignore[arg-type]


def name_phrases(ranked: Sequence[Keyphrase], *, strong: float = 0.5, loose: float = 0.15,
                 min_coverage: float = 0.1) -> list[str]:
    """The keyphrases a name leads with: one or two strong phrases rather than three loose words.

    A name led by a phrase of several words takes a second keyphrase only when it scores at least ``strong`` of
    the first and is in at least ``strong`` as many of the cluster's summaries, and never a third. A name led by a single word (summaries that list topic words, not phrases)
    keeps up to three words scoring at least ``loose`` of the first, as before: one word alone ("Write error")
    says less than three, but a phrase among them still ends the list at two.

    A keyphrase enters a name only when at least ``min_coverage`` of the cluster's sessions hold it: a word of
    4% of them ("Build commit, api and command") describes few of its sessions however distinctive. When none
    does, the name takes the one keyphrase held by most sessions."""
    if not ranked:
        return []
    covered = [k for k in ranked if k.coverage >= min_coverage]
    if not covered:
        return [max(ranked, key=lambda k: k.coverage).text]
    ranked = covered
    out = [ranked[0]]
    for k in ranked[1:3]:
        if k.score < (strong if ranked[0].words > 1 else loose) * ranked[0].score:
            break
        if ranked[0].words > 1 and k.coverage < strong * ranked[0].coverage:
            break  # a word of a few summaries beside a phrase of most of them
        if len(out) == 2 and any(p.words > 1 for p in [*out, k]):
            break
        out.append(k)
    return [k.text for k in out]


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) <= 1:
        return "".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _top_modes(mode_mix: Mapping[str, float]) -> list[tuple[str, float]]:
    return sorted(((m, s) for m, s in mode_mix.items() if m in MODE_VERB), key=lambda kv: (-kv[1], kv[0]))


def mode_verb(mode_mix: Mapping[str, float]) -> str:
    """Opening verb: the dominant mode's, two modes' when they share the cluster, else 'Work on'."""
    top = _top_modes(mode_mix)
    if not top:
        return "Work on"
    (m1, s1) = top[0]
    if s1 >= 0.5:
        return MODE_VERB[m1]
    if len(top) > 1:
        m2, s2 = top[1]
        if s1 + s2 >= 0.7 and s2 >= 0.25 and " " not in MODE_VERB[m1] and " " not in MODE_VERB[m2]:
            return f"{MODE_VERB[m1]} and {MODE_VERB[m2].lower()}"
    return "Work on"


def mode_object(mode_mix: Mapping[str, float]) -> list[str]:
    """What a cluster with no keyphrase is named by: its dominant mode's :data:`MODE_OBJECT` ("code" when two
    modes share the opening verb; none for "Work on", which stays "Assorted coding work")."""
    verb, top = mode_verb(mode_mix), _top_modes(mode_mix)
    if verb == "Work on" or not top:
        return []
    return [MODE_OBJECT[top[0][0]] if verb == MODE_VERB[top[0][0]] else "code"]


def compose_name(verb: str, phrases: Sequence[str], *, max_words: int = MAX_NAME_WORDS) -> str:
    """``verb`` + up to three phrases ("A, B and C"), at most ``max_words`` words."""
    ps = list(phrases[:3])
    while ps:
        name = f"{verb} {_join(ps)}"
        if len(name.split()) <= max_words:
            return name
        ps.pop()
    return f"{verb} assorted topics" if verb != "Work on" else "Assorted coding work"


def compose_description(mode_mix: Mapping[str, float], phrases: Sequence[str], *, lead: int = 3,
                        coverage: Mapping[str, float] | None = None, verb: str | None = None) -> str:
    """Two sentences: what the sessions were about (the first ``lead`` phrases, those of the name, after the name's
    opening ``verb``: the mode mix's by default), then their work-mode mix, how many of the summaries hold the leading
    phrase (``coverage``: phrase → share of the cluster's sessions), and further terms."""
    top = _top_modes(mode_mix)
    verb = (verb or mode_verb(mode_mix)).lower()
    lead = max(1, lead)
    about = _join(list(phrases[:lead])) or _join(mode_object(mode_mix)) or "assorted topics"
    first = f"Sessions in which users asked the agent to {verb} {about}." if verb != "work on" else (
        f"Sessions in which users worked with the agent on {about}."
    )
    parts = [f"{MODE_NAME.get(m, m)} {s:.0%}" for m, s in top[:3] if s >= 0.1]
    second = ("Work modes: " + ", ".join(parts)) if parts else "Mixed work modes"
    if not phrases:
        second += "; no topic word of its summaries can be named"
    if phrases and coverage and phrases[0] in coverage:
        second += f"; '{phrases[0]}' in {coverage[phrases[0]]:.0%} of its summaries"
    if len(phrases) > lead:
        second += "; related terms: " + ", ".join(phrases[lead : lead + 3])
    return f"{first} {second}."


def dedupe_names(names: list[str], extra: list[list[str]], verbs: list[str], used: list[list[str]]) -> list[str]:
    """Make names unique within a level by adding each duplicate's next unused keyphrase."""
    out = list(names)
    for _ in range(3):
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(out):
            groups.setdefault(n.lower(), []).append(i)
        dups = [ix for ix in groups.values() if len(ix) > 1]
        if not dups:
            return out
        for ix in dups:
            for i in ix[1:]:
                nxt = [p for p in extra[i] if p not in used[i]]
                if nxt:
                    used[i] = [*used[i][:1], nxt[0]]
                    out[i] = compose_name(verbs[i], used[i])
    seen: Counter[str] = Counter()
    final = []
    for n in out:
        seen[n.lower()] += 1
        final.append(n if seen[n.lower()] == 1 else f"{n} ({seen[n.lower()]})")
    return final


def _term_of(index: TermIndex, phrase: str) -> int | None:
    """The index's term a keyphrase's surface spelling stands for (None when it is none)."""
    low = phrase.lower()
    for t in (low, low.replace("-", " ")):
        if t in index.terms:
            return index.terms.index(t)
    return None


@dataclass(slots=True)
class OfflineName:
    name: str
    description: str
    keyphrases: list[str]
    candidates: list[tuple[str, str]]  # (name, description) fallbacks, most specific first


def name_level_offline(
    index: TermIndex,
    texts: Sequence[str],
    counts: np.ndarray,
    labels: IntArray,
    k: int,
    mode_mixes: Sequence[Mapping[str, float]],
    *,
    which: Sequence[int] | None = None,
    seed: int = 0,
    ancestors: Mapping[int, Sequence[str]] | None = None,
    same: Mapping[int, OfflineName] | None = None,
) -> dict[int, OfflineName]:
    """Offline names for the clusters of one level (``labels``: cluster per distinct text).

    ``ancestors`` (cluster → the names of its parent, grandparent …): a child leads with what sets it
    apart from them, and is never named exactly as one of them: when all its terms are in their names, it takes
    its lead with a further keyphrase of its own (one of 10% of its sessions first, else a weaker one), else its
    mode's object as a qualifier ("Write prose on grant"), and its description says so.

    ``same`` (cluster → its parent's name, for a parent's sole child, whose sessions are exactly the parent's): the
    same group of sessions, so it carries that name and description unchanged (exempt from the rule above); the
    other clusters of the level are named apart from it."""
    scores = ctfidf(index, labels, counts, k)
    same = same or {}
    todo = [c for c in (range(k) if which is None else which) if c not in same]
    kept = [c for c in (range(k) if which is None else which) if c in same]
    ancestors = ancestors or {}
    avoid = {c: [w.lower() for n in ancestors.get(c, ()) for w in _TOKEN.findall(n)] for c in todo}
    verbs = {c: mode_verb(mode_mixes[c]) for c in todo}
    ranked = {c: ranked_keyphrases(index, scores, c, labels, texts, counts=counts, seed=seed, avoid=avoid[c],
                                   verb=verbs[c]) for c in todo}
    phrases = {c: [kp.text for kp in ranked[c]] for c in todo}
    used = [name_phrases(ranked[c]) for c in todo]
    for i, c in enumerate(todo):
        taken = {n.lower() for n in ancestors.get(c, ())}
        if phrases[c] and compose_name(verbs[c], used[i]).lower() not in taken:
            continue
        # no keyphrase, or the child would repeat an ancestor: name it by its own terms, also weaker ones
        more = ranked_keyphrases(index, scores, c, labels, texts, counts=counts, seed=seed, avoid=avoid[c],
                                 min_share=0.0, verb=verbs[c])
        own = [kp for kp in more if kp.text.lower() not in set(avoid[c])]
        if own:
            ranked[c] = [*own, *[kp for kp in ranked[c] if kp.text not in {o.text for o in own}]]
            phrases[c] = [kp.text for kp in ranked[c]]
            used[i] = name_phrases(own)
    w = np.asarray(counts, dtype=np.float64)
    apart: dict[int, str] = {}  # cluster → the description's clause saying what sets it apart from an ancestor
    for i, c in enumerate(todo):
        name = compose_name(verbs[c], used[i] or mode_object(mode_mixes[c])).lower()
        alike = [n for n in ancestors.get(c, ()) if n.lower() == name]
        if not alike:
            continue
        # every term of the child is in its ancestors' names: its lead with a further keyphrase of its own, those
        # of 10% of its sessions first, else the mode's object as a qualifier ("Write prose on grant")
        taken = {n.lower() for n in ancestors[c]}
        more = ranked_keyphrases(index, scores, c, labels, texts, counts=counts, seed=seed, min_share=0.0,
                                 verb=verbs[c])
        lead = used[i][:1]
        pool = sorted((kp for kp in more if kp.text not in lead), key=lambda kp: kp.coverage < 0.1)
        pick = next(([*lead, kp.text] for kp in pool if compose_name(verbs[c], [*lead, kp.text]).lower()
                     not in taken), None)
        if lead and pick is not None:
            used[i] = pick
            ranked[c] = [*ranked[c], *[kp for kp in more if kp.text not in phrases[c]]]
            phrases[c] = [*pick, *[p for p in phrases[c] if p not in pick]]
        elif lead and mode_object(mode_mixes[c]):
            verbs[c] = f"{verbs[c]} {mode_object(mode_mixes[c])[0]} on"
        else:
            continue
        sibs = [j for j in range(k) if list(ancestors.get(j, ())) == list(ancestors[c])]
        if lead:
            rows = np.flatnonzero(np.isin(labels, sibs))
            sup = _cluster_support(index, rows, w[rows])
            j = _term_of(index, lead[0])
            up = sup.get(j, 0.0) / max(float(w[rows].sum()), 1.0) if j is not None else 0.0
            apart[c] = (f"; named apart from '{alike[0]}' above it, whose name holds its terms ('{lead[0]}' in "
                        f"{up:.0%} of its parent's summaries)")
    names = [compose_name(verbs[c], u or mode_object(mode_mixes[c])) for c, u in zip(todo, used, strict=True)]
    # a sole child's (kept) name comes first, so a cluster of the level that repeats it is the one renamed
    fixed = [same[c].name for c in kept]
    both = [[] for _ in fixed] + used
    names = dedupe_names([*fixed, *names], [[] for _ in fixed] + [phrases[c] for c in todo],
                         [""] * len(fixed) + [verbs[c] for c in todo], both)[len(fixed):]
    used = both[len(fixed):]
    out: dict[int, OfflineName] = {c: OfflineName(same[c].name, same[c].description, list(same[c].keyphrases),
                                                  list(same[c].candidates)) for c in kept}
    for c, name, u in zip(todo, names, used, strict=True):
        ph = phrases[c]
        cov = {kp.text: kp.coverage for kp in ranked[c]}
        desc = compose_description(mode_mixes[c], [*u, *[p for p in ph if p not in u]], lead=len(u), coverage=cov,
                                   verb=verbs[c])
        if c in apart:
            desc = desc[:-1] + apart[c] + "."
        cands = [(name, desc)]
        if len(u) > 1:
            short = compose_name(verbs[c], ph[:1])
            cands.append((short, compose_description(mode_mixes[c], ph, lead=1, coverage=cov, verb=verbs[c])))
        out[c] = OfflineName(name, desc, ph, cands)
    return out


# --------------------------------------------------------------------------------------------------
# LLM naming (Clio App. G.5, contrastive)
# --------------------------------------------------------------------------------------------------

#: What a good name looks like for this facet (Clio's per-facet "criteria").
NAME_CRITERIA = (
    "The cluster name should be a sentence in the imperative that captures the kind of work users asked a "
    "coding agent to do, e.g. 'Fix failing pytest suites in Django web apps' or 'Set up Docker deployments for "
    "Node.js services'."
)

NAME_PROMPT = """You are tasked with summarizing a group of related statements into a short, precise and accurate \
description and name. Your goal is a concise summary that captures the essence of these statements and \
distinguishes them from other, similar groups of statements.

Summarize all the statements into a clear, precise, two-sentence description in the past tense. Your summary \
should be specific to this group and distinguish it from the contrastive answers of the other groups.

After creating the summary, generate a short name for the group of statements. The name should be at most ten \
words long (perhaps less) and be specific but also reflective of most of the statements (rather than reflecting \
only one or two). The name should distinguish this group from the contrastive examples. For instance, "Fix \
flaky end-to-end tests in React checkout flows" or "Write SQL reports on monthly sales data" is better and more \
actionable than general terms like "Fix tests" or "Help with data". Be as descriptive as possible and assume \
neither good nor bad faith.

Privacy: never include names of people, companies, organisations, products specific to one organisation, \
repositories, file paths, e-mail addresses, URLs, credentials or any other detail that could identify a person \
or a small group. Describe the kind of work, not who did it.

Present your output in the following format:
<summary> [your two-sentence summary] </summary>
<name> [your short name] </name>

The names you propose must follow these requirements:
<criteria>{criteria}</criteria>

Below are the related statements:
<answers>
{answers}
</answers>

For context, here are statements from nearby groups that are NOT part of the group you are summarizing:
<contrastive_answers>
{contrastive}
</contrastive_answers>

Do not elaborate beyond what you say in the tags. Analyze both the statements and the contrastive statements \
carefully, so that your summary and name represent this group and distinguish it from the others."""

_TAG = {t: re.compile(rf"<{t}>(.*?)(?:</{t}>|$)", re.DOTALL | re.IGNORECASE) for t in ("summary", "name", "answer")}


def tag(text: str, name: str) -> str | None:
    """Content of ``<name>…</name>`` (the last occurrence; an unclosed final tag counts)."""
    hits = _TAG.get(name, re.compile(rf"<{name}>(.*?)(?:</{name}>|$)", re.DOTALL | re.IGNORECASE)).findall(text)
    hits = [h.strip() for h in hits if h.strip()]
    return hits[-1] if hits else None


def clean_name(name: str, *, max_words: int = MAX_NAME_WORDS) -> str:
    name = re.sub(r"\s+", " ", name).strip().strip("\"'`*[]").strip()
    name = name.rstrip(".")
    words = name.split(" ")
    if len(words) > max_words:
        name = " ".join(words[:max_words])
    name = _cut(name, MAX_NAME_CHARS)
    return name[:1].upper() + name[1:]


def clean_description(desc: str) -> str:
    desc = re.sub(r"\s+", " ", desc).strip().strip("\"'`[]").strip()
    sentences = re.split(r"(?<=[.!?])\s+", desc)
    return _cut(" ".join(sentences[:2]), MAX_DESCRIPTION_CHARS)


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at the last space when there is one in the second half, with '…'."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


def format_statements(items: Sequence[str]) -> str:
    return "\n".join(f"<statement>{s}</statement>" for s in items)


def name_prompt(inside: Sequence[str], contrastive: Sequence[str], criteria: str = NAME_CRITERIA) -> str:
    return NAME_PROMPT.format(
        criteria=criteria, answers=format_statements(inside), contrastive=format_statements(contrastive)
    )


def parse_name_answer(text: str) -> tuple[str, str] | None:
    """(name, description) from an answer with <name> and <summary> tags; None when unusable."""
    name = tag(text, "name")
    summary = tag(text, "summary")
    if not name:
        return None
    name = clean_name(name)
    if not name or len(name) < 3:
        return None
    return name, clean_description(summary or "")


def llm_name(complete: Complete, inside: Sequence[str], contrastive: Sequence[str], *, retries: int = 1) -> tuple[str, str] | None:
    """One Clio contrastive naming call (retried once on an unparseable answer)."""
    prompt = name_prompt(inside, contrastive)
    for _ in range(retries + 1):
        got = parse_name_answer(complete(prompt))
        if got is not None:
            return got
    return None
