"""Passport numbers, dates of birth, postcodes, MAC addresses, cryptocurrency wallet addresses and seed phrases: kinds
no rule found (each stayed in the text), and the dates, hashes, colours, ids and versions of code and logs that
must stay."""

from __future__ import annotations

import json

import pytest

from codecensus.redact import DIRECT_PII_KINDS, KINDS, PLACEHOLDERS, QUASI_KINDS, SECRET_KINDS, get_redactor

SEED = "legal winner thank year wave sausage worth useful legal winner thank yellow"
SEED11 = " ".join(SEED.split()[:11])  # the phrase with its last word left out
SEED23 = " ".join(("legal winner thank year wave sausage worth useful " * 3).split()[:23])  # 23 of a 24-word phrase
NUMBERED = " ".join(f"{i}. {w}" for i, w in enumerate(SEED.split(), 1))  # 1. legal 2. winner ... 12. yellow

FOUND = [
    # passport numbers after their cue
    ("passport no: X1234567", "passport no: [PASSPORT]"),
    ("Passport number 123456789", "Passport number [PASSPORT]"),
    ("my passport number is AB1234567.", "my passport number is [PASSPORT]."),
    ('{"passport": "C01X00T47"}', '{"passport": "[PASSPORT]"}'),
    # ... after "is:", "was:" (before, the cues' separator took "is" or ":", not both: these stayed)
    ("passport number is: AB1234567", "passport number is: [PASSPORT]"),
    ("Passport No. was: X1234567", "Passport No. was: [PASSPORT]"),
    # dates of birth after their cue
    ("DOB: 1984-03-12", "DOB: [DOB]"),
    # a character whose lower case is longer ("İ") before the cue shifted every position: the cue was missed
    ("İzmir ofisi, DOB: 1984-03-12", "İzmir ofisi, DOB: [DOB]"),
    ("İstanbul ofisi, zip: 94103", "İstanbul ofisi, zip: [POSTCODE]"),
    ("date of birth: 12/03/1984", "date of birth: [DOB]"),
    ("born on 3 March 1984", "born on [DOB]"),
    ("Date of Birth: March 3rd, 1984", "Date of Birth: [DOB]"),
    ("user.dob = '1984-03-12'", "user.dob = '[DOB]'"),
    ("D.O.B.: 12/03/1985", "D.O.B.: [DOB]"),
    ("my date of birth is: 12/03/1984", "my date of birth is: [DOB]"),
    ("Name: Al, d.o.b 1985-03-12, ok", "Name: Al, d.o.b [DOB], ok"),
    # postcodes: UK ones as written, others after their cue
    ("ship it to SW1A 2AA today", "ship it to [POSTCODE] today"),
    ("postcode: M1 1AE", "postcode: [POSTCODE]"),
    ("zip: 94103", "zip: [POSTCODE]"),
    ("ZIP code 94103-1234", "ZIP code [POSTCODE]"),
    ("postal code: K1A 0B1", "postal code: [POSTCODE]"),
    ("the zip code is: 94103", "the zip code is: [POSTCODE]"),
    # MAC addresses
    ("link/ether 00:1A:2B:3C:4D:5E brd", "link/ether [MACADDR] brd"),
    ("Physical Address: 02-42-ac-11-00-02", "Physical Address: [MACADDR]"),
    # Cisco-style MAC addresses after a cue on their line or under a MAC address table
    ("mac: 0011.2233.4455", "mac: [MACADDR]"),
    ("Hardware is Gigabit Ethernet, address is 0011.2233.4455 (bia 0011.2233.4455)",
     "Hardware is Gigabit Ethernet, address is [MACADDR] (bia [MACADDR])"),
    ("Internet  10.0.0.1   5   00aa.bb11.cc22  ARPA   Vlan10", "Internet  10.0.0.1   5   [MACADDR]  ARPA   Vlan10"),
    ("sw1#show mac address-table\nVlan    Mac Address       Type        Ports\n  10    0011.2233.4455    DYNAMIC     Gi1/0/1",
     "sw1#show mac address-table\nVlan    Mac Address       Type        Ports\n  10    [MACADDR]    DYNAMIC     Gi1/0/1"),
    # ... only in the table's block: the versions and builds of the next command's output stayed MACADDR before
    ("sw1#show mac address-table\n  10    0011.2233.4455    DYNAMIC     Gi1/0/1\n  20\t0011.2233.44aa\tDYNAMIC\n\n"
     "sw1#show version\nversion 2024.0101.1234 installed\nimage  1234.5678.9abc  ok",
     "sw1#show mac address-table\n  10    [MACADDR]    DYNAMIC     Gi1/0/1\n  20\t[MACADDR]\tDYNAMIC\n\n"
     "sw1#show version\nversion 2024.0101.1234 installed\nimage  1234.5678.9abc  ok"),
    # wallet addresses (their checksums hold)
    ("send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq now", "send to [WALLET] now"),
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "[WALLET]"),
    ("btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "btc [WALLET]"),
    ("p2sh 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy.", "p2sh [WALLET]."),
    ("eth 0x52908400098527886E0F7030069857D2E4169EE7", "eth [WALLET]"),
    # seed phrases after their cue
    (f"seed phrase: {SEED}", "seed phrase: [MNEMONIC]"),
    (f'MNEMONIC="{SEED}"', 'MNEMONIC="[MNEMONIC]"'),
    ("my recovery phrase is abandon ability able about above absent absorb abstract absurd abuse access accident",
     "my recovery phrase is [MNEMONIC]"),
    # ... and without a cue: 12 to 24 words of the BIP-39 list whose last word holds the checksum (before, all stayed)
    (f"restore it from {SEED} then", "restore it from [MNEMONIC] then"),
    ("abandon " * 11 + "about", "[MNEMONIC]"),
    ("words:\n" + "abandon " * 23 + "art\nok", "words:\n[MNEMONIC]\nok"),
    (SEED.replace(" wave", "\nwave"), "[MNEMONIC]"),
    # ... also numbered (on one line or one a line), comma-separated, capitalised or as a bullet list (before, these
    # stayed without a cue)
    (NUMBERED, "1. [MNEMONIC]"),
    (NUMBERED.replace(". ", ") "), "1) [MNEMONIC]"),
    ("my words:\n" + "\n".join(f"{i}.{w}" for i, w in enumerate(SEED.split(), 1)) + "\ndone",
     "my words:\n1.[MNEMONIC]\ndone"),
    ("\n".join(f"{i:>2}  {w}" for i, w in enumerate(SEED.split(), 1)), " 1  [MNEMONIC]"),
    (f"restore: {SEED.replace(' ', ', ')}.", "restore: [MNEMONIC]."),
    (SEED.title(), "[MNEMONIC]"),
    # after a cue, a phrase whose checksum fails (a mistyped word) written as the checksum scan reads phrases:
    # capitalised, in capitals, comma-separated, numbered one a line (before, the cue rule took lower-case words with
    # single spaces only: these stayed); a phrase's length of words, so the words after it stay
    (f"seed phrase: {SEED.replace('yellow', 'wrong').title()}", "seed phrase: [MNEMONIC]"),
    (f"Mnemonic: {SEED.replace('yellow', 'wrong').upper().replace(' ', ', ')}.", "Mnemonic: [MNEMONIC]."),
    ("Recovery phrase:\n" + "\n".join(f"{i}. {w}" for i, w in enumerate(SEED.replace("wave", "wabe").title().split(), 1))
     + "\nThanks", "Recovery phrase:\n1. [MNEMONIC]\nThanks"),
    (f"my seed words: {SEED.replace('wave', 'wabe').title()} Keep Them Safe",
     "my seed words: [MNEMONIC] Keep Them Safe"),
    # ... after "are", "were", "is:" (before, the separator took "is" and "was" only, and not with a colon)
    (f"my seed words are: {SEED.replace('yellow', 'wrong')}", "my seed words are: [MNEMONIC]"),
    (f"the recovery words were {SEED.replace('yellow', 'wrong')}", "the recovery words were [MNEMONIC]"),
    (f"Mnemonic is: {SEED.replace('yellow', 'wrong')}", "Mnemonic is: [MNEMONIC]"),
    (SEED.upper().replace(" ", ",") + ";", "[MNEMONIC];"),
    ("\n".join(f"- {w}" for w in SEED.split()), "- [MNEMONIC]"),
    # ... with one word left out after a cue: 11 of 12 words, 23 of 24, at the text's end, capitalised, comma-separated
    # (before, these stayed: 12 words were needed)
    (f"seed phrase: {SEED11}", "seed phrase: [MNEMONIC]"),
    (f"Seed phrase: {SEED11.title()}\nI lost the last word", "Seed phrase: [MNEMONIC]\nI lost the last word"),
    (f"my recovery words: {SEED11.replace(' ', ', ')}.", "my recovery words: [MNEMONIC]."),
    (f"Mnemonic: {SEED23.title()}", "Mnemonic: [MNEMONIC]"),
    # ... after the cue's verb, which stays outside the phrase (before, "are" or "was" and 11 words were a phrase of 12
    # words to the seed_phrase rule: "my recovery words [MNEMONIC]"; "is" is too short for one of its words), and
    # whole 12-word phrases after it the same
    (f"my recovery words are {SEED11}. Keep them safe.", "my recovery words are [MNEMONIC]. Keep them safe."),
    (f"the seed phrase was {SEED11}", "the seed phrase was [MNEMONIC]"),
    (f"my wallet seed is {SEED11}, I think", "my wallet seed is [MNEMONIC], I think"),
    (f"my recovery words are {SEED}. Keep them safe.", "my recovery words are [MNEMONIC]. Keep them safe."),
    (f"my recovery words were {SEED.replace('yellow', 'wrong')}", "my recovery words were [MNEMONIC]"),
    (f"My Recovery Words Are {SEED11.title()}\nok", "My Recovery Words Are [MNEMONIC]\nok"),
]

