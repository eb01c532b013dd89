"""Conservative offline rules for person names (no NER model).

Three sources, all deliberately narrow:

1. self-introductions: "my name is Alice Smith", "call me Bob", "I'm Carol." (the weak forms
   "I'm X"/"I am X" only when X is followed by punctuation, the end, or "and/from/here/at");
   a few non-English forms too ("je m'appelle", "me llamo", "ich heiße", …);
2. names spelled out in e-mail addresses: ``alice.smith@corp.com`` makes "Alice Smith" (any
   case, any of space/dot/underscore/dash between, accents allowed: ``juergen.mueller`` finds
   "Jürgen Müller") a PERSON elsewhere in the same text;
3. caller-supplied names (e.g. a git author from metadata) and user names found in home
   directory paths (``/Users/alice`` makes a standalone "alice" a PATH_USER elsewhere);
4. a common given name (``codecensus/data/given_names.txt``, many languages) followed by capitalised
   surname-like words ("Tomasz Wieczorek"), which the English NER model often misses, or alone right after
   a word that addresses a person ("ask Anna", "cc Jürgen", "thanks María"), a greeting or a sign-off
   ("Hi John,", "Hallo Sabine", "Cheers,\nPriya").

Capitalised common words ("I'm Sorry", "I am Python…") are rejected through a stop list.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from importlib import resources

from codecensus.redact import entities as K
from codecensus.redact.engines import RawHit

COMMON_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also always am an and any are as at away back bad be
    because been before being below best better between big both busy but by can cannot could
    currently definitely did do does doing done down during each either else enough even ever every
    excited fine first for free from full getting glad going gonna good got great had happy has have
    having he her here hers herself him himself his how however i if in into is it its itself just
    kind last late learning less like little looking lost many maybe me more most much must my
    myself need never new next no nor not now of off often okay ok old on once one only or other
    our ours out over own please pretty quite rather ready really right same sorry so some still
    stuck such sure than thank thanks that the their theirs them then there these they this those
    though through to too trying under unable unsure until up us using very want was we well were
    what when where which while who whom why will with working would yes yet you your yours
    hello hi hey dear team everyone all guys folks sir madam there
    new beginner expert senior junior developer engineer student designer manager founder admin
    user owner maintainer author writer building creating making running testing trying planning
    currently also already almost actually back basically confused curious done familiar finished
    interested new not on only over pleased ready responsible sorry still sure tired unsure used
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december today tomorrow yesterday
    english french german spanish italian portuguese chinese japanese korean russian dutch polish
    american british canadian australian indian european asian african
    python java javascript typescript rust go golang ruby swift kotlin scala php perl haskell
    elixir erlang clojure lua dart julia matlab fortran cobol bash shell node react vue angular
    svelte django flask rails laravel spring docker kubernetes linux windows mac macos ubuntu
    debian arch fedora git github gitlab claude gpt chatgpt openai anthropic gemini copilot
    cursor codex aws azure gcp google microsoft apple amazon meta facebook twitter vercel
    netlify supabase firebase postgres mysql sqlite redis mongo mongodb graphql rest api json
    yaml html css sql cli ide vim emacs vscode code data web app apps mobile ios android frontend
    backend fullstack devops ml ai llm
    """.split()
)
# Tool, library and code words a statistical NER model tags as people or places ("run npm", "the Django
# views", "React"); a PERSON/LOCATION hit made only of these (or of COMMON_WORDS) is not a name.
TECH_TERMS: frozenset[str] = frozenset(
    """
    npm npx pnpm yarn pip pipx poetry conda uv cargo gradle maven make cmake bazel brew apt nix
    pytest jest vitest mocha cypress playwright selenium junit rspec ruff eslint prettier black mypy
    webpack vite babel rollup esbuild nextjs next nuxt remix astro gatsby tailwind bootstrap jquery
    express fastapi pydantic sqlalchemy alembic celery numpy pandas scipy torch pytorch tensorflow keras
    jupyter streamlit gradio langchain huggingface stripe twilio sendgrid shopify wordpress drupal
    nginx apache caddy terraform ansible helm grafana prometheus kafka rabbitmq elasticsearch
    heroku render railway cloudflare jenkins circleci travis sentry datadog postman swagger openapi
    figma jira confluence slack discord notion trello excel powerpoint xcode unity unreal godot
    flutter electron tauri deno bun webassembly wasm pandoc latex markdown readme dockerfile makefile
    opus sonnet haiku llama mistral ollama qwen deepseek grok
    """.split()
)
_TOKEN = re.compile(r"[^\W_]+")


def plausible_person(span: str) -> bool:
    """Whether a span a NER model labelled PERSON or LOCATION can be a name: it starts with a capital
    letter, and not every word is a common or tech word, an acronym, or code (digits, ``_``, camelCase)."""
    words = _TOKEN.findall(span)
    first = next((c for c in span if c.isalpha()), "")
    if not words or not first or first.islower() or "_" in span:
        return False
    for w in words:
        if any(c.isdigit() for c in w):
            return False
        if len(w) > 1 and w.isupper():  # API, PR, AWS
            return False
        if any(c.isupper() for c in w[3:]) and not w.startswith("Mac"):  # UserService, GitHub, FastAPI
            return False
    return not all(w.lower() in COMMON_WORDS or w.lower() in TECH_TERMS for w in words)

_STRONG_INTRO = (
    r"my name is|my name's|my names|call me|je m'appelle|je m’appelle|me llamo|mi nombre es|"
    r"ich heiße|ich heisse|mein name ist|meu nome é|meu nome e|mi chiamo|il mio nome è|mijn naam is|"
    r"ik heet|jag heter|nazywam się"
)
_WEAK_INTRO = r"i am|i'm|i’m|this is|je suis|soy|ich bin|sono|eu sou|ik ben"
_NAME = r"(?P<n>[A-Z][a-zà-ÿ'’-]{1,30}(?:[ \t]+[A-Z][a-zà-ÿ'’-]{1,30}){0,2})"
_STRONG = re.compile(r"(?<![A-Za-z])(?i:" + _STRONG_INTRO + r")[ \t]+" + _NAME)
_WEAK_TAIL = r"(?=[ \t]*(?:[,.!;:)\n]|$|(?i:and|from|here|at|,)\b))"
_WEAK = re.compile(r"(?<![A-Za-z])(?i:" + _WEAK_INTRO + r")[ \t]+" + _NAME + _WEAK_TAIL)
# the same phrases, case-sensitive, for the lower-cased text (a much faster scan)
_ANCHORS = (
    (re.compile(r"(?<![a-z])(?:" + _STRONG_INTRO + r")[ \t]"), _STRONG, 0.85),
    (re.compile(r"(?<![a-z])(?:" + _WEAK_INTRO + r")[ \t]"), _WEAK, 0.7),
)
_EMAIL_LOCAL = re.compile(r"^([A-Za-z]{2,20})[._-]([A-Za-z]{2,20})(?:[._-]?\d{0,4})$")
_GENERIC_LOCAL = frozenset(
    """info admin support noreply no-reply contact hello team dev sales help billing security abuse
    postmaster webmaster mail office jobs careers press media marketing hr service notifications
    notification alerts alert donotreply do-not-reply test example user name first last""".split()
)
_PLACEHOLDER_PAIRS = frozenset({("john", "doe"), ("jane", "doe"), ("first", "last"), ("foo", "bar")})


