"""codecensus' own detection patterns (the fast path).

Every rule is a compiled regular expression plus

- ``triggers``: lower-case literals, at least one of which must occur in the lower-cased
  text for the rule to run at all (the cheap pre-check; an empty tuple means "always run");
- ``group``: the capture group whose span is redacted (0 = the whole match), so that
  ``password=hunter22`` becomes ``password=[SECRET]`` and ``/Users/alice/x`` becomes
  ``/Users/[PATH_USER]/x``: structure is preserved, only the identifying part goes;
- ``check``: an optional validator (Luhn for cards, ``phonenumbers`` for phones,
  ``ipaddress`` for IPs, placeholder filters for assignments).

Patterns avoid catastrophic backtracking (bounded repeats, no nested unbounded groups)
and accept a token right after a literal ``\\n``/``\\t`` escape, as found in JSON text
embedded inside tool results.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise

from codecensus.redact import entities as K
from codecensus.redact.names import given_names

# Right boundary for tokens.
E = r"(?![A-Za-z0-9_])"
# Left boundary alternative: right after a literal \\n / \\t / \\r escape (JSON text inside a tool result).
AFTER_ESC = r"(?<=\\[nrt])"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    group: int | str = 0
    check: Callable[[re.Match[str]], bool] | None = None
    score: float = 0.9
    left: str = ""  # characters that must not precede the match (checked in Python: faster than a lookbehind)
    # Optional case-sensitive regex run over the LOWER-CASED text to find where ``regex`` can start;
    # ``regex`` is then only tried there. Case-insensitive alternations are ~8x slower in ``re``.
    anchor: re.Pattern[str] | None = None
    # Optional function giving the only positions of the text where ``regex`` can start, in order (for a rule
    # whose matches end at a rare character but start at a word: scanning every position is slower).
    starts: Callable[[str, str], Iterator[int]] | None = None  # (text, its lower case)


_WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
LEFT_WORD = _WORD
LEFT_WORD_DASH = _WORD + "-"


def left_ok(text: str, start: int, banned: str) -> bool:
    """Left boundary: the previous char is not banned, or it is the letter of a literal \\n/\\t/\\r escape."""
    if start == 0:
        return True
    prev = text[start - 1]
    if prev not in banned:
        return True
    return prev in "nrt" and start >= 2 and text[start - 2] == "\\"


# -- validators --------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(r"4|5[1-5]|2[2-7]|3[47]|6(?:011|5|4[4-9])|35|3(?:0[0-5]|[68])")


def _card_ok(m: re.Match[str]) -> bool:
    raw = m.group(0)
    digits = re.sub(r"[ -]", "", raw)
    if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
        return False
    if len(set(digits)) == 1:  # 0000 0000 0000 0000
        return False
    seps = set(re.findall(r"[ -]", raw))
    if len(seps) > 1:
        return False
    if seps:
        groups = [len(g) for g in re.split(r"[ -]", raw)]
        four = all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4 and len(groups) >= 4
        amex_diners = len(groups) == 3 and groups[0] == 4 and groups[1] == 6 and groups[2] in (4, 5)
        if not (four or amex_diners):
            return False
    return luhn_ok(digits)


def iban_ok(s: str) -> bool:
    s = s.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def _iban_ok(m: re.Match[str]) -> bool:
    return iban_ok(m.group(0))


_VERSION_BEFORE = re.compile(r"(?:(?<![A-Za-z])v|\b(?i:version|ver\.?))[ \t:=]*$|(?:==|>=|<=|~=|!=|\^|~)$")
# RFC 1918 private and CGNAT ranges are shared by millions of networks and identify nobody; they
# stay in the text (loopback, link-local, multicast and 255.x masks too). Documentation ranges
# (192.0.2/24, 198.51.100/24, 203.0.113/24) are redacted like public addresses.
_SHARED_V4_NETS = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


def _ipv4_ok(m: re.Match[str]) -> bool:
    s = m.group(0)
    start = m.start()
    text = m.string
    # version strings: "v1.2.3.4", "version 1.2.3.4"
    if _VERSION_BEFORE.search(text, max(0, start - 12), start):
        return False
    try:
        ip = ipaddress.IPv4Address(s)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        return False
    if any(ip in net for net in _SHARED_V4_NETS):
        return False
    after = text[m.end() : m.end() + 2]
    if len(after) == 2 and after[0] == "." and after[1].isalpha():  # 1.2.3.4.dev0, part of a longer token
        return False
    first = int(s.split(".", 1)[0])
    return first != 255 and s != "1.1.1.1" and s != "8.8.8.8" and s != "8.8.4.4"


def _ipv6_ok(m: re.Match[str]) -> bool:
    s = m.group(0)
    core = s.split("%", 1)[0]
    if core.count(":") < 3:
        return False
    groups = [g for g in core.split(":") if g]
    if len(groups) < 3:
        return False
    try:
        ip = ipaddress.IPv6Address(core)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _looks_random(s: str) -> bool:
    """Does ``s`` change between lower case, upper case, digit and punctuation at every other character or more
    often, as a random key does (``Qz7Wq4Xk2M9pL3rTv8Yb``, ``ya29.a0AfH6SMQz7W``; not ``accessTokenForUser123``)?"""
    kinds = [1 if c.islower() else 2 if c.isupper() else 3 if c.isdigit() else 4 for c in s]
    return len(s) >= 16 and 2 * sum(a != b for a, b in pairwise(kinds)) >= len(s)


def _token_body_ok(m: re.Match[str]) -> bool:
    """Random keys contain digits and letters; placeholders like sk-xxxxxxxx… do not."""
    s = m.group(0)
    return _has_digit(s) and sum(c.isalpha() for c in s) >= 6


_PLACEHOLDER_VALUES = frozenset(
    """none null nil true false undefined string str bytes int integer number bool boolean optional
    required secret password passwd token apikey api_key key value values changeme change_me example
    your_token your_password your_api_key your-api-key your_key placeholder redacted masked hidden
    env environ default empty test dummy sample todo fixme xxx yyy zzz
    """.split()
)
_REF_PREFIXES = (
    "$",
    "{",
    "<",
    "%",
    "[",
    "(",
    "@",
    "process.env",
    "os.environ",
    "os.getenv",
    "getenv",
    "env.",
    "env[",
    "env(",
    "secrets.",
    "self.",
    "this.",
    "config.",
    "settings.",
    "import.meta",
    "vault:",
    "op://",
    "arn:",
    "http://",
    "https://",
    "/",
    "./",
    "~/",
    "******",
    "...",
    "…",
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_REPEATED = re.compile(r"(.)\1{5,}")


def secret_value_ok(value: str, *, quoted: bool) -> bool:
    """Is the right-hand side of ``password=...`` plausibly a real secret (not code or a placeholder)?"""
    v = value.strip()
    if len(v) < 4 or len(v) > 512 or " " in v:
        return False
    low = v.lower()
    if low in _PLACEHOLDER_VALUES or low.startswith(("your", "my_", "<", "xxx", "***")):
        return False
    if low.startswith(_REF_PREFIXES) or v.endswith(("(", ")", "()", ",")):
        return False
    if _REPEATED.search(v) and len(set(v)) <= 3:
        return False
    if v.isdigit() and len(v) < 12:
        return False
    classes = (
        any(c.islower() for c in v)
        + any(c.isupper() for c in v)
        + any(c.isdigit() for c in v)
        + any(not c.isalnum() for c in v)
    )
    if "..." in v or "…" in v or "://" in v:
        return False  # elided example, or a URL (the URL rules redact its secret parts)
    if not quoted and (_IDENT.fullmatch(v) and not _has_digit(v) or any(c in v for c in "([{<")):
        # unquoted identifiers and expressions are code (password=password, token=d['token'], k=f(x))
        return False
    if classes >= 2:
        return True
    return len(v) >= 16 and not _IDENT.fullmatch(v)


#: Keys whose quoted value is a secret even with spaces in it (a passphrase: ``"correct horse battery staple"``);
#: not ``token`` alone (a tokenizer's tokens are words) nor ``credentials``.
_PASSPHRASE_KEY = re.compile(
    r"(?i)(?:password|passwd|passphrase|pwd|secret|secret[_-]?key|(?:access|auth|refresh|session|bearer|api|bot)[_-]?token|"
    r"api[_-]?key|apikey|private[_-]?key|client[_-]?secret|app[_-]?secret|webhook[_-]?secret|db[_-]?pass)(?:\\?[\"'])?\]?[ \t]*"
    r"(?:=|:=|=>|::|:)[ \t]*\\?[\"']\Z"
)
#: Words of prose, messages and instructions (``"see the vault"``, ``"Password is required"``), never of a passphrase
_PROSE_WORDS = frozenset(
    """a an the is are was be been must should will can cannot can't don't not no none null please enter type set
    see use used using stored store in on at from to of for with by as here there this that it your yours our
    their required invalid incorrect wrong missing empty least characters chars match matches field fields value
    too short change changeme same above below vault env environment file example placeholder redacted hidden
    de du la le les des et el los las y der die das und mot passe kennwort wachtwoord
    """.split()
)
#: Names of a secret: words of a label or a message (``"Secret Key"``, ``"Confirm password"``, ``"token expired"``), but
#: a passphrase of three or more lower-case words may hold one (``"my secret horse battery"``)
_SECRET_NAME_WORDS = frozenset("password passwd passphrase secret token key keys".split())
_PHRASE_WORD = re.compile(r"[^\s${}<>()\[\]%`|]{1,64}")


def passphrase_ok(value: str) -> bool:
    """Is a quoted value with spaces under a secret key a passphrase (``correct horse battery staple``, ``my long
    pass phrase``) rather than prose, a message or a template (``see the vault``, ``Password is required``,
    ``<your password>``, ``${DB_PASS}``, ``{{ api_key }}``)? 2 to 8 words joined by single spaces, 8 characters or
    more, no template or markup characters, no word of :data:`_PROSE_WORDS`, no sentence's full stop, and no word
    of :data:`_SECRET_NAME_WORDS` unless it has three or more words, all lower case, and does not end with one (a
    label: ``confirm new password``)."""
    words = value.split(" ")
    if not 2 <= len(words) <= 8 or len(value) < 8 or value.endswith((".", "!", "?", ":")):
        return False
    if not all(_PHRASE_WORD.fullmatch(w) for w in words):
        return False
    low = [w.lower().strip(",;'\"") for w in words]
    if any(w in _PROSE_WORDS for w in low) or "..." in value:
        return False
    if not any(w in _SECRET_NAME_WORDS for w in low):
        return True
    # a lower-case phrase of 3+ words may hold a name of a secret (my secret horse battery), but a label ends with
    # the name of its field (confirm new password, current api key)
    return len(words) >= 3 and value == value.lower() and low[-1] not in _SECRET_NAME_WORDS


def _assign_ok(m: re.Match[str]) -> bool:
    text = m.string
    i = m.start()
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_.-"):
        i -= 1
    if i > 0 and text[i - 1] in "?&;":
        return False  # a URL query parameter: the url_query_secret rule owns it
    dq, sq, bare = m.group("dq"), m.group("sq"), m.group("bare")
    quoted = dq if dq is not None else sq
    if quoted is not None and " " in quoted.strip() and quoted == quoted.strip():
        key = text[i : m.start("dq" if dq is not None else "sq")]
        return _PASSPHRASE_KEY.search(key) is not None and passphrase_ok(quoted)
    if dq is not None:
        return secret_value_ok(dq, quoted=True)
    if sq is not None:
        return secret_value_ok(sq, quoted=True)
    if bare is not None and _HYPHENED_WORD.fullmatch(bare) and _PROSE_GOES_ON.match(text, m.end()):
        return False  # a sentence after a label: "Confirm new password: re-enter it", "password: must-match the first"
    return bare is not None and secret_value_ok(bare, quoted=False)


#: Names of a secret said in prose (``my password is …``, ``the api key was …``, ``the db password's …``), in
#: groups: a password's (any value that looks like a secret: ``hunter2``, ``123456``), a PIN's (4 to 12 digits) and
#: a token's or key's (8 characters or more: ``the token is a JWT``, ``the key is short``)
_PROSE_PASSWORD_KEYS = r"pass(?:word|wd|phrase|code)|pwd|db[ \t_-]?pass|credentials?|creds"
_PROSE_PIN_KEYS = r"pin(?:[ \t_-]?(?:code|number))?"
#: A key's value followed by a unit is its length or its count (``the password is 12 characters``, ``PIN is 1234
#: digits``)
_UNITS = r"(?:digits?|characters?|chars?|letters?|bytes?|bits?|words?|long|max|min)"
_UNIT_AFTER = re.compile(r"[ \t-]*" + _UNITS + r"\b", re.I)
#: A length, a size or a time (``32-bytes``, ``256-bit``, ``3600s``, ``24h``), or a file's name (``server-2024.pem``)
_MEASURE_OR_FILE = re.compile(
    r"(?i)\d+(?:\.\d+)?[ \t-]?(?:" + _UNITS + r"|ms|[smhdwkx%]|kb|mb|gb|mins?|hours?|days?)"
    r"|.+\.(?:pem|key|pub|crt|cer|der|p12|pfx|jks|ppk|gpg|asc|json|ya?ml|toml|ini|cfg|conf|env|txt|local)"
)
#: Words shaped as a secret (letters and digits) that name an encoding, a hash, a cipher, a key file or a version
#: (``the secret is base64-encoded``, ``the key is sha256``, ``the private key is id_ed25519``, ``token is v2``)
_TECH_VALUE = re.compile(
    r"(?i)(?:base(?:32|58|64)|sha-?\d+|md[45]|utf-?(?:8|16|32)|ucs-?[24]|crc-?\d+|aes-?\d+|rsa-?\d+|ed\d+|x25519|"
    r"curve\d+|secp\d+[kr]1|p-?(?:256|384|521)|[hrpe]s(?:256|384|512)|hmac-?sha\d+|pbkdf2|argon2(?:id|i|d)?|"
    r"id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|u?int\d+|float\d+|ipv[46]|http/?[23]|tlsv?1(?:\.[0-3])?|v\d+(?:\.\d+)*)"
    r"(?:[-_][a-z]+)*"
)

#: A word, a colon or a full stop and a number: a sentence's end and the list after it (``the secret is
#: consistency:`` newline ``1. …``, read as one token where the redactor joins a wrapped line)
_LABEL_NUMBER = re.compile(r"[A-Za-z]+[:.][^A-Za-z]*")
#: Lower-case words joined by slashes or hyphens (``optional/required``, ``case-sensitive``, ``short-lived``)
_JOINED_WORDS = re.compile(r"[a-z]+(?:[-/][a-z]+)+")


def _said_value(m: re.Match[str]) -> tuple[str | None, str | None, str | None]:
    """The value a secret said in prose matched (``dq``, ``sq``, ``bq`` or ``bare``), its quoted text (in double or
    single quotes; None: not quoted) and its text in backticks (code, as a bare one: None when not in backticks)."""
    dq, sq, bq, bare = m.group("dq"), m.group("sq"), m.group("bq"), m.group("bare")
    quoted = dq if dq is not None else sq
    return (quoted if quoted is not None else bq if bq is not None else bare), quoted, bq


def _prose_secret_ok(m: re.Match[str]) -> bool:
    """A secret said in prose (``my password is hunter2``, ``the PIN is 4821``, ``api key was 'q9W!x7Zr'``), not a
    sentence about one (``the password is required``, ``token is expired``, ``the secret is base64-encoded``,
    ``the password is 12 characters``): see :func:`_prose_value_ok`; a single word is a password only after a
    first-person cue (:func:`_plain_word_password`: ``my password is sunshine``)."""
    v, quoted, bq = _said_value(m)
    if v is None or _UNIT_AFTER.match(m.string, m.end()):
        return False
    password = m.group("pw") is not None
    if password and quoted is None and bq is None and _plain_word_password(m, v):
        return True
    key = re.sub(r"[ \t]+", "_", m.group("key").lower())
    pin = "pin" in m.re.groupindex and m.group("pin") is not None
    return _prose_value_ok(v, quoted, password=password, pin=pin, key=key)


def _prose_value_ok(v: str, quoted: str | None, *, password: bool, pin: bool, key: str) -> bool:
    """Does a value said in prose after a secret's name look like the secret: a PIN is 4 to 12 digits; a password 6
    digits or more, or a value that :func:`secret_value_ok` takes; a token's or key's value that and 8 characters or
    more; a quoted value with spaces a passphrase (:func:`passphrase_ok`) under a password's name; never a word (of
    :data:`_PROSE_WORDS`, or any unquoted one), lower-case words joined by hyphens or slashes, an encoding's or a
    hash's name, a size, a file's name, or a word and a number after its colon or full stop. ``key``: the name, its
    words joined by ``_``."""
    if pin:
        return v.isdigit() and 4 <= len(v) <= 12
    if v.isdigit():
        return password and 6 <= len(v) <= 64
    low = v.lower()
    word = low.strip("*_~")  # (markdown's emphasis: the token was *revoked*)
    if word in _PROSE_WORDS or (word.isalpha() and quoted is None) or v.startswith(".") or _JOINED_WORDS.fullmatch(word):
        return False  # a word, a dotfile, joined words (case-sensitive, auto-generated, optional/required)
    if _TECH_VALUE.fullmatch(v) or _MEASURE_OR_FILE.fullmatch(v) or _LABEL_NUMBER.fullmatch(v):
        return False
    if quoted is not None and " " in quoted:
        return (password or _PASSPHRASE_KEY.match(key + "=\"") is not None) and passphrase_ok(quoted)
    return (password or len(v) >= 8) and secret_value_ok(v, quoted=quoted is not None)


#: A first-person cue before a password's name (``my password``, ``our wifi password``, ``my new db password``):
#: after it, or after "set/changed/reset to", one dictionary word is the password (``my password is sunshine``)
_MY_BEFORE = re.compile(r"(?i)(?:(?<![A-Za-z])|(?<=\\[nrt]))(?:my|our)[ \t]+(?:[A-Za-z]{2,12}[ \t]+){0,2}\Z")
#: What may follow a password given as one word: the end of the text, of its line, of its clause or of a quoted
#: string, or a word that starts the next clause (``my password is sunshine and my user bob``)
_WORD_PASSWORD_END = re.compile(
    r"[.!?]*(?:[ \t]*(?:\r?\n|\\[nr]|\Z|[,;)]|\\?[\"'])|[ \t]+(?:and|but|so|or|btw|lol|thanks|please|if|which|[-\u2013\u2014(])(?![A-Za-z]))"
)
#: Words that say what a password is like, not what it is (``my password is wrong``, ``... was set to expire``);
#: words ending in -ed, -ing, -ly, -ble, -ive, -ous, -ful, -less, -ical, -ional are left out by their ending, the
#: adjectives in -ant and -ent by name (:data:`_STATE_ANT_ENT`: those endings end as many nouns, ``elephant``, ``student``)
_STATE_WORDS = frozenset(
    """required wrong incorrect invalid expired empty missing blank weak strong long short fine okay correct right
    same different secure insecure safe unsafe new old good bad simple easy hard complex unique random default common
    obvious valid active ready done stale temporary temp generic public private personal hidden visible unknown known
    lost forgotten gone stolen taken shown written given broken chosen frozen mine yours his hers theirs ours null
    none nil undefined true false unset auto optional mandatory expire change reset update never always something
    anything nothing everything what where here there below above attached also still now just very too really
    set ok yes off blank secret plaintext plain text cleartext unchanged identical similar nowhere somewhere
    elsewhere needed enough""".split()
)
_STATE_SUFFIXES = ("ed", "ing", "ly", "ble", "ive", "ous", "ful", "less", "ical", "ional")
#: Nouns that end as adverbs and participles do (-ly, -ing) and are common one-word passwords, not what a password is
#: like (``my password is butterfly``, ``... is blessing``); given names with any state word's ending are as well
#: (``kelly``, ``emily``, ``ahmed``: :func:`~codecensus.redact.names.given_names`), and others not in that list
#: (``molly``, ``holly``)
_LY_ING_NOUNS = frozenset(
    """butterfly dragonfly firefly family jelly holly molly polly sally dolly shelly italy july blessing darling
    sterling pudding dumpling wedding duckling sapling earring viking lightning""".split()
)
#: Words with a state word's ending that say what a thing is like but are among the commonest one-word passwords
#: (``lovely``: in RockYou's first twenty; ``beautiful``, ``precious``, ``blessed``, ``gorgeous``: in its first
#: thousand), so ``my password was lovely`` says the password rather than what it is like
_STATE_ENDING_PASSWORDS = frozenset({"lovely", "beautiful", "precious", "blessed", "gorgeous"})
_STATE_ANT_ENT = frozenset(
    """important unimportant different indifferent relevant irrelevant redundant compliant noncompliant consistent
    inconsistent persistent sufficient insufficient efficient inefficient deficient proficient permanent current recent
    present absent urgent decent frequent infrequent convenient inconvenient transparent apparent evident independent
    dependent existent nonexistent prominent excellent brilliant elegant pleasant unpleasant significant insignificant
    resistant tolerant intolerant vacant dominant abundant constant instant latent silent ancient fluent reluctant
    confident competent incompetent transient coherent incoherent adjacent equivalent prevalent recurrent violent
    innocent intelligent ignorant arrogant lenient stringent patient impatient pertinent salient hesitant distant
    observant defiant cognizant emergent divergent convergent coincident malignant vigilant negligent diligent
    extravagant radiant vibrant triumphant""".split()
)


_STEM_VOWEL = re.compile("[aeiouy]")


def _suffix_len(word: str) -> int:
    return next(len(x) for x in _STATE_SUFFIXES if word.endswith(x))


def _plain_word_password(m: re.Match[str], v: str) -> bool:
    """Is one dictionary word after a password's name the password: after a first-person cue (``my password is
    sunshine``, ``our wifi password was dragon``) or "set/changed/reset to" (``password is set to sunshine``), 4 to
    32 letters, no word that says what the password is like (:data:`_STATE_WORDS`, ``wrong``, ``expired``, ``too``;
    or by its ending: ``compromised``, ``working``, ``probably``, ``sensitive``; but not the nouns and given names so
    ending, :data:`_LY_ING_NOUNS`: ``butterfly``, ``kelly``, ``ahmed``, nor a common password so ending,
    :data:`_STATE_ENDING_PASSWORDS`: ``lovely``, ``beautiful``) nor a
    word of prose or a placeholder, and its clause ends after it (``my password is sunshine.``, ``... sunshine and my
    user is bob``; not ``my password is long enough``, ``my password is sunshine today``)."""
    word = v.lower()
    if not (v.isascii() and v.isalpha() and 4 <= len(v) <= 32):
        return False
    if word in _STATE_WORDS or word in _STATE_ANT_ENT or word in _PROSE_WORDS or word in _PLACEHOLDER_VALUES:
        return False
    if (word.endswith(_STATE_SUFFIXES) and _STEM_VOWEL.search(word, 0, len(word) - _suffix_len(word))
            and word not in _LY_ING_NOUNS and word not in _STATE_ENDING_PASSWORDS and word not in given_names()):
        return False  # (a stem without a vowel is no word: king, spring, string are no -ing forms)
    if m.group("setto") is None and _MY_BEFORE.search(m.string, max(0, m.start() - 40), m.start()) is None:
        return False
    return _WORD_PASSWORD_END.match(m.string, m.end()) is not None


#: Lower-case words joined by hyphens (re-enter, must-match), and more lower-case words after them on their line
_HYPHENED_WORD = re.compile(r"[a-z]+(?:-[a-z]+)+")
_PROSE_GOES_ON = re.compile(r" [a-z]+(?![^\W_])")


# where a command's name starts: not inside a word or an option, or right after an escaped line break in JSON text
_COMMAND = r"(?:(?<![\w-])|" + AFTER_ESC + r")"


def _command_value(n: int) -> str:
    """A command-line argument of at most ``n`` characters: double-quoted (``dq``, the quotes possibly escaped as in
    JSON text: ``-b \\"value\\"``), single-quoted (``sq``) or bare, ending at whitespace, a quote or a shell operator
    (``bare``)."""
    return (
        rf"""(?:(?P<esc>\\)?\"(?P<dq>[^\"\n\\]{{1,{n}}})(?(esc)\\)\"|'(?P<sq>[^'\n\\]{{1,{n}}})'"""
        rf"""|(?P<bare>[^\s\"'|;&]{{1,{n}}}))"""
    )


