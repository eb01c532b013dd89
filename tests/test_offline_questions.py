"""The question signal (understand bonus of the offline work mode) in the languages seen in real transcripts."""

from __future__ import annotations

import pytest

from codecensus.classify.text import prompt_signals


@pytest.mark.parametrize(
    "text",
    [
        "What does this function return",
        "Why does the build fail?",
        "Por qué falla el build",
        "Cómo funciona la autenticación en este proyecto",
        "Por que o deploy falha no servidor",
        "O que faz este script",
        "Pourquoi le serveur ne démarre pas",
        "Est-ce que ce module gère les erreurs",
        "Warum startet der Server nicht",
        "Wie funktioniert der Cache",
        "Perché il test fallisce",
        "Waarom faalt de build",
        "Dlaczego serwer się nie uruchamia",
        "Почему сервер не запускается",
        "Как работает этот модуль",
        "为什么构建失败",
        "这个函数怎么用",
        "这个配置是对的吗",
        "このエラーはなぜ起きるのですか",
        "このスクリプトは何をしますか",
        "빌드가 왜 실패하나요",
        "이 함수는 어떻게 작동하니",
    ],
)
def test_questions_in_many_languages(text: str) -> None:
    assert prompt_signals(text).question


@pytest.mark.parametrize(
    "text",
    [
        "Fix the login page and add a test.",
        "Comment out the debug logging in the server.",
        "Arregla el error del login.",
        "Corrija o erro na página de login.",
        "Corrige le bug du formulaire.",
        "Behebe den Fehler im Login.",
        "Исправь ошибку на странице входа.",
        "修复登录页面的错误。",
        "ログインページのバグを直して。",
        "로그인 페이지의 오류를 고쳐 줘.",
    ],
)
def test_requests_are_not_questions(text: str) -> None:
    assert not prompt_signals(text).question
