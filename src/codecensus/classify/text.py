"""Language-light text signals of the human side of a session.

Everything here is deliberately coarse and multilingual:

- *code tokens* (file names, paths, identifiers, flags, backticks) are the
  same in every language and measure how precisely a user frames work;
- short keyword lexicons in the languages seen in real corpora (en, es, pt,
  fr, de, it, ru, zh, ja, ko, vi, id, tr, pl, nl) catch confirmations,
  complaints, corrections, verification requests and novice questions;
  embedding similarity (see :mod:`codecensus.classify.prototypes`) covers
  the rest;
- text that addresses a *classifier* ("classify this session as a success",
  "ignore previous instructions") is removed before any of this is read, so a
  transcript cannot talk its way into a label (taxonomy: text inside
  transcripts is data).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from re import _constants as _sre  # type: ignore[attr-defined]
from re._parser import parse as _sre_parse  # type: ignore[import-not-found]
from typing import Any

# --- harness wrappers and pasted material --------------------------------------------------------
_WRAPPERS = re.compile(
    r"<(ide_opened_file|ide_selection|ide_diagnostics|system-reminder|context|local-command-stdout|"
    r"command-message|command-name|command-args|bash-stdout|bash-stderr|task-notification)\b[^>]*>.*?</\1>",
    re.S,
)
_FENCE = re.compile(r"```.*?(```|$)", re.S)
_LOGLINE = re.compile(
    r"""(?x)^\s*(
        \d{1,2}:\d{2}(:\d{2})?[.,]?\d*\s          # 12:24:53.444 ...
      | \d{4}-\d{2}-\d{2}[T\s]\d{2}:\d{2}           # ISO timestamps
      | (INFO|WARN|WARNING|ERROR|DEBUG|TRACE|FATAL)[\s:\]]
      | at\s+[\w.$<>]+\(                            # java/js stack frames
      | File\s+".*",\s+line\s+\d+                   # python frames
      | Traceback\s\(most\srecent\scall\slast\)
      | [│╭╰├└┌]                                    # box drawing (rich tracebacks)
      | [\w.-]*[@$#]\s*\S*\s*[$#>]\s                # shell prompts user@host:~$
      | \$\s+\S+                                    # $ command
      | \[?\d+/\d+\]?\s                             # progress counters
    )"""
)
_ERROR_PASTE = re.compile(
    r"(?i)(traceback \(most recent call last\)|\b\w*(error|exception)\b\s*[:(]|\bexit code \d+|"
    r"\bstatus\s*(code)?\s*[45]\d\d\b|\bHTTP/\d(\.\d)?\s+[45]\d\d\b|\b[45]\d\d\s+(internal server error|not found|"
    r"bad request|forbidden|unauthorized)|command not found|undefined is not|cannot find module|segmentation fault|"
    r"\bpanic:|npm ERR!|failed to compile|build failed|uncaught|ERR_[A-Z_]+|E\d{4}:|SQLSTATE)"
)


_OPEN_WRAPPER = re.compile(
    r"<(ide_opened_file|ide_selection|ide_diagnostics|system-reminder|context|local-command-stdout|bash-stdout|"
    r"bash-stderr|task-notification)\b[^>]*>.*",
    re.S,
)


def strip_wrappers(text: str) -> str:
    """Remove IDE/harness wrappers (opened-file notes, selections, reminders); an unclosed one runs to the end."""
    return _OPEN_WRAPPER.sub(" ", _WRAPPERS.sub(" ", text or ""))


def natural_text(text: str, max_chars: int = 1000) -> str:
    """The human-written part of a prompt: wrappers, fenced code and log lines removed."""
    t = strip_wrappers(text)
    t = _FENCE.sub(" ", t)
    keep = []
    for line in t.splitlines():
        s = line.strip()
        if not s or _LOGLINE.match(s):
            continue
        # lines that are mostly symbols/digits are pasted material
        letters = sum(ch.isalpha() for ch in s)
        if len(s) > 20 and letters < 0.4 * len(s):
            continue
        keep.append(s)
    out = " ".join(keep)
    out = re.sub(r"\s+", " ", out).strip()
    return out[:max_chars]


def has_error_paste(text: str) -> bool:
    """Whether a prompt carries a pasted error, stack trace or failing status."""
    return bool(_ERROR_PASTE.search(strip_wrappers(text or "")))


# --- classifier-directed text (prompt injection) ---------------------------------------------------
_INJECTION = re.compile(
    r"""(?ix)
      \b(classif\w*|label\w*|categori[sz]\w*|grad(e|er|ing)|rate|score|mark|record|report|tag)\b
        [^.!?\n]{0,80}\b(session|transcript|conversation|outcome|task|this|it|run)\b
        [^.!?\n]{0,80}\b(success\w*|succeeded|verified\w*|failure|failed|resolved|expert|novice|mode|occupation)\b
    | \b(verified_success|outcome_evidence|outcome_score|user_confirmed|tests_pass)\b
    | \bignore\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier)\s+(instructions|rules|prompts?)\b
    | \b(you\s+are|act\s+as)\s+(an?\s+)?(classifier|grader|evaluator|judge|annotator)\b
    | \b(system\s+prompt|developer\s+message)\b
    | \b(note|message|instruction)s?\s+(to|for)\s+(the\s+)?(classifier|grader|evaluator|judge|annotator|analy[sz]er)\b
    """
)
_SENTENCE = re.compile(r"[^.!?\n。！？]+[.!?\n。！？]*")


_INJECTION_HINT = re.compile(
    r"(?i)classif|label|categori|grad|rate|score|mark|record|report|tag|verified|outcome|tests_pass|ignore|"
    r"system\s+prompt|developer\s+message|evaluat|judge|annotat|analy[sz]er"
)


def sanitize(text: str) -> str:
    """Drop every sentence that addresses a classifier or grader (kept text is unchanged)."""
    if not text:
        return ""
    if not _INJECTION_HINT.search(text) or not _INJECTION.search(text):
        return text
    parts = _SENTENCE.findall(text) or [text]
    kept = []
    for p in parts:
        m = _INJECTION.search(p)
        if m is None:
            kept.append(p)
            continue
        # keep what the sentence said before the classifier-directed part (it may be genuine feedback)
        start = m.start()
        lead = re.search(r"(?i)\b(note|message|instruction|hey|dear|attention|to|for)\b[^.!?\n]{0,40}$", p[:start])
        kept.append(p[: lead.start() if lead else start].rstrip() + " ")
    return "".join(kept).strip()


def is_injection(text: str) -> bool:
    return bool(text) and _INJECTION_HINT.search(text) is not None and _INJECTION.search(text) is not None


# --- code tokens: specificity that is the same in every language ------------------------------------
_CODE_EXT = (
    r"py|pyi|ipynb|js|mjs|cjs|jsx|ts|tsx|go|rs|java|kt|kts|swift|rb|php|cs|c|cc|cpp|cxx|h|hpp|m|mm|scala|clj|ex|exs|"
    r"erl|hs|ml|lua|r|dart|vue|svelte|sol|zig|nim|html|css|scss|sass|less|sh|bash|zsh|ps1|bat|sql|md|mdx|rst|txt|"
    r"json|jsonl|yaml|yml|toml|ini|cfg|conf|env|xml|csv|tsv|xlsx|parquet|lock|gradle|tf|proto|graphql|tex|docx|pdf"
)
_CODE_TOKEN = re.compile(
    rf"""(?x)
      `[^`\n]{{2,80}}`                                       # backticked
    | (?<![\w/])[\w.-]+\.(?:{_CODE_EXT})\b                   # file names
    | (?:[A-Za-z]:)?(?:[\\/][\w.@-]+){{2,}}                  # paths
    | \b[a-z]+(?:[A-Z][a-z0-9]+)+\b                          # camelCase
    | \b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b                  # PascalCase
    | \b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b                      # snake_case
    | (?<![\w-])--?[a-z][\w-]{{1,30}}                        # CLI flags
    | \b\w+\(\)                                              # calls
    | \b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b                          # ENV_VARS
    | \b(?:https?|ssh|git)://\S+                             # URLs
    | \b\d+(?:\.\d+)?\s?(?:ms|s|px|%|kb|mb|gb|rem|em|fps|rps|qps)\b  # measured constraints
    """
)
# Technical vocabulary that appears in ASCII inside prompts written in any language.
_TECH_WORDS = frozenset(
    """api endpoint schema migration refactor regex cache async await thread mutex latency idempotent
    race deadlock orm sql query index transaction rollback commit branch rebase merge diff patch
    dependency dependencies interface protocol payload json yaml webhook middleware auth oauth jwt token
    cors csrf xss docker kubernetes k8s helm terraform ci cd pipeline lint linter typecheck typing
    generic generics closure callback promise stream buffer serializer deserializer parser lexer ast
    compiler bundle webpack vite build deploy staging production rollback monorepo microservice grpc rest
    graphql websocket sse hook hooks state reducer redux zustand component props render ssr hydration
    unittest pytest jest vitest mocha assert mock fixture coverage benchmark profiler heap stack gc
    tensor gradient embedding tokenizer batch epoch checkpoint inference quantization cuda
    invariant contract precondition edge-case regression flaky determinism idempotency concurrency
    dockerfile nginx vps kubectl containerize containerise
    """.split()
)


# Where a script without spaces (Chinese, Japanese; Korean particles) touches ASCII letters or digits: "修复cart.py中的bug",
# "cart.py의". Such characters are word characters to ``re``, so the token patterns' boundaries (``\b``, ``(?<!\w)``)
# would not see the end of the identifier; a space is put at each such script change before matching.
_CJK_ASCII_EDGE = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])(?=[A-Za-z0-9_`])|"
    r"(?<=[A-Za-z0-9_`])(?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])"
)