def _trim_name(name: str) -> str | None:
    parts = name.split()
    kept: list[str] = []
    for p in parts:
        if any(w in COMMON_WORDS for w in re.split(r"['’-]", p.lower()) if w):
            break
        kept.append(p)
    if not kept:
        return None
    return " ".join(kept)


def _intro_matches(text: str, lower: str | None) -> Iterator[tuple[re.Match[str], float]]:
    for anchor, rx, score in _ANCHORS:
        if lower is None or len(lower) != len(text):
            for m in rx.finditer(text):
                yield m, score
            continue
        for a in anchor.finditer(lower):
            m = rx.match(text, a.start())
            if m is not None:
                yield m, score


def intro_names(text: str, lower: str | None = None) -> Iterator[RawHit]:
    """Names introduced by the writer ("my name is X"). ``lower``: ``text.lower()`` if known."""
    if lower is None:
        lower = text.lower()
    for m, score in _intro_matches(text, lower):
        trimmed = _trim_name(m.group("n"))
        if trimmed is None:
            continue
        s = m.start("n")
        yield RawHit(K.PERSON, s, s + len(trimmed), score, "rule")


def names_from_emails(local_parts: Iterable[str]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for local in local_parts:
        m = _EMAIL_LOCAL.match(local)
        if not m:
            continue
        first, last = m.group(1).lower(), m.group(2).lower()
        if (
            first in _GENERIC_LOCAL
            or last in _GENERIC_LOCAL
            or first == last
            or (first, last) in _PLACEHOLDER_PAIRS
        ):
            continue
        out.add((first, last))
    return out


# An e-mail address spells "Jürgen Müller" as juergen.mueller or jurgen.muller, "José" as jose.
_UMLAUT = {"ae": "(?:ae|ä|æ)", "oe": "(?:oe|ö|ø|œ)", "ue": "(?:ue|ü)", "ss": "(?:ss|ß)"}
_ACCENTED = {
    "a": "[aàáâãäåā]", "c": "[cçćč]", "e": "[eèéêëēę]", "i": "[iìíîïī]", "n": "[nñń]", "o": "[oòóôõöøō]",
    "s": "[sśšș]", "u": "[uùúûüū]", "y": "[yýÿ]", "z": "[zźżž]", "l": "[lł]",
}


def _spelled(word: str) -> str:
    """A pattern for ``word`` (ASCII, from an e-mail address) as it may be written with accents."""
    out: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in _UMLAUT:
            out.append(_UMLAUT[pair] if pair == "ss" else f"(?:{_UMLAUT[pair]}|{_ACCENTED.get(pair[0], pair[0])})")
            i += 2
            continue
        out.append(_ACCENTED.get(word[i], re.escape(word[i])))
        i += 1
    return "".join(out)


def find_name_pairs(text: str, pairs: Iterable[tuple[str, str]]) -> Iterator[RawHit]:
    for first, last in pairs:
        rx = re.compile(
            r"(?<![^\W_])" + _spelled(first) + r"[ \t._-]{1,2}" + _spelled(last) + r"(?![^\W_])",
            re.IGNORECASE,
        )
        for m in rx.finditer(text):
            yield RawHit(K.PERSON, m.start(), m.end(), 0.8, "rule")


def find_terms(text: str, terms: Iterable[str], kind: str, *, min_len: int = 3) -> Iterator[RawHit]:
    """Whole-word, case-insensitive occurrences of known identifying terms (also right after a ``\\n``, ``\\t`` or
    ``\\r`` escape of JSON text: ``\\nalice``)."""
    uniq = sorted(
        {
            t.strip()
            for t in terms
            if t and len(t.strip()) >= min_len and t.strip().lower() not in COMMON_WORDS
        },
        key=len,
        reverse=True,
    )
    if not uniq:
        return
    lower = text.lower()
    present = [t for t in uniq if t.lower() in lower]
    if not present:
        return
    rx = re.compile(
        r"(?:(?<![A-Za-z0-9_])|(?<=\\[nrt]))(?:" + "|".join(re.escape(t) for t in present) + r")(?![A-Za-z0-9_])",
        re.IGNORECASE,
    )
    for m in rx.finditer(text):
        yield RawHit(kind, m.start(), m.end(), 0.8, "rule")


_ESCAPED_USER_LETTER = re.compile(r"\\{1,2}u([0-9A-Fa-f]{4})")


def decoded_user(user: str) -> str:
    """A home path's user name as read: its letters written as JSON escapes (``Ren\\u00e9``, ``Ren\\\\u00e9``)
    decoded (``René``)."""
    if "\\" not in user:
        return user
    s = _ESCAPED_USER_LETTER.sub(lambda m: chr(int(m.group(1), 16)), user)
    try:  # (a letter outside the BMP is written as two escapes: a surrogate pair)
        return s.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return user


def user_forms(user: str) -> set[str]:
    """The ways a home path's user name is written in a transcript: as read (:func:`decoded_user`) and, if it holds
    other than ASCII letters, with them as JSON escapes (``Ren\\u00e9``) and as those escapes inside a JSON string
    (``Ren\\\\u00e9``)."""
    name = decoded_user(user)
    if name.isascii():
        return {name}
    esc = "".join(c if c.isascii() else "".join(f"\\u{u:04x}" for u in _utf16(c)) for c in name)
    return {name, esc, esc.replace("\\u", "\\\\u")}


def _utf16(c: str) -> list[int]:
    b = c.encode("utf-16-be")
    return [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]


#: Where a home path's user name of 4 characters or more starts and ends as a part of a word: not next to a letter
#: (``_``, ``-``, ``.`` and a digit after it are a word part's edges: ``env_alice``, ``alice_dev``, ``alice-laptop``,
#: ``alice2``), or where a lower-case letter meets a capital in a camelCase word (``aliceConfig``, ``getAlice``); not
#: inside a run of letters of one case (``alicesmith``, ``malice``: as often a word of its own) nor after a digit (a
#: hex digest's letters)
_LONG_USER_BEFORE = r"(?:(?<![A-Za-z0-9])|(?<=\\[nrt])|(?-i:(?<=[a-z])(?=[A-Z])))"
_LONG_USER_AFTER = r"(?:(?![A-Za-z])|(?-i:(?<=[a-z])(?=[A-Z])))"


def find_users(text: str, users: Iterable[str], kind: str) -> Iterator[RawHit]:
    """Home-directory user names (``/Users/alice``, seen in ``text`` or elsewhere in its session) found again in
    ``text``, each as read and with its non-ASCII letters as JSON escapes (:func:`user_forms`: ``René``,
    ``Ren\\u00e9``): a name of 4 characters or more in any case, as a whole word or a part of one (``test_alice``,
    ``alice_dev``, ``alice2``, ``aliceConfig``: :data:`_LONG_USER_BEFORE`); a name of 3 characters (``bob``,
    ``Tom``) only as written (its case) and as a whole word (not next to a letter, digit, ``_``, ``-`` or ``.``, nor
    before ``(``: ``bob.py``, ``bob(``); names of 2 are not looked for (``fd``, ``os``: words of code more often than
    not)."""
    names = {decoded_user(u) for u in users}
    longer = sorted({f for u in names if len(u) >= 4 and u.lower() not in COMMON_WORDS for f in user_forms(u)},
                    key=len, reverse=True)
    lower = text.lower()
    longer = [u for u in longer if u.lower() in lower]
    if longer:
        yield from _user_hits(text, longer, _LONG_USER_BEFORE, _LONG_USER_AFTER, re.IGNORECASE, kind)
    short = sorted({f for u in names if len(u) == 3 and u.lower() not in COMMON_WORDS for f in user_forms(u)
                    if f in text})
    if short:
        yield from _user_hits(text, short, r"(?:(?<![\w.-])|(?<=\\[nrt]))", r"(?![\w(-]|\.\w)", 0, kind)


def _user_hits(text: str, forms: list[str], before: str, after: str, flags: int, kind: str) -> Iterator[RawHit]:
    """``forms`` (longest first) found in ``text`` between ``before`` and ``after``; a form that starts with an
    escape's backslash (``\\u0141ukasz``) only where that backslash is not itself escaped (``C:\\\\Users\\\\\\u0141ukasz``
    in JSON text: its separator's two backslashes, then the escape)."""
    plain = [f for f in forms if not f.startswith("\\")]
    escaped = [f for f in forms if f.startswith("\\")]
    alts = []
    if plain:
        alts.append(before + "(?P<p>" + "|".join(map(re.escape, plain)) + ")")
    if escaped:
        alts.append(r"(?<!\\)(?:\\\\)*(?P<e>" + "|".join(map(re.escape, escaped)) + ")")
    rx = re.compile("(?:" + "|".join(alts) + ")" + after, flags)
    for m in rx.finditer(text):
        g = "p" if plain and m.group("p") is not None else "e"
        yield RawHit(kind, m.start(g), m.end(g), 0.8, "rule")


@functools.cache
def given_names() -> frozenset[str]:
    """Common given names of many languages (``codecensus/data/given_names.txt``, lower case)."""
    text = resources.files("codecensus.data").joinpath("given_names.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


#: Letters NFKD does not take apart (Søren, Łukasz, Đorđe, Straße, Æsa)
_FOLD_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ß": "ss", "æ": "ae", "œ": "oe",
                               "ı": "i"})


