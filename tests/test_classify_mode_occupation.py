"""Work mode (§2) and occupation (§5) rules of the offline backend: what a session produced outweighs its topic."""

from __future__ import annotations

from typing import Any

import pytest

from codecensus.classify.base import ActionEvidence
from codecensus.classify.features import extract
from codecensus.classify.offline import OfflineBackend, mode_votes
from codecensus.taxonomy import NOT_INFERABLE, SOFTWARE_SOC
from evidence_builders import edit, read, session, sh
from evidence_builders import write as _write


def write(path: str, words: int = 300, **kw: Any) -> ActionEvidence:
    return _write(path, words, **kw)


AGENTIC_TOPIC = (
    "Write the application for a research grant about agentic AI: autonomous agents, multi-agent workflows, "
    "CI pipelines and scheduled automation for software teams."
)
DOCS = [write("application/summary.md"), write("application/budget-justification.md"),
        write("application/work-programme.docx")]


@pytest.mark.parametrize("backend", ["structural", "embedded"])
def test_documents_written_about_automation_are_write(backend: str, request: pytest.FixtureRequest) -> None:
    """The product (prose documents) decides, not the subject (agents, workflows)."""
    be: OfflineBackend = request.getfixturevalue(backend)
    (f,) = be.classify([session([AGENTIC_TOPIC, "Now tighten the budget section."], DOCS)])
    assert f.mode == "write"


def test_unanswered_grant_request_is_write(embedded: OfflineBackend) -> None:
    """Nothing done: the mode the request asks for, and an application is a document to write."""
    (f,) = embedded.classify([session(["Help me apply for the grant for our AI agents project."])])
    assert f.mode == "write"


def test_automation_words_alone_do_not_make_orchestrate_when_nothing_was_produced(embedded: OfflineBackend) -> None:
    ev = session(["How does the agent decide which tool to call in this workflow?"],
                 [read("src/agent/loop.py"), read("src/agent/tools.py"), read("README.md")])
    (f,) = embedded.classify([ev])
    assert f.mode != "orchestrate"
    # ... while a CI workflow written in the session is orchestrate
    ev2 = session(["Run the tests on every push."], [write(".github/workflows/ci.yml", 80)])
    (f2,) = embedded.classify([ev2])
    assert f2.mode == "orchestrate"