def code_tokens(text: str) -> list[str]:
    t = strip_wrappers(text or "")
    if not t.isascii():
        t = _CJK_ASCII_EDGE.sub(" ", t)
    return _CODE_TOKEN.findall(t)


# --- lexicons -----------------------------------------------------------------------------------------
@functools.cache
def _has_ascii_twin(c: str) -> bool:
    """Whether ``re.I`` lets the non-ASCII ``c`` match an ASCII letter (the Kelvin sign K and k, the long s ſ and s)."""
    return any(re.fullmatch(re.escape(c), a, re.I) for a in string.ascii_letters)


def _first_chars(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The characters a parsed pattern can start its match with, or None when that is not plain to see
    (classes like ``\\w``, repeats: anything but literals, sets and groups of them). Anchors, word boundaries and
    lookarounds consume nothing: the match starts on what follows them."""
    if not items:
        return None
    op, av = items[0]
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return _first_chars(items[1:])
    if op is _sre.LITERAL:
        return {chr(av)}
    if op is _sre.SUBPATTERN:
        return _first_chars(list(av[-1]))
    if op is _sre.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            f = _first_chars(list(branch))
            if f is None:
                return None
            out |= f
        return out
    if op is _sre.IN:
        out = set()
        for o, a in av:
            if o is _sre.LITERAL:
                out.add(chr(a))
            elif o is _sre.RANGE and a[1] - a[0] <= 256:
                out |= {chr(x) for x in range(a[0], a[1] + 1)}
            else:
                return None
        return out
    return None


def _needs_non_ascii(pattern: str) -> bool:
    """True when no match of ``pattern`` (case-insensitive) can start on an ASCII character: its first
    character is always non-ASCII with no ASCII case twin (``re.I`` matches the Kelvin sign K with k, so such a
    letter keeps its alternative). Anything not plain to see counts as possible."""
    try:
        first = _first_chars(list(_sre_parse(pattern, re.I)))
    except Exception:  # the parser is CPython's own; if it changes, every alternative is simply kept
        return False
    return first is not None and all(not c.isascii() and not _has_ascii_twin(c) for c in first)


def _ascii_mode_safe(pattern: str) -> bool:
    """Whether ``re.I | re.A`` finds in ASCII text exactly what ``re.I`` finds: no literal or set of the pattern
    holds a non-ASCII letter with an ASCII case twin (a range reaching past ASCII counts as holding one)."""

    def walk(items: Any) -> bool:
        for op, av in items:
            if op in (_sre.LITERAL, _sre.NOT_LITERAL):
                if av > 127 and _has_ascii_twin(chr(av)):
                    return False
            elif op is _sre.IN:
                for o, a in av:
                    if o in (_sre.LITERAL, _sre.NOT_LITERAL) and a > 127 and _has_ascii_twin(chr(a)):
                        return False
                    if o in (_sre.RANGE, _sre.RANGE_UNI_IGNORE) and a[1] > 127:
                        return False
                    if o not in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.RANGE, _sre.RANGE_UNI_IGNORE, _sre.CATEGORY,
                                 _sre.NEGATE):
                        return False
            elif op is _sre.SUBPATTERN:
                if not walk(av[-1]):
                    return False
            elif op is _sre.BRANCH:
                if not all(walk(b) for b in av[1]):
                    return False
            elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
                if not walk(av[2]):
                    return False
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                if not walk(av[1]):
                    return False
            elif op not in (_sre.AT, _sre.ANY):
                return False  # anything else: not plain to see
        return True

    try:
        return walk(_sre_parse(pattern, re.I))
    except Exception:
        return False


# Unicode counts \x1c-\x1f as whitespace (``\s``), ASCII mode does not: text holding them takes the full path.
_ASCII_ODD = re.compile("[\x1c-\x1f]")
_last_text: tuple[str | None, bool] = (None, False)  # the last text asked about, and its answer (one assignment)


def _plain_ascii(text: str) -> bool:
    global _last_text
    last = _last_text
    if last[0] is text:  # a prompt is asked about by every lexicon in turn
        return last[1]
    ok = text.isascii() and _ASCII_ODD.search(text) is None
    _last_text = (text, ok)
    return ok


def _alternatives(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


class Lexicon:
    """Case-insensitive alternatives, searched faster in plain ASCII text.

    Most prompts are ASCII. In ASCII text an alternative that must start on a CJK, Cyrillic, Hangul...
    character can never match, so such text is searched with the other alternatives only, and in ASCII mode
    (``re.A``: ASCII case folding and word boundaries) when that finds exactly the same
    (:func:`_ascii_mode_safe`). On 11,355 generated prompts (86 % ASCII) the 13 lexicons took 129 us a prompt in
    full, 69 us this way. Whether something matches, and how many non-overlapping matches there are, is the same either
    way; group numbers are not, so the methods answer only that (``bool``/``int``)."""

    def __init__(self, *patterns: str) -> None:
        self.regex = re.compile(_alternatives(patterns), re.I)
        kept = _alternatives(p for p in patterns if not _needs_non_ascii(p))
        self.ascii = re.compile(kept, re.I | (re.A if _ascii_mode_safe(kept) else 0)) if kept else None

    def _for(self, text: str) -> re.Pattern[str] | None:
        return self.ascii if _plain_ascii(text) else self.regex

    def search(self, text: str) -> bool:
        rx = self._for(text)
        return rx is not None and rx.search(text) is not None

    def match(self, text: str) -> bool:
        rx = self._for(text)
        return rx is not None and rx.match(text) is not None

    def count(self, text: str) -> int:
        """Non-overlapping matches (``len(findall)``)."""
        rx = self._for(text)
        return 0 if rx is None else len(rx.findall(text))


# The same vocabulary written in other languages (es, pt, fr, de, ru, zh, ja, ko, hi, ar): native words and
# transliterations of _TECH_WORDS' terms. Only forms that name the technical thing in ordinary text: a word that is
# also common outside software is left out ("esquema", "migración", "contenedor", "branch" as "rama", "分支"; "キャッシュ",
# Korean "캐시" and Hindi "कैश", which are also "cash"; Arabic "نشر", publish): a word firing on ordinary text is worse
# than a miss. Test names ("unit tests") are verification requests (VERIFY), as in English.
TECH_TERMS_NATIVE = (
    # es / pt
    r"\b(condici[oó]n(es)? de carrera|condi[cç](ão|ões) de corrida|interbloqueos?|idempotentes?|latencia|"
    r"lat[eê]ncia|despliegues?|desplegar|despli[eé]ga(lo|la)?|implant(e|ar|ando)\s+(a|o|as|os|nossa|nosso|minha|meu)?\s*(aplica[cç](ão|ões)|vers(ão|ões)|api|site|servi[cç]os?|app)|repositorios?|reposit[oó]rios?|compilador(es)?|"
    r"refactoriza\w*|refator\w*|(tests?|pruebas?|testes?) de regres(i[oó]n|s[aã]o)|cobertura de (c[oó]digo|tests|"
    r"pruebas|testes))\b",
    # fr
    r"\b(conditions? de (course|concurrence)|interblocages?|latence|d[ée]ploie\w*|d[ée]ploiement\w*|d[ée]ployer|"
    r"d[ée]pendances|compilateurs?|refactoris\w+|tests? de r[ée]gression|"
    r"couverture de (code|tests))\b",
    # de
    r"\b(\w*regressionstests?|testabdeckung|nebenl[aä]ufigkeit|"
    r"wettlaufsituation\w*|verklemmung\w*|latenz\w*|deploy(e|en|t|st)|refaktor\w*|zwischenspeicher\w*)\b",
    # ru
    r"\b(состояни[еяю] гонки|гонк[аиу] данных|взаимн\w+ блокировк\w+|дедлок\w*|конкурентност\w*|"
    r"многопоточн\w*|потокобезопасн\w*|идемпотентн\w*|кэш(а|е|ом|у|и|ирова\w*)?|деплой\w*|разв[её]ртывани\w*|"
    r"разверн\w+ (\w+ )?(приложени|сервис|проект|сайт|бот|верси)\w*|репозитори\w*|компилятор\w*|парсер\w*|линтер\w*|рефактор\w*|"
    r"регрессионн\w+ тест\w*|миграци\w+ (баз\w+|схем\w+))\b",
    # zh
    r"竞态条件|代码检查|竞争条件|死锁|并发|多线程|幂等|缓存|部署|编译器|重构|回归测试|测试覆盖率|数据库迁移|"
    r"中间件|解析器|序列化|异步",
    # ja
    r"競合状態|レースコンディション|デッドロック|排他制御|ミューテックス|冪等|レイテンシ|デプロイ|リポジトリ|"
    r"コンパイラ|パーサ|リンター|リファクタ|回帰テスト|カバレッジ|マイグレーション|スキーマ|"
    r"シリアライ|非同期|ロールバック|ミドルウェア|エンドポイント",
    # ko
    r"경쟁\s?상태|레이스\s?컨디션|데드락|교착\s?상태|동시성|뮤텍스|멱등|레이턴시|리포지토리|컴파일러|린터|"
    # 배포 is "deploy" and also "hand out" (보도자료 / 전단지 배포): a term only with software as its object or in a compound
    r"(앱|애플리케이션|어플리케이션|서버|서비스|사이트|웹|api|버전|빌드|프로덕션|스테이징|도커|docker|컨테이너|코드|릴리스|"
    r"패키지|이미지|프로젝트|백엔드|프론트엔드)\S{0,3}\s?(\S+\s){0,2}?배포|배포\s?(파이프라인|스크립트|환경|서버|자동화|설정|"
    r"프로세스)|"
    r"파서(를|가|는|의|에서?|\s?모듈)|리팩[터토]링|회귀\s?테스트|커버리지|마이그레이션|스키마|직렬화|비동기|"
    r"롤백|미들웨어|엔드포인트",
    # hi (transliterations)
    r"रेस कंडीशन|डेडलॉक|लिंटर|डिप्लॉय|रिपॉज़िटरी|रिपॉजिटरी|डिपेंडेंसी|कंपाइलर|रिफैक्टर|रिग्रेशन टेस्ट|"
    r"माइग्रेशन|स्कीमा|पार्सर|रोलबैक|मिडलवेयर|एंडपॉइंट|लेटेंसी",
    # ar
    r"حال(ة|ات) السباق|التخزين المؤقت|اختبار(ات)? (ال)?انحدار|"
    r"غير متزامن|(نشر|انشر|ينشر) (ال)?(تطبيق|خدمة)",
)
TECH_NATIVE = Lexicon(*TECH_TERMS_NATIVE)


def tech_word_count(text: str) -> int:
    """Technical terms: ASCII words of _TECH_WORDS (used in prompts of any language) plus native terms."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9+#-]{1,20}", text or "")
    # a hyphenated compound counts when it is a term ("edge-case") or holds one: German and Dutch join an English
    # term to a native word ("Parser-Modul", "Cache-Schicht"), English too ("pre-commit")
    n = sum(
        1 for w in words
        if w.lower() in _TECH_WORDS or ("-" in w and not _TECH_WORDS.isdisjoint(w.lower().split("-")))
    )
    return n + TECH_NATIVE.count(text or "")