def fold(word: str) -> str:
    """``word`` in lower case without its accents: Benoît, BENOIT and Benoit are all ``benoit``, Søren ``soren``."""
    low = word.lower().translate(_FOLD_LETTERS)
    if low.isascii():
        return low
    return "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))


@functools.cache
def _folded_given_names() -> frozenset[str]:
    return frozenset(fold(w) for w in given_names())


_UP = "A-ZÀ-ÖØ-ÞĀ-Ž"
_LO = "a-zß-öø-ÿā-ž"
#: A capitalised word, or two joined by a hyphen (a hyphenated given name: Marc-André, Hans-Peter, Anna-Lena)
_CAP_WORD = re.compile(rf"(?<![^\W_])[{_UP}][{_LO}]{{1,20}}(?:-[{_UP}][{_LO}]{{1,20}})?(?![^\W_])")
_SURNAME_WORDS = re.compile(
    rf"(?:[ \t]+[{_UP}][{_LO}{_UP}'’]{{1,30}}(?:-[{_UP}][{_LO}]{{1,30}})?(?![^\W_])){{1,3}}"
)
_WORD = re.compile(r"\S+")
_MONTH_ABBR = frozenset("jan feb mar apr jun jul aug sep sept oct nov dec".split())


def _is_given(word: str) -> bool:
    """Is ``word`` a listed given name, with or without its accents (María, Zoë, Søren, Benoit for Benoît)? Both
    sides are folded the same way (:func:`fold`), so the list needs one spelling of each name."""
    return word.lower() in given_names() or fold(word) in _folded_given_names()


def _is_given_compound(word: str) -> bool:
    """Is ``word``, or a part of it between hyphens, a listed given name (Marc-André, Jean-Pierre: one listed part
    makes the whole a given name, so no "Marc-" is left before a redacted "André")?"""
    return any(_is_given(part) for part in word.split("-"))


_ADDRESS_VERBS = r"ask|asked|asking|cc|thanks|thank you|thx|ping|pinged|tell|told"
#: Greetings that open a message: a capitalised word right after one and before a comma, a "!" or the line's end is
#: the person greeted, listed or not (``Hi Mark,``, ``Hello Jürgen,``), unless it is a known non-name (:data:`_NOT_GREETED`)
_OPENINGS = (
    r"hi|hello|hey|hiya|howdy|dear|greetings|good morning|good afternoon|good evening|morning|hallo|moin|servus|"
    r"liebe|lieber|bonjour|salut|coucou|cher|chère|hola|querida|querido|ciao|buongiorno|caro|cara|olá|oi|hej|hoi|"
    r"cześć|witaj"
)
#: Sign-offs: a capitalised word alone on the line after one (``Thanks,\nKeanu``) is the writer's name, listed or not
_SIGN_OFFS = (
    r"cheers|regards|best|best regards|kind regards|gruß|grüße|viele grüße|saludos|thanks|thank you|thx"
)
#: Greetings and sign-offs: a listed given name right after one is the person greeted or signing (``Hi John,``,
#: ``Hallo Sabine``, ``Dear Maria``, ``Cheers,\nPriya``); a word after them that is no listed name is one only in the
#: shapes above (``Hi there``, ``Hello World``, ``Hi Claude`` stay)
_GREETINGS = _OPENINGS + "|" + _SIGN_OFFS
#: (the longest first: "Best Regards" is one sign-off, not "Best" before a name)
_CUES = "|".join(sorted(f"{_ADDRESS_VERBS}|{_GREETINGS}".split("|"), key=len, reverse=True))
_ADDRESSED = re.compile(
    rf"(?:(?<![^\W_])|(?<=\\[nrt]))(?P<cue>(?i:{_CUES}))(?P<sep>[ \t]*,?(?:[ \t]+|[ \t]*(?:\r?\n|\\n)[ \t]*))"
    rf"(?P<n>[{_UP}][{_LO}]{{1,20}}(?:-[{_UP}][{_LO}]{{1,20}})?)(?![^\W_]|[-.][^\W_])"
)
_OPENING_WORDS = frozenset(_OPENINGS.split("|"))
_SIGN_OFF_WORDS = frozenset(_SIGN_OFFS.split("|"))
#: After a greeting's name: a comma, a "!" or the line's (or text's) end; after a sign-off's: the line's end
_GREETED_END = re.compile(r"(?:,|[ \t]?!|[ \t]*(?:\r?\n|\\[nr]|\Z))")
_SIGNED_END = re.compile(r"[ \t]*(?:\r?\n|\\[nr]|\Z)")
_LINE_BREAK = re.compile(r"\n|\\n")
#: Capitalised words a greeting addresses that are no person (besides :data:`COMMON_WORDS`, :data:`TECH_TERMS`): the
#: world, groups, forms of address, coding agents and assistants
_NOT_GREETED = frozenset(
    """world everybody everyone all there folks guys team friends people gang mate buddy dude bro boss chief love
    ladies gentlemen colleagues reader readers visitor stranger you again sir madam mister miss mesdames messieurs
    monsieur madame señor señora signore signora herr frau alle leute zusammen tout tous todos todas tutti ragazzi
    amigos amigo amici equipo équipe earth universe internet bot assistant robot computer siri alexa cortana bard
    devin jules aider amp sweep codegen openhands droid duo cline roo windsurf replit lovable bolt tabnine
    sourcegraph cody""".split()
)
_DAY_AFTER = re.compile(r"[ \t]*\d")


