"""codecensus.redact: detections per kind, false-positive guards, structure, JSON, threads, score."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codecensus.redact import PLACEHOLDERS, SECRET_KINDS, Entity, Redactor, get_redactor
from codecensus.redact.engines import DETECT_SECRETS_PLUGINS
from codecensus.redact.patterns import iban_ok, luhn_ok, secret_value_ok

# Test credentials are assembled from parts so that this file itself does not look like a leak.
AKIA = "AKIA" + "Q3EGRFT7HXJ5M2LP"
GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GH_PAT = (
    "github_pat_" + "11ABCDEFG0123456789_" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"
)
OPENAI = "sk-proj-" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1BcDeFgHiJkLmN"
ANTHROPIC = "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1HgFeDcBa0_-AbCdEfGhIjKlMnOpQrStUv"
GCP = "AIza" + "SyD4f8Gh2Jk6Lm0Np4Qr8St2Uv6Wx0Yz3Ab"
SLACK = "xoxb-" + "2748391045-4819203948571-Kd8Lq2Vz9Xc3Bn7Mw1Pt5Ry6"
GITLAB = "glpat-" + "Xy7Zk2Lm9Pq4Rs8Tv1Wb"
HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
NPM = "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SENDGRID = "SG." + "abcdefghij1234567890AB" + "." + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TWILIO = "SK" + "0123456789abcdef0123456789abcdef"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZSI6ImFub24ifQ."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)
PEM = (
    "-----BEGIN RSA "
    + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2\nq8sY0w==\n-----END RSA "
    + "PRIVATE KEY-----"
)


@pytest.fixture(scope="module")
def r() -> Redactor:
    return get_redactor()


# -- each kind ---------------------------------------------------------------------------------

CASES = [
    ("mail alice.w@example.org today", "mail [EMAIL] today"),
    (f"key {AKIA} here", "key [AWS_KEY] here"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [AWS_KEY]"),
    (f"token {GHP}.", "token [GITHUB_TOKEN]."),
    (f"{GH_PAT}", "[GITHUB_TOKEN]"),
    (f"OPENAI_API_KEY={OPENAI}", "OPENAI_API_KEY=[OPENAI_KEY]"),
    (f'ANTHROPIC_API_KEY="{ANTHROPIC}"', 'ANTHROPIC_API_KEY="[ANTHROPIC_KEY]"'),
    (f"maps key {GCP}", "maps key [GCP_KEY]"),
    (f"slack {SLACK}", "slack [SLACK_TOKEN]"),
    (f"gitlab {GITLAB}", "gitlab [GITLAB_TOKEN]"),
    (f"hf {HF}", "hf [HF_TOKEN]"),
    (f"stripe {STRIPE}", "stripe [STRIPE_KEY]"),
    (f"//registry.npmjs.org/:_authToken={NPM}", "//registry.npmjs.org/:_authToken=[NPM_TOKEN]"),
    (f"sg {SENDGRID}", "sg [SENDGRID_KEY]"),
    (f"twilio {TWILIO}", "twilio [TWILIO_KEY]"),
    (f"supabase anon key: {JWT}", "supabase anon key: [JWT]"),
    (f"{PEM}\nafter", "[PRIVATE_KEY]\nafter"),
    (
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==;x=1",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[AZURE_KEY];x=1",
    ),
    (
        "GET https://api.acme.io/v1/items?api_key=9f8e7d6c5b4a3210&page=2",
        "GET https://api.acme.io/v1/items?api_key=[URL_TOKEN]&page=2",
    ),
    ("postgres://app:S3cr3tPass@db.acme.io:5432/prod", "postgres://app:[URL_TOKEN]@db.acme.io:5432/prod"),
    ('password = "hunter22!"', 'password = "[SECRET]"'),
    ("DB_PASSWORD=Tr0ub4dor&3", "DB_PASSWORD=[SECRET]"),
    ("secret_key: 'q9W!x7Zr'", "secret_key: '[SECRET]'"),
    ("mysql --password=Pa55word99 -u root", "mysql --password=[SECRET] -u root"),
    (
        "curl -H 'Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543'",
        "curl -H 'Authorization: Bearer [SECRET]'",
    ),
    (  # an opaque token of letters and digits (it was taken for an identifier in code)
        "curl -H 'Authorization: Bearer Qz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5' https://api.acme.io",
        "curl -H 'Authorization: Bearer [SECRET]' https://api.acme.io",
    ),
    ("Authorization: Bearer ya29.a0AfH6SMQz7Wq4Xk2M9pL3rTv8Yb1Nc6Hd0Jf5", "Authorization: Bearer [SECRET]"),
    ("card 4111 1111 1111 1111 exp 12/29", "card [CARD] exp 12/29"),
    ("amex 3782 822463 10005.", "amex [CARD]."),
    ("IBAN GB82 WEST 1234 5698 7654 32 ok", "IBAN [IBAN] ok"),
    ("call +44 20 7946 0958 or (415) 555-2671", "call [PHONE] or [PHONE]"),
    ("ring +49 30 901820 please", "ring [PHONE] please"),
    ("ssh deploy@203.0.113.42 -p 22", "ssh deploy@[IP] -p 22"),
    ("v6 2001:db8:85a3::8a2e:370:7334 up", "v6 [IP] up"),
    ("open /Users/alice/projects/app/main.py", "open /Users/[PATH_USER]/projects/app/main.py"),
    ("cd /home/bob_k/src", "cd /home/[PATH_USER]/src"),
    ("C:\\Users\\carol\\Desktop\\x.txt", "C:\\Users\\[PATH_USER]\\Desktop\\x.txt"),
    ('{"path": "C:\\\\Users\\\\dave\\\\x"}', '{"path": "C:\\\\Users\\\\[PATH_USER]\\\\x"}'),
    (
        "~/.claude/projects/-Users-erin-code-site/abc.jsonl",
        "~/.claude/projects/-Users-[PATH_USER]-code-site/abc.jsonl",
    ),
    ("ship to 1600 Pennsylvania Avenue NW, Washington, DC 20500 asap", "ship to [ADDRESS] asap"),
    ("office: Hauptstraße 12, 10115 Berlin", "office: [ADDRESS]"),
    ("Hi, my name is Alice Smith and I need help", "Hi, my name is [PERSON] and I need help"),
    ("Thanks! I'm Bob.", "Thanks! I'm [PERSON]."),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[1][:40] for c in CASES])
def test_redacts_each_kind(r: Redactor, text: str, expected: str) -> None:
    assert r.redact(text) == expected


# -- false-positive guards ---------------------------------------------------------------------

CLEAN = [
    "Version 1.2.3.4 and v10.0.0.1; pip install foo==1.2.3.4",
    "started 2024-01-15 10:30:00, id 1234567890123, took 0.123456 s",
    "model claude-sonnet-4-5-20250929 and claude-opus-4-1-20250805",
    "localhost 127.0.0.1, bind 0.0.0.0, mask 255.255.255.0, lan 192.168.1.20, docker 172.17.0.2, 10.0.0.5",
    "-rw-r--r--  1 staff  1234567  Oct 15 12:00 big.bin",
    "max_tokens: 4096\ninput_tokens: 1234\ntokenizer: cl100k_base\ntoken_count = 15",
    "password = password\ntoken = get_token()\napi_key = os.environ['API_KEY']\nsecret: ${{ secrets.GH_TOKEN }}",
    'const token = req.headers[\'authorization\'];\npassword: str\n"password": "string"',
    'placeholder="Enter your password"  api_key: "your-api-key-here"  OPENAI_API_KEY=sk-...',
    "icon@2x.png, git@github.com:owner/repo.git, react@18.2.0, @types/node",
    "uuid 123e4567-e89b-12d3-a456-426614174000 and sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
    "for i in range(1, 1000000): total += i * 3.14159",
    "I'm sorry, I'm Python-savvy. I am Done. This is React.",
    "the array a[1::2] and std::vector<int> and Foo::bar()",
    "see /Users/Shared/file and /home/runner/work and C:\\Users\\Public\\x",
    "ok [EMAIL] and [AWS_KEY] and /Users/[PATH_USER]/x",
    "send it with Bearer accessTokenForUser123 or Basic self.auth_header_v2",
]


@pytest.mark.parametrize("text", CLEAN, ids=range(len(CLEAN)))
def test_leaves_ordinary_text_alone(r: Redactor, text: str) -> None:
    assert r.find(text) == []
    assert r.redact(text) == text


def test_placeholder_and_short_keys_are_not_secrets() -> None:
    assert not secret_value_ok("changeme", quoted=True)
    assert not secret_value_ok("${DB_PASS}", quoted=False)
    assert not secret_value_ok("get_password", quoted=False)
    assert secret_value_ok("hunter22", quoted=False)
    assert secret_value_ok("Xy9$kLm2", quoted=True)


def test_validators() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    r = Redactor(presidio=False)
    assert r.redact("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112"  # fails Luhn


# -- derived rules -------------------------------------------------------------------------------


def test_names_from_email_addresses(r: Redactor) -> None:
    out = r.redact("Author: John Appleseed <john.appleseed@corp.example>; ping john appleseed later")
    assert "Appleseed" not in out and "appleseed" not in out
    assert out == "Author: [PERSON] <[EMAIL]>; ping [PERSON] later"


def test_home_directory_user_is_redacted_elsewhere(r: Redactor) -> None:
    out = r.redact("zoltan@MacBook-Pro ~ % ls /Users/zoltan/dev\nzoltan wrote this")
    assert "zoltan" not in out
    assert out.count("[PATH_USER]") == 3


def test_home_directory_user_is_redacted_after_an_escaped_line_break(r: Redactor) -> None:
    # JSON text: the name starts a line after a \\n escape, or follows a \\t (before, the escape's letter was taken
    # for part of a longer word: "nzoltan")
    out = r.redact(json.dumps({"content": "ls /Users/zoltan/dev\nzoltan wrote this\tZoltan"}))
    assert json.loads(out) == {"content": "ls /Users/[PATH_USER]/dev\n[PATH_USER] wrote this\t[PATH_USER]"}


def test_home_directory_user_of_three_letters_is_redacted_elsewhere_as_written(r: Redactor) -> None:
    # before, a name shorter than 4 was never looked for outside its path; now only as written and as a whole word
    out = r.redact("ls /Users/bob/dev\nbob wrote this (ask bob); see bob.py, bob(1), Bob, test_bob, bob-cli")
    assert out == "ls /Users/[PATH_USER]/dev\n[PATH_USER] wrote this (ask [PATH_USER]); see bob.py, bob(1), Bob, test_bob, bob-cli"


def test_home_directory_user_is_redacted_as_the_last_part_of_a_snake_case_word(r: Redactor) -> None:
    out = r.redact("ls /Users/zoltan/dev; conda activate env_zoltan; zoltan_x")
    assert out == "ls /Users/[PATH_USER]/dev; conda activate env_[PATH_USER]; [PATH_USER]_x"


WORD_PART_USERS = [
    ("conda activate zoltan_dev", "conda activate [PATH_USER]_dev"),
    ("source ~/.venvs/x_zoltan_y/bin/activate", "source ~/.venvs/x_[PATH_USER]_y/bin/activate"),
    ("export ZOLTAN_HOME=/opt", "export [PATH_USER]_HOME=/opt"),
    ("ssh zoltan2@host", "ssh [PATH_USER]2@host"),
    ("const zoltanConfig = getZoltan();", "const [PATH_USER]Config = get[PATH_USER]();"),
    (json.dumps("hi\nzoltan_dev")[1:-1], json.dumps("hi\n[PATH_USER]_dev")[1:-1]),
]


@pytest.mark.parametrize(("text", "expected"), WORD_PART_USERS, ids=range(len(WORD_PART_USERS)))
def test_home_directory_user_is_redacted_as_a_part_of_a_word(r: Redactor, text: str, expected: str) -> None:
    # a name of 4+ letters followed by "_", a digit, or a capital of a camelCase word (before, only a whole word and the
    # last part of a snake_case word were found: the name stayed in zoltan_dev, ZOLTAN_HOME, zoltan2, zoltanConfig)
    assert r.redact("ls /Users/zoltan/x\n" + text) == "ls /Users/[PATH_USER]/x\n" + expected


def test_home_directory_user_inside_a_run_of_letters_is_kept(r: Redactor) -> None:
    # the name inside a longer word of letters of one case (markdown, bookmark, remarked) or after a digit (a digest)
    text = "ls /Users/mark/x\nmarkdown bookmark remarked Markdown MARKED 3mark0 3fmark"
    assert r.redact(text) == "ls /Users/[PATH_USER]/x\n" + text.split("\n", 1)[1]




def test_caller_supplied_name_after_an_escaped_line_break(r: Redactor) -> None:
    out = r.redact(json.dumps("hi\nMira Okafor here"), names=["Mira Okafor"])
    assert json.loads(out) == "hi\n[PERSON] here"


CJK_PUNCTUATED_PATHS = [
    ("路径（/Users/zoltan）下", "路径（/Users/[PATH_USER]）下"),
    ("在/home/zoltan，然后运行这个命令", "在/home/[PATH_USER]，然后运行这个命令"),
    ("见「C:\\Users\\zoltan」。", "见「C:\\Users\\[PATH_USER]」。"),
    ("【/home/zoltan】/Users/zoltan、/home/zoltan。", "【/home/[PATH_USER]】/Users/[PATH_USER]、/home/[PATH_USER]。"),
]


@pytest.mark.parametrize(("text", "expected"), CJK_PUNCTUATED_PATHS, ids=range(len(CJK_PUNCTUATED_PATHS)))
def test_home_path_user_ends_at_cjk_punctuation(r: Redactor, text: str, expected: str) -> None:
    # full-width and CJK punctuation ends the name as its ASCII form does (before, the name ran on through it: the
    # bracket and the words after it were redacted, and the name found again elsewhere was "zoltan）下")
    assert r.redact(text) == expected
    assert r.redact(text + "\nzoltan wrote this") == expected + "\n[PATH_USER] wrote this"


CJK_GLUED_PATHS = [
    ("文件在/Users/zoltan下的文件夹里", "文件在/Users/[PATH_USER]下的文件夹里"),
    ("在/home/zoltan里面运行", "在/home/[PATH_USER]里面运行"),
    ("C:\\Users\\zoltanのフォルダ", "C:\\Users\\[PATH_USER]のフォルダ"),
    ("/home/zoltan에서 실행", "/home/[PATH_USER]에서 실행"),
    (json.dumps("在/home/zoltan里面")[1:-1], json.dumps("在/home/[PATH_USER]里面")[1:-1]),  # (its letters escaped)
]


@pytest.mark.parametrize(("text", "expected"), CJK_GLUED_PATHS, ids=range(len(CJK_GLUED_PATHS)))
def test_home_path_user_ends_where_cjk_letters_begin(r: Redactor, text: str, expected: str) -> None:
    # an ASCII name followed directly by CJK letters ran on through them: the words after it were redacted, and the
    # name learned was "zoltan下的文件夹里", so "zoltan" elsewhere in the text (or its session) stayed
    assert r.redact(text) == expected
    assert r.redact(text + "\nzoltan wrote this") == expected + "\n[PATH_USER] wrote this"
    assert r.path_users(text) == {"zoltan"}


def test_home_path_user_written_in_cjk_letters_is_taken_whole(r: Redactor) -> None:
    assert r.redact("/Users/田中/dev と /home/김민수에서") == "/Users/[PATH_USER]/dev と /home/[PATH_USER]"
    assert r.path_users("/Users/田中/dev") == {"田中"}


def test_path_users_are_decoded_and_found_in_both_forms(r: Redactor) -> None:
    # path_users gave the name as written in JSON text ("Ren\\u00e9"): passed to another piece of the session, where
    # it is written "René", it was not found there
    text = json.dumps({"cwd": "/Users/René/dev"})
    assert r.path_users(text) == {"René"}
    assert r.path_users(json.dumps(text)) == {"René"}
    assert r.path_users(json.dumps(json.dumps({"cwd": "C:\\Users\\René\\dev"}))) == {"René"}
    for piece in ("René wrote this", json.dumps("René wrote this"), json.dumps(json.dumps("René wrote this"))):
        assert "[PATH_USER] wrote this" in r.redact(piece, users=r.path_users(text)), piece
        assert "[PATH_USER] wrote this" in r.redact(piece, users={"René"}), piece


WINDOWS_ESCAPED_LETTER_PATHS = [
    ("C:\\Users\\René\\dev", "René"),
    ("C:\\Users\\Émile\\dev", "Émile"),  # (the name starts with the escape)
    ("D:/Users/Zoë/dev", "Zoë"),
]


@pytest.mark.parametrize(("path", "user"), WINDOWS_ESCAPED_LETTER_PATHS, ids=range(len(WINDOWS_ESCAPED_LETTER_PATHS)))
def test_windows_home_path_user_with_an_escaped_letter_in_json_text_is_learned_whole(
    r: Redactor, path: str, user: str
) -> None:
    # JSON text writes C:\Users\René as C:\\Users\\Ren\u00e9: the name was learned as "Ren" (it ended at the escape's
    # backslash), or as "u00c9mile" (the separator took the escape's backslash), so "René" elsewhere in the text
    # stayed, and "Ren" was redacted where it began a longer word ("Renée")
    text = json.dumps({"cwd": path, "note": f"{user} wrote this; {user}e and Ren stay"})
    assert r.path_users(text) == {user}
    out = json.loads(r.redact(text))
    assert out["note"] == f"[PATH_USER] wrote this; {user}e and Ren stay"
    assert "[PATH_USER]" in out["cwd"] and user not in out["cwd"]


def test_windows_home_path_in_json_text_with_an_escaped_backslash_before_u_ends_there(r: Redactor) -> None:
    # C:\Users\Ren\u00e9 is the folder "u00e9" in "Ren" (the path's own backslash, escaped), not an escape
    text = json.dumps({"cwd": "C:\\Users\\Ren\\u00e9x"})
    assert r.path_users(text) == {"Ren"}


ENCODED_CJK_PATHS = [
    ("cd ~/.claude/projects/-Users-zoltan下的文件", "cd ~/.claude/projects/-Users-[PATH_USER]下的文件"),
    ("项目（-Users-zoltan）里", "项目（-Users-[PATH_USER]）里"),
    ("打开 -Users-zoltan，然后", "打开 -Users-[PATH_USER]，然后"),
    ("C--Users-zoltanのフォルダ", "C--Users-[PATH_USER]のフォルダ"),
    (json.dumps("看 -Users-zoltan下的")[1:-1], json.dumps("看 -Users-[PATH_USER]下的")[1:-1]),  # (its letters escaped)
]


@pytest.mark.parametrize(("text", "expected"), ENCODED_CJK_PATHS, ids=range(len(ENCODED_CJK_PATHS)))
def test_project_folder_user_ends_at_cjk_letters_and_punctuation(r: Redactor, text: str, expected: str) -> None:
    # Claude Code's project-folder form (-Users-zoltan-dev) ran on through CJK letters ("zoltan下的文件" learned, so
    # "zoltan" elsewhere stayed) and was not found at all before full-width punctuation
    assert r.redact(text) == expected
    assert r.redact(text + "\nzoltan wrote this") == expected + "\n[PATH_USER] wrote this"
    assert r.path_users(text) == {"zoltan"}


ESCAPED_BEFORE_PROJECT_FOLDER = ["打开-Users-zoltan下的", "（-Users-zoltan）里", "看…-Users-zoltan-dev"]


@pytest.mark.parametrize("text", ESCAPED_BEFORE_PROJECT_FOLDER, ids=range(len(ESCAPED_BEFORE_PROJECT_FOLDER)))
@pytest.mark.parametrize("times", [1, 2])
def test_project_folder_user_after_an_escaped_cjk_letter_or_punctuation_is_found_and_learned(
    r: Redactor, text: str, times: int
) -> None:
    # in JSON text (\u6253\u5f00-Users-zoltan, \uff08-Users-zoltan\uff09) the form follows an escape's hex digit, not
    # the CJK letter or punctuation it stands for: path_users learned nothing (only the decoded view found the first
    # and third; the second not even there, the view turns "（" into "(")
    for _ in range(times):
        text = json.dumps(text)[1:-1]
    assert r.path_users(text) == {"zoltan"}
    out = r.redact(text + " zoltan wrote this")
    assert "-Users-[PATH_USER]" in out and "zoltan" not in out


def test_project_folder_after_an_escaped_latin_letter_is_no_path(r: Redactor) -> None:
    # (as the written form: café-Users-zoltan is a word run on, not a path)
    assert r.path_users(json.dumps("café-Users-zoltan")[1:-1]) == set()


def test_project_folder_user_written_in_cjk_letters_is_taken_whole(r: Redactor) -> None:
    assert r.redact("-Users-田中-dev と -home-김민수") == "-Users-[PATH_USER]-dev と -home-[PATH_USER]"
    assert r.path_users("-Users-田中-dev") == {"田中"}


PUNCTUATED_USER_PATHS = ["/Users/zoltan’s files", "C:\\Users\\zoltan… done", "/home/zoltan、然后", "-Users-zoltan\u00a0x"]


@pytest.mark.parametrize("path", PUNCTUATED_USER_PATHS, ids=range(len(PUNCTUATED_USER_PATHS)))
@pytest.mark.parametrize("times", [0, 1, 2])
def test_home_path_user_ends_at_non_ascii_punctuation_written_or_escaped(r: Redactor, path: str, times: int) -> None:
    # a curly apostrophe, an ellipsis, a no-break space or CJK punctuation, written or as a JSON escape (\u2019,
    # \u3001), was taken for a letter of the name: "zoltan’s" / "zoltan\u3001" learned, so "zoltan" alone in another
    # piece of the session stayed
    text = path
    for _ in range(times):
        text = json.dumps(text)[1:-1]
    assert r.path_users(text) == {"zoltan"}


def test_caller_supplied_names(r: Redactor) -> None:
    assert r.redact("ask Mira Okafor to review", names=["Mira Okafor"]) == "ask [PERSON] to review"
    assert r.redact("ask Mira Okafor to review") == "ask Mira Okafor to review"


# -- entities and structure --------------------------------------------------------------------


def test_entities_are_sorted_disjoint_and_typed(r: Redactor) -> None:
    text = f"a@b.io {AKIA} password={GHP} 203.0.113.9 /home/quinn/x"
    ents = r.find(text)
    assert all(isinstance(e, Entity) for e in ents)
    assert [e.kind for e in ents] == ["EMAIL", "AWS_KEY", "GITHUB_TOKEN", "IP", "PATH_USER"]
    for a, b in zip(ents, ents[1:], strict=False):
        assert a.end <= b.start
    assert all(0 < e.score <= 1 and e.source in {"regex", "rule", "detect-secrets", "presidio"} for e in ents)
    # the more specific kind wins over the generic assignment rule
    assert text[ents[2].start : ents[2].end] == GHP


def test_detect_secrets_and_presidio_contribute() -> None:
    r = Redactor()
    mailchimp = "0123456789abcdef0123456789abcdef-us12"
    telegram = "110201543:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    ents = r.find(f"mc {mailchimp} tg {telegram} uk 020 7946 0958")
    by_source = {(e.kind, e.source) for e in ents}
    assert ("SECRET", "detect-secrets") in by_source
    assert ("PHONE", "presidio") in by_source
    no_engines = Redactor(detect_secrets=False, presidio=False)
    assert no_engines.find(f"mc {mailchimp}") == []
    names = [n for n, _, _ in DETECT_SECRETS_PLUGINS]
    assert "Base64HighEntropyString" not in names and "HexHighEntropyString" not in names
    assert r.engines == ["codecensus-regex", "detect-secrets", "presidio"]


def test_secret_in_escaped_json_text(r: Redactor) -> None:
    # JSON text embedded in a tool result: the key follows a literal "\n" escape
    text = '{"env": "A=1\\nAWS_KEY_ID=' + AKIA + '\\nB=2"}'
    out = r.redact(text)
    assert AKIA not in out
    assert json.loads(out)["env"].count("[AWS_KEY]") == 1


def test_pem_inside_json_string_keeps_json_valid(r: Redactor) -> None:
    doc = {"private_key": PEM + "\n", "client_email": "svc@proj.iam.gserviceaccount.com"}
    text = json.dumps(doc)  # PEM newlines become "\n" escapes inside the JSON text
    out = r.redact(text)
    parsed = json.loads(out)
    assert parsed["private_key"].startswith("[PRIVATE_KEY]")
    assert parsed["client_email"] == "[EMAIL]"


def test_redact_json_structure(r: Redactor) -> None:
    value = {
        "user": "alice@example.org",
        "bob@example.org": {"n": 3, "ok": True, "none": None, "f": 1.5},
        "carol@example.org": [f"key {AKIA}", 7, ["/Users/alice/x"]],
        "plain": "nothing here",
    }
    out = r.redact_json(value)
    assert out == {
        "user": "[EMAIL]",
        "[EMAIL]": {"n": 3, "ok": True, "none": None, "f": 1.5},
        "[EMAIL]#2": ["key [AWS_KEY]", 7, ["/Users/[PATH_USER]/x"]],
        "plain": "nothing here",
    }
    assert value["user"] == "alice@example.org"  # input untouched


def test_redact_json_text_and_jsonl(r: Redactor) -> None:
    text = json.dumps({"k": PEM, "list": ["a@b.io", 1]})
    out = r.redact_json_text(text)
    assert json.loads(out) == {"k": "[PRIVATE_KEY]", "list": ["[EMAIL]", 1]}
    jsonl = '{"a": "x@y.io"}\n\n{"b": "' + GHP + '"}\n'
    out = r.redact_json_text(jsonl)
    assert [json.loads(x) for x in out.splitlines() if x] == [{"a": "[EMAIL]"}, {"b": "[GITHUB_TOKEN]"}]
    assert r.redact_json_text("not json: a@b.io") == "not json: [EMAIL]"


SECRETS = [AKIA, GHP, OPENAI, JWT, "alice.w@example.org", "+44 20 7946 0958", PEM, "/Users/alice/x"]
json_leaf = st.one_of(
    st.text(max_size=20),
    st.sampled_from(SECRETS).map(lambda s: f"x {s} y"),
    st.sampled_from(SECRETS),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), json_leaf),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_leaf, children, max_size=4)
    ),
    max_leaves=20,
)


def _shape(v: object) -> object:
    if isinstance(v, dict):
        return ("dict", len(v), sorted(_shape(x).__repr__() for x in v.values()))
    if isinstance(v, list):
        return ("list", [_shape(x) for x in v])
    return type(v).__name__


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(json_values)
def test_redact_json_keeps_valid_json_and_shape(value: object) -> None:
    r = get_redactor()
    out = r.redact_json(value)
    dumped = orjson.dumps(out)
    assert orjson.loads(dumped) == out
    assert _shape(out) == _shape(value)
    for s in (AKIA, GHP, OPENAI, JWT, "alice.w@example.org"):
        assert s not in dumped.decode()
    # the same holds through serialized text
    text_out = r.redact_json_text(orjson.dumps(value).decode())
    assert orjson.loads(text_out) == out


# -- determinism, idempotence, threads, adversarial input ----------------------------------------


def test_deterministic_and_idempotent(r: Redactor) -> None:
    text = "\n".join(c[0] for c in CASES)
    once = r.redact(text)
    assert once == Redactor().redact(text)
    assert r.redact(once) == once
    assert not (set(once.split()) & {AKIA, GHP, OPENAI})


def test_thread_safe_singleton() -> None:
    texts = [c[0] for c in CASES] * 5
    expected = [Redactor().redact(t) for t in texts]
    seen: set[int] = set()
    lock = threading.Lock()

    def work(t: str) -> str:
        red = get_redactor()
        with lock:
            seen.add(id(red))
        return red.redact(t)

    with ThreadPoolExecutor(max_workers=8) as ex:
        got = list(ex.map(work, texts))
    assert got == expected
    assert len(seen) == 1


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "1" * 100_000,
        "1 " * 50_000,
        "a@" * 50_000,
        "password=" * 20_000,
        "://" + ":" * 50_000 + "@",
        "-----BEGIN PRIVATE KEY-----" + "A" * 100_000,
        "eyJ" + "a" * 50_000 + "." + "b" * 50_000,
        ":" * 100_000,
        "1.2." * 50_000,
    ],
    ids=range(10),
)
def test_adversarial_inputs_finish(r: Redactor, text: str) -> None:
    out = r.redact(text)
    assert isinstance(out, str)


# -- privacy score ---------------------------------------------------------------------------------


def test_score_offline(r: Redactor) -> None:
    assert r.score("The user fixed a failing unit test in a web app.") == 5
    assert r.score("contact alice.w@example.org") == 1
    assert r.score(f"uses {GHP}") == 1
    assert r.score("server 203.0.113.7 was down") == 2
    assert r.score("files under /home/quinn/src") == 2


def test_score_auditor_hook() -> None:
    calls: list[str] = []

    def auditor(text: str) -> int:
        calls.append(text)
        return 3 if "Acme" in text else 5

    r = Redactor(auditor=auditor)
    assert r.score("Refactor the Acme billing service") == 3
    assert r.score("Refactor a billing service") == 5
    assert r.score("mail alice.w@example.org") == 1  # offline failure: auditor not consulted
    assert len(calls) == 2
    assert Redactor().score("x", auditor=lambda t: 2) == 2
    with pytest.raises(ValueError):
        Redactor(auditor=lambda t: 7).score("x")


def test_placeholders_and_kinds() -> None:
    assert "[PATH_USER]" in PLACEHOLDERS and "[SECRET]" in PLACEHOLDERS
    assert {"AWS_KEY", "GITHUB_TOKEN", "JWT", "PRIVATE_KEY", "URL_TOKEN", "SECRET"} <= SECRET_KINDS
    for p in PLACEHOLDERS:
        assert '"' not in p and "\\" not in p


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("please ask Tomasz Wieczorek to review it", "please ask [PERSON] to review it"),
        ("the fix from Sven Lindqvist works", "the fix from [PERSON] works"),
        ("Ana María Ibáñez-Ortega wrote it", "[PERSON] wrote it"),
        ("Ask Ronald McDonald and Douglas MacArthur", "Ask [PERSON] and [PERSON]"),
        ("Andrew Kuchling's module", "[PERSON]'s module"),
        ("cc Priya Raghunathan, Wei Zhang", "cc [PERSON], [PERSON]"),
        # a listed given name alone after a word that addresses a person (accents the list lacks folded)
        ("please ask Anna about it", "please ask [PERSON] about it"),
        ("cc Jürgen", "cc [PERSON]"),
        ("thanks María, that fixed it", "thanks [PERSON], that fixed it"),
        ("Thanks, Anna-Lena!", "Thanks, [PERSON]!"),
        ("I told Tomasz's team", "I told [PERSON]'s team"),
        ("María Fernández wrote it", "[PERSON] wrote it"),
        # ... or after a greeting or a sign-off (before, these stayed: greetings were left out)
        ("Hallo Sabine, wie geht's?", "Hallo [PERSON], wie geht's?"),
        ("Hi John, can you check the logs", "Hi [PERSON], can you check the logs"),
        ("Dear Maria,\nthe build is green", "Dear [PERSON],\nthe build is green"),
        ("Good morning Tomasz! Hey Anna", "Good morning [PERSON]! Hey [PERSON]"),
        ("ok.\n\nCheers,\nPriya", "ok.\n\nCheers,\n[PERSON]"),
        ("Best regards,\r\nJürgen", "Best regards,\r\n[PERSON]"),
        ('{"text": "done\\n\\nThanks,\\nPriya"}', '{"text": "done\\n\\nThanks,\\n[PERSON]"}'),
        # a given name the list lacks ("mark" is a word), right after an opening and before a comma, a "!" or the
        # line's end, or alone on the line after a sign-off (before, all stayed)
        ("Hi Mark, can you check it?", "Hi [PERSON], can you check it?"),
        ("Hallo Wiebke,\nwie geht's? Hola Ximena!", "Hallo [PERSON],\nwie geht's? Hola [PERSON]!"),
        ("ok\n\nThanks,\nKeanu", "ok\n\nThanks,\n[PERSON]"),
        ("Best Regards,\r\nKeanu\n", "Best Regards,\r\n[PERSON]\n"),
        # a surname (and given names) after a title, in English, German, French, Spanish, Portuguese, Italian
        ("The client Mr. Villalobos is waiting.", "The client Mr. [PERSON] is waiting."),
        ("Ask Dr Ostermeier; Prof. Ana María Ibáñez agreed", "Ask Dr [PERSON]; Prof. [PERSON] agreed"),
        ("Der Vertrag wurde von Herrn Ostermeier unterschrieben.", "Der Vertrag wurde von Herrn [PERSON] unterschrieben."),
        ("Le client M. Roussel attend; bonjour madame Lefèvre", "Le client M. [PERSON] attend; bonjour madame [PERSON]"),
        ("Manda la factura a la señora Carmen Ortega, por favor.", "Manda la factura a la señora [PERSON], por favor."),
        ("O cliente Sr. Magalhães; chiedi alla signora Bianchi", "O cliente Sr. [PERSON]; chiedi alla signora [PERSON]"),
        # accents folded the same way on both sides: names listed with or without them, letters NFKD keeps whole
        # (ø, ł), a title before a title, surnames with a capital inside (before, all stayed or a surname leaked)
        ("ask Benoît; Hélène Dupont wrote; thanks Søren", "ask [PERSON]; [PERSON] wrote; thanks [PERSON]"),
        ("Søren Kierkegaard and Jørgen Hansen; cc Benoit", "[PERSON] and [PERSON]; cc [PERSON]"),
        ("Herr Dr. Müller sagt; Frau Prof. Öztürk", "Herr Dr. [PERSON] sagt; Frau Prof. [PERSON]"),
        ("Mr. O'Brien and Ms. McDonald", "Mr. [PERSON] and Ms. [PERSON]"),
        # a lower-case academic qualifier between the title and the name (before, the name leaked)
        ("Herr Dr. med. Müller sagt; Frau Prof. Dr. rer. nat. Öztürk", "Herr Dr. med. [PERSON] sagt; Frau Prof. Dr. rer. nat. [PERSON]"),
        ("Prof. Dr. h.c. Schmidt, Dr. med. dent. Weber, Dr.-Ing. Krause", "Prof. Dr. h.c. [PERSON], Dr. med. dent. [PERSON], Dr.-Ing. [PERSON]"),
        # a hyphenated given name is taken whole (before, "Marc-[PERSON]", "Jean-[PERSON]"), after an address too
        ("Marc-Andre Lemburg wrote; Jean-Pierre Dupont; Hans-Peter Müller", "[PERSON] wrote; [PERSON]; [PERSON]"),
        ("thanks Marc-André!", "thanks [PERSON]!"),
        # Chinese, Japanese and Korean names after a label or in an introduction (before, all stayed)
        ("姓名：王小明，电话见下", "姓名：[PERSON]，电话见下"),
        ("我叫王小明，今年25岁; 我叫李娜", "我叫[PERSON]，今年25岁; 我叫[PERSON]"),
        ("担当：山田太郎\n名前は佐藤花子です。私は鈴木と申します。", "担当：[PERSON]\n名前は[PERSON]です。私は[PERSON]と申します。"),
        ("제 이름은 김민준입니다. 이름: 이서연; 저는 박지훈이라고 합니다",
         "제 이름은 [PERSON]입니다. 이름: [PERSON]; 저는 [PERSON]이라고 합니다"),
        # an unbroken introduction ends before the words that follow it (before, 王明今 and 王明是 were taken: 今 and
        # 是 are no given names); a katakana name written with its dot (before, ジョン・スミス stayed: too long)
        ("我叫王明今年25岁。我叫李强是学生。我叫王小明来自北京", "我叫[PERSON]今年25岁。我叫[PERSON]是学生。我叫[PERSON]来自北京"),
        ("名前：ジョン・スミス\n名前：タナカ", "名前：[PERSON]\n名前：[PERSON]"),
        # a space between family and given name after a label (before, 名前：[PERSON] 太郎: the given name leaked, and
        # 姓名：王 小明, 이름: 김 민준 stayed whole)
        ("名前：田中 太郎\n姓名：王 小明\n이름: 김 민준\n名前：ジョン スミス\n名前：山田\u3000花子様",
         "名前：[PERSON]\n姓名：[PERSON]\n이름: [PERSON]\n名前：[PERSON]\n名前：[PERSON]様"),
        ("姓名：王 小明，电话见下。이름: 김 민준입니다", "姓名：[PERSON]，电话见下。이름: [PERSON]입니다"),
        # a Japanese given name in hiragana (after a family name in kanji or alone) or a long one in katakana, after a
        # label or in an introduction (before, 田中さくら kept さくら, the others stayed or were cut)
        ("名前：田中さくら\n名前：田中 さくらです\n名前：スミス ジョナサン\n担当：山田はじめさん",
         "名前：[PERSON]\n名前：[PERSON]です\n名前：[PERSON]\n担当：[PERSON]さん"),
        ("名前はさくらです。私はひなたと申します。名前は田中さくらです。名前はアレクサンドラです。名前はジョナサン・スミスです",
         "名前は[PERSON]です。私は[PERSON]と申します。名前は[PERSON]です。名前は[PERSON]です。名前は[PERSON]です"),
        # ... not a particle, a copula or an honorific after the family name, nor a hiragana word before です
        ("担当：山田がやります\n担当：山田から連絡\n担当：山田だよ\n名前：田中 さん\n名前：田中さんです\n名前はなんですか。"
         "名前はまだないです。名前はひみつです",
         "担当：[PERSON]がやります\n担当：[PERSON]から連絡\n担当：[PERSON]だよ\n名前：[PERSON] さん\n名前：[PERSON]さんです\n"
         "名前はなんですか。名前はまだないです。名前はひみつです"),
        # ... nor a particle no common given name starts with (before, 山田がやる, 田中にする, 山田でいい were taken whole)
        ("担当：山田がやる\n担当：田中にする\n名前：山田でいい", "担当：[PERSON]がやる\n担当：[PERSON]にする\n名前：[PERSON]でいい"),
        # a speaker label at a line's start: a known family name, a space, a given name, a colon (before, all stayed)
        ("田中 太郎：おはようございます\n王 小明: 好的\n  佐々木 健一：了解\n김 민준: 네",
         "[PERSON]：おはようございます\n[PERSON]: 好的\n  [PERSON]：了解\n[PERSON]: 네"),
        ('{"text": "log\\n李 四：收到"}', '{"text": "log\\n[PERSON]：收到"}'),
        # ... not two words before a colon, "this file:", a name inside a line
        ("注意 事項：なし\n问题 描述：见下\n이 파일: 삭제\n出力 例:\nそして 田中 太郎：x",
         "注意 事項：なし\n问题 描述：见下\n이 파일: 삭제\n出力 例:\nそして 田中 太郎：x"),
        # a listed family name and an honorific of its language names a person, as after a label (名前：田中 様 gives
        # 名前：[PERSON] 様): the family name is taken, the honorific stays (before, all stayed)
        ("田中 様：x\n田中さん：x\n田中 さん：x\n林さん：はい\n佐々木くん：x\n王先生：好\n李 老师: x\n陳小姐：x\n김 씨: 네",
         "[PERSON] 様：x\n[PERSON]さん：x\n[PERSON] さん：x\n[PERSON]さん：はい\n[PERSON]くん：x\n[PERSON]先生：好\n"
         "[PERSON] 老师: x\n[PERSON]小姐：x\n[PERSON] 씨: 네"),
        # ... not an honorific after a word that is no listed family name, nor one of another language
        ("皆さん：x\n皆様：x\nお客様：x\n各位 先生：x\n担当 様：x\n田中 小姐：x\n王 さん：x\n이 님: x",
         "皆さん：x\n皆様：x\nお客様：x\n各位 先生：x\n担当 様：x\n田中 小姐：x\n王 さん：x\n이 님: x"),
        # a given name in katakana after a listed Japanese family name, with or without a space, and a katakana name
        # whose parts a middle dot joins (before, all stayed)
        ("田中 ジョン：x\n佐藤マリア: x\nジョン・スミス：x\n山本 ケーシーさん：x\n林 マリア・ルイサ：x\nマリア・ルイサ・ガルシア: x",
         "[PERSON]：x\n[PERSON]: x\n[PERSON]：x\n[PERSON]さん：x\n[PERSON]：x\n[PERSON]: x"),
        ('{"text": "log\\nジョン・スミス：收到"}', '{"text": "log\\n[PERSON]：收到"}'),
        # ... or a space, after a common given name (before, these stayed)
        ("ジョン スミス：こんにちは\nマリア\u3000ガルシア: はい", "[PERSON]：こんにちは\n[PERSON]: はい"),
        # ... not katakana words a space joins that start with no given name
        ("エラー コード：500\nテスト ケース：x\nユーザー ジョン：x", "エラー コード：500\nテスト ケース：x\nユーザー ジョン：x"),
        # Korean names with an honorific or a title, in a speaker label or an address: a full name, or a family name
        # and a space (before, all stayed)
        ("김민수 님, 안녕하세요\n이지은 씨: 네 알겠습니다\n박 선생님께 보냈습니다\n최 교수님: 네\n정하늘님께 전달",
         "[PERSON] 님, 안녕하세요\n[PERSON] 씨: 네 알겠습니다\n[PERSON] 선생님께 보냈습니다\n[PERSON] 교수님: 네\n[PERSON]님께 전달"),
        # ... not a role that starts with a family name's syllable, a word alone before 님, an unlisted family name
        ("이용자님 안녕하세요\n전문가님께 문의\n손님 여러분\n고객님\n이 님: x\n정말 감사합니다 님\n우리 선생님께",
         "이용자님 안녕하세요\n전문가님께 문의\n손님 여러분\n고객님\n이 님: x\n정말 감사합니다 님\n우리 선생님께"),
        # ... not a field word, a katakana word right after a one-kanji family name that is also a noun (原データ "raw
        # data"), a katakana word alone or inside a line
        ("原データ：x\n森モデル：x\n田中 ファイル：x\nユーザー・データ：x\nジョン：x\nそして ジョン・スミス：x",
         "原データ：x\n森モデル：x\n田中 ファイル：x\nユーザー・データ：x\nジョン：x\nそして ジョン・スミス：x"),
        # ... nor a common word whose first character is a surname, written with a space (金额 "amount", 高度
        # "height", 程序员 "programmer": before, each became a PERSON); names that are also proper nouns (高峰,
        # 金华) stay names
        ("金 额: 100\n高 度：3\n周 期: 5s\n方 法：x\n程 序员：x\n余 额: 0\n黄 金: 1\n任 务：x\n林 业：x",
         "金 额: 100\n高 度：3\n周 期: 5s\n方 法：x\n程 序员：x\n余 额: 0\n黄 金: 1\n任 务：x\n林 业：x"),
        ("王 小明: 好\n高 峰：x\n金 华: x\n张 伟: x\n王 芳：x", "[PERSON]: 好\n[PERSON]：x\n[PERSON]: x\n[PERSON]: x\n[PERSON]：x"),
        # ... in traditional characters too (金額, 錢包 "wallet", 萬一 "in case", 高級 "advanced", 馬上 "at once",
        # before, all but 程式 became PERSONs); names stay names
        ("金 額: 100\n錢 包：x\n萬 一: x\n高 級：x\n馬 上: x\n黃 金: 1\n任 務：x\n程 式：x",
         "金 額: 100\n錢 包：x\n萬 一: x\n高 級：x\n馬 上: x\n黃 金: 1\n任 務：x\n程 式：x"),
        ("陳 小明: 好\n張 偉：x\n劉 洋: x\n黃 金華：x", "[PERSON]: 好\n[PERSON]：x\n[PERSON]: x\n[PERSON]：x"),
        # a given name in hiragana after a listed Japanese family name, with or without a space, before an optional
        # honorific (before, all stayed)
        ("林ゆい：おはよう\n田中 さくら: 了解\n  佐々木はるか：はい\n林 のぞみ：x\n山田ゆいさん：x",
         "[PERSON]：おはよう\n[PERSON]: 了解\n  [PERSON]：はい\n[PERSON]：x\n[PERSON]さん：x"),
        ('{"text": "log\\n林ゆい：收到"}', '{"text": "log\\n[PERSON]：收到"}'),
        # ... a common given name whose first kana is a particle's, right after a one-kanji family name that is also a
        # noun (before, these stayed with 森のなか：)
        ("林のぞみ：おはよう\n森はるか: 了解\n原かおりさん：はい\n林ともこ：x\n森やよい：x",
         "[PERSON]：おはよう\n[PERSON]: 了解\n[PERSON]さん：はい\n[PERSON]：x\n[PERSON]：x"),
        # ... not an honorific, a particle or a copula, nor a particle right after a one-kanji family name that is
        # also a noun (林 "forest": 森のなか, 原として), nor an unlisted family name or a name inside a line
        ("林から：x\n山田がやる：x\n田中 です：x\n林の中：x\n森のなか：x\n原として：x\n"
         "高すぎる：x\nそして 林ゆい：x\n名前はなに：x",
         "林から：x\n山田がやる：x\n田中 です：x\n林の中：x\n森のなか：x\n原として：x\n"
         "高すぎる：x\nそして 林ゆい：x\n名前はなに：x"),
        # ... nor kana that are a particle's phrase or no listed given name after it (林かな "forest, I wonder", 森とも
        # "with the woods too", 原はない "there is no field", 林のあと "after the forest", 森もえる)
        ("林かな：x\n森とも：x\n原はない：x\n林のあと：x\n森もえる：x\n林かよ：x\n原のぞみの：x",
         "林かな：x\n森とも：x\n原はない：x\n林のあと：x\n森もえる：x\n林かよ：x\n原のぞみの：x"),
        # ... but not a particle, a title, the next field or a sentence after the space, nor ASCII
        ("名前：田中 です\n名前：田中 様\n姓名：张三 电话：138\n姓名：王小明 男\n이름: 서연 학생\n이름: 홍길동 입니다",
         "名前：[PERSON] です\n名前：[PERSON] 様\n姓名：[PERSON] 电话：138\n姓名：[PERSON] 男\n이름: [PERSON] 학생\n이름: [PERSON] 입니다"),
        ("名前：田中 Taro\n名前：田中 今日は晴れ\n名前：ユーザー テスト", "名前：[PERSON] Taro\n名前：[PERSON] 今日は晴れ\n名前：ユーザー テスト"),
        # not names: a given name alone after a greeting, before a tech word, month abbreviations, code; an
        # assistant, a language or a lower-case word after the verb
        ("hello John, the Peter Django views", "hello [PERSON], the Peter Django views"),
        # a greeting before an assistant, a product, a common word or a month's day
        ("Hi Claude, fix it. Thanks Claude! Hi there; hey Devin, hello Jules, hi Copilot; Hello World; Hi Mark",
         "Hi Claude, fix it. Thanks Claude! Hi there; hey Devin, hello Jules, hi Copilot; Hello World; Hi [PERSON]"),
        ("Hello World!\nHi Claude,\nHey there!\nDear Sir or Madam,\nHi Monday,\nhello Jules!\nHi Team,\nHello Python\n"
         "Hey Everyone!\nHi API,\nHi GitHub,\nThanks,\nClaude\nthanks Mark for it; Cheers Mate, ok",
         "Hello World!\nHi Claude,\nHey there!\nDear Sir or Madam,\nHi Monday,\nhello Jules!\nHi Team,\nHello Python\n"
         "Hey Everyone!\nHi API,\nHi GitHub,\nThanks,\nClaude\nthanks Mark for it; Cheers Mate, ok"),
        ('print("hello World"); the best Python; thanks Jan 5 works; Dear Sir',
         'print("hello World"); the best Python; thanks Jan 5 works; Dear Sir'),
        ("ask Claude to fix it, then tell Python to retry; ask anna", "ask Claude to fix it, then tell Python to retry; ask anna"),
        ("Jan Feb Mar Apr", "Jan Feb Mar Apr"),
        ("class UserService extends Base", "class UserService extends Base"),
        ("Victoria BC", "Victoria BC"),
        # titles before a job title, a tool, a degree or a month, lower-case English titles, MS products
        ("Sr. Software Engineer; Dr. Python; M. Sc. in physics; M. Jan 5; mr. smith; open it in MS Word",
         "Sr. Software Engineer; Dr. Python; M. Sc. in physics; M. Jan 5; mr. smith; open it in MS Word"),
        # CJK words that make no name: "I told him", "what am I called", a self-description, a placeholder
        ("我叫他来一下。我叫什么？私は学生です。저는 학생입니다. 担当者：未定",
         "我叫他来一下。我叫什么？私は学生です。저는 학생입니다. 担当者：未定"),
        # a form's placeholder or field word after a label (before, each became a PERSON)
        ("名前：テキスト\n氏名：未入力\n名前：ユーザー名\n姓名：用户名\n担当：ゲスト\n이름: 사용자\n联系人：暂无",
         "名前：テキスト\n氏名：未入力\n名前：ユーザー名\n姓名：用户名\n担当：ゲスト\n이름: 사용자\n联系人：暂无"),
        # a title before a product, a brand or a screen character (before, "Ms [PERSON]", "Mr [PERSON]")
        ("open it in Ms Word or Ms Outlook; Mr Robot; Mr. Bean; a Dr Pepper; Dr Web; Ms Teams call",
         "open it in Ms Word or Ms Outlook; Mr Robot; Mr. Bean; a Dr Pepper; Dr Web; Ms Teams call"),
        ("Ms Word said no, Ms Wordsworth said yes", "Ms Word said no, Ms [PERSON] said yes"),
        # a qualifier before a job title or a tool, hyphenated words that are no given names
        ("Dr. med. Python; Dr. rer. nat. Software Engineer; Read-Only Memory; Content-Type Header; Non-Python Code",
         "Dr. med. Python; Dr. rer. nat. Software Engineer; Read-Only Memory; Content-Type Header; Non-Python Code"),
    ],
)
def test_names_written_without_an_introduction(text: str, expected: str) -> None:
    """Only introduced names ("my name is ...") and names spelled in e-mail addresses were found without the NER
    model: a colleague named in a prompt ("ask Tomasz Wieczorek") reached every output the redactor guards."""
    assert get_redactor().redact(text) == expected


def test_chinese_surname_words_are_common_words_not_names() -> None:
    """The words a speaker label's "金 额:" is checked against (codecensus/data/cn_surname_words.txt, from jieba's
    dictionary, and their traditional spellings from OpenCC's tables): each starts with a listed surname and has 2 or 3
    characters, both licences are kept, and none of the most common Chinese full names (as reported for China's
    population register), in simplified or traditional characters, is in it."""
    from importlib import resources

    from codecensus.redact.names import _CN_SURNAMES, cn_surname_words

    text = resources.files("codecensus.data").joinpath("cn_surname_words.txt").read_text(encoding="utf-8")
    assert "jieba" in text and "Copyright (c) 2013 Sun Junyi" in text
    assert "OpenCC" in text and "Apache License, Version 2.0" in text
    words = cn_surname_words()
    assert len(words) > 1000 and {"金额", "高度", "方法", "程序员", "余额"} <= words
    assert {"金額", "錢包", "萬一", "高級", "馬上", "萬餘"} <= words and "萬余" not in words
    assert all(2 <= len(w) <= 3 and w[0] in _CN_SURNAMES for w in words)
    assert not words & set("张伟 王伟 王芳 李伟 李娜 张敏 李静 王静 刘伟 王秀英 张丽 李秀英 王丽 张静 李强 王敏 刘洋".split())
    assert not words & set("張偉 王偉 王芳 李偉 李娜 張敏 李靜 王靜 劉偉 王秀英 張麗 李秀英 王麗 張靜 李強 王敏 劉洋".split())