KEPT = [
    # dates of logs, releases and code; ids, colours, versions, hashes
    "2026-01-02 12:00:01 INFO started; released 2024-03-12; born_at = created + 5",
    "color: #ff00aa; id 550e8400-e29b-41d4-a716-446655440000; version 1.2.3.4",
    "commit 3f9a1c2e7b8d4f6a0c1e2d3b4a5f6e7d8c9b0a1f; md5 1b2c3d4e5f6a7b8c9d1e2f3a4b5c6d7e",
    "keccak 0x52908400098527886E0F7030069857D2E4169EE752908400098527886E0F7030",
    "address(0) is 0x0000000000000000000000000000000000000000",
    # near misses of a checksum (one character changed)
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr 1BoatSLRHtKNngkdXEeobR76b53LETtpyU",
    # times, IPv6, identifiers shaped like an unspaced postcode, zip() and zip files
    "at 12:34:56; fe80::1ff:fe23:4567:890a; sizes 12:34:56:78; x509 X509CA; H2O",
    "zip(a, b); zip -r out.zip dir; post 12345 items",
    "ff:ff:ff:ff:ff:ff and 00:00:00:00:00:00",
    # dotted triples of 4 hex digits with no MAC cue before them on their line: versions, build numbers
    "version 2024.0101.1234\nbuild 1234.5678.9abc on mac\nthe 0011.2233.4455 number; mac 0000.0000.0000",
    "installed on my mac, the wheel is for the 2024.0101.1234 release of the tool",
    "mac 0011.2233.4455.6677; mac v1.0011.2233.4455; pod.o.b = 2024-01-01",
    # a dotted triple in a sentence below a MAC address cue (not a table's column)
    "show arp is empty, the MAC address table too.\nbuild 1234.5678.9abc is out; release 2024.0101.1234 too",
    # cues with no value
    "random seed: 42; the mnemonic is easy to remember; passport: required; dob: Date; seed words are shown once",
    # 12 or more words of the BIP-39 list whose checksum fails, prose of listed and other words
    "abandon " * 11 + "abandon",
    SEED.replace("yellow", "wrong"),
    # ... numbered, comma-separated or capitalised the same way, and numbered lists of code and prose
    NUMBERED.replace("yellow", "wrong"),
    SEED.replace("yellow", "wrong").replace(" ", ", ").title(),
    "1. Open the file 2. Add the line 3. Save it 4. Run the tests 5. Check the output 6. Commit the change",
    "Steps: 1) build 2) test 3) deploy 4) verify 5) monitor 6) alert 7) review 8) close 9) report 10) plan 11) fix "
    "12) ship",
    "you can also have all that when there will be just about every other one after again",
    # after a cue: capitalised words that are not a BIP-39 list's but for one in 12, two words mistyped
    "Mnemonic: Load Accumulator From Memory And Store Result Into Index Register Then Return Now",
    "Seed words:\n1. Write Them Down\n2. Keep The Paper Somewhere Safe\n3. Never Type Them Into Any Website",
    f"seed phrase: {SEED.replace('wave', 'wabe').replace('legal', 'lagal').title()}",
    # ... 11 words one of which is not listed, 10 words, 11 listed words without a cue
    f"seed phrase: {SEED11.replace('wave', 'wabe').title()}",
    f"seed phrase: {' '.join(SEED.split()[:10]).title()}",
    SEED11.title(),
    # ... 10 listed words after the cue's verb (with the verb, 11 words: no phrase either)
    f"my recovery words are {' '.join(SEED.split()[:10])}",
]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=range(len(FOUND)))
def test_new_kind_is_redacted(text: str, expected: str) -> None:
    r = get_redactor()
    assert r.redact(text) == expected
    doc = json.dumps({"content": "$ cat notes\n" + text})  # JSON text too: quotes escaped, a \n escape before it
    assert json.loads(r.redact(doc)) == {"content": "$ cat notes\n" + expected}


