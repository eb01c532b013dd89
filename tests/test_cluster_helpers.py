"""Shared fixtures of the cluster tests: a deterministic bag-of-words embedder and an LLM fake."""

from __future__ import annotations

import re
import zlib

import numpy as np

from codecensus.cluster.hierarchy import ASSIGN_PROMPT, DEDUPE_PROMPT, PROPOSE_PROMPT, RENAME_PROMPT
from codecensus.cluster.naming import NAME_PROMPT


class HashEmbedder:
    """Token hashing into 256 dims (no model): texts sharing words are close."""

    name = "hash-256"
    dim = 256

    def __init__(self) -> None:
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                if len(w) > 2:
                    out[i, zlib.crc32(w.encode()) % self.dim] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        n[n == 0] = 1.0
        return out / n


def _head(template: str) -> str:
    return template[:60]


class FakeLLM:
    """Answers each Clio prompt kind deterministically from the words it is shown.

    - naming: name = "Handle <most common capitalised word>", summary = two sentences;
    - propose: one parent per distinct first capitalised word of the listed clusters;
    - dedupe: returns the candidates unchanged;
    - assign: picks the parent sharing a word with the cluster name (else the first listed);
    - rename: "Group: <first child name>".
    ``garbage=True`` answers without any tags (tests the fallbacks).
    """

    def __init__(self, *, garbage: bool = False) -> None:
        self.garbage = garbage
        self.prompts: list[str] = []
        self.kinds: dict[str, int] = {}

    def _kind(self, prompt: str) -> str:
        for kind, tmpl in (("name", NAME_PROMPT), ("propose", PROPOSE_PROMPT), ("dedupe", DEDUPE_PROMPT),
                           ("assign", ASSIGN_PROMPT), ("rename", RENAME_PROMPT)):
            if prompt.startswith(_head(tmpl)):
                return kind
        return "other"

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        kind = self._kind(prompt)
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if self.garbage:
            return "I am not sure what you mean."
        if kind == "name":
            body = prompt.split("<answers>")[1].split("</answers>")[0]
            words = re.findall(r"\b[A-Z][a-zA-Z]+\b", body)
            words = [w for w in words if w not in {"Fix", "Build", "Write", "Explain", "Deploy", "Add", "Create",
                                                   "Repair", "Set", "Configure", "Implement", "Draft", "Answer",
                                                   "Explore", "Analyze", "Compute", "Summarize", "Test"}]
            top = max(set(words), key=lambda w: (words.count(w), w)) if words else "Things"
            return (f"<summary>Users worked on {top} projects. The agent helped with {top} code.</summary>\n"
                    f"<name>Handle {top} work</name>")
        if kind == "propose":
            body = prompt.split("<cluster_list>")[1].split("</cluster_list>")[0]
            names = re.findall(r"<cluster>(.*?)</cluster>", body)
            firsts = []
            for n in names:
                head = n.split(":")[0].split()
                w = head[1] if len(head) >= 2 else head[0]
                if w not in firsts:
                    firsts.append(w)
            return "<scratchpad>thinking</scratchpad>\n<answer>\n" + "\n".join(
                f"{i + 1}. {w} area" for i, w in enumerate(firsts)) + "\n</answer>"
        if kind == "dedupe":
            body = prompt.split("<cluster_names>")[1].split("</cluster_names>")[0]
            names = re.findall(r"<cluster>(.*?)</cluster>", body)
            return "<answer>\n" + "\n".join(f"{i + 1}. {n}" for i, n in enumerate(names)) + "\n</answer>"
        if kind == "assign":
            parents = re.findall(r"<cluster>(.*?)</cluster>", prompt.split("</higher_level_clusters>")[0])
            name = prompt.split("Name: ")[1].split("\n")[0]
            words = set(name.replace(":", " ").split())
            for p in parents:
                if set(p.split()) & words:
                    return f"<scratchpad>x</scratchpad><answer>{p}</answer>"
            return f"<answer>{parents[0]}</answer>"
        if kind == "rename":
            first = re.findall(r"<answer>(.*?)</answer>", prompt)[0].split(":")[0]
            return f"<summary>Grouped work. It covered {first}.</summary><name>Group: {first}</name>"
        return "<rating>5</rating>"