def _trie(words: Iterable[str]) -> str:
    """An alternation of ``words`` as a prefix tree (``h(?:ello|i)``): ``re`` tries each branch in turn at every
    position, so 60 plain branches scanned 2.3x slower than 11."""
    by_first: dict[str, list[str]] = {}
    for w in words:
        by_first.setdefault(w[:1], []).append(w[1:])
    parts = []
    for first, rests in sorted(by_first.items()):
        if not first:
            continue
        longer = [r for r in rests if r]
        if not longer:
            parts.append(re.escape(first))
        else:
            parts.append(re.escape(first) + f"(?:{_trie(longer)})" + ("?" if "" in rests else ""))
    return "|".join(parts)


#: Where an address or greeting can be, in the lower-cased text (_ADDRESSED checks the left side)
_ADDRESSED_ANCHOR = re.compile(rf"(?:{_trie(f'{_ADDRESS_VERBS}|{_GREETINGS}'.split('|'))})[ \t,\n\r\\]")


def _greeted(text: str, m: re.Match[str]) -> bool:
    """Is ``m``'s word, which is no listed given name, still the person greeted or signing: right after an opening
    and before a comma, a "!" or the line's end (``Hi Mark,``), or alone on the line after a sign-off and its line
    break (``Thanks,\nKeanu``), and no common, tech or agent word (``Hello World``, ``Hi Claude``, ``Hey there``)?"""
    name = m.group("n")
    low = name.lower()
    if (
        low in _NOT_GREETED
        or not plausible_person(name)
        or any(part in COMMON_WORDS for part in low.split("-"))
    ):
        return False
    cue = " ".join(m.group("cue").lower().split())
    if cue in _OPENING_WORDS:
        return _GREETED_END.match(text, m.end("n")) is not None
    return (
        cue in _SIGN_OFF_WORDS
        and _LINE_BREAK.search(m.group("sep")) is not None
        and _SIGNED_END.match(text, m.end("n")) is not None
    )


def addressed_names(text: str, lower: str | None = None) -> Iterator[RawHit]:
    """A listed given name alone right after a word that addresses or names a person: ``ask Anna``, ``cc Jürgen``,
    ``thanks, María``, ``told Tomasz``, or after a greeting or a sign-off: ``Hi John,``, ``Hallo Sabine``, ``Dear
    Maria``, ``Cheers,\nPriya`` (only the NER model found these); a word the list lacks only in a greeting's shape
    (``Hi Mark,``, ``Thanks,\nKeanu``: :func:`_greeted`). Not a name that is also a word, a tool or an
    assistant (the list leaves those out: ``Hi Claude``, ``Hello World`` stay), nor a month before a day (``thanks
    Jan 5``). ``lower``: ``text.lower()`` if known."""
    if lower is None:
        lower = text.lower()
    same = len(lower) == len(text)
    starts = (a.start() for a in _ADDRESSED_ANCHOR.finditer(lower)) if same else None
    matches = (_ADDRESSED.match(text, a) for a in starts) if starts is not None else _ADDRESSED.finditer(text)
    for m in matches:
        if m is None or not (_is_given_compound(m.group("n")) or _greeted(text, m)):
            continue
        if m.group("n").lower() in _MONTH_ABBR and _DAY_AFTER.match(text, m.end("n")):
            continue
        yield RawHit(K.PERSON, m.start("n"), m.end("n"), 0.7, "rule")


def given_name_pairs(text: str) -> Iterator[RawHit]:
    """A common given name followed by one to three capitalised surname-like words ("Tomasz Wieczorek", "Ana María
    Ibáñez", "Ronald McDonald"): no introduction needed. Surname words that are common or tech words end it
    ("Peter Django" keeps "Django"; "Grace Hopper" goes)."""
    given = given_names()
    done = 0
    for m in _CAP_WORD.finditer(text):
        if m.start() < done or m.group(0).lower() not in given and not _is_given_compound(m.group(0)):
            continue
        tail = _SURNAME_WORDS.match(text, m.end())
        if tail is None:
            continue
        end = m.end()
        for w in _WORD.finditer(tail.group(0)):
            word = w.group(0).rstrip("'’")
            possessive = word[-2:] in ("'s", "’s")
            if possessive:
                word = word[:-2]
            if word.isupper() or word.lower() in _MONTH_ABBR or not plausible_person(word):
                break
            end = tail.start() + w.start() + len(word)
            if possessive or len(word) < len(w.group(0)):  # "Andrew Kuchling's module", "Michael Foord'"
                break
        if end > m.end():
            done = end
            yield RawHit(K.PERSON, m.start(), end, 0.75, "rule")