def _command_secret_ok(m: re.Match[str]) -> bool:
    """A value given to a command's password flag (``-k``, ``--body``): quoted with spaces, a passphrase."""
    quoted = m.group("dq") if m.group("dq") is not None else m.group("sq")
    if quoted is not None and " " in quoted:
        return passphrase_ok(quoted)
    return _assign_ok(m)


_YAML_KEY_HEAD = re.compile(r"[ \t]*(?:-[ \t]+)?[\"']?[A-Za-z0-9_.-]*")


def _yaml_next_line_ok(m: re.Match[str]) -> bool:
    """A YAML key first on its line (``api_key:``, ``  - password: |``) whose value is the next line, indented
    deeper than the key (not a sibling key, not code such as ``x.password:``), and a plausible secret."""
    text = m.string
    line_start = text.rfind("\n", 0, m.start()) + 1
    head = _YAML_KEY_HEAD.match(text, line_start, m.start())
    if head is None or head.end() != m.start():
        return False
    key_indent = len(text[line_start : m.start()]) - len(text[line_start : m.start()].lstrip(" \t"))
    return len(m.group("vind")) > key_indent and _assign_ok(m)


def _cookie_ok(m: re.Match[str]) -> bool:
    """A session cookie's value: 16+ characters with letters and digits, no code (``session=requests.Session()``)
    and no reference or placeholder (``${SESSION}``, ``<your-session-id>``)."""
    v = m.group("v")
    low = v.lower()
    if low.startswith(("$", "{", "<", "your", "xxx", "***", "[")) or any(c in v for c in "()[]{},"):
        return False
    if _has_digit(v) and sum(c.isalpha() for c in v) >= 6 and (not _IDENT.fullmatch(v) or _looks_random(v)):
        return True
    if _HEX_ID.fullmatch(v) and len(set(v)) > 4:  # a UUID or hex session id: a cookie only where cookies are sent
        text = m.string
        line = text[max(text.rfind("\n", 0, m.start()) + 1, m.start() - 300) : m.start()].lower()
        return line.endswith((";", "?", "&")) or "cookie" in line or re.search(r"(?<![\w-])-b[ \t]", line) is not None
    return False


_HEX_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,64}")
_COOKIE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def cookie_starts(text: str, lower: str) -> Iterator[int]:
    """Where a session cookie's name can start: the start of each run of name characters that holds ``sess`` or
    ``sid`` and is followed by ``=`` (``session`` alone is a common word: the cookie rule's anchor scanned all of
    them)."""
    if len(lower) != len(text):
        return
    found: set[int] = set()
    for needle in ("sess", "sid"):
        p = lower.find(needle)
        while p != -1:
            q = p + len(needle)
            while q < len(lower) and q - p < 48 and lower[q] in _COOKIE_NAME_CHARS:
                q += 1
            if q < len(lower) and lower[q] == "=":
                s = p
                while s > 0 and p - s < 48 and lower[s - 1] in _COOKIE_NAME_CHARS:
                    s -= 1
                if s >= 1 and text[s - 1] == "\\" and lower[s] in "nrt":  # after a \n escape of JSON text
                    s += 1
                found.add(s)
            p = lower.find(needle, q)
    yield from sorted(found)


#: the command before ``login`` whose ``-p`` is a password (not ``ssh -p 22``, ``docker run -p 80:80``)
_LOGIN_COMMAND = re.compile(r"(?:(?<![\w-])|(?<=\\[nrt]))(?:docker|podman|nerdctl|buildah|skopeo|oras|helm|az|cf)(?:[ \t]+registry)?[ \t]+\Z")


