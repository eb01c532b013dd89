"""Entity kinds, placeholders and the span type shared by every detector."""

from __future__ import annotations

from dataclasses import dataclass

# -- kinds -------------------------------------------------------------------
# Credentials (any of these means "a secret was present").
PRIVATE_KEY = "PRIVATE_KEY"
AWS_KEY = "AWS_KEY"
GITHUB_TOKEN = "GITHUB_TOKEN"
GITLAB_TOKEN = "GITLAB_TOKEN"
ANTHROPIC_KEY = "ANTHROPIC_KEY"
OPENAI_KEY = "OPENAI_KEY"
GCP_KEY = "GCP_KEY"
AZURE_KEY = "AZURE_KEY"
STRIPE_KEY = "STRIPE_KEY"
SLACK_TOKEN = "SLACK_TOKEN"
NPM_TOKEN = "NPM_TOKEN"
PYPI_TOKEN = "PYPI_TOKEN"
HF_TOKEN = "HF_TOKEN"
TWILIO_KEY = "TWILIO_KEY"
SENDGRID_KEY = "SENDGRID_KEY"
JWT = "JWT"
URL_TOKEN = "URL_TOKEN"
MNEMONIC = "MNEMONIC"  # a wallet's seed (recovery) phrase: 12 to 24 words that give its funds away
SECRET = "SECRET"
# Personal data.
CARD = "CARD"
IBAN = "IBAN"
SSN = "SSN"  # a US social security number
PASSPORT = "PASSPORT"  # a passport number after its cue
WALLET = "WALLET"  # a cryptocurrency address (Bitcoin, Ethereum)
EMAIL = "EMAIL"
PHONE = "PHONE"
PERSON = "PERSON"
ADDRESS = "ADDRESS"
# Quasi-identifiers.
IP = "IP"
PATH_USER = "PATH_USER"
LOCATION = "LOCATION"
DOB = "DOB"  # a date of birth after its cue
POSTCODE = "POSTCODE"  # a UK postcode, or a postal/ZIP code after its cue
MACADDR = "MACADDR"  # a network card's MAC address

#: Every kind, highest precedence first. When detections overlap they are merged into one
#: span whose kind is the earliest in this tuple (a token inside ``password=...`` stays a
#: GITHUB_TOKEN, a JWT inside ``?token=`` stays a JWT).
KINDS: tuple[str, ...] = (
    PRIVATE_KEY,
    AWS_KEY,
    GITHUB_TOKEN,
    GITLAB_TOKEN,
    ANTHROPIC_KEY,
    OPENAI_KEY,
    GCP_KEY,
    AZURE_KEY,
    STRIPE_KEY,
    SLACK_TOKEN,
    NPM_TOKEN,
    PYPI_TOKEN,
    HF_TOKEN,
    TWILIO_KEY,
    SENDGRID_KEY,
    JWT,
    URL_TOKEN,
    MNEMONIC,
    SECRET,
    CARD,
    IBAN,
    SSN,
    PASSPORT,
    WALLET,
    EMAIL,
    PHONE,
    PERSON,
    ADDRESS,
    IP,
    MACADDR,
    DOB,
    POSTCODE,
    PATH_USER,
    LOCATION,
)
PRIORITY: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

SECRET_KINDS: frozenset[str] = frozenset(KINDS[: KINDS.index(SECRET) + 1])
DIRECT_PII_KINDS: frozenset[str] = frozenset(
    {CARD, IBAN, SSN, PASSPORT, WALLET, EMAIL, PHONE, PERSON, ADDRESS}
)
QUASI_KINDS: frozenset[str] = frozenset({IP, MACADDR, DOB, POSTCODE, PATH_USER, LOCATION})


def placeholder(kind: str) -> str:
    """The typed placeholder that replaces a span, e.g. ``[EMAIL]``."""
    return f"[{kind}]"


PLACEHOLDERS: frozenset[str] = frozenset(placeholder(k) for k in KINDS)


@dataclass(frozen=True, slots=True)
class Entity:
    """One detected span ``text[start:end]``.

    ``source`` says which engine found it: ``regex`` (codecensus patterns), ``rule``
    (derived rules such as names taken from e-mail addresses), ``detect-secrets`` or
    ``presidio``; merged spans keep the source of the winning kind.
    """

    kind: str
    start: int
    end: int
    score: float
    source: str

    @property
    def placeholder(self) -> str:
        return placeholder(self.kind)

    def __len__(self) -> int:
        return self.end - self.start
