"""Sparse document vectors over the domain analysis, shared by ``similar`` and grouping.

A vector has two parts:

* ``words``: TF-IDF over concept tokens and Porter stems (sublinear tf, smoothed idf).  The original
  words inside a matched synonym phrase count at ``ORIGINAL_WEIGHT``.
* ``grams``: character 4-grams of the content words (typo robustness: "chronolgy" still shares
  most 4-grams with "chronology"), tf-idf weighted when document frequencies are known.

``cosine`` blends the two parts: ``(1 - GRAM_WEIGHT) * cos(words) + GRAM_WEIGHT * cos(grams)``.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .analysis import STOP_WORDS, analyse, iter_words

ORIGINAL_WEIGHT = 0.3  # words inside a matched synonym phrase (the concept token counts 1)
IDF_POWER = 0.5  # idf ** 0.5: short texts, so damp rare-word dominance (tuned on odd groups)
GRAM_WEIGHT = 0.2
GRAM_N = 4
MODULE_WEIGHT = 1.0  # weight of the pseudo-term "module=<slug>" (the submitter's own category)


@dataclass
class TermStats:
    doc_count: int
    df: Callable[[str], int]
    gram_df: Callable[[str], int] | None = None
    # idf of the terms and grams seen so far (one TermStats weighs many vectors over the same terms)
    _idf: dict[str, float] = field(default_factory=dict, repr=False, compare=False)
    _gram_idf: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def idf(self, term: str) -> float:
        got = self._idf.get(term)
        if got is None:
            got = self._idf[term] = math.log(1.0 + self.doc_count / (1.0 + self.df(term))) ** IDF_POWER
        return got

    def gram_idf(self, gram: str) -> float:
        if self.gram_df is None:
            return 1.0
        got = self._gram_idf.get(gram)
        if got is None:
            got = self._gram_idf[gram] = math.log(1.0 + self.doc_count / (1.0 + self.gram_df(gram)))
        return got


@dataclass
class Vec:
    words: dict[str, float] = field(default_factory=dict)
    grams: dict[str, float] = field(default_factory=dict)
    wnorm: float = 0.0
    gnorm: float = 0.0


def raw_terms(text: str, synonyms_name: str = "default", original_weight: float = ORIGINAL_WEIGHT) -> Counter:
    """Term -> (weighted) count."""
    tf: Counter = Counter()
    for t in analyse(text, synonyms_name, 1.0):
        if t.concept or t.group is None:
            tf[t.text] += 1.0
        elif original_weight > 0:
            tf[t.text] += original_weight
    return tf


def raw_grams(text: str, n: int = GRAM_N) -> Counter:
    """Character n-gram counts of the content words.  Recent texts are cached (the same documents
    come back as similar-item candidates again and again): treat the Counter as read-only."""
    if len(text) > 4000:
        return _raw_grams(text, n)
    return _raw_grams_cached(text, n)


@functools.lru_cache(maxsize=4096)
def _raw_grams_cached(text: str, n: int) -> Counter:
    return _raw_grams(text, n)


def _raw_grams(text: str, n: int) -> Counter:
    g: Counter = Counter()
    for w in iter_words(text):
        if len(w) < 3 or w in STOP_WORDS or w.isdigit():
            continue
        s = f"<{w}>"
        if len(s) <= n:
            g[s] += 1
        else:
            for i in range(len(s) - n + 1):
                g[s[i : i + n]] += 1
    return g


def weigh(tf: Counter, grams: Counter, stats: TermStats, module: str | None = None,
          module_weight: float = MODULE_WEIGHT) -> Vec:
    idf_of = stats._idf.get
    idf = stats.idf
    words = {t: (1.0 + math.log(c) if c >= 1 else c) * (idf_of(t) or idf(t)) for t, c in tf.items()}
    if module and module_weight > 0:
        words["module=" + module] = module_weight
    if stats.gram_df is None:
        gw = {g: (1.0 + math.log(c)) * 1.0 for g, c in grams.items()}
    else:
        gidf_of = stats._gram_idf.get
        gidf = stats.gram_idf
        gw = {g: (1.0 + math.log(c)) * (gidf_of(g) or gidf(g)) for g, c in grams.items()}
    return Vec(
        words,
        gw,
        math.sqrt(sum(v * v for v in words.values())),
        math.sqrt(sum(v * v for v in gw.values())),
    )


def doc_vector(text: str, stats: TermStats, synonyms_name: str = "default", module: str | None = None) -> Vec:
    return weigh(raw_terms(text, synonyms_name), raw_grams(text), stats, module)


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b[k] for k, v in a.items() if k in b)


def cosine(a: Vec, b: Vec, gram_weight: float = GRAM_WEIGHT) -> float:
    w = _dot(a.words, b.words) / (a.wnorm * b.wnorm) if a.wnorm and b.wnorm else 0.0
    if gram_weight <= 0:
        return w
    g = _dot(a.grams, b.grams) / (a.gnorm * b.gnorm) if a.gnorm and b.gnorm else 0.0
    return (1.0 - gram_weight) * w + gram_weight * g


def add_vectors(a: Vec, b: Vec, weight: float) -> Vec:
    """``a + weight * b`` with ``b`` rescaled to ``a``'s length (each part separately)."""
    words = dict(a.words)
    if b.wnorm:
        f = weight * a.wnorm / b.wnorm
        for k, v in b.words.items():
            words[k] = words.get(k, 0.0) + f * v
    grams = dict(a.grams)
    if b.gnorm:
        f = weight * (a.gnorm or 1.0) / b.gnorm
        for k, v in b.grams.items():
            grams[k] = grams.get(k, 0.0) + f * v
    return Vec(words, grams, math.sqrt(sum(v * v for v in words.values())),
               math.sqrt(sum(v * v for v in grams.values())))