#: An HTTP Authorization header's name right before its scheme (``Authorization: ``, ``"Authorization": "``, ``-H
#: 'authorization: ``, ``\"Authorization\": \"`` in JSON text)
_AUTH_HEADER_BEFORE = re.compile(r"(?i:(?:proxy-)?authorization)\\?[\"']?\]?[ \t]*[:=][ \t]*(?:\\?[\"']|`)?\Z")
#: What ends a header's value (the end of the text, a line or a quoted string)
_VALUE_END = frozenset("\"'`\r\n\\")
#: Words that follow "Bearer" in prose about the scheme (``Bearer token``, ``Bearer authentication``)
_BEARER_PROSE = frozenset(
    """token tokens auth authentication authorization authorisation scheme schemes header headers type types realm
    string value values format prefix credential credentials access""".split()
)


def _bearer_ok(m: re.Match[str]) -> bool:
    """The credential after ``Bearer``/``Basic``: a random-looking value (20+ characters with a digit), or any value
    that is no reference or placeholder (``$TOKEN``, ``<token>``, ``xxx``) right after an ``Authorization:``
    header's name (``Authorization: Bearer mytoken``, also in a JS template string), or after a capitalised
    ``Bearer`` one of 6+ characters that ends its line or quoted string and is no word of prose
    (``Bearer supersecretvalue``; not ``the bearer of this``, ``Bearer token``), or after a lower-case ``bearer``
    one of 8+ characters with a letter and a digit that ends its line or string (``bearer xyz123token``)."""
    v = m.group("v")
    if len(v) >= 20 and _has_digit(v) and (not _IDENT.fullmatch(v) or _looks_random(v)):
        return True
    low = v.lower()
    if low in _PLACEHOLDER_VALUES or low.startswith(("your", "xxx", "***", "...")) or _REPEATED.fullmatch(v):
        return False
    text = m.string
    if _AUTH_HEADER_BEFORE.search(text, max(0, m.start() - 40), m.start()):
        return True
    end = m.end("v")
    if end < len(text) and text[end] not in _VALUE_END:
        return False
    if m.group(0)[:6] in ("Bearer", "BEARER"):
        return len(v) >= 6 and low not in _BEARER_PROSE
    return m.group(0)[:6] == "bearer" and len(v) >= 8 and _has_digit(v) and any(c.isalpha() for c in v)


def _url_secret_ok(m: re.Match[str]) -> bool:
    v = m.group("v")
    low = v.lower()
    if len(v) < 6 or low.startswith(("$", "{", "<", "%7b", "%3c", "your", "xxx", "***", "[")):
        return False
    if low in _PLACEHOLDER_VALUES:
        return False
    return _has_digit(v) or len(v) >= 16


def _userinfo_ok(m: re.Match[str]) -> bool:
    v = m.group("pw")
    low = v.lower()
    if low.startswith(("$", "{", "<", "%", "[", "*")) or low in _PLACEHOLDER_VALUES:
        return False
    return len(v) >= 3


#: CJK and full-width punctuation: ends a home path's user name as its ASCII form does (``（/Users/alice）``,
#: ``在/home/alice，然后``)
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
#: Those and the other non-ASCII punctuation, spaces and symbols (Latin-1's, U+2000-2BFF: ``’``, ``…``, a no-break
#: space, arrows; U+FE30-FE6F): none is part of a user name, each ends it
_NAME_PUNCT = _CJK_PUNCT + "\u0080-\u00bf\u00d7\u00f7\u2000-\u2bff\ufe30-\ufe6f"
#: Not one of them written as a JSON escape (``alice\u2019s``, ``alice\u3001``: the name is ``alice``)
#: (the four hex digits of such an escape: those of :data:`_NAME_PUNCT`, roughly)
_PUNCT_HEX = (
    r"(?:00[89ABab][0-9A-Fa-f]|00[Dd]7|00[Ff]7|2[0-9ABab][0-9A-Fa-f]{2}|30[0-3][0-9A-Fa-f]"
    r"|[Ff][Ee][3-6][0-9A-Fa-f]|[Ff][Ff](?:0[1-9A-Fa-f]|1[A-Fa-f]|20|3[B-Fb-f]|40|5[B-Fb-f]|6[0-5]))"
)
_NOT_ESCAPED_PUNCT = r"(?!\\{1,2}u" + _PUNCT_HEX + ")"
#: A non-ASCII letter of a user name written as a JSON escape, in JSON text (``\u00e9``) or in JSON text inside a JSON
#: string (``\\u00e9``): part of the name (a user name holds no backslash)
_ESCAPED_LETTER = _NOT_ESCAPED_PUNCT + r"\\{1,2}u(?!00[0-7])[0-9A-Fa-f]{4}"
#: The same in a Windows path whose backslashes are written four times: the escape's backslash is written twice
_ESCAPED_LETTER_IN_JSON = _NOT_ESCAPED_PUNCT + r"(?<!\\)\\\\u(?!00[0-7])[0-9A-Fa-f]{4}"
#: The same in a Windows path in JSON text, its backslashes written twice (``C:\\Users\\Ren\u00e9``): the escape's one
#: backslash (two are the path's: ``Ren\\u00e9`` is the folder ``u00e9`` in ``Ren``)
_ESCAPED_LETTER_ONCE = _NOT_ESCAPED_PUNCT + r"\\u(?!00[0-7])[0-9A-Fa-f]{4}"
#: CJK ideographs, kana and hangul: a user name in other letters ends where they begin (``/Users/alice下的文件``,
#: ``在/home/bob里面``: ``alice``, ``bob``); a name written wholly in them (``/Users/田中``) is kept whole
_CJK_LETTERS = "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
#: One of them written as a JSON escape (``\u4e0b``, ``\\u4e0b``; roughly: U+3040-30FF, U+3400-9FFF, U+AC00-D7FF)
_CJK_HEX = r"(?:30[4-9A-Fa-f][0-9A-Fa-f]|3[4-9A-Fa-f][0-9A-Fa-f]{2}|[4-9][0-9A-Fa-f]{3}|[Aa][C-Fc-f][0-9A-Fa-f]{2}|[BCbc][0-9A-Fa-f]{3}|[Dd][0-7][0-9A-Fa-f]{2})"
_ESCAPED_CJK = r"\\{1,2}u" + _CJK_HEX
#: Right after one of them or after a punctuation character written as a JSON escape (``\u5f00-Users-alice``,
#: ``\uff08-Users-alice\uff09``: JSON text for ``打开-Users-alice``, ``（-Users-alice）``): a lookbehind
_AFTER_ESCAPED_CJK_OR_PUNCT = r"(?<=\\u" + _CJK_HEX + r")|(?<=\\u" + _PUNCT_HEX + ")"


def _home_user(chars: str, escaped: str, end: str) -> str:
    """The user-name group of a home path: characters of the class ``chars`` (a negated class's inside, ending the name)
    or ``escaped`` letters, up to one of ``end`` (a class's inside); a name not starting with a CJK letter also ends
    where one begins (written or escaped), one starting with it is taken whole."""
    return (
        rf"(?P<u>(?:(?![{_CJK_LETTERS}]|{_ESCAPED_CJK})(?:[^{chars}]|{escaped})){{1,64}}(?=[{end}{_CJK_LETTERS}]|{_ESCAPED_CJK}|$)"
        rf"|(?:[{_CJK_LETTERS}]|{_ESCAPED_CJK})(?:[^{chars}]|{escaped}){{0,63}}(?=[{end}]|$))"
    )



_GENERIC_USERS = frozenset(
    """shared public default user users username runner ubuntu root admin administrator guest me you
    your_user your-user yourname your_name yourusername your_username youruser name home www-data nobody
    vagrant ec2-user docker node app dev developer test tester builder build ci jenkins git postgres
    all allusers default.migrated current currentuser example john.doe johndoe jane.doe foo bar baz
    travis circleci vscode codespace codespaces coder linuxbrew
    projects project work workspace workspaces src code repos repo apps www web sites opt tmp temp backup
    backups share storage mnt media data library applications documents desktop downloads
    """.split()
)


def _path_user_ok(m: re.Match[str]) -> bool:
    u = m.group("u")
    if len(u) < 2 or u.lower() in _GENERIC_USERS:
        return False
    if u[0] in "$%{<[(*.~'\"`" or u.startswith("[") or "*" in u:
        return False
    return not u.isdigit()


_EMAIL_FILE_TLDS = frozenset(
    """png jpg jpeg gif svg webp ico bmp tif tiff js mjs cjs ts tsx jsx css scss sass less map json py rb go
    rs java kt swift c h cpp hpp cs php html htm md txt yml yaml toml xml lock zip gz tar pdf mp4 mp3 wav
    woff woff2 ttf otf eot vue svelte sh bash lua dart wasm bin exe dll so dylib log sql csv
    """.split()
)


def _email_ok(m: re.Match[str]) -> bool:
    local, domain = m.group("local"), m.group("domain")
    tld = domain.rsplit(".", 1)[-1].lower()
    if tld in _EMAIL_FILE_TLDS:
        return False
    if re.fullmatch(r"\d+(?:\.\d+)?x", domain.split(".", 1)[0]):  # icon@2x.png style
        return False
    if local.lower() == "git":
        return False
    # "scheme://user:password@host" is URL userinfo, not an address
    text = m.string
    ws = max(text.rfind(" ", 0, m.start()), text.rfind("\n", 0, m.start()), text.rfind("\t", 0, m.start()))
    return "://" not in text[ws + 1 : m.start()]


def _is_local_char(c: str) -> bool:
    return c.isalnum() or c in "._%+-" or "\u0300" <= c <= "\u036f"


def email_starts(text: str, lower: str = "") -> Iterator[int]:
    """Where an e-mail address can start: for each ``@``, the start of the run of local-part characters before it
    (at most 64; past a leading ``\\n``-style escape of JSON text, whose letter is not part of the address)."""
    at = text.find("@")
    while at != -1:
        s = at
        while s > 0 and at - s < 64 and _is_local_char(text[s - 1]):
            s -= 1
        if s >= 2 and text[s - 1] == "\\" and text[s] in "nrt" and text[s - 2] != "\\":
            s += 1
        while s < at and not text[s].isalnum():
            s += 1
        if s < at:
            yield s
        at = text.find("@", at + 1)


def _phone_ok(m: re.Match[str]) -> bool:
    import phonenumbers  # local import: only paid for when a candidate exists

    s = m.group(0)
    digits = sum(c.isdigit() for c in s)
    if not 7 <= digits <= 15:
        return False
    text = m.string
    # dates / times / versions next to the candidate
    if re.fullmatch(r"(?:19|20)\d\d[-./]\d\d[-./]\d\d.*", s):
        return False
    region = None if s.lstrip().startswith(("+", "00")) else "US"
    cand = "+" + s.lstrip()[2:] if s.lstrip().startswith("00") else s
    try:
        num = phonenumbers.parse(cand, region)
    except phonenumbers.NumberParseException:
        return False
    if not phonenumbers.is_valid_number(num):
        return False
    # a "+" number glued to an arithmetic context ("x +123 456") is not a phone
    before = text[max(0, m.start() - 2) : m.start()]
    return not before.rstrip().endswith(("=", "*", "/"))


def _passport_ok(m: re.Match[str]) -> bool:
    """A passport number has 5 or more digits and is no run of one digit (``X1234567``, ``123456789``)."""
    v = m.group("v")
    return sum(c.isdigit() for c in v) >= 5 and len(set(v)) > 2