@pytest.mark.parametrize("text", KEPT, ids=range(len(KEPT)))
def test_dates_hashes_and_ids_of_code_are_kept(text: str) -> None:
    assert get_redactor().redact(text) == text


def test_new_kinds_are_registered_and_fail_the_offline_score() -> None:
    r = get_redactor()
    new = {"PASSPORT": "Passport number 123456789", "DOB": "DOB: 1984-03-12", "POSTCODE": "zip: 94103",
           "MACADDR": "ether 00:1A:2B:3C:4D:5E", "WALLET": "btc 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
           "MNEMONIC": f"seed phrase: {SEED}"}
    for kind, text in new.items():
        assert kind in KINDS and f"[{kind}]" in PLACEHOLDERS
        assert kind in SECRET_KINDS | DIRECT_PII_KINDS | QUASI_KINDS
        assert [e.kind for e in r.find(text)] == [kind]
        assert r.offline_score(text) <= 2
    assert "MNEMONIC" in SECRET_KINDS  # a seed phrase gives a wallet's funds away


def test_long_runs_of_listed_words_hash_each_window_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long run of BIP-39 words failing the checksum ("able " * 100000, 0.5 MB) took ~0.9 s CPU: every start
    rebuilt 5 windows from a list and hashed them (5 hashes a word). A window already checked is not hashed again,
    and a phrase inside such a run is still found, the longest at the first start where one holds."""
    import hashlib

    from codecensus.redact import patterns

    calls = 0
    real = hashlib.sha256

    def counting(data: bytes = b"") -> object:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(patterns.hashlib, "sha256", counting)
    assert list(patterns.bip39_phrases("able " * 5000)) == []
    assert calls <= 10  # before, 24,940 (5 a word)
    # ("youth": no window of it and the phrase's first words holds, as with most listed words; "able" has one)
    text = "youth " * 3000 + SEED + " youth" * 3000
    start = text.index(SEED)
    assert list(patterns.bip39_phrases(text)) == [(start, start + len(SEED))]
    assert get_redactor().redact("ok " + "youth " * 2000 + SEED + ", able") == "ok " + "youth " * 2000 + "[MNEMONIC], able"


#: Seed phrases from the other BIP-39 word lists, made by the BIP's reference implementation (mnemonic 0.21,
#: ``Mnemonic(language).to_mnemonic(entropy)``: 16 bytes of 0x7f, or bytes 0..23)
OTHER_SEEDS = {
    "spanish": "ligero vista talar yogur venta queso yacer trozo ligero vista talar zafiro",
    "spanish18": "ábaco álbum líquido álbum espuma acudir bolero bosque amante gaita dictar bestia abrir marco encargo lluvia "
    "atar portal",
    "french": "implorer visage sonnette voyage véloce pourpre volaille tribunal implorer visage sonnette voyelle",
    "french18": "abaisser agréable inductif agréable éligible achat bolide boucle amateur exister dérober bison abrasif "
    "justice écharpe inonder avancer pictural",
    "italian": "mimosa vita sussurro zinco vero saltare zattera ulisse mimosa vita sussurro zircone",
    "portuguese": "imitador vinheta sogro xerife veleiro pomar volumoso tratador imitador vinheta sogro xingar",
    "czech": "abdikace bidlo obvykle bidlo kopnout bachor doma doprovod bojovat lobista kachna dobytek amputace "
    "olizovat koalice odeslat chrup sazenice",
}


def _variants(phrase: str) -> list[str]:
    """The phrase as typed: composed accents, decomposed (NFKD, as BIP-39 writes it), without accents, capitalised."""
    import unicodedata

    bare = "".join(c for c in unicodedata.normalize("NFKD", phrase) if not unicodedata.combining(c))
    return [phrase, unicodedata.normalize("NFKD", phrase), bare, phrase.title(), "\n".join(phrase.split())]


@pytest.mark.parametrize("name", sorted(OTHER_SEEDS))
def test_seed_phrases_of_the_other_word_lists_are_found(name: str) -> None:
    """Only English seed phrases were found without a cue (before, each of these stayed: the other lists were not
    there, and a word with an accent ended the run of words)."""
    r = get_redactor()
    for phrase in _variants(OTHER_SEEDS[name]):
        assert r.redact(f"my wallet: {phrase} (keep it)") == "my wallet: [MNEMONIC] (keep it)", phrase


@pytest.mark.parametrize(
    "phrase",
    [
        # the same words with a last word whose checksum fails (checked with mnemonic 0.21's Mnemonic.check)
        "ligero vista talar yogur venta queso yacer trozo ligero vista talar ábaco",
        "implorer visage sonnette voyage véloce pourpre volaille tribunal implorer visage sonnette abaisser",
        "obrazec znak uznat zubovina zeman skupina zrcadlo vzchopit obrazec znak uznat abdikace",
        # words of two lists mixed
        "ligero vista talar yogur venta queso mimosa vita sussurro zinco vero zircone",
    ],
)
def test_other_word_lists_need_the_checksum(phrase: str) -> None:
    assert get_redactor().redact(phrase) == phrase


@pytest.mark.parametrize(
    "phrase",
    [
        # phrases of the other lists whose checksum fails (a mistyped word, a truncated copy: no checksum scan finds
        # them), after a cue: accented words (ábaco, véloce, agréable, éligible, dérober) and Italian words of 9
        # letters (cartolina, cellulare) ended the cue's run of words before
        "ligero vista talar yogur venta queso yacer trozo ligero vista talar ábaco",
        "implorer visage sonnette voyage véloce pourpre volaille tribunal implorer visage sonnette abaisser",
        "abaisser agréable inductif agréable éligible achat bolide boucle amateur exister dérober bison",
        "mimosa vita sussurro zinco vero saltare cartolina ulisse mimosa vita cellulare zircone",
    ],
)
def test_accented_seed_phrases_are_found_after_their_cue(phrase: str) -> None:
    """The cue rule took only words of 3 to 8 unaccented letters: an accented phrase after "seed phrase:" was found only
    when its checksum held. Now its words are read as the checksum scan reads them (accents composed, decomposed or
    left out)."""
    r = get_redactor()
    assert r.redact(phrase) == phrase  # (no checksum holds: only the cue finds it)
    for variant in _variants(phrase)[:3]:  # composed, decomposed (NFKD), without accents
        assert r.redact(f"seed phrase: {variant} (keep it)") == "seed phrase: [MNEMONIC] (keep it)", variant
        assert r.redact(f'MNEMONIC="{variant}"') == 'MNEMONIC="[MNEMONIC]"', variant


@pytest.mark.parametrize("language", ["english", "spanish", "french", "italian", "portuguese", "czech"])
def test_bip39_word_lists_are_the_reference_ones(language: str) -> None:
    """Each list's words are mnemonic 0.21's file unchanged: the sha256 its header states (taken from the file)."""
    import hashlib
    import re
    from importlib import resources

    text = resources.files("codecensus.data").joinpath(f"bip39_{language}.txt").read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    words = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    stated = re.search(r"sha256 ([0-9a-f]{64})", header)
    assert stated is not None and "MIT License" in header and "Copyright (c) 2013-2016 Pavol Rusnak" in header
    assert hashlib.sha256(words.encode("utf-8")).hexdigest() == stated.group(1)
    assert len(words.split()) == 2048