#: A title before a surname: English ones capitalised (``Ms Word`` and ``MS Teams`` are no people), the French
#: ``M.`` with its dot, and German, French, Spanish, Portuguese and Italian ones in any case (``la señora``)
_TITLES = (
    r"(?:Mr|Mrs|Ms|Mx|Dr|Prof)\.?|M\.|(?i:herrn?|frau|mme|mlle|monsieur|madame|mademoiselle|sr|sra|srta|se[ñn]or|"
    r"se[ñn]ora|se[ñn]orita|senhor|senhora|sig|sig\.ra|signor|signora|dott|dott\.ssa)\.?"
)
#: A surname word: capitalised, also with a capital inside after a short prefix (O'Brien, McDonald, DeVito, D'Angelo)
_SURNAME = rf"[{_UP}](?:[{_LO}]{{0,2}}['’]?[{_UP}])?[{_LO}'’]{{1,30}}(?:-[{_UP}][{_LO}]{{1,30}})?"
#: Lower-case academic qualifiers after a title (Dr. med., Dr. rer. nat., Prof. Dr. h.c., Dr. med. dent., Dr.-Ing.)
_QUALIFIERS = (
    r"(?:[ \t]+(?:med|dent|vet|rer|nat|pol|oec|publ|phil|jur|iur|theol|habil|mult|techn|sc|soc|paed|agr|biol|hum|"
    r"h\.[ \t]?c)\.|-Ing\.)*"
)
_TITLED = re.compile(
    rf"(?<![^\W_])(?P<t>{_TITLES}){_QUALIFIERS}[ \t]+(?P<n>{_SURNAME}(?:[ \t]+{_SURNAME}){{0,2}})(?![^\W_])"
)
#: A second title after the first (Herr Dr. Müller, Frau Prof. Öztürk): the name follows it
_TITLE_WORD = re.compile(r"(?:Dr|Prof|Mr|Mrs|Ms|Mx)\.?")
#: Where a title can start: its capitalised spellings, scanned case-sensitively (capitals are rare in code: 3x
#: faster than a lower-cased scan), and the full words Spanish, Portuguese, Italian and French write in lower case
#: before a name (la señora Carmen Ortega), found with str.find
_TITLED_ANCHOR = re.compile(
    r"(?:M(?:rs?|s|x|me|lle|onsieur|adame|ademoiselle)?|Dr|Prof|Herrn?|Frau|Sr(?:t?a)?|Sig|Dott|Se[ñn]or|Senhor|"
    r"Signor)[. \t]"
)
_LOWER_TITLES = ("señor", "senhor", "signor", "monsieur", "madame")  # (and their feminine forms)
#: Words after a title that make a job title, not a name (Sr. Software Engineer, Dr. Who is a show, not a person
#: one could find)
_ROLE_WORDS = frozenset(
    """software staff principal lead manager developer engineer director analyst consultant data product program
    project associate vice executive account backend frontend fullstack devops designer architect scientist
    researcher specialist advisor officer member""".split()
)
#: Words after a title that make a product, a brand or a screen character, not a person one could find: Microsoft's
#: "Ms Word", "Ms Outlook" (MS written Ms), "Mr Robot", "Mr Bean", "Dr Pepper", "Mr Clean" ("Dr Web", "Ms Excel" are
#: tech or common words already). A title before such a word makes no PERSON.
_TITLE_PRODUCTS = frozenset(
    """word outlook onenote teams access paint publisher visio office edge robot bean pepper clean freeze strange
    octopus""".split()
)


def titled_names(text: str, lower: str | None = None) -> Iterator[RawHit]:
    """A surname (and the given names before it) after a title: ``Mr. Villalobos``, ``Dr Ostermeier``,
    ``Herrn Ostermeier``, ``M. Roussel``, ``la señora Carmen Ortega``, ``Sra. Fernanda Rodrigues`` (without an
    introduction only the given-name list found these, and only with a listed given name). The words end at a
    common, tech or job word (``Sr. Software Engineer`` stays). ``lower``: ``text.lower()`` if known."""
    if lower is None:
        lower = text.lower()
    if len(lower) == len(text):
        found = [a.start() for a in _TITLED_ANCHOR.finditer(text)]
        for needle in _LOWER_TITLES:
            if needle in lower:  # (rare: no loop of finds on every text)
                p = lower.find(needle)
                while p != -1:
                    found.append(p)
                    p = lower.find(needle, p + 1)
        if not found:
            return
        matches: Iterable[re.Match[str] | None] = (_TITLED.match(text, p) for p in sorted(set(found)))
    else:
        matches = _TITLED.finditer(text)
    done = 0
    for m in matches:
        if m is None or m.start() < done or m.group("n").split(None, 1)[0].lower() in _TITLE_PRODUCTS:
            continue
        end = m.start("n")
        for w in _WORD.finditer(m.group("n")):
            word = w.group(0)
            low = word.lower()
            if _TITLE_WORD.fullmatch(word):
                break
            if low in _ROLE_WORDS or low in _MONTH_ABBR or not plausible_person(word):
                break
            if m.group("t") == "M." and len(word) < 3:  # M. Sc.
                break
            end = m.start("n") + w.end()
        if end > m.start("n"):
            done = end
            yield RawHit(K.PERSON, m.start("n"), end, 0.75, "rule")