def _dob_ok(m: re.Match[str]) -> bool:
    """A date of birth's year (when it has 4 digits) is from 1900 to 2099."""
    years = [int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", m.group("v"))]
    return all(1900 <= y <= 2099 for y in years)


def _mac_ok(m: re.Match[str]) -> bool:
    """Not a MAC address of no card (``00:00:00:00:00:00``, the broadcast ``ff:ff:ff:ff:ff:ff``)."""
    return len({b.lower() for b in re.split(r"[:-]", m.group(0))}) > 1


#: Where a MAC address can start: 2 characters before each run of 5 separated hex pairs (scanning for the separator
#: first is ~3x faster than for the hex pairs)
_MAC_AFTER_FIRST = re.compile(
    r"[:-](?<=[0-9A-Fa-f]{2}[:-])[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}"
)


def mac_starts(text: str, lower: str) -> Iterator[int]:
    if text.count(":") < 5 and text.count("-") < 5:
        return
    for m in _MAC_AFTER_FIRST.finditer(text):
        yield m.start() - 2


#: Where a Cisco-style MAC address (0011.2233.4455) can start: 4 characters before its first dot
_DOTTED_MAC_AFTER_FIRST = re.compile(r"\.(?<=[0-9A-Fa-f]{4}\.)[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
#: A MAC address's label right before it: mac, MAC address, hw addr, lladdr, chaddr, a Cisco interface's "address is"
#: and "(bia", with a separator and quotes
_DOTTED_MAC_CUE = re.compile(
    r"(?i)(?:(?<![a-z])|(?<=\\[nrt]))(?:mac|hw|hwaddr|lladdr|chaddr|bia|address[ \t]+is)(?:[ \t_-]?addr(?:ess)?)?"
    r"\\?[\"']?[ \t]*[:=]?[ \t]*\\?[\"']?\Z"
)
#: ... or after it: a show arp line's ARPA
_DOTTED_MAC_CUE_AFTER = re.compile(r"(?:(?<![A-Za-z])|(?<=\\[nrt]))(?:ARPA|arpa)(?![A-Za-z])")
#: A table of MAC addresses above: a Mac Address column, show mac / show arp output
_DOTTED_MAC_TABLE = re.compile(r"(?i)(?:(?<![a-z])|(?<=\\[nrt]))(?:mac[ \t_-]?address|show[ \t]+(?:mac|arp|ip[ \t]+arp))(?![a-z])")


def dotted_mac_starts(text: str, lower: str) -> Iterator[int]:
    for m in _DOTTED_MAC_AFTER_FIRST.finditer(text):
        yield m.start() - 4


def _dotted_mac_ok(m: re.Match[str]) -> bool:
    """A Cisco-style MAC address (``0011.2233.4455``) right after its label (``mac:``, ``MAC address``, ``address
    is``), with an ``ARPA`` after it on its line, or in a column of a table of MAC addresses (``show mac
    address-table``, a ``Mac Address`` column) within 2,000 characters above with no blank line between: alone it is
    as like a version or a build number."""
    if len({g.lower() for g in m.group(0).split(".")}) == 1:  # 0000.0000.0000, ffff.ffff.ffff
        return False
    text = m.string
    if _DOTTED_MAC_CUE.search(text, max(0, m.start() - 40), m.start()):
        return True
    line_end = text.find("\n", m.end(), m.end() + 300)
    if _DOTTED_MAC_CUE_AFTER.search(text, m.end(), m.end() + 300 if line_end == -1 else line_end):
        return True
    if not _table_cell(text, m.start(), m.end()):
        return False
    lo = max(0, m.start() - 2000)
    for b in _BLANK_LINE.finditer(text, lo, m.start()):  # the table is the block of lines the triple is in
        lo = b.end()
    return _DOTTED_MAC_TABLE.search(text, lo, m.start()) is not None


#: A blank line (also escaped in JSON text): a table of MAC addresses ends at one
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n|\\n(?:[ \t]|\\[rt])*\\n")
_GAP_BEFORE = re.compile(r"(?:\n|\\n|\t|\\t|[ \t]{2})[ \t]*\Z")
_GAP_AFTER = re.compile(r"\t|\\[nrt]|[ \t]{2}|[ \t]*(?:\r?\n|\Z)")


def _table_cell(text: str, start: int, end: int) -> bool:
    """Is text[start:end] a column of a table: at its line's start, or set off by a tab or 2+ spaces on one side
    (``  10    0011.2233.4455    DYNAMIC``), not a word of a sentence (``build 1234.5678.9abc is out``)?"""
    before = text[max(0, start - 40) : start]
    if start <= 40 and not before.strip(" \t") or _GAP_BEFORE.search(before):
        return True
    return _GAP_AFTER.match(text, end) is not None


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_ok(m: re.Match[str]) -> bool:
    """A Bitcoin segwit address (``bc1q…``, ``bc1p…``) in one case whose bech32/bech32m checksum holds."""
    raw = m.group(0)
    s = raw.lower()
    if raw != s and raw != raw.upper():
        return False
    chk = 1
    for v in [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"] + [_BECH32.index(c) for c in s[3:]]:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(_BECH32_GEN):
            if top >> i & 1:
                chk ^= g
    return chk in (1, 0x2BC830A3)


_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58check_ok(m: re.Match[str]) -> bool:
    """A legacy Bitcoin address (``1…``, ``3…``): 25 bytes of base58 whose last 4 are the double SHA-256 checksum
    of the first 21 (a random identifier or a hash passes 1 time in 2**32)."""
    s = m.group(0)
    n = 0
    for c in s:
        n = n * 58 + _BASE58.index(c)
    raw = b"\0" * (len(s) - len(s.lstrip("1"))) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return len(raw) == 25 and hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def _eth_ok(m: re.Match[str]) -> bool:
    """An Ethereum address, not the zero address or another run of few digits (``0x000…0001``)."""
    return len(set(m.group(0)[2:].lower())) >= 4


_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
#: A calendar date: 1984-03-12, 12/03/1984, 12.03.84, 12 March 1984, 12th of March 1984, March 12, 1984
_DATE = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    r"|(?i:\d{1,2}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?" + _MONTH + r",?[ \t]+\d{4}|" + _MONTH + r"[ \t]+\d{1,2}(?:st|nd|rd|th)?,?[ \t]+\d{4}))"
)
#: Between a cue and its value: a closing quote, a separator or "is" (was, are, were, each with a colon or not), an
#: opening quote (``"dob": "``, ``DOB: ``, ``passport number is ``, ``seed words are: ``), the quotes possibly escaped
#: as in JSON text
_CUE_SEP = r"(?:\\?[\"'])?\]?[ \t]*(?:(?i:is|was|are|were)(?:[ \t]*:|[ \t])|:=|=|:|#|-)?[ \t]*\\?[\"']?"
_CUE_LEFT = r"(?:(?<![A-Za-z0-9])|" + AFTER_ESC + r")"


def _find_all(lower: str, needle: str) -> Iterator[int]:
    p = lower.find(needle)
    while p != -1:
        yield p
        p = lower.find(needle, p + 1)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _cue_starts(
    lower: str, text: str, needles: tuple[str, ...], tails: tuple[str, ...] = (), head: re.Pattern[str] | None = None
) -> Iterator[int]:
    """Where a cue can start, found with ``str.find`` (a regex scan for an alternation of words tries every
    position): each of ``needles``, and the start of ``head`` (a label's first words: ``date of ``, ``seed ``) when
    it ends right before one of ``tails`` (or before a needle, whose start it then replaces)."""
    if len(lower) != len(text):
        # a character whose lower case is longer ("İ": two) shifted every position after it: the cues are ASCII,
        # so an ASCII-only lower case, which keeps every position, finds them (it returned nothing: "İ DOB:
        # 1984-03-12" stayed)
        lower = text.translate(_ASCII_LOWER)
    found: set[int] = set()
    for needle in needles + tails:
        for p in _find_all(lower, needle):
            h = head.search(lower, max(0, p - 24), p) if head is not None else None
            if h is not None:
                found.add(h.start())
            elif needle in needles:
                found.add(p)
    yield from sorted(found)


_DOB_HEAD = re.compile(r"date[ \t_-]of[ \t_-]\Z")
_SEED_HEAD = re.compile(r"(?:seed|recovery|backup|wallet|secret[ \t_-]recovery)[ \t_-]?\Z")


def dob_starts(text: str, lower: str) -> Iterator[int]:
    return _cue_starts(lower, text, ("dob", "d.o.b", "birth", "born"), head=_DOB_HEAD)


def postcode_starts(text: str, lower: str) -> Iterator[int]:
    return _cue_starts(lower, text, ("zip", "post"))


def seed_starts(text: str, lower: str) -> Iterator[int]:
    return _cue_starts(lower, text, ("mnemonic", "wallet"), ("phrase", "words"), _SEED_HEAD)


#: The words that announce a wallet's seed phrase (``seed phrase``, ``recovery words``, ``mnemonic``, ``wallet seed``)
_SEED_CUE_WORDS = (
    r"(?i:(?:seed|recovery|backup|wallet|secret[ \t_-]recovery)[ \t_-]?(?:phrase|words)|mnemonic(?:[ \t_-]?phrase)?|"
    r"wallet[ \t_-]seed)"
)
#: The letters of the BIP-39 word lists (:data:`BIP39_LANGUAGES`: Latin-1 accents only) and the combining accents of a
#: decomposed word (as BIP-39 writes ábaco)
_LO = "a-zß-öø-ÿ"
_UP = "A-ZÀ-ÖØ-Þ"
_MARK = "\u0300-\u036f"
#: A word of a seed phrase after its cue: 3 to 9 lower-case letters (the lists' shortest and longest words: Italian
#: ones have up to 9), each with its accents composed, decomposed or left out (ábaco, a\u0301baco, abaco), as
#: :func:`bip39_phrases` looks words up
_CUE_SEED_WORD = rf"[{_LO}](?:[{_MARK}]*[{_LO}]){{2,8}}[{_MARK}]*"
#: Not the cue's verb as a seed phrase's first word (the cue's separator may be left out): "my recovery words are"
#: and 11 words of a 12-word phrase are the cue and 11 words, not a phrase of 12 that starts with "are" (no BIP-39
#: list has is, was, are or were)
_NOT_CUE_VERB = rf"(?!(?i:is|was|are|were)(?![^\W\d_]|[{_MARK}]))"


# -- rules ---------------------------------------------------------------------------------------

_ASSIGN_KEYS = (
    r"password|passwd|passphrase|pwd|secret|secret[_-]?key|token|auth[_-]?token|access[_-]?token|"
    r"refresh[_-]?token|bearer[_-]?token|id[_-]?token|session[_-]?token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|signing[_-]?key|encryption[_-]?key|master[_-]?key|account[_-]?key|"
    r"credentials?|auth[_-]?key|app[_-]?secret|webhook[_-]?secret|db[_-]?pass|secret[_-]?key[_-]?base"
)
#: The names of a token or a key in prose: :data:`_ASSIGN_KEYS`, their words spaced (``api key``, ``access token``)
_PROSE_TOKEN_KEYS = _ASSIGN_KEYS.replace("[_-]", "[ \t_-]")
#: A secret's name and "is" (was, are, were, 's) after it, in lower case: where the prose_secret rule can start
_PROSE_KEY_IS = re.compile(
    r"(?:" + _PROSE_PASSWORD_KEYS + r"|" + _PROSE_PIN_KEYS + r"|" + _PROSE_TOKEN_KEYS + r")s?(?![a-z0-9])"
    r"(?:'s[ \t]|[ \t]+(?:is|was|are|were)[ \t:])"
)
_PROSE_KEY_IS_ANY_CASE = re.compile(_PROSE_KEY_IS.pattern, re.IGNORECASE)
#: What follows a word of a secret's name (pass, key, pin…) up to its "is": the rest of the word, then a name's
#: last word (``pin code``, ``secret key base``)
_PROSE_NAME_REST = re.compile(r"[a-z]{0,8}(?:[ \t_-](?:code|number|base))?(?:'s[ \t]|[ \t]+(?:is|was|are|were)[ \t:])")
_PROSE_NEEDLES = ("pass", "pwd", "secret", "token", "key", "cred", "pin")


def prose_secret_starts(text: str, lower: str) -> Iterator[int]:
    """Where a secret's name said in prose can start, found with ``str.find`` (the name and "is" regex alone
    scanned every position): each word of a name (``pass``, ``key``…) that "is" follows, and the start of the name
    it ends (``api key``, ``db password``) found near it."""
    if len(lower) != len(text):
        yield from (m.start() for m in _PROSE_KEY_IS_ANY_CASE.finditer(text))  # (lower case moved the offsets)
        return
    found: set[int] = set()
    for needle in _PROSE_NEEDLES:
        p = lower.find(needle)
        while p != -1:
            q = p + len(needle)
            tail = _PROSE_NAME_REST.match(lower, q)
            if tail is not None:
                for m in _PROSE_KEY_IS.finditer(lower, max(0, p - 24), tail.end()):
                    found.add(m.start())
            p = lower.find(needle, q)
    yield from sorted(found)


#: A password's names in Spanish, French, German, Portuguese, Italian and Russian (``contraseña``, ``clave de
#: acceso``, ``mot de passe``, ``Passwort``, ``Kennwort``, ``senha``, ``palavra-passe``, ``пароль``; Italian says
#: ``password``: ``pw_it``, taken before its verb only, "è") and a key's (``clave``, ``chiave``: 8 characters or
#: more, as ``key`` in English)
_INTL_PW_KEYS = (
    r"contrase(?:ñ|n)as?|claves?[ \t]+de[ \t]+acceso|mots?[ \t]+de[ \t]+passe|mdp|pass(?:wort|w(?:ö|oe)rter)"
    r"|kennw(?:ort|(?:ö|oe)rter)|senhas?|palavras?[ \t-]passe|парол(?:ь|и|я)"
)
_INTL_KEY_KEYS = r"claves?|chiav[ei]"
#: Their verbs ("is", "was", "reads") before the value: es, era, fue, son, est, était, ist, war, lautet, é, era, foi,
#: são, è, это, был…, будет, each with a colon or not; or a colon (``Passwort:``, ``mot de passe :``) or a dash
#: (``пароль — …``); after a Russian name a space alone (``мой пароль Xk9…``)
_INTL_VERB = r"es|era|fue|son|est|était|etait|ist|war|lautet|lautete|é|foi|são|sao|è|это|был[аио]?|будет"
#: A word between the name and its verb: whose or what for it is (``la contraseña del wifi es``, ``das Passwort für
#: den Server ist``, ``пароль от почты:``)
_INTL_OF = (
    r"(?:[ \t]+(?:de|del|de[ \t]+la|da|do|du|de[ \t]+l'|des|für|fuer|für[ \t]+(?:den|die|das)|von|vom|zum|zur|di|"
    r"della|dello|от|для)[ \t]+[^\s:,.;\"'`]{1,24})?"
)
#: A value in Latin letters (any quotes: "…", “…”, «…», '…', `…`) ending where its word does; a CJK one is ASCII and
#: ends at the first character that is not (``パスワードはXk9mPq2zです``, ``비밀번호는 Xk9mPq2z입니다``)
_QUOTED_VALUE = (
    r"(?:(?P<esc>\\)?[\"“«「『](?P<dq>[^\"”»」』\n\\]{1,512})(?(esc)\\)[\"”»」』]|'(?P<sq>[^'\n\\]{1,512})'"
    r"|`(?P<bq>[^`\n\\]{1,512})`"
)
_LATIN_VALUE_CHAR = r"[^\s\"'`,;)}\]\\«»“”「」『』。、，：]"
_LATIN_VALUE_END = r"[^\s\"'`,;)}\]\\«»“”「」『』。、，：.?:!]"
_ASCII_VALUE_CHAR = r"[!#-&(-+\--Z\[^-_a-z{|~]"
_ASCII_VALUE_END = r"[!#-&(-+\--/0-9<-=@-Z\[^-_a-z{|~]"
#: Units after a value in those languages: it is a length or a count (``la contraseña es 8 caracteres``, ``密码：6-20位``)
_INTL_UNIT_AFTER = re.compile(
    r"(?i)[ \t-]*(?:caracteres|caractères|carateri|caratteri|zeichen|stellen|символ|цифр|знак|dígitos|digitos|"
    r"chiffres|ziffern|cifre)|[ \t\u3000]*(?:文字|字|位|桁|자리|자|글자|個|个)"
)
_INTL_NEEDLES = ("contrase", "clave", "chiav", "mot de passe", "mots de passe", "mdp", "passw", "kennw", "senha",
                 "palavra", "парол")
#: The rule's trigger words: fewer than its needles ("pass" stands for passw, mot de passe, palavra-passe), each one
#: looked for in every text
_INTL_TRIGGERS = ("pass", "contrase", "clave", "chiav", "mdp", "kennw", "senha", "парол")
#: The first characters of the names of a password and a PIN in Japanese, Chinese and Korean (パスワード, 暗証番号,
#: 密码, 密碼, 口令, 비밀번호, 패스워드, 암호): one character class scanned, 3x faster than eight str.find
_CJK_NAME_FIRST = re.compile("[パ暗密口비패암]")


def _needle_starts(text: str, lower: str, needles: tuple[str, ...], regex: re.Pattern[str]) -> Iterator[int]:
    """Where a rule whose matches start with one of ``needles`` (lower case) can start, found with ``str.find``."""
    if len(lower) != len(text):
        yield from (m.start() for m in regex.finditer(text))  # (lower case moved the offsets)
        return
    found: set[int] = set()
    for needle in needles:
        found.update(_find_all(lower, needle))
    yield from sorted(found)


def prose_secret_intl_starts(text: str, lower: str) -> Iterator[int]:
    return _needle_starts(text, lower, _INTL_NEEDLES, _PROSE_INTL)


def cjk_prose_secrets(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Spans of the passwords said in Japanese, Chinese or Korean (``パスワードは…です``, ``パスワード：…``, ``密码是…``,
    ``密码：…``, ``비밀번호는 …``): the values :func:`_intl_secret_ok` takes. Not a rule of :data:`RULES`: a text in
    ASCII is skipped with one ``isascii`` (a rule's eight trigger words cost 0.55 s CPU per 130 MB of transcripts).
    ``lower``: unused (the names have no case)."""
    if text.isascii():
        return
    end = 0
    for a in _CJK_NAME_FIRST.finditer(text):
        m = _PROSE_CJK.match(text, a.start()) if a.start() >= end else None
        if m is None:
            continue
        end = m.end()
        if _intl_secret_ok(m):
            g = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
            yield m.span(g)


_WORD_JOINERS = re.compile(r"[-/_.]")
_PATH_LIKE = re.compile(r"[\w.~-]*/[\w./-]*|[\w-]+\.[A-Za-z]{1,5}")


def _intl_secret_ok(m: re.Match[str]) -> bool:
    """A password said in another language (``mi contraseña es Xk9mPq2z``, ``das Kennwort lautet …``, ``пароль:
    …``, ``密码是…``, ``パスワードは「…」です``) as :func:`_prose_value_ok` takes it in English: never a word
    (``la contraseña es incorrecta``, ``das Passwort ist falsch``, ``密码是必填的`` has no ASCII value), nor a value
    followed by a unit (``密码：6-20位``), nor digits with a range's or a list's marks (``6-20``), nor words joined
    by hyphens, slashes, dots or underscores, a path or a file's name, unquoted."""
    v, quoted, _bq = _said_value(m)
    if v is None or _INTL_UNIT_AFTER.match(m.string, m.end()) or _UNIT_AFTER.match(m.string, m.end()):
        return False
    if not v.isdigit() and not any(c.isalpha() for c in v):
        return False
    if quoted is None and (all(w.isalpha() for w in _WORD_JOINERS.split(v)) or _PATH_LIKE.fullmatch(v)):
        return False  # words joined (sicher-genug, Wi-Fi), a path or a file (src/auth/login.ts)
    password = m.group("pw") is not None
    pin = "pin" in m.re.groupindex and m.group("pin") is not None
    return _prose_value_ok(v, quoted, password=password, pin=pin,
                           key="password" if password else "secret_key")


_PROSE_INTL = re.compile(
    r"(?:(?<![^\W\d_])|" + AFTER_ESC + r")(?i:(?P<pw>" + _INTL_PW_KEYS + r")|(?P<pw_it>password)|"
    + _INTL_KEY_KEYS + r")(?![^\W_])" + _INTL_OF
    + r"(?i:(?(pw_it)[ \t]+(?:è|era)[ \t]+|(?:[ \t]+(?:" + _INTL_VERB + r")(?:[ \t]*:[ \t]*|[ \t]+)|[ \t\u00a0]*:[ \t]*"
    r"|[ \t]+[\u2014\u2013-][ \t]+|(?<=[ьия])[ \t]+)))"
    + _QUOTED_VALUE
    + r"|(?P<bare>" + _LATIN_VALUE_CHAR + r"{0,511}" + _LATIN_VALUE_END + r")(?=[.?:!]*(?!" + _LATIN_VALUE_CHAR + r")))"
)
_PROSE_CJK = re.compile(
    r"(?:(?P<pw>パスワード|密码|密碼|口令|비밀번호|패스워드|암호)|(?P<pin>暗証番号))"
    r"[ \t\u3000]*(?:(?:は|是|为|為|는|은)[ \t\u3000]*(?:[：:＝=][ \t\u3000]*)?|[：:＝=][ \t\u3000]*)"
    + _QUOTED_VALUE
    + r"|(?P<bare>" + _ASCII_VALUE_CHAR + r"{0,127}" + _ASCII_VALUE_END + r")(?=[.?:!]*(?!" + _ASCII_VALUE_CHAR + r")))"
)


RULES: tuple[Rule, ...] = (
    Rule(
        "pem_private_key",
        K.PRIVATE_KEY,
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]{0,20000}?-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----"
            r"|[A-Za-z0-9+/=\s\\:,.-]{0,20000})"
        ),
        ("private key",),
        score=1.0,
    ),
    Rule(
        "putty_key",
        K.PRIVATE_KEY,
        re.compile(r"PuTTY-User-Key-File-\d:[\s\S]{0,8000}?Private-MAC: ?[0-9a-fA-F]+"),
        ("putty-user-key",),
        score=1.0,
    ),
    Rule(
        "aws_access_key_id",
        K.AWS_KEY,
        re.compile(r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}" + E),
        ("akia", "asia", "abia", "acca", "a3t"),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "aws_secret_access_key",
        K.AWS_KEY,
        re.compile(
            r"(?:(?i:aws[\w.-]{0,20}?secret[\w.-]{0,20}?|secret[_-]?access[_-]?key)[\"']?\s*(?::|=|=>|:=)\s*[\"']?"
            # or right after its access key id: "AKIA… / wJalr…", "AKIA…:wJalr…"
            r"|(?:AKIA|ASIA)[A-Z0-9]{16}[\"']?[ \t]{0,3}[/:,;|][ \t]{0,3}[\"']?)"
            r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        ("secret", "akia", "asia"),
        group="v",
        score=1.0,
    ),
    Rule(
        "github_token",
        K.GITHUB_TOKEN,
        re.compile(r"(?:gh[pousr]_[A-Za-z0-9_]{36,251}|github_pat_[A-Za-z0-9_]{22,251})" + E),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "gitlab_token",
        K.GITLAB_TOKEN,
        re.compile(
            r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-[A-Za-z0-9_-]{20,1024}"
            r"(?![A-Za-z0-9_-])"
        ),
        ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-"),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "anthropic_key",
        K.ANTHROPIC_KEY,
        re.compile(r"sk-ant-[A-Za-z0-9_-]{20,300}(?![A-Za-z0-9_-])"),
        ("sk-ant-",),
        check=_token_body_ok,
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "openai_key",
        K.OPENAI_KEY,
        re.compile(
            r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,300}"
            r"(?![A-Za-z0-9_-])"
        ),
        ("sk-",),
        check=_token_body_ok,
        left=LEFT_WORD_DASH,
        score=0.95,
    ),
    Rule(
        "gcp_api_key",
        K.GCP_KEY,
        re.compile(r"AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
        ("aiza",),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "gcp_oauth_secret",
        K.GCP_KEY,
        re.compile(r"GOCSPX-[A-Za-z0-9_-]{20,40}(?![A-Za-z0-9_-])"),
        ("gocspx-",),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "azure_conn_key",
        K.AZURE_KEY,
        re.compile(
            r"(?i:AccountKey|SharedAccessKey|SharedSecret|SharedAccessSignature|AccessKey)\s*=\s*"
            r"(?P<v>[A-Za-z0-9+/=%&:._-]{20,400}?)(?=[;\"'\s]|$)"
        ),
        ("accountkey", "sharedaccesskey", "sharedsecret", "sharedaccesssignature", "accesskey"),
        group="v",
        score=1.0,
    ),
    Rule(
        "stripe_key",
        K.STRIPE_KEY,
        re.compile(r"(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,})" + E),
        ("_live_", "_test_", "whsec_"),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "slack_token",
        K.SLACK_TOKEN,
        re.compile(
            r"(?:xox[abposre]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250})(?![A-Za-z0-9-])"
            r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}"
        ),
        ("xox", "xapp-", "hooks.slack.com"),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "npm_token",
        K.NPM_TOKEN,
        re.compile(r"npm_[A-Za-z0-9]{36}" + E),
        ("npm_",),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "npm_authtoken",
        K.NPM_TOKEN,
        re.compile(r"_auth(?:Token)?\s*=\s*[\"']?(?P<v>[A-Za-z0-9+/=._-]{16,})"),
        ("_auth",),
        group="v",
        score=1.0,
    ),
    Rule(
        "pypi_token",
        K.PYPI_TOKEN,
        re.compile(r"pypi-AgE[A-Za-z0-9_-]{50,}"),
        ("pypi-age",),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "hf_token",
        K.HF_TOKEN,
        re.compile(r"hf_[A-Za-z0-9]{30,64}" + E),
        ("hf_",),
        check=_token_body_ok,
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "twilio_key",
        K.TWILIO_KEY,
        re.compile(r"(?:AC|SK)[0-9a-f]{32}" + E),
        ("ac", "sk"),
        check=_token_body_ok,
        left=LEFT_WORD,
        score=0.9,
    ),
    Rule(
        "sendgrid_key",
        K.SENDGRID_KEY,
        re.compile(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
        ("sg.",),
        left=LEFT_WORD,
        score=1.0,
    ),
    Rule(
        "jwt",
        K.JWT,
        re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*(?![A-Za-z0-9_-])"),
        ("eyj",),
        left=LEFT_WORD,
        score=0.95,
    ),
    Rule(
        "url_userinfo",
        K.URL_TOKEN,
        re.compile(
            # no user name (redis://:pw@host); an unescaped "@" in the password (the host follows the last one)
            r"(?a:\b)[A-Za-z][A-Za-z0-9+.-]{1,20}://(?P<user>[^\s/:@\"'<>`]{0,128}):(?P<pw>[^\s/\"'<>`]{1,256})@"
            r"(?=[A-Za-z0-9\[])"
        ),
        ("://",),
        group="pw",
        check=_userinfo_ok,
        score=0.95,
    ),
    Rule(
        "url_query_secret",
        K.URL_TOKEN,
        re.compile(
            r"[?&#;](?i:access_token|refresh_token|id_token|auth_token|token|api_key|apikey|api-key|key|secret|"
            r"client_secret|sig|signature|password|passwd|pwd|auth|code|session|sessionid|session_id|jwt|"
            r"private_token|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
            r"x-goog-credential|sv|se|st)=(?P<v>[^&#\s\"'<>`\\]{1,2048})"
        ),
        ("=",),
        group="v",
        check=_url_secret_ok,
        score=0.9,
    ),
    Rule(
        "bearer",
        K.SECRET,
        re.compile(
            r"(?:(?<![\w])|" + AFTER_ESC + r")(?i:bearer|basic|authorization:[ \t]*token)[ \t]+"
            r"(?P<v>[A-Za-z0-9._~+/=-]{0,2046}[A-Za-z0-9_~+/=-])"
        ),
        ("bearer", "basic", "authorization"),
        anchor=re.compile(r"(?:bearer|basic|authorization:[ \t]*token)[ \t]"),  # (the rule checks what precedes)
        group="v",
        check=_bearer_ok,
        score=0.9,
    ),
    Rule(
        "assignment",
        K.SECRET,
        re.compile(
            # the keyword must END the key name (max_tokens, tokenizer, token_count do not match)
            # quotes may be escaped (\"password\": \"…\"): JSON text inside a string (a tool's input or output)
            r"(?i:" + _ASSIGN_KEYS + r")(?![A-Za-z0-9])"
            r"(?:\\?[\"'])?\]?[ \t]*(?:=|:=|=>|::|:)[ \t]*"
            r"(?:(?P<esc>\\)?\"(?P<dq>[^\"\n\\]{1,512})(?(esc)\\)\"|'(?P<sq>[^'\n\\]{1,512})'"
            r"|(?P<bare>[^\s\"'`,;)}\]\\]{1,512}))"
        ),
        ("pass", "pwd", "secret", "token", "key", "credential"),
        anchor=re.compile(r"(?:" + _ASSIGN_KEYS + r")(?![a-z0-9])(?:\\?[\"'])?\]?[ \t]*(?:=|:=|=>|::|:)"),
        group="__value__",
        check=_assign_ok,
        score=0.85,
    ),
    Rule(
        # a secret said in prose: my password is hunter2, the password was: Tr0ub4dor&3, passwords are …, the db
        # password's S3cr3t!x, the PIN is 4821, api key is …, credentials are admin / P4ss (the value after the slash)
        "prose_secret",
        K.SECRET,
        re.compile(
            _CUE_LEFT + r"(?i:(?P<key>(?P<pw>" + _PROSE_PASSWORD_KEYS + r")s?|(?P<pin>" + _PROSE_PIN_KEYS + r")s?|"
            + _PROSE_TOKEN_KEYS + r"))(?![A-Za-z0-9])"
            r"(?i:'s[ \t]+|[ \t]+(?:is|was|are|were)(?:[ \t]*:[ \t]*|[ \t]+)(?:(?:now|still|currently|(?P<setto>(?:set|changed|reset)[ \t]+to))[ \t]+)?)"
            r"(?:(?(pw)[^\s/:,\"'`]{1,64}[ \t]*/[ \t]*|(?!)))?"
            r"(?:(?P<esc>\\)?\"(?P<dq>[^\"\n\\]{1,512})(?(esc)\\)\"|'(?P<sq>[^'\n\\]{1,512})'|`(?P<bq>[^`\n\\]{1,512})`"
            r"|(?P<bare>[^\s\"'`,;)}\]\\]{0,511}[^\s\"'`,;)}\]\\.?:])(?=[.?:]*(?![^\s\"'`,;)}\]\\])))"
        ),
        _PROSE_NEEDLES,
        starts=prose_secret_starts,
        group="__value__",
        check=_prose_secret_ok,
        score=0.85,
    ),
    Rule(
        # a password said in Spanish, French, German, Portuguese, Italian or Russian: mi contraseña es …, la clave
        # es …, mon mot de passe est …, das Kennwort lautet …, minha senha é …, la mia password è …, пароль: …, мой
        # пароль …
        "prose_secret_intl",
        K.SECRET,
        _PROSE_INTL,
        _INTL_TRIGGERS,
        starts=prose_secret_intl_starts,
        group="__value__",
        check=_intl_secret_ok,
        score=0.85,
    ),
    Rule(
        # YAML: the value on the line after its key (``api_key:`` newline ``  sk-...``), or the first line of a
        # block scalar (``password: |``); not a mapping or a list under the key
        "yaml_next_line",
        K.SECRET,
        re.compile(
            r"(?i:" + _ASSIGN_KEYS + r")(?![A-Za-z0-9])[\"']?[ \t]*:[ \t]*(?:[|>][-+1-9]{0,2}[ \t]*)?(?:#[^\r\n]*)?"
            r"\r?\n(?:[ \t]*\r?\n){0,3}(?P<vind>[ \t]+)(?![^\s:]+:(?:[ \t]|\r?\n|\Z))(?!-[ \t])"
            r"(?:\"(?P<dq>[^\"\n\\]{1,512})\"|'(?P<sq>[^'\n\\]{1,512})'|(?P<bare>[^\s\"'`,;)}\]\\#][^\s\"'`,;)}\]\\]{0,511}))"
            r"[ \t]*(?=\r?\n|\Z)"
        ),
        ("pass", "pwd", "secret", "token", "key", "credential"),
        anchor=re.compile(r"(?:" + _ASSIGN_KEYS + r")(?![a-z0-9])[\"']?[ \t]*:[ \t]*(?:[|>][-+1-9]{0,2}[ \t]*)?"
                          r"(?:#[^\r\n]*)?\r?\n"),
        group="__value__",
        check=_yaml_next_line_ok,
        score=0.85,
    ),
    Rule(
        # HTTP authorization with any scheme or none (Api-Key, Token, SSWS, Digest…; Bearer and Basic have their
        # own rule), in a header, a curl -H argument or a dict
        "authorization_header",
        K.SECRET,
        re.compile(
            r"(?i:(?:proxy-)?authorization)\\?[\"']?\]?[ \t]*[:=][ \t]*\\?[\"']?(?:[A-Za-z][A-Za-z0-9_-]{1,24}[ \t]+)?"
            r"(?P<v>[A-Za-z0-9._~+/=-]{19,2047}[A-Za-z0-9_~+/=-])"
        ),
        ("authorization",),
        anchor=re.compile(r"authorization\\?[\"']?\]?[ \t]*[:=]"),
        group="v",
        check=lambda m: _has_digit(m.group("v")) and (not _IDENT.fullmatch(m.group("v")) or _looks_random(m.group("v"))),
        score=0.9,
    ),
    Rule(
        # user:password given to curl (-u, --user, --proxy-user, -U) or httpie (-a, --auth)
        "cli_user_password",
        K.SECRET,
        re.compile(
            r"(?<![A-Za-z0-9-])(?:-u|-U|--user|--proxy-user|--auth|(?<=http )-a|(?<=https )-a)(?:=|[ \t]+)"
            r"(?:\"[^\s:\"'@]{1,128}:(?P<dq>[^\"\n\\]{1,256})\"|'[^\s:\"'@]{1,128}:(?P<sq>[^'\n\\]{1,256})'"
            r"|[^\s:\"'@]{1,128}:(?P<bare>[^\s\"']{1,256}))"
        ),
        ("-u", "--user", "--proxy-user", "--auth", "http -a", "https -a"),
        anchor=re.compile(r"-(?:u|a|-user|-proxy-user|-auth)(?:=|[ \t])"),
        group="__value__",
        check=_assign_ok,
        score=0.85,
    ),
    Rule(
        # the MySQL/MariaDB clients' password glued to -p (mysql -u root -pS3cr3t)
        "mysql_password_flag",
        K.SECRET,
        re.compile(
            _COMMAND + r"(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb|mariadb-dump)"
            r"(?![\w-])[^\n|;&]{0,200}?[ \t]-p" + _command_value(128)
        ),
        ("mysql", "mariadb"),
        anchor=re.compile(r"m(?:ysql|ariadb)"),
        group="__value__",
        check=_assign_ok,
        score=0.85,
    ),
    Rule(
        # the session cookie of a Cookie/Set-Cookie header, curl -b, document.cookie: a live login
        "session_cookie",
        K.SECRET,
        re.compile(
            r"(?:(?<![\w.-])|" + AFTER_ESC + r")(?i:sessionid|session_id|session|(?:connect\.)?sid|phpsessid|jsessionid|"
            r"asp\.net_sessionid|laravel_session|user_session|_gh_sess|(?:[\w.-]{1,40}[._-])?session[._-]token)"
            r"=(?P<v>[^;\s\"'`&\\]{16,4096})"
        ),
        ("sess", "sid"),
        starts=cookie_starts,
        group="v",
        check=_cookie_ok,
        score=0.85,
    ),
    Rule(
        # a registry or SSH login's password after a short -p flag (docker login -u bob -p …, sshpass -p …)
        "login_password_flag",
        K.SECRET,
        re.compile(
            _COMMAND + r"(?:sshpass|login)(?![\w-])[^\n|;&]{0,200}?[ \t]-p(?:=|[ \t]+)" + _command_value(256)
        ),
        ("sshpass", "login"),
        anchor=re.compile(r"sshpass|login"),
        group="__value__",
        check=lambda m: (m.group(0).startswith("sshpass") or _LOGIN_COMMAND.search(m.string, max(0, m.start() - 40), m.start()) is not None)
        and _assign_ok(m),
        score=0.85,
    ),
    Rule(
        "cli_secret_flag",
        K.SECRET,
        re.compile(
            r"(?<![A-Za-z0-9-])--?(?i:password|passwd|token|api-key|apikey|secret|client-secret|auth-token|"
            r"access-token)(?:=|[ \t]+)(?:(?P<esc>\\)?\"(?P<dq>[^\"\n\\]{1,512})(?(esc)\\)\"|'(?P<sq>[^'\n\\]{1,512})'|"
            r"(?P<bare>[^\s\"'`;|&)\\]{1,512}))"
        ),
        ("--", "-p"),
        group="__value__",
        check=_assign_ok,
        score=0.85,
    ),
    Rule(
        # the value of a GitHub Actions secret set from the command line (gh secret set NAME --body VALUE)
        "gh_secret_body",
        K.SECRET,
        re.compile(
            _COMMAND + r"gh[ \t]+secret[ \t]+set(?![\w-])[^\n|;&]{0,200}?[ \t](?:--body|-b)(?:=|[ \t]+)"
            + _command_value(512)
        ),
        ("gh secret",),
        anchor=re.compile(r"gh[ \t]+secret"),
        group="__value__",
        check=_command_secret_ok,
        score=0.85,
    ),
    Rule(
        # openssl's password on the command line: -k PASS, -pass/-passin/-passout pass:PASS
        "openssl_password",
        K.SECRET,
        re.compile(
            _COMMAND + r"openssl(?![\w-])[^\n|;&]{0,300}?[ \t](?:-k[ \t]+|-pass(?:in|out)?[ \t]+pass:)"
            + _command_value(256)
        ),
        ("openssl",),
        anchor=re.compile(r"openssl"),
        group="__value__",
        check=_command_secret_ok,
        score=0.85,
    ),
    Rule(
        # a US social security number after its cue (a bare ddd-dd-dddd is an order or a part number)
        "us_ssn",
        K.SSN,
        re.compile(
            _CUE_LEFT + r"(?i:ssn|social[ \t_-]security(?:[ \t_-](?:number|no\.?|#))?)" + _CUE_SEP
            + r"(?P<v>(?!000|666|9\d\d)\d{3}([- ]?)(?!00)\d{2}\2(?!0000)\d{4})(?![\w-])"
        ),
        ("ssn", "social"),
        anchor=re.compile(r"ssn|social[ \t_-]security"),
        group="v",
        score=0.9,
    ),
    Rule(
        # a passport number after its cue (passport no: X1234567, Passport number 123456789)
        "passport",
        K.PASSPORT,
        re.compile(
            _CUE_LEFT + r"(?i:passport)(?:[ \t_-]?(?i:no\.?|number|num|nr\.?|#|id))?" + _CUE_SEP
            + r"(?P<v>[A-Z0-9]{6,9})(?![\w-])"
        ),
        ("passport",),
        anchor=re.compile(r"passport"),
        group="v",
        check=_passport_ok,
        score=0.9,
    ),
    Rule(
        # a date of birth after its cue (DOB: 1984-03-12, D.O.B. 12/03/1984, date of birth 12/03/1984, born on
        # 3 March 1984); a date alone is a log's or a release's
        "date_of_birth",
        K.DOB,
        re.compile(
            _CUE_LEFT + r"(?i:dob|d\.o\.b\.?|date[ \t_-]of[ \t_-]birth|birth[ \t_-]?date|birthday|born(?:[ \t]+on)?)"
            + _CUE_SEP + r"(?P<v>" + _DATE + r")(?![\w-]|[./]\d)"
        ),
        ("dob", "d.o.b", "birth", "born"),
        starts=dob_starts,
        group="v",
        check=_dob_ok,
        score=0.85,
    ),
    Rule(
        # a UK postcode (SW1A 1AA, M1 1AE), spaced as written: unspaced it is too like an identifier (X509CA)
        "uk_postcode",
        K.POSTCODE,
        re.compile(
            r"(?:[A-PR-UWYZ][0-9][0-9A-HJKPS-UW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRV-Y]?) [0-9][ABD-HJLNP-UW-Z]{2}"
            r"(?![A-Za-z0-9])"
        ),
        (),
        left=LEFT_WORD,
        score=0.8,
    ),
    Rule(
        # a postal or ZIP code after its cue (zip: 94103, postcode 75008, postal code K1A 0B1, zip code 94103-1234)
        "postcode",
        K.POSTCODE,
        re.compile(
            _CUE_LEFT + r"(?i:post[ \t_-]?code|postal[ \t_-]?code|zip(?:[ \t_-]?code)?)" + _CUE_SEP
            + r"(?P<v>\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4}(?: ?[A-Z]{2})?)(?![\w-])"
        ),
        ("zip", "post"),
        starts=postcode_starts,
        group="v",
        score=0.8,
    ),
    Rule(
        # a network card's MAC address (00:1A:2B:3C:4D:5E, 00-1a-2b-3c-4d-5e)
        "mac_address",
        K.MACADDR,
        re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}(?![\w:-]|\.\w)"),
        (),
        starts=mac_starts,
        left=LEFT_WORD + ":.-",
        check=_mac_ok,
        score=0.85,
    ),
    Rule(
        # a Cisco-style MAC address (0011.2233.4455) after its label, before ARPA or under a MAC address table
        "mac_address_dotted",
        K.MACADDR,
        re.compile(r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.-])"),
        (),  # (no trigger words: checking 7 of them cost twice the scan for the dots, 17 -> 8 ms per 3 MB of code)
        starts=dotted_mac_starts,
        left=LEFT_WORD + ".:-",
        check=_dotted_mac_ok,
        score=0.85,
    ),
    Rule(
        "bitcoin_bech32",
        K.WALLET,
        re.compile(r"(?i:bc1[qp][ac-hj-np-z02-9]{38,58})(?![A-Za-z0-9])"),
        ("bc1",),
        left=LEFT_WORD,
        check=_bech32_ok,
        score=0.95,
    ),
    Rule(
        # a legacy Bitcoin address (1…, 3…): no cue, so its checksum decides (a scan with no lookbehind: ~4x faster)
        "bitcoin_base58",
        K.WALLET,
        re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])"),
        (),
        left=LEFT_WORD,
        check=_base58check_ok,
        score=0.95,
    ),
    Rule(
        "ethereum_address",
        K.WALLET,
        re.compile(r"0x[0-9a-fA-F]{40}(?![A-Za-z0-9])"),
        ("0x",),
        left=LEFT_WORD,
        check=_eth_ok,
        score=0.9,
    ),
    Rule(
        # a wallet's seed phrase after its cue: 12 to 24 lower-case words shaped as BIP-39 words are, accented or not
        "seed_phrase",
        K.MNEMONIC,
        re.compile(
            _CUE_LEFT + _SEED_CUE_WORDS + _CUE_SEP
            + rf"(?P<v>{_NOT_CUE_VERB}{_CUE_SEED_WORD}(?:[ \t]+{_CUE_SEED_WORD}){{11,23}})(?![^\W\d_]|[{_MARK}])"
        ),
        ("mnemonic", "phrase", "seed", "words"),
        starts=seed_starts,
        group="v",
        score=0.95,
    ),
    Rule(
        "card",
        K.CARD,
        re.compile(r"(?:(?<![\w.,-])|" + AFTER_ESC + r")\d(?:[ -]?\d){12,18}(?![\w]|[.,]\d|-\w)", re.ASCII),
        (),
        check=_card_ok,
        score=0.95,
    ),
    Rule(
        "iban",
        K.IBAN,
        re.compile(
            r"(?:\b|" + AFTER_ESC + r")(?:[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?"
            r"|[a-z]{2}\d{2}(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,3})?)\b",  # lower case: only in spaced groups
            re.ASCII,
        ),
        (),
        check=_iban_ok,
        score=0.95,
    ),
    Rule(
        "email",
        K.EMAIL,
        re.compile(
            # letters of any script (josé.garcía@, иван@пример.рф, 田中@例え.jp), accents as combining marks too
            # not starting at the letter of a \\n escape in JSON text ("x\\nalice@…" is alice@…, not nalice@…)
            r"(?:(?<![\w\u0300-\u036f.%+\\-])|" + AFTER_ESC + r"|(?<=\\)(?![nrt]))(?P<local>[^\W_][\w\u0300-\u036f.%+-]{0,63})@"
            r"(?P<domain>[^\W_](?:(?:[^\W_]|[\u0300-\u036f-]){0,62}[^\W_])?(?:\.[^\W_](?:(?:[^\W_]|[\u0300-\u036f-]){0,62}"
            r"[^\W_])?){0,6}\.(?:[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9])|xn--[a-z0-9-]{2,59}(?![\w-])"
            r"|[^\W\d_]{2,24}(?![\w\u0300-\u036f-]|\.[^\W_])))"  # an ASCII TLD may touch the next word in CJK text
        ),
        ("@",),
        check=_email_ok,
        starts=email_starts,
        score=0.95,
    ),
    Rule(
        "phone",
        K.PHONE,
        re.compile(
            r"(?:(?<![\w/.:#=+$-])|" + AFTER_ESC + r")(?:"
            r"(?:\+|00)\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,4}"
            r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"
            r"|\d{3}[.-]\d{3}[.-]\d{4}"
            r")(?![\w/:-]|\.\d)",
            re.ASCII,
        ),
        (),
        check=_phone_ok,
        score=0.85,
    ),
    Rule(
        "ipv4",
        K.IP,
        re.compile(
            r"(?:(?<![\w.])|" + AFTER_ESC + r")(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
            r"(?![\w]|\.\d)",
            re.ASCII,
        ),
        (".",),
        check=_ipv4_ok,
        score=0.9,
    ),
    Rule(
        "ipv6",
        K.IP,
        re.compile(
            r"(?:(?<![\w:.])|" + AFTER_ESC + r")(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?::|[0-9A-Fa-f]{1,4})"
            r"(?:%[A-Za-z0-9]+)?(?![\w:]|\.\w)",  # a sentence's full stop may follow
            re.ASCII,
        ),
        ("::", ":"),
        check=_ipv6_ok,
        score=0.85,
    ),
    Rule(
        "path_user_unix",
        K.PATH_USER,
        re.compile(
            r"(?i:/Users|/home)/"
            + _home_user(r"/\s\"'`\\:;,*?<>|()\[\]{}" + _NAME_PUNCT, _ESCAPED_LETTER, r"/\s\"'`\\:;,)\]}" + _NAME_PUNCT)
        ),
        ("/users/", "/home/"),
        group="u",
        check=_path_user_ok,
        score=0.9,
    ),
    Rule(
        "path_user_windows",
        K.PATH_USER,
        re.compile(
            # (a backslash written once, escaped in JSON text, or escaped twice: JSON text inside a JSON string)
            # (q: four, JSON text in a JSON string, where a non-ASCII letter of the name is written \\u00e9; d: two,
            # JSON text, where it is written \u00e9 and the separator after Users is two backslashes too; s: a slash,
            # D:/Users/Zo\u00eb, read as the unix form reads it)
            r"(?i:[A-Z]:(?:(?P<q>\\{4})|(?P<d>\\{2})|\\{1,3}|(?P<s>/))(?:Users|Documents and Settings)"
            r"(?(d)(?:\\{2}|/)|(?:\\{1,4}|/)))"
            + _home_user(r"\\/\s\"'`:;,*?<>|()\[\]{}" + _NAME_PUNCT,
                         r"(?(q)" + _ESCAPED_LETTER_IN_JSON + r"|(?(d)" + _ESCAPED_LETTER_ONCE
                         + r"|(?(s)" + _ESCAPED_LETTER + r"|(?!))))",
                         r"\\/\s\"'`:;,)\]}" + _NAME_PUNCT)
        ),
        ("users", "documents and settings"),
        group="u",
        check=_path_user_ok,
        score=0.9,
    ),
    Rule(
        # Claude Code project folders encode the cwd with dashes: -Users-alice-src-app, C--Users-alice-...
        "path_user_encoded",
        K.PATH_USER,
        re.compile(
            # (a name not starting with a CJK letter ends where one begins, and at CJK punctuation, as a path's does:
            # -Users-alice下的文件, （-Users-alice），然后; written as JSON escapes or not)
            rf"(?:(?<=[/\\\"'\s{_NAME_PUNCT}{_CJK_LETTERS}])|^|{_AFTER_ESCAPED_CJK_OR_PUNCT})(?:[A-Za-z]-)?-(?:Users|home)-"
            rf"(?P<u>(?:(?![{_CJK_LETTERS}]|{_ESCAPED_CJK})(?:[\w.]|{_ESCAPED_LETTER})){{2,64}}"
            rf"(?=-|[/\\\"'\s{_NAME_PUNCT}{_CJK_LETTERS}]|{_ESCAPED_CJK}|$)"
            rf"|(?:[{_CJK_LETTERS}]|{_ESCAPED_CJK})(?:[\w.]|{_ESCAPED_LETTER}){{1,63}}(?=-|[/\\\"'\s{_NAME_PUNCT}]|$))"
        ),
        ("-users-", "-home-"),
        group="u",
        check=_path_user_ok,
        score=0.85,
    ),
    Rule(
        "street_address",
        K.ADDRESS,
        re.compile(
            r"(?:(?a:\b)|" + AFTER_ESC + r")\d{1,5}[A-Za-z]?,?[ \t]+(?:[A-Z][A-Za-z'.-]{1,30}[ \t]+){1,4}"
            r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|"
            r"Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Trail|Crescent|Close|Alley|Plaza|Pike|Broadway)\b\.?"
            r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
            r"(?:,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\.?[ \t]*[A-Za-z0-9-]{1,6})?"
            r"(?:,[ \t]*[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2}(?:,[ \t]*[A-Z]{2})?(?:[ \t]+\d{5}(?:-\d{4})?)?)?"
        ),
        (),
        score=0.8,
    ),
    Rule(
        "street_address_eu",
        K.ADDRESS,
        re.compile(
            r"\b[A-ZÄÖÜ][a-zäöüß]{2,30}(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)[ \t]+\d{1,4}[a-z]?\b"
            r"(?:,[ \t]*\d{4,5}[ \t]+[A-ZÄÖÜ][a-zäöüß]+)?"
            r"|\b\d{1,4}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:rue|avenue|boulevard|chemin|impasse|allée|quai)[ \t]+"
            r"(?:d[eu][ \t]+(?:la[ \t]+)?|des[ \t]+|l')?[A-ZÀ-Ý][\w'-]{1,30}(?:[ \t]+[A-ZÀ-Ý][\w'-]{1,30}){0,3}"
            r"|\b(?:Calle|Avenida|Carrer|Rua|Via|Viale|Piazza)[ \t]+(?:de[ \t]+(?:la[ \t]+)?|del[ \t]+|da[ \t]+|do[ \t]+)?"
            r"[A-ZÀ-Ý][\w'-]{1,30}(?:[ \t]+[A-ZÀ-Ý][\w'-]{1,30}){0,3},?[ \t]+(?:n[º°o.]?[ \t]*)?\d{1,4}\b"
        ),
        (),
        score=0.8,
    ),
)

