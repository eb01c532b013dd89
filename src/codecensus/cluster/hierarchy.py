"""Stage 4: a hierarchy over the base clusters.

Level sizes follow Clio's geometric rule ``n_l / n_(l-1) = (n_top / n_base)^(1/(L-1))``.

- Offline: Ward agglomerative clustering of the base-cluster centroids; cutting
  one dendrogram at every level's size gives properly nested levels.
- With an LLM: Clio's hierarchizer (App. G.7): embed each cluster's
  "name: description", group clusters into neighbourhoods of ~40 by k-means,
  let the model propose parent names per neighbourhood (also showing the
  nearest clusters outside it), deduplicate the proposals across
  neighbourhoods, assign every child to exactly one parent (parents shuffled
  against position bias), and finally rename each parent from its children.
"""

from __future__ import annotations

import difflib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from codecensus.cluster.kmeans import fit_kmeans
from codecensus.cluster.model import FloatArray, IntArray
from codecensus.cluster.naming import NAME_CRITERIA, Complete, clean_description, clean_name, tag

# --------------------------------------------------------------------------------------------------
# level sizes
# --------------------------------------------------------------------------------------------------


def default_top(n_base: int) -> int:
    """Top-level size: about sqrt(n_base), between 2 and 12 (Clio's UI showed ~10 top clusters)."""
    return int(min(12, max(2, round(math.sqrt(n_base)))))


def level_sizes(n_base: int, levels: int, top: int | None = None) -> list[int]:
    """Cluster count per level, leaves first, strictly decreasing (fewer levels if the data is small)."""
    if n_base <= 0:
        return []
    sizes = [n_base]
    if levels <= 1 or n_base <= 2:
        return sizes
    t = min(top or default_top(n_base), n_base - 1)
    t = max(1, t)
    ratio = (t / n_base) ** (1.0 / (levels - 1))
    for lv in range(1, levels):
        want = t if lv == levels - 1 else int(round(n_base * ratio**lv))
        want = max(t, min(want, sizes[-1] - 1))
        if want < 1 or want >= sizes[-1]:
            break
        sizes.append(want)
    return sizes


# --------------------------------------------------------------------------------------------------
# offline: agglomerative over centroids
# --------------------------------------------------------------------------------------------------


def agglomerative_parents(centroids: FloatArray, sizes: Sequence[int]) -> list[IntArray]:
    """Parents per level from one Ward dendrogram over the base centroids.

    Returns ``parents[l]`` (len ``sizes[l]``) mapping each node of level ``l`` to its parent
    index at level ``l+1``; parent indices are 0-based and arbitrary in order.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(centroids)
    if len(sizes) <= 1 or n < 2:
        return []
    z = linkage(centroids.astype(np.float64), method="ward")
    leaf_to: list[IntArray] = [np.arange(n, dtype=np.int64)]
    for m in sizes[1:]:
        lab = fcluster(z, t=m, criterion="maxclust").astype(np.int64) - 1
        _, lab = np.unique(lab, return_inverse=True)
        leaf_to.append(lab.astype(np.int64))
    parents = []
    for lv in range(len(sizes) - 1):
        child = leaf_to[lv]
        par = leaf_to[lv + 1]
        n_child = int(child.max()) + 1
        p = np.zeros(n_child, dtype=np.int64)
        p[child] = par
        parents.append(p)
    return parents


# --------------------------------------------------------------------------------------------------
# LLM: Clio's neighbourhood hierarchizer
# --------------------------------------------------------------------------------------------------

PROPOSE_PROMPT = """You are tasked with creating higher-level cluster names based on a given list of clusters and \
their descriptions. Your goal is to come up with broader categories that could encompass one or more of the \
provided clusters.

First, review the list of clusters and their descriptions:
<cluster_list>
{clusters}
</cluster_list>

For context, here are nearby clusters that are NOT in this list (do not create categories just for them):
<nearby_clusters>
{nearby}
</nearby_clusters>

Your task is to create roughly {desired} higher-level cluster names that could each include one or more of the \
provided clusters. They should represent broader categories or themes that emerge from the given clusters, \
while remaining as specific as possible. If many clusters share a specific theme, keep the higher-level name at \
that level of specificity. You may output more or fewer names if that captures the clusters better, but \
output at least {lo} and at most {hi} names, with {desired} as the target.