#: The most common Chinese surnames: "我叫" (also "I told", "I called") is an introduction only before one
_CN_SURNAMES = (
    "王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹彭曾肖田董袁潘于蒋蔣"
    "蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范金石廖贾賈夏韦韋付方白邹鄒孟熊秦邱江尹薛闫閆段雷侯龙龍史陶黎"
    "贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔向汤湯欧歐阳陽司上官诸葛"
)
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_KATAKANA = "\u30a0-\u30ff"
_HANGUL = "\uac00-\ud7a3"
#: Words that follow a name in an unbroken Chinese introduction (我叫王明今年25岁, 我叫李强是学生): the name's third
#: character is not one of them
_CN_AFTER_NAME = "今年|今天|现在|現在|目前|来自|來自|住在|喜欢|喜歡|毕业|畢業|负责|負責|工作|出生|是|的|在|了|岁|歲|也|很|就|从|從|请|請"
#: A form's placeholders and field words after a label (名前：テキスト, 氏名：未入力, 이름: 사용자): no name
_CJK_NOT_NAMES = frozenset(
    """テキスト ユーザー ユーザ ユーザー名 ユーザ名 ゲスト サンプル テスト タイトル ボタン ラベル ファイル ファイル名 データ
    フォーム デフォルト ニックネーム フルネーム ネーム アカウント アカウント名 ログイン パスワード メール メールアドレス アドレス
    グループ プロジェクト 未入力 未登録 未記入 未設定 空欄 任意 必須 入力 名前 氏名 姓名 匿名 名無し 管理者 管理员 管理員
    用户 用戶 用户名 用戶名 名称 名稱 名字 文本 示例 测试 測試 未填写 未填寫 暂无 暫無 사용자 관리자 익명 테스트 텍스트 미정
    미입력 이름 입력""".split()
)
#: Words after a space that make no given name: titles, honorifics, a form's next field (名前：田中 様, 姓名：王 先生,
#: 이름: 서연 학생, 姓名：王小明 男)
_CJK_NOT_GIVEN = frozenset(
    """様 殿 氏 君 宛 御中 先生 部長 課長 社長 係長 主任 住所 電話 年齢 性別 男性 女性 男 女 等 他 女士 小姐 老师 老師 同学
    同學 经理 經理 总 總 收 电话 手机 手機 地址 性别 年龄 年齡 邮箱 郵箱 部门 部門 职位 職位 님 씨 군 양 학생 선생님 선생 고객
    회원 과장 부장 대리 사원 팀장 입니다 이에요 예요 이다 전화 주소 나이 성별 이메일 부서 직위 등 외 및 です でした さん さま くん ちゃん
    どの あて""".split()
)
_HIRAGANA = "\u3041-\u3096"
#: Hiragana that start no given name after a family name: a particle, a copula, an honorific (田中です, 田中さん,
#: 山田から, 山田までお願いします, 田中では), or a particle no common given name starts with (山田がやる, 林にする,
#: 原でいい, 森をみる, 林へいく: が, を, に, へ, で; の, と, は, も, か, や start names: のぞみ, ともこ, はるか, もも)
_HIRA_NOT_GIVEN_START = (
    "です|でした|でしょ|さん|さま|くん|ちゃん|から|まで|より|など|にて|では|には|とは|への|だけ|だよ|だね|だった|が|を|に|へ|で"
)
#: Hiragana words before です or after a label that are no name (名前はなんですか, 名前はまだないです, 名前はひみつです)
_HIRA_NOT_NAMES = frozenset(
    """です でした だ だよ だね ね よ ない なし なん なに まだ まだない いい よい これ それ あれ どれ ここ そこ ひみつ
    ありません わかりません ちがいます おなじ そのまま べつ ほか など さん さま くん ちゃん""".split()
)
#: A Japanese given name in hiragana (2 to 4 kana: さくら, はじめ, ゆい) right after a family name in kanji, ending where the
#: kana end or before the words that close a name (田中さくら, 田中さくらです, 田中さくらさん)
_HAN_HIRA = (
    rf"[{_HAN}々]{{1,3}}(?!{_HIRA_NOT_GIVEN_START})[{_HIRAGANA}]{{2,4}}"
    rf"(?:(?![{_HIRAGANA}])|(?=です|さん|様|さま|ちゃん|くん|と申します|といいます))"
)
#: A name in an introduction before です/と申します: kanji or katakana (佐藤花子, ジョナサン・スミス), or a given name in
#: hiragana after an optional family name (さくら, 田中さくら, 田中 さくら)
_JP_INTRO_NAME = (
    rf"[{_HAN}{_KATAKANA}]{{2,6}}?|[{_KATAKANA}]{{2,16}}?"
    rf"|(?:[{_HAN}々]{{1,3}}[ \t\u3000]?)?(?!{_HIRA_NOT_GIVEN_START})[{_HIRAGANA}]{{2,4}}?"
)
#: What may follow a given name written after a space and the family name without a break (名前：田中 太郎です)
_CJK_NAME_ENDS = "です|さん|様|と申します|입니다|이에요|예요|님|씨"
#: A name in Chinese, Japanese or Korean after a label that asks for one or an introduction that gives it, ending where
#: the script ends or at the words that close an introduction: 姓名：王小明, 担当：山田太郎, 我叫王小明, 名前は山田です,
#: 私は山田と申します, 제 이름은 김민준입니다, 이름: 김민준. A self-description ("私は学生です", "저는 학생입니다") has no
#: such closing words and stays.
_CJK_NAMES = re.compile(
    rf"(?:姓名|联系人|聯絡人|负责人|負責人|氏名|名前|担当者?|이름)[ \t]*[:：][ \t]*(?!未定|待定|未設定|未设定|不明|未知|無し|なし|없음)"
    rf"(?:(?P<s>[{_HAN}]{{1,3}}[ \t\u3000][{_HAN}]{{1,3}}?|[{_KATAKANA}]{{2,8}}[ \t\u3000][{_KATAKANA}]{{1,8}}?"
    rf"|[{_HAN}]{{1,3}}[ \t\u3000](?:[{_HIRAGANA}]{{2,4}}?|[{_KATAKANA}]{{2,8}}?)"
    rf"|[{_HANGUL}]{{1,2}}[ \t][{_HANGUL}]{{1,3}}?)(?:(?!\w)(?![ \t]*[:：])|(?={_CJK_NAME_ENDS}))"
    rf"|(?P<a>{_HAN_HIRA}|[{_HAN}{_KATAKANA}]{{2,6}}(?![{_HAN}{_KATAKANA}])|[{_KATAKANA}]{{2,16}}(?![{_HAN}{_KATAKANA}])"
    rf"|[{_HANGUL}]{{2,4}}(?![{_HANGUL}])))"
    rf"|我(?:叫|的名字[是叫])[ \t]*(?P<b>[{_CN_SURNAMES}][{_HAN}](?:(?!{_CN_AFTER_NAME})[{_HAN}])?)"
    rf"|(?:私の名前は|名前は)[ \t]*(?P<c>{_JP_INTRO_NAME})[ \t]*(?=です|と申します|といいます)"
    rf"|私は[ \t]*(?P<d>{_JP_INTRO_NAME})[ \t]*(?=と申します|といいます)"
    rf"|(?:제|내)[ \t]+이름은[ \t]*(?P<e>[{_HANGUL}]{{2,4}}?)(?=입니다|이에요|예요|이야|[ \t\n,.!?]|$)"
    rf"|(?:저는|나는)[ \t]*(?P<f>[{_HANGUL}]{{2,4}}?)(?=이라고 합니다|라고 합니다|이라고 해요|라고 해요)"
)

_KANA_TAIL = re.compile(f"[{_HIRAGANA}]+$")

#: The first characters of the labels and introductions above (one character class: a 7x faster scan than theirs)
_CJK_FIRST = re.compile("[姓联聯负負氏名担이我私제내저나]")