# Secret-bearing assignment rules use a pseudo-group: the first non-empty of dq/sq/bare (and bq, a value in
# backticks, where a rule has it: prose_secret).
VALUE_GROUPS = ("dq", "sq", "bare")


def span_of(rule: Rule, m: re.Match[str]) -> tuple[int, int]:
    if rule.group == "__value__":
        names = m.re.groupindex
        for g in (*VALUE_GROUPS, "bq"):
            if g in names and m.group(g) is not None:
                return m.span(g)
        return m.span(0)
    return m.span(rule.group)


# -- YAML values below their key -----------------------------------------------------------------

#: A secret key ending its line (``api_key:``, ``api_keys:``, ``password: |``), the line break included.
_YAML_BLOCK_KEY = re.compile(
    r"(?i:" + _ASSIGN_KEYS + r")[sS]?(?![A-Za-z0-9])[\"']?[ \t]*:[ \t]*(?P<ind>[|>][-+1-9]{0,2}[ \t]*)?(?:#[^\r\n]*)?\r?\n"
)
_YAML_BLOCK_ANCHOR = re.compile(  # the same over the lower-cased text (a much faster scan)
    r"(?:" + _ASSIGN_KEYS + r")s?(?![a-z0-9])[\"']?[ \t]*:[ \t]*(?:[|>][-+1-9]{0,2}[ \t]*)?(?:#[^\r\n]*)?\r?\n"
)
#: Literals one of which a text holds when :func:`yaml_block_values` can find something.
YAML_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")
_YAML_LINE = re.compile(r"(?P<sp>[ \t]*)(?P<body>[^\r\n]*?)[ \t]*\r?(?:\n|\Z)")
_YAML_ITEM = re.compile(
    r"-[ \t]+(?:\"(?P<dq>[^\"\n\\]{1,512})\"|'(?P<sq>[^'\n\\]{1,512})'|(?P<bare>[^\s\"'`,;)}\]\\#][^\s\"'`,;)}\]\\]{0,511}))"
    r"(?:[ \t]+#.*)?"
)
_YAML_MAX_LINES = 200  # lines read below one key