Guidelines:
1. Analyze the themes, topics or characteristics common to multiple clusters.
2. Create names specific enough to be meaningful but broad enough to cover several clusters; avoid vague \
terms such as "Miscellaneous" or "General programming".
3. Make the names distinct from one another.
4. Use clear, concise, descriptive language; assume neither good nor bad faith.
5. Never include names of people, companies, repositories, file paths or anything else that identifies a \
person or a small group.

The names must follow these requirements:
<criteria>{criteria}</criteria>

Think first in <scratchpad></scratchpad> tags, then give your list in this format:
<answer>
1. [first higher-level cluster name]
2. [second higher-level cluster name]
</answer>"""

DEDUPE_PROMPT = """You are tasked with deduplicating a list of cluster names into a smaller set of distinct \
cluster names. Your goal is to create approximately {desired} relatively distinct clusters that best represent \
the original list.

Here are the candidate names:
<cluster_names>
{names}
</cluster_names>

Guidelines:
1. Merge names that describe the same kind of work; keep names that are genuinely different.
2. Prefer the more specific of two similar names over a vague one.
3. Output at least {lo} and at most {hi} names, with {desired} as the target.
4. Never include names of people, companies, repositories, file paths or anything that identifies a person or a \
small group.

The names must follow these requirements:
<criteria>{criteria}</criteria>

Think first in <scratchpad></scratchpad> tags, then give your list in this format:
<answer>
1. [first cluster name]
2. [second cluster name]
</answer>"""

ASSIGN_PROMPT = """You are tasked with categorizing a specific cluster into one of the provided higher-level \
clusters. Your goal is to determine which higher-level cluster best fits the given specific cluster, based on its \
name and description.

First, carefully review the higher-level clusters:
<higher_level_clusters>
{parents}
</higher_level_clusters>

Now, here is the specific cluster to categorize:
<specific_cluster>
Name: {name}
Description: {description}
</specific_cluster>

Choose exactly one higher-level cluster, the one that best captures the main theme of the specific cluster. \
Think first in <scratchpad></scratchpad> tags, then answer with the name of the higher-level cluster exactly as \
written above:
<answer>[higher-level cluster name]</answer>"""

RENAME_PROMPT = """You are tasked with summarizing a group of related cluster names into a short, precise and \
accurate overall description and name. Your goal is a concise name that captures the essence of these clusters.

Summarize all the cluster names into a clear, precise, two-sentence description in the past tense. After the \
summary, generate a short name for the group, at most ten words long (perhaps less), specific but reflective of \
all the clusters. Never include names of people, companies, repositories, file paths or anything that identifies \
a person or a small group; assume neither good nor bad faith.

The name must follow these requirements:
<criteria>{criteria}</criteria>

Below are the related cluster names:
<answers>
{children}
</answers>