# explicit confirmation that the result works (hard evidence, taxonomy §3)
CONFIRM = Lexicon(
    r"\b(it|that|this|everything|all|now it)\s*('?s|\s+is|\s+now)?\s+(works?|working|fixed|running)\b",
    r"\bworks?\s+(now|perfectly|great|fine|well|like a charm)\b",
    r"\b(works|worked)\s*[!.]|\b(problem|issue|bug)\s+(is\s+)?(solved|fixed|resolved|gone)\b",
    r"\b(funciona|funcionó|funcionou|ya (anda|sirve)|ça marche|ca marche|ça fonctionne|funktioniert( jetzt)?|klappt|"
    r"funziona|działa|werkt|çalışıyor|berhasil|sudah bisa|hoạt động rồi)\b",
    r"работает|заработало|получилось",
    r"可以了|好了|成功了|能用了|正常了|没问题了|解决了|搞定了",
    r"動いた|動きました|直った|直りました|できました",
    r"잘\s?돼|됐어|됐습니다|해결됐|작동해",
)
# acknowledgement / satisfaction (a weaker, positive signal)
ACK = Lexicon(
    r"\b(perfect|perfecto|perfeito|parfait|perfekt|perfetto|excellent|excelente|awesome|amazing|great job|nice|sweet|"
    r"lgtm|looks good|looks great|well done|love it|beautiful|great|super)\b",
    r"\b(thanks?|thank you|thx|gracias|obrigad[oa]|merci|danke|grazie|dziękuję|dzieki|bedankt|teşekkür\w*|"
    r"terima kasih|makasih|cảm ơn|cam on)\b",
    r"спасибо|благодарю|отлично|супер",
    r"谢谢|多谢|感谢|完美|不错|很好|太好了",
    r"ありがとう|完璧|いいね|素晴らしい",
    r"감사|고마워|완벽|좋아요|좋네",
)
COMPLAINT = Lexicon(
    r"\b(still|again)\b[^.!?]{0,40}\b(not|n't|broken|fail\w*|error\w*|wrong|same|crash\w*|issue|problem|bug)\b",
    r"\b(does ?n[o']?t|do ?n[o']?t|is ?n[o']?t|not|never|wo ?n[o']?t|ca ?n[o']?t)\s+(work|working|load|show|run|start|"
    r"open|compile|build|render|display|appear|fix\w*)\b",
    r"\b(broke|broken|breaks|you broke|messed up|screwed|nothing (works|changed|happened)|same (error|issue|problem))\b",
    r"\b(wtf|fuck\w*|shit|damn|dumb|stupid|useless|terrible|awful|ridiculous|absurd)\b",
    r"\b(no funciona|sigue (sin|fallando|igual|saliendo|dando)|todav[ií]a (no|falla|sale)|n[aã]o funciona|ainda n[aã]o|"
    r"ne (marche|fonctionne) (pas|toujours)|toujours pas|funktioniert (nicht|immer noch nicht)|immer noch|"
    r"non funziona|ancora non|nie działa|werkt niet|çalışmıyor|tidak berfungsi|masih error|không (hoạt động|chạy))\b",
    r"не работает|всё ещё|все еще|опять|снова не|сломал",
    r"不行|不能用|还是不|仍然|依然|没有用|没用|报错|又错|坏了|不对|有问题|没反应|打不开",
    r"動かない|まだ|エラーが|直ってない|壊れ",
    r"안\s?돼|안됨|아직도|여전히|에러|오류|안\s?열려|깨졌",
)
CORRECTION = Lexicon(
    r"^\s*(no|nope|nah|wrong|wait|stop|don'?t|do not|not that|actually|instead|undo|revert|hold on)\b",
    r"\b(that'?s not what|not what i (asked|wanted|meant)|i (said|asked for|meant)|you (misunderstood|got it wrong|"
    r"forgot|missed|ignored|broke))\b",
    r"^\s*(?:(?:non|nein|não|nao|nie|нет)\b|不是|不要|别|違う|いや|아니)",
    r"\b(pero no|en vez de|en lugar de|au lieu de|statt|anstatt|invece di|zamiast|вместо|而不是|改成|じゃなくて|말고)\b",
)
VERIFY = Lexicon(
    r"\b(add|write|run|create|update|extend|include|with)\s+(\w+\s+){0,2}(unit\s+|integration\s+|e2e\s+|regression\s+)?tests?\b",
    r"\btests?\s+(pass|passing|fail\w*|for|cover\w*|suite)\b|\b(unit|integration|e2e|end-to-end|regression)\s+tests?\b",
    r"\b(verify|verifies|verification|validate|double[- ]check|make sure|ensure|assert\w*|lint\w*|typecheck\w*|"
    r"type[- ]check|edge ?cases?|coverage|benchmark\w*|reproduce|repro|pytest|jest|vitest|tdd)\b",
    r"\b(prueba[s]? unitarias|comprueba|comprobar|asegúrate|vérifie[rz]?|assure-toi|prüf\w*|überprüf\w*|"
    r"stelle sicher|verifica\w*|sprawdź|garanta)\b",
    # the same requests in es, pt, fr, de: unit / integration / regression tests, edge cases, test coverage, verify
    r"\b((tests?|pruebas?|testes?) (unitari[oa]s|unit[aá]ri[oa]s|de (regresi[oó]n|regress[aã]o|integraci[oó]n|"
    r"integra[cç][aã]o))|casos? (l[ií]mite|extremos)|cobertura de (c[oó]digo|tests|pruebas|testes)|valid(a|ar|e|ez)|"
    r"verifique\w*|certifique-se|tests? (unitaires|de r[ée]gression|d['’]int[ée]gration)|cas limites?|"
    r"couverture de (code|tests)|assurez-vous|v[ée]rifiez|unit-?tests?|\w*(regressions|integrations)tests?|"
    r"randf[aä]ll\w*|testabdeckung|stell sicher|sicherstellen|validier\w*|verifizier\w*)\b",
    r"测试|验证|单元测试|确保|边界情况|テスト|検証|確認して|エッジケース|테스트|검증|확인해|엣지\s?케이스|тест\w*|провер\w*|"
    r"убедись|граничн\w+ случа\w+",
    # hi, ar: tests of any kind (as zh 测试, ru тест), regression / unit / integration tests, edge cases, make sure
    r"टेस्ट|परीक्षण|एज केस|सुनिश्चित कर|पक्का कर|اختبار(ات)? (ال)?(وحدة|انحدار|تكامل)|(ال)?حالات (ال)?حدية|"
    r"تحق[قّ]+ من|تأك[دّ]+ من",
)
NOVICE = Lexicon(
    r"\bwhat\s+(is|are|does)\s+(a|an|the)?\s*\w+(\s+\w+)?\s*(\?|mean)",
    r"\bwhat does\b[^?]{0,40}\bmean\b",
    r"\bhow (do|can|should) i\b",
    r"\b(i'?m|i am) (new|a beginner|not a (developer|programmer|coder))\b",
    r"\bfirst time\b",
    # not knowing what a basic term is, or how to code at all ("I don't know why this fails" is no novice marker:
    # the term comes after a or an, as in a definition)
    r"\bi (do not|don'?t|really don'?t) (really )?(know|understand|get) what (a|an) \w+([ -]\w+)? (is|means?|does)\b",
    r"\b(i (have|'?ve got) )?no (idea|clue) what (a|an) \w+([ -]\w+)? (is|means?|does)\b",
    r"\bi (can'?t|cannot|(do not|don'?t) know how to) (code|program)\b",
    r"\b(no s[eé] (qu[eé] es una? |programar\b)|n[aã]o sei (o que [eé] uma? |programar\b)|"
    r"je ne sais pas (ce qu['’]est une? |coder\b|programmer\b)|ich wei(ß|ss) nicht,? was eine? \w+ (ist|bedeutet)\b|"
    r"ich kann nicht programmieren\b)",
    r"\b(qu[eé] es|qu['’]?est-ce que|qu['’]est-ce qu['’](un|une)|c['’]?est quoi|was ist|o que [ée]|cos['’]?è|"
    r"что такое|как (мне|сделать)|co to jest)\b",
    # "how do I ..." (not any "how": "explain how the data is stored" is no novice question)
    r"是什么|什么是|怎么(办|弄|做|用)|我(该|应该|要)?(怎么|怎样|如何)|とは|って何|(れば|けば|たら)いい(ですか|の|でしょうか)|"
    r"뭐야|이란|어떻게\s?(해야|하면|하나요|하죠|해요|해\?)|어떻게\s?\S+야\s?(해|돼|하나요|하죠|할까요|되나요)",
    # hi: "what is an X (in general)", "what does X mean", "how do I <verb>" (first-person subjunctive); ar: "what does
    # ... mean", "what is X?", "how can I / how do I open, install, run, use, create"
    r"क्या (होता|होती|होते) है|का (मतलब|अर्थ) क्या|कैसे (\S+ )?\S+(ूँ|ूं)(?=[\s?।!.,]|$)|"
    r"ما معنى|ماذا يعني|ما (هو|هي) \S+( \S+)?\s*[؟?]|"
    r"كيف (يمكنني|أستطيع|أقوم|أفتح|أثبت|أشغ[ّ]?ل|أستخدم|أنشئ)",
)
GREETING = Lexicon(r"^\s*(hi|hey|hello|hy|yo|hola|ola|olá|bonjour|hallo|ciao|привет|你好|こんにちは|안녕|test|testing)\W*$")
DEFER = Lexicon(
    r"^\s*(ok(ay)?|yes|yep|yeah|sure|go|go ahead|continue|proceed|do it|next|resume|sounds good|y|1|2|3|s[ií]|oui|ja|да|"
    r"好|好的|继续|可以|はい|続けて|네|계속|sim|vale|dale|suivant|weiter|tak|ya|lanjut)\W*$"
)
# a question: ends with a question mark, or opens with a question word (en, es, pt, fr, de, it, nl, pl, ru), or ends
# with a question particle / holds an interrogative (zh, ja, ko)
QUESTION = re.compile(
    r"[?？]\s*$|^\s*(what|why|how|where|when|which|who|can you explain|explain|is there|does|do|is|are|"
    r"qu[eé]|por ?qu[eé]|c[oó]mo|d[oó]nde|cu[aá]l|o que|onde|qual|quais|pourquoi|quel(le)?s?|est-ce que|"
    r"warum|wieso|wie|welche[rsn]?|perch[eé]|dove|waarom|hoe|dlaczego|jak|czy|что|почему|зачем|как|где|какой|какие)\b|"
    r"[吗呢][。\s]*$|为什么|怎么|如何|是什么|(ですか|ますか|でしょうか|かな|なぜ|どうして|どうやって)|(까요?|나요|니|뭐야|왜|어떻게)[.\s]*$",
    re.I,
)
CONSTRAINT = Lexicon(
    r"\b(must|should|shouldn'?t|never|always|without|no more than|at least|at most|exactly|"
    r"required?|keep|avoid|instead of|make sure)\b",
    # "only" restricts a request ("only change the README", "use only the standard library"), but as often says
    # where a fault shows ("it only happens on Windows", "only one test fails", "not only", "if only")
    r"(?<!\bnot )(?<!\bif )\bonly\b(?!\s+(happens?|happened|fails?|failed|works?|worked|occurs?|occurred|seems?|"
    r"appears?|shows?|showed|gets?|got|see|saw|has|had|have|one|thing|way|difference|problem|issue|reason|when|if|"
    r"because|after|sometimes|once|in\s+(production|prod|ci|safari|firefox|chrome)|on\s+(windows|mac|macos|linux|"
    r"ci|my|some|the\s+first))\b)",
    # "don't" tells the agent what not to do, not what the user does not know ("I don't know / understand / get")
    r"\b(do not|don'?t)\b(?!\s+(really\s+)?(know|understand|get|see|think|remember|care|mind|have\s+(a|any)\s+"
    r"(clue|idea))\b)",
    r"\b(debe|deben|sin|solo|nunca|siempre|doit|sans|seulement|jamais|muss|ohne|nur|niemals|deve|senza|solo|"
    r"должен|без|только|никогда)\b",
    # "do not touch/change/remove ...", "keep", "avoid", "instead of" (es, pt, fr, de, ru)
    r"\b(no (toques|cambies|modifiques|uses|borres|elimines|rompas)|mant[eé]n|mantenga|mantener|evita\w*|"
    r"en (lugar|vez) de|n[aã]o (mexa|toque|altere|mude|use|remova|apague|quebre|modifique)|mantenha|manter|evite|"
    # pt "sem" (without) and "sempre" (always), but not "sem problema", "sem querer" (by accident), "sem sucesso",
    # "sempre que" (whenever)
    r"em vez de|ao inv[eé]s de|sem(?!\s+(problemas?|querer|sucesso|sentido|resposta|ideia|noção|nocao)\b)|somente|"
    r"sempre(?!\s+que\b)|"
    # "apenas" restricts what it precedes ("altere apenas o arquivo", "apenas um commit"), but is as often "just"
    # ("apenas quero que funcione", "é apenas um teste"): only before an article, a preposition or a number
    r"(?<!é )(?<!foi )(?<!era )(?<!são )apenas(?=\s+((o|a|os|as|no|na|nos|nas|em|de|do|da|dos|das|para|com|quando|se|"
    r"um|uma|dois|duas|este|esse|esta|essa|estes|esses|estas|essas|isso|isto)\b|\d|`))|"
    r"ne (touche|modifie|change|supprime|casse|utilise)\w*\s+(pas|jamais|rien)|n['’](utilise|ajoute|efface|enl[eè]ve)"
    r"\w*\s+(pas|jamais)|(garde|gardez|conserve|conservez)\s+(l[ea]\s|l['’]|les\s)|[ée]vite[rz]?|au lieu de|"
    r"uniquement|fass\w*\b[^.!?]{0,40}\bnicht an|"
    r"(ändere|ändert|lösche|löscht|entferne|entfernt)\b[^.!?]{0,40}\bnicht|"
    r"nicht (an)?(fassen|ändern|anrühren|verändern|löschen|entfernen)|"
    r"behalte\w*|beibehalten|unverändert|vermeide\w*|darf (nicht|kein\w*)|dürfen (nicht|kein\w*)|statt|anstatt|"
    r"не (трога|меня|изменя|удаля|использу|лома)\w*|избега\w*|всегда|обязательно|вместо)\b",
    r"必须|不要|只|不能|禁止|确保|别动|不得|保持|避免|而不是|必ず|だけ|ないで|維持|避けて|のみ|(?<!非)常に|代わりに|반드시|"
    r"지\s?(마|말(고|것|아))|만\b|유지|피하(고|세요|라|도록)|대신|항상|절대|없이",
    # hi: "don't" (मत), "keep ... (maintained)", without, only, always, never, must, instead of; ar: do not touch /
    # change / remove / use, keep, without, only, must, never, always, instead of
    r"(?<!\S)मत(?!\S)|बनाए रख|बिना|सिर्फ़?|केवल|हमेशा|कभी (भी )?नहीं|ज़रूर|जरूर|अवश्य|की जगह|के बजाय|"
    r"لا (تلمس|تغي[ّ]?ر|تعد[ّ]?ل|تحذف|تستخدم|تمس|تكسر)|حافظ(وا)? على|بدون|(?<!\S)دون|فقط|يجب|أبد[اًا]+|دائم[اًا]+|"
    r"بدل[اًا]+ من",
)
ACCEPTANCE = Lexicon(
    r"\b(acceptance criteria|definition of done|done when|should (return|output|show|print|pass)|expected (output|result|"
    r"behaviou?r)|must pass|all tests pass|so that)\b",
    r"\b(criterios? de aceptaci[oó]n|crit[eè]res? d'acceptation|akzeptanzkriterien)\b",
    r"验收标准|验收|期望结果|受け入れ基準|期待する|인수 기준|기대 결과|критерии приемки",
)
# what a request asks for: repairing/modifying existing behaviour vs adding something new (work mode §2)
FIX_INTENT = Lexicon(
    r"\b(fix\w*|bug\w*|broken|crash\w*|error\w*|fail\w*|issue|problem|debug\w*|repair|wrong|refactor\w*|"
    r"rename\w*|migrat\w*|upgrade|cleanup|clean up|change|update|modify|adjust|tweak|move|replace|remove|delete|"
    r"improve|optimi[sz]e|speed up|slow)\b",
    r"\b(arregla\w*|corrig\w*|error|falla\w*|cambia\w*|modifica\w*|actualiza\w*|corrige\w*|répare\w*|"
    r"modifie\w*|change[rz]?|behebe\w*|fehler|ändere\w*|correggi\w*|modifica|napraw\w*|popraw\w*|zmień)\b",
    r"исправ\w*|ошибк\w*|баг|почини\w*|измени\w*|поменяй|обнови",
    r"修复|修改|改成|报错|错误|问题|bug|优化|调整|删除|替换|修正|バグ|直して|変更|エラー|고쳐|수정|오류|에러|변경",
)
ADD_INTENT = Lexicon(
    r"\b(add|adding|new|create|creating|implement\w*|build|make|generate|scaffold|set ?up|write|develop|feature|"
    r"from scratch|support for)\b",
    r"\b(agrega\w*|añad\w*|crea\w*|nuevo|nueva|implementa\w*|construi\w*|ajoute\w*|crée\w*|nouveau|"
    r"nouvelle|hinzufüg\w*|erstell\w*|neue[nrs]?|aggiung\w*|crea|nuovo|dodaj\w*|stwórz|utwórz|adicion\w*|"
    r"criar|novo)\b",
    r"добав\w*|созда\w*|нов\w+|реализ\w*|сделай",
    r"添加|新增|创建|实现|开发|做一个|加一个|生成|新建|追加|作成|実装|新しい|추가|만들어|생성|구현|새로운",
)
NEGATIVE_REPLY = Lexicon(
    r"\b(i (could ?n[o']?t|was unable|am unable|can ?n[o']?t|cannot)|unable to|failed to|still (fail\w*|broken|not)|"
    r"does ?n[o']?t work|not (yet )?(working|fixed|resolved)|blocked|gave up|no (way|luck)|unfortunately)\b",
)


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def word_count(text: str) -> int:
    """Whitespace words, with CJK characters counted as half a word each (scripts without spaces)."""
    cjk = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()) + cjk // 2