#: The most common Japanese family names (a speaker label's family name is one of these or of :data:`_CN_SURNAMES`)
_JP_SURNAMES = frozenset(
    """佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 斉藤 清水
    山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 福田 太田 西村
    藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 上田 原 柴田 酒井 工藤 横山 宮崎
    宮本 内田 高木 安藤 島田 谷口 大野 高田 丸山 今井 河野 藤本 村田 武田 上野 杉山 増田 小山 大塚 平野 菅原 久保 松井
    千葉 岩崎 桜井 木下 野口 松尾 菊地 野村 新井 渡部 吉川 山内 西田 菊池 北村 平田 松下 服部 佐野 大西 川口 星野""".split()
)
#: Korean family names that are no common one-syllable word before a noun (이 "this", 전 "all", 한 "one", 신 "new", 구
#: "old", 주 "main" are left out: 이 파일: is "this file:")
_KR_SURNAMES = frozenset(
    "김 박 최 윤 강 조 임 권 황 송 류 유 홍 손 배 백 허 곽 심 노 성 민 엄 채 원 변 염 추 석 설 길 연 표 탁 남궁 황보 선우 제갈 독고".split()
)
#: A word in katakana (2 to 8 letters, the long-vowel mark after the first: ジョン, マリア, スミス, ケーシー)
_KATA_WORD = "[\u30a1-\u30fa][\u30a1-\u30fa\u30fc]{1,7}"
#: The dots between the parts of a foreign name in katakana (ジョン・スミス; half-width, or a Latin middle dot)
_NAME_DOT = "[\u30fb\uff65\u00b7]"
#: What follows a family name alone in a speaker label, making it a person's: Japanese, Chinese and Korean honorifics
#: and titles (田中さん：, 田中 様：, 王先生：, 李 老师:, 김 씨:), checked against the family name's language in
#: :func:`_speaker`
_JP_HONORIFICS = frozenset("様 さま さん ちゃん くん 君 殿 氏 先生".split())
_CN_HONORIFICS = frozenset("先生 女士 小姐 老师 老師".split())
_KR_HONORIFICS = frozenset("님 씨 선생님 교수님 박사님 사장님 부장님 과장님 팀장님 대리님 선배님".split())
_HONORIFIC = "|".join(sorted(_JP_HONORIFICS | _CN_HONORIFICS | _KR_HONORIFICS, key=len, reverse=True))
#: A speaker label at a line's start: a family name, a space and a given name before a colon (田中 太郎：, 王 小明:,
#: 김 민준:), a given name in hiragana (2 to 4 kana) or katakana (ジョン, マリア・ルイサ) after a kanji family name, with
#: or without a space and before an optional honorific (林ゆい：, 田中 さくら：, 林ゆいさん：, 田中 ジョン：,
#: 佐藤マリア:), a family name and an honorific (田中さん：, 田中 様：, 王先生：: ``t``), or a foreign name in katakana
#: whose parts a middle dot joins (ジョン・スミス：: ``d``); the names are checked in :func:`_speaker`
_CJK_SPEAKER = re.compile(
    rf"(?:\A|\n|\\n)[ \t\u3000]*(?:(?P<f>[{_HAN}々]{{1,3}}|[{_HANGUL}]{{1,2}})"
    rf"(?:[ \t\u3000]*(?P<t>{_HONORIFIC})|[ \t\u3000]+(?P<g>[{_HAN}]{{1,3}}|[{_HANGUL}]{{1,2}})"
    rf"|[ \t\u3000]*(?P<h>[{_HIRAGANA}]{{2,4}}?)(?:さん|さま|ちゃん|くん)?"
    rf"|[ \t\u3000]*(?P<k>{_KATA_WORD}(?:{_NAME_DOT}{_KATA_WORD})?)(?:さん|様|さま|ちゃん|くん)?)"
    rf"|(?P<d>{_KATA_WORD}(?:(?:{_NAME_DOT}|[ \t\u3000]){_KATA_WORD}){{1,2}}))"
    rf"[ \t\u3000]*[:：]"
)  # (a line break matched, not looked behind for: 1.3x faster)
#: The start of a hiragana word that is no given name (:data:`_HIRA_NOT_GIVEN_START`), for :func:`_speaker`; and,
#: right after a one-kanji family name that is also a noun (林 "forest", 森 "woods", 原 "field"), any particle: 森のなか：,
#: 原として：, 林もある： are no names (林 のぞみ：, with a space, is taken; 林のぞみ： when the kana are a common given
#: name, :data:`_HIRA_PARTICLE_GIVEN`)
_HIRA_NOT_GIVEN_HEAD = re.compile(_HIRA_NOT_GIVEN_START)
_HIRA_PARTICLE_HEAD = re.compile("[のとはもかや]")
#: Common given names in hiragana that start with one of those particles' kana (のぞみ, ともこ, はるか, ももこ, かおり,
#: やよい): right after a one-kanji family name they are a name all the same (林のぞみ：, 森はるか：, 原かおりさん：). Not
#: those that are also a particle's phrase there (かな "I wonder", かよ, とも "also", のの, のあ)
_HIRA_PARTICLE_GIVEN = frozenset(
    """のぞみ のりこ のりか のどか ともこ ともみ ともか ともえ ともよ としこ としえ ときこ はるか はるな はるみ はるひ
    はるこ はるき はるの はなこ はづき はつみ はやと ももこ ももか もえか もとこ かおり かおる かなこ かなえ かなみ
    かずこ かずみ かずえ かずや かずき かえで かりん かれん かすみ かほり かつこ やよい やすこ やすよ やすえ やえこ""".split()
)

_NAME_DOT_RE = re.compile(_NAME_DOT)
_HANGUL_RE = re.compile(f"[{_HANGUL}]")
#: Common foreign given names in katakana: a speaker label's katakana words a space joins start with one (ジョン
#: スミス：, マリア ガルシア：), not エラー コード：, テスト ケース：
_KATA_GIVEN_NAMES = frozenset(
    """ジョン ジョージ ジェームズ ジェームス ジャック ジェイク マイケル マイク デビッド デヴィッド デイビッド ロバート ボブ
    ウィリアム ビル リチャード トーマス トム チャールズ ダニエル マシュー アンドリュー ポール マーク スティーブ スティーブン
    ケビン ケヴィン ブライアン ピーター クリス クリストファー サム ベン アレックス アレクサンダー エリック フランク ヘンリー
    ジャン ピエール ハンス カール ルイス カルロス ホセ フアン マリア メアリー メアリ サラ エミリー エマ アンナ アン リサ
    ジェシカ ジェニファー エリザベス キャサリン ケイト ローラ レイチェル ソフィア ソフィー オリビア ジュリア ナンシー
    スーザン カレン リンダ ルーシー アリス クレア ジェーン ミシェル ニコル ルイーズ""".split()
)
#: (katakana too: a label of a katakana name alone, ジョン・スミス：)
_HAN_OR_HANGUL = re.compile(f"[{_HAN}{_HANGUL}\u30a1-\u30fa]")


def _speaker(m: re.Match[str]) -> bool:
    """Is a speaker label's ``f`` a known family name and ``g`` a given name of the same script, no title or field word
    nor, after a Chinese surname, a word that starts with it (田中 太郎：, 王 小明:, 김 민준:, not 注意 事項：, 이 파일:,
    金 额:), or ``h`` a given name in hiragana after a listed
    Japanese family name, no particle, copula or honorific, no word the labels reject, and right after a one-kanji
    family name no particle's kana first unless a common given name's (林ゆい：, 林のぞみ：, not 田中さん：, 林から：,
    山田がやる：, 田中 です：, 森のなか：, 林かな：), or ``k`` a given name in katakana after a listed Japanese family
    name, no field word and, right after a one-kanji family name that is also a noun, after a space (田中 ジョン：,
    佐藤マリア：, 林 マリア：, not 原データ：, 田中 ファイル：), or ``t`` an honorific of the family name's language
    after a listed family name (田中さん：, 田中 様：, 王先生：, 高小姐：, 김 씨:, not 田中 小姐：), or
    ``d`` a katakana name whose parts a middle dot joins, no field word among them (ジョン・スミス：, not
    ユーザー・データ：)?"""
    if m.group("d") is not None:
        parts = re.split(f"{_NAME_DOT}|[ \t\u3000]", m.group("d"))
        if any(part in _CJK_NOT_NAMES for part in parts):
            return False
        # parts a space joins (ジョン スミス：) are a name only after a common given name: エラー コード： is no name
        return _NAME_DOT_RE.search(m.group("d")) is not None or parts[0] in _KATA_GIVEN_NAMES
    family, given = m.group("f"), m.group("g")
    if m.group("t") is not None:
        title = m.group("t")
        if family[0] >= "\uac00":  # Hangul
            return title in _KR_HONORIFICS and family in _KR_SURNAMES
        return (family in _JP_SURNAMES and title in _JP_HONORIFICS) or (
            len(family) == 1 and family in _CN_SURNAMES and title in _CN_HONORIFICS
        )
    if m.group("k") is not None:
        return (
            family in _JP_SURNAMES
            and (len(family) > 1 or m.start("k") > m.end("f"))
            and not any(part in _CJK_NOT_NAMES for part in re.split(_NAME_DOT, m.group("k")))
        )
    if given is None:
        kana = m.group("h")
        return (
            family in _JP_SURNAMES
            and _HIRA_NOT_GIVEN_HEAD.match(kana) is None
            and (
                len(family) > 1
                or m.start("h") > m.end("f")
                or _HIRA_PARTICLE_HEAD.match(kana) is None
                or kana in _HIRA_PARTICLE_GIVEN
            )
            and kana not in _HIRA_NOT_NAMES
            and kana not in _CJK_NOT_GIVEN
        )
    if given in _CJK_NOT_NAMES or given in _CJK_NOT_GIVEN or family in _CJK_NOT_NAMES:
        return False
    if family[0] >= "\uac00":  # Hangul
        return given[0] >= "\uac00" and family in _KR_SURNAMES
    if given[0] >= "\uac00":
        return False
    if len(family) == 1 and family + given in cn_surname_words():  # (林 业: is "forestry", for 林 of both lists)
        return False
    if family in _JP_SURNAMES:
        return True
    return len(family) == 1 and family in _CN_SURNAMES and len(given) <= 2