Present your output in the following format:
<summary> [your two-sentence summary] </summary>
<name> [your short name] </name>"""

_ITEM = re.compile(r"^\s*(?:\d+\s*[.):]|[-*•])\s*(.+?)\s*$")


def parse_list(text: str) -> list[str]:
    """Numbered/bulleted items inside <answer> (or the whole text when the tag is missing)."""
    body = tag(text, "answer") or text
    items = []
    for line in body.splitlines():
        m = _ITEM.match(line)
        if m:
            item = clean_name(m.group(1))
            if item and item.lower() not in {i.lower() for i in items}:
                items.append(item)
    return items


def match_name(answer: str, options: Sequence[str]) -> int | None:
    """Index of the option the answer names (exact, case-insensitive, contained, or fuzzy)."""
    a = clean_name(answer).lower()
    low = [o.lower() for o in options]
    if a in low:
        return low.index(a)
    contained = [i for i, o in enumerate(low) if o and (o in a or a in o)]
    if len(contained) == 1:
        return contained[0]
    close = difflib.get_close_matches(a, low, n=1, cutoff=0.6)
    return low.index(close[0]) if close else None


@dataclass(slots=True)
class LevelResult:
    parent_of: IntArray  # per child: parent index
    names: list[str]  # per parent
    descriptions: list[str]
    calls: int
    renamed: list[bool]  # per parent: the model's rename answer was usable (else a proposal name, no description)


def _bounds(desired: int) -> tuple[int, int]:
    return max(1, int(math.floor(0.5 * desired))), max(1, int(math.ceil(1.5 * desired)))


def llm_level(
    complete: Complete,
    names: Sequence[str],
    descriptions: Sequence[str],
    embed: Callable[[list[str]], np.ndarray],
    target: int,
    *,
    seed: int = 0,
    neighbourhood: int = 40,
    outside: int = 10,
    criteria: str = NAME_CRITERIA,
) -> LevelResult:
    """One level of Clio's hierarchizer: children (names, descriptions) → ~``target`` parents."""
    n = len(names)
    rng = random.Random(seed)
    calls = 0
    labels_txt = [f"{a}: {b}" if b else a for a, b in zip(names, descriptions, strict=True)]
    vecs = np.asarray(embed(labels_txt), dtype=np.float32)
    n_nb = max(1, round(n / neighbourhood))
    nb = fit_kmeans(vecs, None, n_nb, seed=seed, method="kmeans") if n_nb > 1 else None
    nb_labels = nb.labels if nb is not None else np.zeros(n, dtype=np.int64)
    candidates: list[str] = []
    for g in range(int(nb_labels.max()) + 1 if n else 0):
        members = np.flatnonzero(nb_labels == g)
        desired = max(1, round(target * len(members) / n))
        lo, hi = _bounds(desired)
        near: list[int] = []
        if nb is not None and outside > 0:
            out = np.flatnonzero(nb_labels != g)
            if len(out):
                sims = vecs[out] @ nb.centroids[g]
                near = out[np.argsort(-sims)[:outside]].tolist()
        prompt = PROPOSE_PROMPT.format(
            clusters="\n".join(f"<cluster>{labels_txt[i]}</cluster>" for i in members),
            nearby="\n".join(f"<cluster>{labels_txt[i]}</cluster>" for i in near) or "(none)",
            desired=desired,
            lo=lo,
            hi=hi,
            criteria=criteria,
        )
        calls += 1
        got = parse_list(complete(prompt))[:hi]
        if not got:  # unusable answer: keep the neighbourhood's own largest child names
            got = [names[i] for i in members[:desired]]
        for c in got:
            if c.lower() not in {x.lower() for x in candidates}:
                candidates.append(c)
    parents = candidates
    if n_nb > 1 or len(parents) > math.ceil(1.5 * target):
        lo, hi = _bounds(target)
        prompt = DEDUPE_PROMPT.format(
            names="\n".join(f"<cluster>{c}</cluster>" for c in candidates), desired=target, lo=lo, hi=hi,
            criteria=criteria,
        )
        calls += 1
        deduped = parse_list(complete(prompt))[:hi]
        if deduped:
            parents = deduped
    if not parents:
        parents = [names[0]] if n else []
    # assign each child to exactly one parent; the fallback compares children and parents embedded in one call
    # (a corpus-fitted embedder, the lexical tier, gives vectors comparable only within one call)
    joint = np.asarray(embed([*labels_txt, *parents]), dtype=np.float32)
    cvecs, pvecs = joint[:n], joint[n:]
    parent_of = np.zeros(n, dtype=np.int64)
    for i in range(n):
        order = list(range(len(parents)))
        rng.shuffle(order)
        prompt = ASSIGN_PROMPT.format(
            parents="\n".join(f"<cluster>{parents[j]}</cluster>" for j in order),
            name=names[i],
            description=descriptions[i] or "(none)",
        )
        calls += 1
        ans = tag(complete(prompt), "answer")
        j = match_name(ans, parents) if ans else None
        if j is None:  # fall back to the nearest parent by embedding
            j = int(np.argmax(pvecs @ cvecs[i]))
        parent_of[i] = j
    # drop parents that got no child; rename the others from their children
    used = sorted(set(parent_of.tolist()))
    remap = {old: new for new, old in enumerate(used)}
    parent_of = np.array([remap[int(p)] for p in parent_of], dtype=np.int64)
    out_names: list[str] = []
    out_desc: list[str] = []
    renamed: list[bool] = []
    for new, old in enumerate(used):
        kids = np.flatnonzero(parent_of == new)
        prompt = RENAME_PROMPT.format(
            criteria=criteria,
            children="\n".join(f"<answer>{labels_txt[i]}</answer>" for i in kids),
        )
        calls += 1
        ans = complete(prompt)
        nm, ds = tag(ans, "name"), tag(ans, "summary")
        nm = clean_name(nm) if nm else None
        if nm is not None and len(nm) < 3:  # '<name>""</name>' cleaned to nothing: as unusable as no name
            nm = None
        out_names.append(nm or parents[old])
        out_desc.append(clean_description(ds) if ds else "")
        renamed.append(nm is not None)
    return LevelResult(parent_of, out_names, out_desc, calls, renamed)