def test_unsignalled_edits_of_existing_code_are_fix() -> None:
    """§2: fix "repairs or modifies existing code"; an edit with no request signal modifies existing code."""
    ev = session(["Next: the CSV export in the reports module."],
                 [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v = mode_votes(ev, extract(ev))
    assert v.get("fix", 0) > 0 and v.get("build", 0) == 0
    # a request for something new makes the same edits build (a feature added to an existing codebase)
    ev1 = session(["Add a CSV export to the reports module."],
                  [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v1 = mode_votes(ev1, extract(ev1))
    assert v1.get("build", 0) > v1.get("fix", 0)
    # a complaint makes the same edits repairs
    ev2 = session(["The export crashes with a KeyError, it doesn't work."],
                  [read("src/app/export.py"), edit("src/app/export.py"), edit("src/app/views.py")])
    v2 = mode_votes(ev2, extract(ev2))
    assert v2.get("fix", 0) > v2.get("build", 0)


def test_test_runs_while_writing_code_do_not_make_a_test_session(structural: OfflineBackend) -> None:
    acts = [write("src/parser.py", 400)] + [sh("pytest -q", is_test=True, test_status="pass") for _ in range(8)]
    (f,) = structural.classify([session(["Create a parser for the config format."], acts)])
    assert f.mode == "build"
    # a session whose product is tests stays test
    acts2 = [write("tests/test_parser.py", 400), write("tests/test_lexer.py", 300)] + [
        sh("pytest -q", is_test=True, test_status="pass") for _ in range(3)]
    (f2,) = structural.classify([session(["Add tests for the parser and the lexer."], acts2)])
    assert f2.mode == "test"


def test_installs_while_building_do_not_make_an_operate_session(structural: OfflineBackend) -> None:
    acts = [sh(f"npm install pkg{i}") for i in range(6)] + [write("src/App.tsx"), write("src/main.tsx")]
    (f,) = structural.classify([session(["Create a small React app for my recipes."], acts)])
    assert f.mode == "build"


def test_course_material_with_code_tokens_is_not_software_work(structural: OfflineBackend) -> None:
    """Prose products (lessons, documents) are not software work for its own sake, whatever their vocabulary."""
    prompt = ("Write the lesson notes for week 3 of my class: explain `print()`, `len()`, `range()`, `input()`, "
              "`str.split()`, `list.append()`, `dict.get()` and `for` loops, with exercises, in lesson3.md.")
    (f,) = structural.classify([session([prompt], [write("course/lesson3.md", 900)])])
    assert f.occupation != SOFTWARE_SOC
    # the same request producing a program is software work
    (f2,) = structural.classify([session([prompt], [write("course/lesson3.py", 300)])])
    assert f2.occupation == SOFTWARE_SOC


def test_weak_software_evidence_abstains(structural: OfflineBackend) -> None:
    # a file of unknown type and a single build command are no evidence of software work
    ev = session(["Please tidy up my notes file and check it still opens fine."],
                 [edit("notes.xyz"), sh("make")])
    (f,) = structural.classify([ev])
    assert f.occupation == NOT_INFERABLE
    # a changed source file is
    ev2 = session(["Please tidy up my notes script and check it still runs fine."],
                  [edit("notes.py"), sh("make")])
    (f2,) = structural.classify([ev2])
    assert f2.occupation == SOFTWARE_SOC


def test_a_language_the_embedder_cannot_read_is_classified_from_what_was_done(
    embedded: OfflineBackend, structural: OfflineBackend
) -> None:
    """USE-multilingual knows 16 languages, not Hindi: a Hindi request is mostly unknown tokens and its vector is
    noise that still lands next to some prototype (before: this test-writing session was called *write*). Such
    text is not embedded; the session is classified as without an embedder."""
    hi = "पार्सर मॉड्यूल के लिए यूनिट टेस्ट लिखो और एज केस कवर करो: खाली इनपुट, यूनिकोड और बहुत लंबी लाइनें।"
    acts = [read("src/parser.py"), write("tests/test_parser.py", 400), write("tests/test_parser_unicode.py", 200),
            sh("pytest tests", is_test=True, test_status="pass")]
    (f,) = embedded.classify([session([hi], acts)])
    (g,) = structural.classify([session([hi], acts)])
    assert f.mode == g.mode == "test"
    assert (f.occupation, f.expertise) == (g.occupation, g.expertise)
    from codecensus.classify.offline import EMB_MAX_UNKNOWN

    emb = embedded._emb
    assert emb is not None
    assert emb.unknown_share(hi) > EMB_MAX_UNKNOWN
    for text in ("Write unit tests for the parser module.", "为解析器模块编写单元测试。", "파서 모듈에 대한 단위 테스트를 작성해 줘.",
                 "اكتب اختبارات وحدة لوحدة المحلل.", "Напиши юнит-тесты для модуля парсера."):
        assert emb.unknown_share(text) <= EMB_MAX_UNKNOWN


# A request to deploy one's application with Docker (no action yet): software work (§5: 15) in every language the
# embedder reads. Before: es, de, pt, zh and ko scored under group 15's text-only threshold (not_inferable), and
# "implante a versão" (pt), "разверни последнюю версию" (ru) and a Dockerfile were no technical terms.
DEPLOY_REQUESTS = {
    "es": "Despliega mi aplicación web con Docker: construye la imagen, súbela al registro y arranca los contenedores "
          "en el servidor de producción con docker compose.",
    "de": "Stelle meine Webanwendung mit Docker bereit: baue das Image, lade es in die Registry hoch und starte die "
          "Container auf dem Produktionsserver mit docker compose.",
    "pt": "Implante minha aplicação web com Docker: construa a imagem, envie para o registro e inicie os contêineres "
          "no servidor de produção com docker compose.",
    "zh": "用 Docker 部署我的 Web 应用：构建镜像，推送到镜像仓库，然后在生产服务器上用 docker compose 启动容器。",
    "ko": "Docker로 내 웹 애플리케이션을 배포해 줘: 이미지를 빌드하고 레지스트리에 푸시한 다음 프로덕션 서버에서 docker "
          "compose로 컨테이너를 시작해.",
    "pt-live": "Nosso site precisa entrar no ar hoje: configure o nginx com o certificado SSL no servidor e implante a "
               "versão mais recente com Docker.",
    "ru-live": "Наш сайт должен заработать сегодня: настрой nginx с SSL-сертификатом на сервере и разверни последнюю "
               "версию через Docker.",
    "de-compose": "Packe unsere Flask-API in einen Container: schreib ein Dockerfile, füge eine docker-compose-Datei "
                  "mit Postgres hinzu und bring sie auf dem VPS zum Laufen, damit das Team sie nutzen kann.",
    "ar-compose": "ضع واجهة Flask البرمجية الخاصة بنا في حاوية: اكتب Dockerfile وأضف ملف docker-compose مع Postgres "
                  "وشغّلها على الخادم الافتراضي ليستخدمها الفريق.",
}
# ... and requests of no software work stay not_inferable (personal machines, press releases, dental implants)
NOT_SOFTWARE_REQUESTS = {
    "wifi-es": "El wifi de mi portátil se cae cada pocos minutos, ayúdame a arreglar la configuración de red en Ubuntu "
               "para que siga conectado.",
    "wifi-zh": "我的笔记本电脑的 wifi 每隔几分钟就断开，帮我修复 Ubuntu 上的网络设置，让它保持连接。",
    "mac-pt": "Instale o Python no meu Mac e configure o VS Code com as extensões de que preciso, continuo recebendo "
              "um erro de permissão no terminal.",
    "press-ko": "이번 주 신제품 보도자료를 작성해서 기자들에게 배포해 줘, 그리고 고객 뉴스레터 초안도 만들어 줘.",
    "dental-pt": "Escreva um texto para o site da clínica explicando como funciona o implante dentário e quanto tempo "
                 "leva a recuperação.",
}


@pytest.mark.parametrize("lang", sorted(DEPLOY_REQUESTS))
def test_a_deployment_request_is_software_work_in_every_language(embedded: OfflineBackend, lang: str) -> None:
    (f,) = embedded.classify([session([DEPLOY_REQUESTS[lang]])])
    assert f.occupation == SOFTWARE_SOC


@pytest.mark.parametrize("name", sorted(NOT_SOFTWARE_REQUESTS))
def test_requests_without_software_work_stay_not_inferable(embedded: OfflineBackend, name: str) -> None:
    (f,) = embedded.classify([session([NOT_SOFTWARE_REQUESTS[name]])])
    assert f.occupation == NOT_INFERABLE


# The same test-writing request in languages USE-multilingual was not trained on. Hebrew, Greek and Vietnamese are
# mostly *known* SentencePiece pieces (4-16 % unknown: under the old 25 % bound), so they were embedded and the noise
# vector decided the mode (before: he build, el write, vi fix, against the tests written and run).
UNTRAINED_SCRIPTS = {
    "hi": "पार्सर मॉड्यूल के लिए यूनिट टेस्ट लिखो और एज केस कवर करो: खाली इनपुट, यूनिकोड और बहुत लंबी लाइनें।",
    "bn": "পার্সার মডিউলের জন্য ইউনিট টেস্ট লেখো এবং এজ কেস কভার করো: খালি ইনপুট, ইউনিকোড এবং খুব লম্বা লাইন।",
    "ta": "பார்சர் தொகுதிக்கு யூனிட் சோதனைகளை எழுது, விளிம்பு நிலைகளை உள்ளடக்கு: வெற்று உள்ளீடு, மிக நீண்ட வரிகள்.",
    "he": "כתוב בדיקות יחידה למודול המפענח וכסה מקרי קצה: קלט ריק, יוניקוד ושורות ארוכות מאוד.",
    "el": "Γράψε δοκιμές μονάδας για τη μονάδα του αναλυτή και κάλυψε ακραίες περιπτώσεις: κενή είσοδο και πολύ "
          "μεγάλες γραμμές.",
    "vi": "Viết kiểm thử đơn vị cho mô-đun phân tích cú pháp và bao phủ các trường hợp biên: đầu vào rỗng và các "
          "dòng rất dài.",
}
TRAINED_LANGUAGES = {
    "th": "เขียนยูนิตเทสต์สำหรับโมดูลพาร์เซอร์ และครอบคลุมกรณีขอบ: อินพุตว่าง ยูนิโค้ด และบรรทัดที่ยาวมาก",
    "tr": "Ayrıştırıcı modülü için birim testleri yaz ve uç durumları kapsa: boş girdi, çok uzun satırlar.",
    "pl": "Napisz testy jednostkowe dla modułu parsera i uwzględnij przypadki brzegowe: puste wejście, długie linie.",
    "de": "Schreib Unit-Tests für das Parser-Modul und decke Randfälle ab: leere Eingabe, Umlaute äöüß.",
    "ja": "パーサーモジュールのユニットテストを書いて、空の入力と非常に長い行のエッジケースをカバーして。",
    "en-math": "Compute σ and μ for each column and plot the λ curve against the baseline in the notebook.",
    # short questions with a symbol: one word in three was 'foreign' (share 0.33), so the question went unread
    "en-symbol": "what is λ?",
    "en-symbol-latin": "Why is Δt negative here?",
}
TEST_WORK = [read("src/parser.py"), write("tests/test_parser.py", 400), write("tests/test_parser_edge.py", 200),
             sh("pytest tests", is_test=True, test_status="pass")]


@pytest.mark.parametrize("lang", sorted(UNTRAINED_SCRIPTS))
def test_text_in_a_script_the_embedder_never_learnt_is_not_embedded(
    embedded: OfflineBackend, structural: OfflineBackend, lang: str
) -> None:
    from codecensus.classify.llm import is_abstention
    from codecensus.classify.offline import EMB_MAX_UNKNOWN

    text = UNTRAINED_SCRIPTS[lang]
    assert embedded._emb is not None and embedded._emb.unknown_share(text) > EMB_MAX_UNKNOWN
    # with work done: classified from it, as without an embedder
    (f,) = embedded.classify([session([text], TEST_WORK)])
    (g,) = structural.classify([session([text], TEST_WORK)])
    assert f.mode == g.mode == "test"
    assert (f.occupation, f.expertise) == (g.occupation, g.expertise)
    # nothing done: nothing to read the request from, the explicit abstention (before: build, expertise 2)
    (a,) = embedded.classify([session([text])])
    assert is_abstention(a)


@pytest.mark.parametrize("lang", sorted(TRAINED_LANGUAGES))
def test_text_in_the_embedders_languages_is_embedded(embedded: OfflineBackend, lang: str) -> None:
    from codecensus.classify.llm import is_abstention
    from codecensus.classify.offline import EMB_MAX_UNKNOWN

    assert embedded._emb is not None and embedded._emb.unknown_share(TRAINED_LANGUAGES[lang]) <= EMB_MAX_UNKNOWN
    (a,) = embedded.classify([session([TRAINED_LANGUAGES[lang]])])
    assert not is_abstention(a)


def test_an_unreadable_later_prompt_alone_does_not_unread_the_session(embedded: OfflineBackend) -> None:
    """The request is read even when a later prompt is in a script the embedder never learnt (a closing thanks in
    Hindi): only that text is left out. Before, any unreadable text made the whole session unread, and a session
    with nothing done then abstained."""
    from codecensus.classify.llm import is_abstention

    en = "Write unit tests for the parser module and cover the edge cases: empty input and very long lines."
    (alone,) = embedded.classify([session([en])])
    (with_thanks,) = embedded.classify([session([en, "बहुत धन्यवाद"])])
    assert not is_abstention(with_thanks)
    assert with_thanks.mode == alone.mode
    assert with_thanks.occupation == alone.occupation