def _list_item_secret(value: str, quoted: bool) -> bool:
    """Is a list item under a secret key (``tokens:`` newline ``  - …``) a credential rather than a name, a path or
    a setting (``color-primary``, ``spacing-small-2``, ``GITHUB_TOKEN``, ``100``)? Besides passing
    :func:`secret_value_ok` it changes character class like a random key, or it has 20 or more characters with
    4 or more digits and 4 or more letters."""
    if not secret_value_ok(value, quoted=quoted) or ":" in value:
        return False
    digits = sum(c.isdigit() for c in value)
    letters = sum(c.isalpha() for c in value)
    return _looks_random(value) or len(value) >= 20 and digits >= 4 and letters >= 4


_ALNUM = re.compile(r"[A-Za-z0-9]{12,256}")


def _short_key(value: str) -> bool:
    """Is a list item under a secret key a short random key (``abcd1234efgh``, ``9f8e7d6c5b4a``): 12 or more
    letters and digits only, 4 or more digits and 3 or more letters, going from letters to digits or back at
    least twice (not a name with a number: ``primary500``, ``fontSize16``, ``sha256WithRSA``)?"""
    if not _ALNUM.fullmatch(value):
        return False
    digits = sum(c.isdigit() for c in value)
    if digits < 4 or len(value) - digits < 3:
        return False
    return sum(a.isdigit() != b.isdigit() for a, b in pairwise(value)) >= 2