@dataclass(slots=True)
class PromptSignals:
    words: int
    code_tokens: int
    tech_words: int
    error_paste: bool
    confirm: bool
    ack: bool
    complaint: bool
    correction: bool
    verify: bool
    novice: bool
    greeting: bool
    defer: bool
    question: bool
    constraints: int
    acceptance: bool
    injection: bool
    fix_intent: bool
    add_intent: bool
    text: str = ""  # the human-written part (wrappers, pasted logs and classifier-directed sentences removed)


def prompt_signals(raw: str) -> PromptSignals:
    """All lexical signals of one prompt (after classifier-directed sentences are removed)."""
    injection = is_injection(raw)
    text = sanitize(strip_wrappers(raw))
    nat = natural_text(text, max_chars=4000)
    words = word_count(nat)
    complaint = bool(COMPLAINT.search(nat))
    confirm = bool(CONFIRM.search(nat)) and not complaint
    return PromptSignals(
        words=words,
        code_tokens=len(set(code_tokens(nat))),
        tech_words=tech_word_count(nat),
        error_paste=has_error_paste(text),
        confirm=confirm,
        ack=bool(ACK.search(nat)) and not complaint,
        complaint=complaint,
        correction=bool(CORRECTION.search(nat)),
        verify=bool(VERIFY.search(nat)),
        novice=bool(NOVICE.search(nat)),
        greeting=bool(GREETING.match(nat)) or (words <= 2 and not nat.strip("?!. ")),
        defer=bool(DEFER.match(nat)),
        question=bool(QUESTION.search(nat)),
        constraints=CONSTRAINT.count(nat),
        acceptance=bool(ACCEPTANCE.search(nat)),
        injection=injection,
        fix_intent=bool(FIX_INTENT.search(nat)),
        add_intent=bool(ADD_INTENT.search(nat)),
        text=nat,
    )


__all__ = [
    "PromptSignals",
    "code_tokens",
    "has_error_paste",
    "is_injection",
    "natural_text",
    "prompt_signals",
    "sanitize",
    "strip_wrappers",
    "tech_word_count",
]