#: Korean family names before a given name of two syllables and an honorific (김민수 님, 이지은 씨): those of
#: :data:`_KR_SURNAMES` and the common ones that are also words (이, 정, 한, 신, 전, 주, 장…), safe before three
#: syllables and an honorific
_KR_FULL_SURNAMES = "".join(
    sorted(s for s in _KR_SURNAMES | frozenset("이 정 한 신 전 주 장 오 서 문 양 안 고 하 진".split()) if len(s) == 1)
)
#: Korean words of three syllables that start with a family name and take an honorific: roles, not names (이용자님,
#: 전문가님, 연구원님, 방문자님)
_KR_NOT_FULL_NAMES = frozenset(
    """이용자 이사장 전문가 전문의 연구원 연구자 연구진 방문자 방문객 구독자 구매자 신청자 신입생 주문자 주최자 주인공
    조합원 조교수 한국인 유학생 임대인 임차인 정회원 정비사 공무원 공급자 소유자 소비자 여행자 고객사 지원자 진행자
    안내원 양육자 유튜버 장학생 장애인 전공자 민원인 노동자 배우자 성직자 강연자 강의자 조력자 판매자 구직자 발표자
    신고자 서비스 하객님 고객님 손님들 문의자 수강생 조사관 오퍼레이터 강사진 심사관 작성자 참가자""".split()
)
_KR_TITLES = "님|씨|선생님|교수님|박사님|사장님|부장님|과장님|팀장님|대리님|선배님"
#: A Korean full name (family name, two syllables) before an honorific, a space or none between (김민수 님, 이지은 씨,
#: 김민수님께), or a listed family name, a space and an honorific or a title (박 선생님, 김 씨, 최 교수님께), then a
#: particle or no more Hangul: in a speaker label or an address
_KR_TITLED = re.compile(
    rf"(?<![{_HANGUL}])(?:(?P<n>[{_KR_FULL_SURNAMES}][{_HANGUL}]{{2}})[ \t]?"
    rf"|(?P<f>{'|'.join(sorted(_KR_SURNAMES, key=len, reverse=True))})[ \t])(?:{_KR_TITLES})"
    rf"(?=(?:께서|께|에게|한테|의|은|는|이|가|을|를|도|과|와|이랑|랑)?(?![{_HANGUL}]))"
)


def korean_titled_names(text: str) -> Iterator[RawHit]:
    """Korean names with an honorific or a title, in a speaker label or an address (김민수 님:, 이지은 씨, 박
    선생님께): the name is taken, the honorific stays; not a role (이용자님, 전문가님) nor a word alone before one
    (이 님, 손님)."""
    for m in _KR_TITLED.finditer(text):
        if m.group("n") is not None and m.group("n") in _KR_NOT_FULL_NAMES:
            continue
        name = "n" if m.group("n") is not None else "f"
        yield RawHit(K.PERSON, m.start(name), m.end(name), 0.8, "rule")


@functools.cache
def cn_surname_words() -> frozenset[str]:
    """Common Chinese words whose first character is a surname of :data:`_CN_SURNAMES` (金额, 高度, 方法, 程序员:
    ``codecensus/data/cn_surname_words.txt``, from jieba's dictionary): a speaker label's "金 额:" is one of them,
    written with a space, no family and given name."""
    text = resources.files("codecensus.data").joinpath("cn_surname_words.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def cjk_names(text: str) -> Iterator[RawHit]:
    """Chinese, Japanese and Korean names after a label or in an introduction (see :data:`_CJK_NAMES`); the other
    rules look for Latin letters only."""
    if text.isascii():
        return
    for a in _CJK_FIRST.finditer(text):
        m = _CJK_NAMES.match(text, a.start())
        if m is not None and m.group("s") is not None:  # a family name, a space, a given name: 名前：田中 太郎
            family, given = m.group("s").split(None, 1)
            if family not in _CJK_NOT_NAMES and given not in _CJK_NOT_NAMES and given not in _CJK_NOT_GIVEN:
                yield RawHit(K.PERSON, m.start("s"), m.end("s"), 0.8, "rule")
            elif len(family) >= 2 and family not in _CJK_NOT_NAMES:  # the family name alone (名前：田中 様)
                yield RawHit(K.PERSON, m.start("s"), m.start("s") + len(family), 0.8, "rule")
        elif m is not None and m.lastgroup is not None and m.group(m.lastgroup) not in _CJK_NOT_NAMES:
            start, end = m.span(m.lastgroup)
            kana = _KANA_TAIL.search(text, start, end)
            # 担当：山田だよ: the kanji alone; 名前はなんです: nothing
            if kana is not None and kana.group(0) in _HIRA_NOT_NAMES:
                end = kana.start() if m.lastgroup == "a" else start
            if end > start:
                yield RawHit(K.PERSON, start, end, 0.8, "rule")
    if ("님" in text or "씨" in text) and _HANGUL_RE.search(text) is not None:
        yield from korean_titled_names(text)
    # (one Han, Hangul or katakana character looked for first: a 5x faster scan than the lines')
    if (":" in text or "：" in text) and _HAN_OR_HANGUL.search(text) is not None:
        for m in _CJK_SPEAKER.finditer(text):
            if _speaker(m):  # (an honorific stays: 田中さん： gives [PERSON]さん：)
                name = m.lastgroup if m.lastgroup in ("g", "h", "k", "d") else "f"
                yield RawHit(K.PERSON, m.start("d" if name == "d" else "f"), m.end(name), 0.8, "rule")