_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")  # the name of a secret, not its value (DB_PASSWORD, API_KEY_2)
_VERSION = re.compile(r"[vV]?\d+(?:\.\d+)+")


def _keyed_item_secret(value: str, quoted: bool, key: str) -> bool:
    """Is an item of a list (inline or a YAML block) under the secret key ``key`` (as matched, lower case) a
    credential? Under ``tokens`` (design tokens, a tokenizer's tokens) only one that :func:`_list_item_secret`
    or :func:`_short_key` takes; under ``passwords``, ``secrets``, ``api_keys``… also a plausible secret (:func:`secret_value_ok`) with
    letters and digits that is no variable's name or version (``hunter2hunter2``, ``Qz7Wq4Xk2M9p``; not
    ``DB_PASSWORD``, ``my-app-secret``, ``v1.2.3``, ``8``)."""
    if _list_item_secret(value, quoted) or _short_key(value):
        return True
    if key.startswith("token") or ":" in value or _ENV_NAME.fullmatch(value) or _VERSION.fullmatch(value):
        return False
    return _has_digit(value) and any(c.isalpha() for c in value) and secret_value_ok(value, quoted=quoted)


#: The BIP-39 word lists a seed phrase is looked up in (``codecensus/data/bip39_<language>.txt``, from mnemonic 0.21)
BIP39_LANGUAGES = ("english", "spanish", "french", "italian", "portuguese", "czech")


def _fold_word(word: str) -> str:
    """``word`` in lower case without its accents: BIP-39 words are NFKD-normalised (``ábaco`` typed composed or
    decomposed), and no list has two words that differ only in their accents, so ``abaco`` is the same word."""
    low = word.lower()
    if low.isascii():
        return low
    return "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))


