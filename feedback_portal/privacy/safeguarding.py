"""Spot feedback that describes a live risk to a child.

The feedback portal is not the place to report a child at risk; when a comment reads like one, the
form should tell the submitter to act now (call the duty team, or 999).  This is a short,
conservative list of phrases, because ordinary CMS feedback talks about "risk assessments", "child
protection" and "missing episode forms" all the time:

    describes_live_risk("the risk assessment form won't save")            -> []
    describes_live_risk("YP says she is not safe tonight")                -> ["not safe tonight"]

Matching is case-insensitive on whole words, with light stemming (plurals, -ed, -ing: "threatening
to kill" matches "threatened to kill"; "self harming" matches "self-harm"), and "can't" / "cannot" /
"can not" treated alike.  A match is ignored when it names a CMS thing rather than a situation
("missing child episode form", "immediate risk assessment", "in danger of missing timescales"), or
when it is hypothetical or guidance ("children could be in danger if...", "if a child is in danger").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

__all__ = ["DEFAULT_PHRASES", "describes_live_risk"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


DEFAULT_PHRASES: tuple[str, ...] = (
    "at risk now",
    "at immediate risk",
    "immediate risk",
    "in immediate danger",
    "in danger",
    "not safe tonight",
    "not safe at home",
    "not safe to go home",
    "being hurt",
    "being abused",
    "being beaten",
    "disclosed abuse",
    "disclosed sexual abuse",
    "sexually abused",
    "missing child",
    "child is missing",
    "has gone missing",
    "can't find the child",
    "suicidal",
    "self-harm",
    "threatened to kill",
    "kill himself",
    "kill herself",
    "taken an overdose",
)

# A match followed by one of these names a thing in the CMS, not a situation.
_SYSTEM_NOUNS = _words("""form field tab template screen module report episode workflow option button section dropdown
category flag alert notification record page list data return tool assessment plan procedure protocol process
policy team log register meeting screening check checklist question box code type incident training course
panel tracker dashboard figure statistic stat guidance toolkit pathway referral""")
# One of these in the four words before a match makes it hypothetical or guidance.
_HYPOTHETICAL = _words("could might would may if potentially possibly whether")

_APOSTROPHES = re.compile(r"['’‘`]")
_TOKEN = re.compile(r"[a-z0-9]+")
_IRREGULAR = {
    "children": "child",
    "kids": "kid",
    "women": "woman",
    "men": "man",
    "knives": "knife",
    "cannot": "cant",
}


def _stem(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    n = len(word)
    if n > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if n > 5 and word.endswith("ing"):
        return _undouble(word[:-3])
    if n > 4 and word.endswith("ed"):
        return _undouble(word[:-2])
    if n > 4 and word.endswith("es"):
        return word[:-2]
    if n > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if n > 4 and word.endswith("e"):
        return word[:-1]
    return word


def _undouble(stem: str) -> str:
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
        return stem[:-1]
    return stem


def _raw_tokens(text: str) -> list[str]:
    text = _APOSTROPHES.sub("", text.lower())
    text = re.sub(r"\bcan\s+not\b", "cant", text)
    return _TOKEN.findall(text)


def _tokens(text: str) -> list[str]:
    return [_stem(t) for t in _raw_tokens(text)]


_SYSTEM_STEMS = frozenset(_stem(w) for w in _SYSTEM_NOUNS)


@lru_cache(maxsize=16)
def _compile(phrases: tuple[str, ...]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for phrase in phrases:
        stems = tuple(_tokens(phrase))
        if stems:
            index.setdefault(stems[0], []).append((phrase, stems))
    for entries in index.values():
        entries.sort(key=lambda e: -len(e[1]))
    return index


def describes_live_risk(text: str, phrases: Sequence[str] = DEFAULT_PHRASES) -> list[str]:
    """The configured phrases that ``text`` contains (each once, in the order first found)."""
    if not text:
        return []
    index = _compile(tuple(phrases))
    raw = _raw_tokens(text)
    toks = [_stem(t) for t in raw]
    found: list[str] = []
    for i, tok in enumerate(toks):
        for phrase, stems in index.get(tok, ()):
            end = i + len(stems)
            if tuple(toks[i:end]) != stems or phrase in found:
                continue
            if end < len(toks) and (
                toks[end] in _SYSTEM_STEMS
                or (toks[end] == "of" and end + 1 < len(raw) and raw[end + 1].endswith("ing"))
            ):
                continue  # "missing child episode form", "in danger of missing timescales"
            if any(t in _HYPOTHETICAL for t in toks[max(0, i - 4) : i]):
                continue  # "children could be in danger", "if a child is in danger"
            found.append(phrase)
    return found
