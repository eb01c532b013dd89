"""Write src/codecensus/data/cn_surname_words.txt: common Chinese words whose first character is a listed surname.

    PYTHONPATH=src python scripts/cn_surname_words.py PATH/jieba/dict.txt > src/codecensus/data/cn_surname_words.txt

``dict.txt`` ships inside jieba 0.42.1's sdist (``pip download --no-deps --no-binary :all: jieba==0.42.1``; MIT
licence). Kept: words of 2 or 3 characters (a one-character family name before a given name of 1 or 2, as a speaker
label writes them: 金 额:, 程 序员：) whose first character is one of names._CN_SURNAMES, counted at least
``MIN_COUNT`` times in jieba's corpus, and not tagged as a proper noun (nr person, ns place, nz other, nt
organisation: 高峰, 沈阳, 金华 stay possible names). Regenerate after changing _CN_SURNAMES.
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


def main(path: str) -> None:
    raw = Path(path).read_bytes()
    words = []
    for line in raw.decode("utf-8").splitlines():
        word, count, tag = line.split()
        if 2 <= len(word) <= 3 and word[0] in _CN_SURNAMES and int(count) >= MIN_COUNT and not tag.startswith(PROPER):
            words.append(word)
    print(
        "# Common Chinese words of 2 or 3 characters whose first character is a common surname (金额, 高度, 方法, 程序员),\n"
        "# for codecensus.redact.names._speaker: written with a space after that character before a colon (金 额:)\n"
        "# they are no speaker's name. Made by scripts/cn_surname_words.py from jieba 0.42.1's dict.txt (PyPI sdist;\n"
        f"# sha256 {hashlib.sha256(raw).hexdigest()}): words counted {MIN_COUNT}+ times, no proper noun\n"
        "# (nr/ns/nz/nt). jieba's licence:\n#\n" + LICENCE
    )
    for i in range(0, len(words), 20):
        print(" ".join(words[i : i + 20]))


if __name__ == "__main__":
    main(sys.argv[1])