@functools.cache
def bip39_words(language: str = "english") -> dict[str, int]:
    """A BIP-39 word list (``codecensus/data/bip39_<language>.txt``): each word's index, by the word as
    :func:`_fold_word` spells it."""
    text = resources.files("codecensus.data").joinpath(f"bip39_{language}.txt").read_text(encoding="utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return {_fold_word(w): i for i, w in enumerate(words)}


@functools.cache
def _bip39_index() -> dict[str, tuple[int, ...]]:
    """Each word of any list, spelt with its accents composed (NFC), decomposed (NFKD) or without them: a bit mask of
    the :data:`BIP39_LANGUAGES` listing it, then its index in each of them (-1 where it is not listed). One look-up a
    word for all the lists, and no word of the text to normalise (French prose: 9x slower when each was)."""
    rows: dict[str, list[int]] = {}
    spellings: dict[str, set[str]] = {}
    for k, language in enumerate(BIP39_LANGUAGES):
        text = resources.files("codecensus.data").joinpath(f"bip39_{language}.txt").read_text(encoding="utf-8")
        for i, w in enumerate(w for line in text.splitlines() if not line.startswith("#") for w in line.split()):
            key = _fold_word(w)
            row = rows.setdefault(key, [0] + [-1] * len(BIP39_LANGUAGES))
            row[0] |= 1 << k
            row[k + 1] = i
            spellings.setdefault(key, set()).update((unicodedata.normalize("NFC", w), unicodedata.normalize("NFKD", w)))
    out = {key: tuple(row) for key, row in rows.items()}
    for key, forms in spellings.items():
        for form in forms:
            out.setdefault(form, out[key])
    return out


#: A word of a seed phrase as written: lower case, capitalised or in capitals, with accents composed or not
_SEED_WORD = rf"(?>[{_LO}][{_LO}{_MARK}]{{2,11}}|[{_UP}][{_LO}{_MARK}]{{2,11}}|[{_UP}][{_UP}{_MARK}]{{2,11}})(?![^\W\d_]|[{_MARK}])"
#: An item's number (``1.``, ``2)``, ``12:``, `` 3  ``) or bullet (``-``, ``*``) before a word of a phrase written as a list
_SEED_ITEM = r"(?:\d{1,2}(?:[.):]|[ \t])[ \t]*|[-*•][ \t]+)"
#: Between two words: one or two spaces, a comma, a line break (also escaped, in JSON text)
_SEED_SEP = r"(?>,?[ \t]*(?:\r?\n|(?:\\r)?\\n)[ \t]*|,[ \t]?|[ \t]{1,2})"
#: 12 or more such words (a seed phrase's shape), also numbered or bulleted (``1. legal 2. winner``, one a line too)
#: and in JSON text (after or around an escaped line break)
_WORD_RUN = re.compile(
    rf"(?:(?<![\w'\\-])|(?<=\\[nrt])){_SEED_ITEM}?{_SEED_WORD}(?:{_SEED_SEP}{_SEED_ITEM}?{_SEED_WORD}){{11,}}(?![\w'-])"
)
#: Where such a run can be: 47 or more characters of its alphabet (a 5x faster scan than for the words themselves)
_RUN_CHARS = rf"A-Za-z{_LO}{_UP}{_MARK}0-9 \t\r\n\\.,):*•-"
_WORD_RUN_SPAN = re.compile(rf"(?<![{_RUN_CHARS}])[{_RUN_CHARS}]{{47,}}")
_RUN_WORD = re.compile(rf"[^\W\d_](?:[^\W\d_]|[{_MARK}])*")
_PHRASE_LENGTHS = (24, 21, 18, 15, 12)


def bip39_phrases(text: str) -> Iterator[tuple[int, int]]:
    """A wallet's seed phrase without a label: 12, 15, 18, 21 or 24 consecutive words of one BIP-39 list (English,
    Spanish, French, Italian, Portuguese, Czech) whose last word holds the checksum of the others (``legal winner
    thank year wave sausage worth useful legal winner thank yellow``). The checksum is over the words' indexes, the
    same for every list. Prose made of listed words fails it 15 times in 16 or more."""
    index = _bip39_index()
    runs = (r for c in _WORD_RUN_SPAN.finditer(text) for r in _WORD_RUN.finditer(text, c.start(), c.end() + 1))
    for run in runs:
        plain = run.group(0).replace("\\r", "  ").replace("\\n", "  ")  # (the same length)
        low = plain.lower()
        if len(low) != len(plain):  # (İ lowers to two characters)
            low = plain
        spans = [w.span() for w in _RUN_WORD.finditer(low)]
        codes = [index.get(low[s:e]) for s, e in spans]
        if len(codes) - codes.count(None) < 12:
            continue
        present = 0
        for c in codes:
            if c is not None:
                present |= c[0]
        found: list[tuple[int, int]] = []
        for lang in range(1, len(BIP39_LANGUAGES) + 1):
            if not present >> (lang - 1) & 1:
                continue
            words = [(s, e, c[lang] if c is not None else -1) for (s, e), c in zip(spans, codes, strict=True)]
            i = 0
            while i < len(words):
                j = i
                while j < len(words) and words[j][2] >= 0:
                    j += 1
                if j - i >= 12:  # listed words[i:j]: from its start, the longest phrase with a valid checksum at each start
                    for k, n in _first_phrases([w[2] for w in words[i:j]]):
                        found.append((run.start() + words[i + k][0], run.start() + words[i + k + n - 1][1]))
                i = j + 1
        end = -1
        for s, e in sorted(found, key=lambda x: (x[0], -x[1])):  # (a phrase valid in two lists once)
            if s >= end:
                yield s, e
                end = e


#: A seed phrase's cue and what stands between it and the phrase (as the ``seed_phrase`` rule reads them), also a line
#: break or two before a list (``Recovery phrase:\n1. Legal\n2. Winner``), then 11 to 30 words written as
#: :data:`_WORD_RUN` reads them (capitalised, in capitals, comma-separated, numbered, one a line)
_CUED_RUN = re.compile(
    _CUE_LEFT + _SEED_CUE_WORDS + _CUE_SEP + r"(?:[ \t]*(?:\r?\n|(?:\\r)?\\n)){0,2}[ \t]*"
    + rf"(?P<v>{_NOT_CUE_VERB}{_SEED_ITEM}?{_SEED_WORD}(?:{_SEED_SEP}{_SEED_ITEM}?{_SEED_WORD}){{10,29}})"
)


def cued_seed_phrases(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """A seed phrase after its cue (``seed phrase:``, ``Mnemonic =``, ``recovery words:`` and a line break) whose
    checksum fails (a mistyped word) and that the ``seed_phrase`` rule's lower-case words with single spaces do not
    cover: capitalised, in capitals, comma-separated, numbered or one a line. It is the longest run of 24, 21, 18, 15
    or 12 words (a phrase's lengths) that ends on a word of a BIP-39 list and whose other words are that list's but
    one in 12 at most (one mistyped word; two in 24), or of 23, 20, 17, 14 or 11 words all of the list after which the
    run ends (a word left out). ``lower``: ``text.lower()``."""
    index = _bip39_index()
    for p in seed_starts(text, lower):
        m = _CUED_RUN.match(text, p)
        if m is None:
            continue
        run = m.group("v").replace("\\r", "  ").replace("\\n", "  ")  # (the same length)
        spans = [w.span() for w in _RUN_WORD.finditer(run)]
        codes = [index.get(run[s:e].lower()) for s, e in spans]
        best = 0
        for lang in range(1, len(BIP39_LANGUAGES) + 1):
            listed = [c is not None and c[lang] >= 0 for c in codes]
            for n in _PHRASE_LENGTHS:  # (longest first)
                if best < n <= len(listed) and listed[n - 1] and n - sum(listed[:n]) <= n // 12:
                    best = n
                    break
                # a word left out (11 of 12, 23 of 24): the n - 1 words all listed and the run ends after them
                if best < n - 1 <= len(listed) and all(listed[: n - 1]) and (len(listed) == n - 1 or not listed[n - 1]):
                    best = n - 1
                    break
        if best:
            yield m.start("v") + spans[0][0], m.start("v") + spans[best - 1][1]


def _first_phrases(indexes: list[int]) -> Iterator[tuple[int, int]]:
    """(start, length) of the phrases in a run of listed words (their indexes): from the run's start, the first start
    where a window of 24, 21, 18, 15 or 12 words holds its checksum (the longest), then the same after it. The
    checksum: the last words/3 bits are the first bits of the SHA-256 of the others (the entropy); a random run of
    listed words passes 1 time in 16 (12 words) to 256 (24). Each window's bits are rolled in from the last (one
    shift a word and length, not a list and a loop) and a window already checked is not hashed again (``"able " *
    100000``: one hash a length): linear in the run, 5 hashes a word at most."""
    best: dict[int, int] = {}  # start: the longest valid length there
    sha256 = hashlib.sha256
    for n in _PHRASE_LENGTHS:  # (longest first)
        if len(indexes) < n:
            continue
        mask, cs = (1 << 11 * n) - 1, n // 3
        size, low, shift = (11 * n - cs) // 8, (1 << cs) - 1, 8 - cs
        seen: dict[int, bool] = {}  # a window's bits: does its checksum hold (at most 4,096 kept)
        bits = 0
        for i in indexes[: n - 1]:
            bits = bits << 11 | i
        for k, i in enumerate(indexes[n - 1 :]):  # the window indexes[k : k + n]
            bits = (bits << 11 | i) & mask
            ok = seen.get(bits)
            if ok is None:
                ok = sha256((bits >> cs).to_bytes(size, "big")).digest()[0] >> shift == bits & low
                if len(seen) < 4096:
                    seen[bits] = ok
            if ok and k not in best:
                best[k] = n
    free = 0
    for k in sorted(best):
        if k >= free:
            yield k, best[k]
            free = k + best[k]


def yaml_block_values(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Spans of the YAML secrets the one-line rules leave: every list item under a secret key (``api_keys:``
    newline ``  - Xq7f…`` newline ``  - Qz7W…``) that looks like a credential (:func:`_keyed_item_secret`), and the
    lines after the first of a block scalar (``password: |``) whose first line is a plausible secret (the
    ``yaml_next_line`` rule covers the first line). Each line's value is its own span, so the lines stay.
    ``lower``: ``text.lower()``."""
    if len(lower) != len(text):
        return  # (a few characters change length in lower case; the anchors need the same positions)
    for a in _YAML_BLOCK_ANCHOR.finditer(lower):
        m = _YAML_BLOCK_KEY.match(text, a.start())
        if m is None:
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        head = _YAML_KEY_HEAD.match(text, line_start, m.start())
        if head is None or head.end() != m.start():
            continue
        prefix = text[line_start : m.start()]
        key_indent = len(prefix) - len(prefix.lstrip(" \t"))
        if prefix.lstrip(" \t").startswith("-"):  # "- password: |": the key sits after the dash
            key_indent += 1
        if m.group("ind") is not None:
            yield from _block_scalar_rest(text, m.end(), key_indent)
        else:
            yield from _list_items(text, m.end(), key_indent, lower[m.start() : m.end()])


def _lines(text: str, pos: int) -> Iterator[re.Match[str]]:
    for _ in range(_YAML_MAX_LINES):
        if pos >= len(text):
            return
        line = _YAML_LINE.match(text, pos)
        if line is None or line.end() == pos:
            return
        yield line
        pos = line.end()


def _block_scalar_rest(text: str, pos: int, key_indent: int) -> Iterator[tuple[int, int]]:
    indent = -1
    for line in _lines(text, pos):
        body = line.group("body")
        if not body:
            continue  # blank lines belong to the block
        width = len(line.group("sp"))
        if indent < 0:
            if width <= key_indent or not secret_value_ok(body.strip("\"'"), quoted=body[0] in "\"'"):
                return
            indent = width
            continue  # the first line: the yaml_next_line rule's
        if width < indent:
            return
        yield line.start("body"), line.end("body")


def _list_items(text: str, pos: int, key_indent: int, key: str) -> Iterator[tuple[int, int]]:
    indent = -1
    for line in _lines(text, pos):
        if not line.group("body"):
            continue
        width = len(line.group("sp"))
        if width < key_indent or indent >= 0 and width != indent:
            return
        item = _YAML_ITEM.fullmatch(text, line.start("body"), line.end("body"))
        if item is None:
            return  # not a list of scalars (a mapping, a nested list, a sibling key)
        indent = width
        for g in VALUE_GROUPS:
            if item.group(g) is not None:
                if _keyed_item_secret(item.group(g), g != "bare", key):
                    yield item.span(g)
                break


# -- flow collections under a secret key ---------------------------------------------------------

#: A secret key (``api_keys``, ``password``, ``"secrets"``, ``\"tokens\"`` in JSON text) given an inline list or
#: mapping: ``api_keys: [``, ``password: {``, ``"secrets": [``, ``API_KEYS = [``.
_FLOW_KEY = re.compile(
    r"(?i:" + _ASSIGN_KEYS + r")[sS]?(?![A-Za-z0-9])(?:\\?[\"'])?\]?[ \t]*(?:=|:=|=>|:)[ \t]*(?P<open>[\[{])"
)
#: Where such a collection opens (scanned first: a scan for the keys' alternation is ~2.5x slower), and the key
#: that must end right before it (searched for in the lower-cased text before the separator).
_FLOW_OPEN = re.compile(r"(?::=|=>|[:=])[ \t]*[\[{]")
_FLOW_KEY_BEFORE = re.compile(r"(?:" + _ASSIGN_KEYS + r")s?(?![a-z0-9])(?:\\?[\"'])?\]?[ \t]*\Z")
#: One scalar of a flow collection: double-quoted (also with the quotes escaped, as in JSON text), single-quoted
#: or plain (up to the next ``,``, bracket, quote or line end).
_FLOW_SCALAR = re.compile(
    r"[ \t]*(?:\"(?P<dq>[^\"\n\\]{0,512})\"|\\\"(?P<eq>[^\"\n\\]{0,512})\\\"|'(?P<sq>[^'\n\\]{0,512})'"
    r"|(?P<bare>[^\s\"'`,\[\]{}#\\][^\n\"'`,\[\]{}\\]{0,511}?))[ \t]*(?=[,\]}])"
)
_FLOW_MAP_KEY = re.compile(r"[ \t]*(?:\\?[\"'])?(?P<k>[A-Za-z0-9_.-]{1,64})(?:\\?[\"'])?[ \t]*:[ \t]*")
#: Keys of a flow mapping under a secret key whose value is the secret itself (``password: {value: hunter2}``,
#: ``api_key: {prod: …, dev: …}``); the values of other keys (``type``, ``name``, ``minLength``) are settings.
_FLOW_VALUE_KEYS = frozenset(
    """value val default plain plaintext raw data literal text current old new previous next primary secondary
    prod production dev development staging stage test testing live local
    """.split()
)
_FLOW_GROUPS = ("dq", "eq", "sq", "bare")
_FLOW_MAX_ITEMS = 64


def _flow_scalar(m: re.Match[str]) -> tuple[str, int, int, bool]:
    for g in _FLOW_GROUPS:
        if m.group(g) is not None:
            return m.group(g), m.start(g), m.end(g), g != "bare"
    raise AssertionError("a flow scalar matched no group")


def flow_values(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Spans of the secrets in an inline list or mapping under a secret key, which the one-value rules leave
    (their value would start with ``[`` or ``{``): each list item that looks like a credential
    (:func:`_keyed_item_secret`: ``api_keys: [Xq7f…, Qz7W…]``, ``"secrets": ["…", "…"]``), and each mapping value
    that does (:func:`_list_item_secret`), or that is a plausible secret (:func:`secret_value_ok`) under a key that names the secret's value
    (:data:`_FLOW_VALUE_KEYS`: ``password: {value: hunter2}``). One line only; a nested collection ends the
    reading. ``lower``: ``text.lower()``."""
    if len(lower) != len(text):
        return  # (a few characters change length in lower case; the anchor needs the same positions)
    for o in _FLOW_OPEN.finditer(lower):
        a = _FLOW_KEY_BEFORE.search(lower, max(0, o.start() - 48), o.start())
        if a is None:
            continue
        m = _FLOW_KEY.match(text, a.start())
        if m is None:
            continue
        pos = m.end()
        is_map = m.group("open") == "{"
        key = lower[m.start() : m.end()]
        for _ in range(_FLOW_MAX_ITEMS):
            inner = ""
            if is_map:
                k = _FLOW_MAP_KEY.match(text, pos)
                if k is None:
                    break
                inner, pos = k.group("k").lower(), k.end()
            item = _FLOW_SCALAR.match(text, pos)
            if item is None:
                break
            value, s, e, quoted = _flow_scalar(item)
            value = value.strip() if not quoted else value
            if (
                _keyed_item_secret(value, quoted, key)
                if not is_map
                else _list_item_secret(value, quoted) or inner in _FLOW_VALUE_KEYS and secret_value_ok(value, quoted=quoted)
            ):
                yield s, s + len(value)
            pos = item.end()
            if text[pos] != ",":
                break  # the closing bracket
            pos += 1
