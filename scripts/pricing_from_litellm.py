"""Print pricing.csv rows for OpenAI and Google models from LiteLLM's price list.

    python scripts/pricing_from_litellm.py PATH/model_prices_and_context_window_backup.json

The JSON ships inside the ``litellm`` wheel (``pip download litellm --no-deps``; MIT licence). Only chat models of
the families coding agents use are printed (OpenAI gpt-4o/4.1/5.x and o-series, Gemini 2.5 and 3.x), without dated
snapshots (a pattern ``name%`` covers them) or audio/image/search/tts variants, in USD per million tokens. A model
priced in tiers is printed at its price for prompts up to the first tier (200K tokens for Gemini Pro). Review the
rows before pasting them into src/codecensus/data/pricing.csv: the Anthropic rows there are kept by hand.
"""

from __future__ import annotations

import json
import re
import sys

_OPENAI = re.compile(r"(gpt-4o|gpt-4\.1|gpt-5(\.\d+)?|o1|o3|o4)(-[a-z0-9.]+)*")
_GEMINI = re.compile(r"gemini/(gemini-(2\.5|3(\.\d)?)-[a-z0-9.-]+)")
_SKIP = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}-\d{4}|audio|realtime|search|transcribe|tts|image|computer-use|customtools")


def _usd(v: dict[str, object], key: str) -> str:
    x = v.get(key)
    return f"{float(x) * 1e6:.6g}" if isinstance(x, int | float) else "0"


def rows(data: dict[str, dict[str, object]]) -> list[str]:
    out = []
    for key, v in sorted(data.items()):
        if not isinstance(v, dict) or v.get("mode") not in ("chat", "responses") or _SKIP.search(key):
            continue
        if v.get("litellm_provider") == "openai" and _OPENAI.fullmatch(key):
            # gpt-… anywhere (openai/gpt-4o); an o-series name only at the start or after a provider's slash
            pats = [f"%{key}%"] if key.startswith("gpt-") else [f"{key}%", f"%/{key}%"]
        elif v.get("litellm_provider") == "gemini" and (m := _GEMINI.fullmatch(key)):
            pats = [f"%{m.group(1)}%"]  # gemini-2.5-pro, gemini/…, models/…, vertex_ai/…
        else:
            continue
        price = ",".join(_usd(v, k) for k in ("input_cost_per_token", "output_cost_per_token",
                                               "cache_creation_input_token_cost", "cache_read_input_token_cost"))
        out.extend(f"{p},{price}" for p in pats)
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        print("\n".join(rows(json.load(fh))))
