"""Print pricing.csv rows for OpenAI and Google models from LiteLLM's price list; check the Anthropic rows.

    python scripts/pricing_from_litellm.py PATH/model_prices_and_context_window_backup.json
    python scripts/pricing_from_litellm.py PATH/model_prices_and_context_window_backup.json --check-anthropic

The JSON ships inside the ``litellm`` wheel (``pip download litellm==1.110.2 --no-deps``, then
``unzip -p litellm-*.whl litellm/model_prices_and_context_window_backup.json``; MIT licence). The list was made
from :data:`LITELLM` (the newest release on PyPI when it was made), whose JSON has sha256 :data:`JSON_SHA256`; another
file is read too, with a warning. Only chat models of the families coding agents use are printed (OpenAI
gpt-4o/4.1/5.x and o-series, Gemini 2.5 and 3.x), without dated snapshots (a pattern ``name%`` covers them) or
audio/image/search/tts variants, in USD per million tokens. A Gemini model is read from Google's API entry
(``gemini/…``), else from Vertex AI's (``gemini-3-pro-preview`` is listed only there). A model priced in tiers gets
its first long-context tier: the ``tier_tokens`` threshold of the ``*_above_<N>k_tokens`` prices, which apply to a
request whose input (input + cache read + cache creation tokens) exceeds it; a price the tier lacks is the base
price (as LiteLLM computes it). Experimental Gemini releases (``…-exp-…``: free of charge while they ran) get a
row of unknown price (empty prices) unless LiteLLM prices them, so the stable model's pattern does not price them.

``--check-anthropic``: the Anthropic rows of src/codecensus/data/pricing.csv are kept by hand; this prints where
they differ from LiteLLM's ``anthropic`` entries (tiers from its ``vertex_ai/`` entry of the model where the
``anthropic`` one has none). Review the printed rows before pasting them into the CSV.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from codecensus.prices import PriceRow, like_regex, read_price_list

LITELLM = "1.110.2"
JSON_SHA256 = "8943af58bf9f979c6a4bef815687117ffa341e462a41faed9be17b5c33d3dcc2"

_OPENAI = re.compile(r"(gpt-4o|gpt-4\.1|gpt-5(\.\d+)?|o1|o3|o4)(-[a-z0-9.]+)*")
_GEMINI = re.compile(r"(?:gemini/|vertex_ai/)?(gemini-(2\.5|3(\.\d)?)-[a-z0-9.-]+)")
_GOOGLE = {"gemini": 0, "vertex_ai-language-models": 1, "vertex_ai": 2}  # the first that lists a model
_SKIP = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|audio|realtime|search|transcribe|tts|image|computer-use|customtools")
_BASE = ("input_cost_per_token", "output_cost_per_token", "cache_creation_input_token_cost",
         "cache_read_input_token_cost")
_TIER = re.compile(r"input_cost_per_token_above_(\d+)k_tokens")
HEADER = "pattern,input,output,cache_write,cache_read,tier_tokens,input_tier,output_tier,cache_write_tier,cache_read_tier"


def _usd(x: object) -> str:
    return f"{float(x) * 1e6:.6g}" if isinstance(x, int | float) else "0"


def price(v: dict[str, object]) -> str:
    """The eight price columns and the tier threshold of one LiteLLM entry, as CSV text."""
    base = [v.get(k) for k in _BASE]
    tiers = sorted(int(m.group(1)) for k in v if (m := _TIER.fullmatch(k)))
    out = [_usd(x) for x in base]
    if tiers:
        n = tiers[0]
        out += [str(n * 1000)] + [_usd(v.get(f"{k}_above_{n}k_tokens", b)) for k, b in zip(_BASE, base, strict=True)]
    else:
        out += [""] * 5
    return ",".join(out)


def rows(data: dict[str, dict[str, object]]) -> list[str]:
    out: list[tuple[str, str]] = []  # (model, row): in the order of the models' names
    google: dict[str, tuple[int, dict[str, object]]] = {}
    for key, v in sorted(data.items()):
        if not isinstance(v, dict) or v.get("mode") not in ("chat", "responses") or _SKIP.search(key):
            continue
        if v.get("litellm_provider") == "openai" and _OPENAI.fullmatch(key):
            # gpt-… anywhere (openai/gpt-4o); an o-series name only at the start or after a provider's slash
            pats = [f"%{key}%"] if key.startswith("gpt-") else [f"{key}%", f"%/{key}%"]
            out.extend((key, f"{p},{price(v)}") for p in pats)
        elif (rank := _GOOGLE.get(str(v.get("litellm_provider")))) is not None and (m := _GEMINI.fullmatch(key)):
            name = m.group(1)
            if name not in google or rank < google[name][0]:
                google[name] = (rank, v)
    priced = {k for k, v in data.items() if isinstance(v, dict) and v.get("input_cost_per_token")}
    for name, (_rank, v) in google.items():
        out.append((f"gemini/{name}", f"%{name}%,{price(v)}"))  # gemini-2.5-pro, gemini/…, vertex_ai/…, google/…
        if not re.search(r"-exp|-preview", name) and not any(f"{name}-exp" in k for k in priced):
            out.append((f"gemini/{name}-exp", f"%{name}-exp%,,,,,,,,,"))  # its experimental release: price unknown
    return [r for _k, r in sorted(out)]


def check_anthropic(data: dict[str, dict[str, object]], csv_path: Path) -> list[str]:
    """Where the CSV's price of each Anthropic model (its most specific pattern) differs from LiteLLM's."""
    table = [(like_regex(r.pattern), r) for r in read_price_list(csv_path.read_text(encoding="utf-8"))]
    out = []
    for key, v in sorted(data.items()):
        if not isinstance(v, dict) or v.get("litellm_provider") != "anthropic" or v.get("mode") != "chat":
            continue
        if re.search(r"\d{8}", key):
            continue
        vx = data.get(f"vertex_ai/{key}")
        if (not any(_TIER.fullmatch(k) for k in v) and isinstance(vx, dict)
                and [vx.get(k) for k in _BASE] == [v.get(k) for k in _BASE]):
            v = {**vx, **v}  # the tier of Vertex AI's entry, at the same base price
        want = [float(x) if x else None for x in price(v).split(",")]
        best: PriceRow | None = None
        for rx, r in table:
            if rx.match(key) and (best is None or len(r.pattern) > len(best.pattern)):
                best = r
        if best is None:
            out.append(f"{key}: no row; LiteLLM {price(v)}")
            continue
        got = list(best[1:])
        if got != want:
            out.append(f"{key}: row {best.pattern} {','.join('' if x is None else f'{x:g}' for x in got)}; "
                       f"LiteLLM {price(v)}")
    return out


if __name__ == "__main__":
    raw = Path(sys.argv[1]).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != JSON_SHA256:
        print(f"warning: this JSON (sha256 {digest}) is not LiteLLM {LITELLM}'s: update LITELLM and JSON_SHA256",
              file=sys.stderr)
    prices = json.loads(raw)
    if "--check-anthropic" in sys.argv[2:]:
        print("\n".join(check_anthropic(prices, Path(__file__).parents[1] / "src/codecensus/data/pricing.csv")))
    else:
        print(f"# LiteLLM {LITELLM}, model_prices_and_context_window_backup.json sha256 {digest}")
        print(HEADER)
        print("\n".join(rows(prices)))
