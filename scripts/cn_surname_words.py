"""Write src/codecensus/data/cn_surname_words.txt: common Chinese words whose first character is a listed surname.

    PYTHONPATH=src python scripts/cn_surname_words.py PATH/jieba/dict.txt PATH/opencc/data/dictionary \
        > src/codecensus/data/cn_surname_words.txt

``dict.txt`` ships inside jieba 0.42.1's sdist (``pip download --no-deps --no-binary :all: jieba==0.42.1``; MIT
licence). Kept: words of 2 or 3 characters (a one-character family name before a given name of 1 or 2, as a speaker
label writes them: 金 额:, 程 序员：) whose first character is one of names._CN_SURNAMES, counted at least
``MIN_COUNT`` times in jieba's corpus, and not tagged as a proper noun (nr person, ns place, nz other, nt
organisation: 高峰, 沈阳, 金华 stay possible names). Regenerate after changing _CN_SURNAMES.

jieba's dictionary is in simplified characters only. Each word is also written in traditional characters as OpenCC
writes it (``pip download --no-deps --no-binary :all: opencc==1.4.2``, its ``data/dictionary``; Apache-2.0): its
s2t conversion (the longest phrase of STPhrases.txt at each position, else a character's first spelling in
STCharacters.txt: 金额 -> 金額, 万余 -> 萬餘, not 萬余) and, where Taiwan's standard differs, its s2tw one
(TWVariants.txt after s2t: 着 -> 著, 裏 -> 裡). A traditional spelling is kept when its first character is a listed
surname too (钱包 -> 錢包; 于是 -> 於是 is no speaker label's family name) and it is no word already listed.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from codecensus.redact.names import _CN_SURNAMES

MIN_COUNT = 20
PROPER = ("nr", "ns", "nz", "nt")
LICENCE = """\
# The MIT License (MIT)
#
# Copyright (c) 2013 Sun Junyi
#
# Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
# documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
# rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
# permit persons to whom the Software is furnished to do so, subject to the following conditions:
#
# The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
# Software.
#
# THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
# WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
# COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
# OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""
OPENCC_LICENCE = """\
# OpenCC (Open Chinese Convert), Copyright Carbo Kuo (BYVoid) and the OpenCC contributors, is licensed under the
# Apache License, Version 2.0 (the "License"); you may not use its files except in compliance with the License. You may
# obtain a copy of the License at https://www.apache.org/licenses/LICENSE-2.0. Unless required by applicable law or
# agreed to in writing, software distributed under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES
# OR CONDITIONS OF ANY KIND, either express or implied. See the License for the specific language governing
# permissions and limitations under the License. (The traditional spellings below were made with its STPhrases.txt,
# STCharacters.txt and TWVariants.txt.)"""
OPENCC_FILES = ("STPhrases.txt", "STCharacters.txt", "TWVariants.txt")


def _table(path: Path) -> dict[str, str]:
    """An OpenCC dictionary file: each key's first value (its standard spelling)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, values = line.split("\t", 1)
            out.setdefault(key, values.split()[0])
    return out


def _s2t(word: str, phrases: dict[str, str], chars: dict[str, str]) -> str:
    """``word`` in traditional characters as OpenCC's s2t writes it: at each position the longest phrase of
    ``phrases`` that starts there, else the character's first spelling."""
    out: list[str] = []
    i = 0
    while i < len(word):
        for n in range(len(word) - i, 1, -1):
            if word[i : i + n] in phrases:
                out.append(phrases[word[i : i + n]])
                i += n
                break
        else:
            out.append(chars.get(word[i], word[i]))
            i += 1
    return "".join(out)


def main(jieba_dict: str, opencc_dir: str) -> None:
    raw = Path(jieba_dict).read_bytes()
    words = []
    for line in raw.decode("utf-8").splitlines():
        word, count, tag = line.split()
        if 2 <= len(word) <= 3 and word[0] in _CN_SURNAMES and int(count) >= MIN_COUNT and not tag.startswith(PROPER):
            words.append(word)
    paths = [Path(opencc_dir) / name for name in OPENCC_FILES]
    phrases, chars, tw = (_table(p) for p in paths)
    listed = set(words)
    traditional: list[str] = []
    for word in words:
        t = _s2t(word, phrases, chars)
        for spelling in (t, "".join(tw.get(c, c) for c in t)):
            if spelling[0] in _CN_SURNAMES and spelling not in listed:
                listed.add(spelling)
                traditional.append(spelling)
    sums = "".join(f"\n#   {p.name} {hashlib.sha256(p.read_bytes()).hexdigest()}" for p in paths)
    print(
        "# Common Chinese words of 2 or 3 characters whose first character is a common surname (金额, 高度, 方法, 程序员),\n"
        "# for codecensus.redact.names._speaker: written with a space after that character before a colon (金 额:)\n"
        "# they are no speaker's name. Made by scripts/cn_surname_words.py from jieba 0.42.1's dict.txt (PyPI sdist;\n"
        f"# sha256 {hashlib.sha256(raw).hexdigest()}): words counted {MIN_COUNT}+ times, no proper noun\n"
        f"# (nr/ns/nz/nt); then ({len(traditional)} words after the blank line) their traditional spellings as OpenCC\n"
        "# 1.4.2 writes them (s2t, and s2tw where it differs: 金額, 萬餘, 錢包), from its PyPI sdist's data/dictionary\n"
        f"# (sha256):{sums}\n"
        "# jieba's licence:\n#\n" + LICENCE + "\n#\n" + OPENCC_LICENCE
    )
    for group in (words, traditional):
        for i in range(0, len(group), 20):
            print(" ".join(group[i : i + 20]))
        if group is words:
            print()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
