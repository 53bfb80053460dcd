"""Find personal data in short free-text feedback, as the submitter types.

    detect(text, *, config=None) -> list[Span]       sorted, non-overlapping
    redact(text, spans) -> str                        each span replaced by a placeholder for its kind
    warning_message(spans) -> str | None              the inline warning for the most sensitive kind

Kinds (slugs): name, nhs-number, ni-number, postcode, address, phone, email, date-of-birth, case-id.

Everything here is rules and word lists: regular expressions for the structured kinds (with the NHS
mod-11 check and the National Insurance prefix rules), ``phonenumbers`` for phone numbers, and for
names a first-names list (``first_names.txt``), a surnames list (``surnames.txt``) and a list of
ordinary words (``common_words.txt``: English and CMS/social-care vocabulary, products, places) used
with context: relationship and role words ("mum Kelly", "the child Jayden"), titles ("Mrs Okafor"),
a first name followed by a surname-looking word, possessives and ages ("Jayden's mum", "Kayla (7)").
A first name that is also an ordinary word (Will, Grace, Rose, May, Amber...) needs that context;
one that is not (Jayden, Aisha) is flagged on its own.  False flags are expected now and then: the
submitter (or the officer) can dismiss them; missing a child's name is the worse mistake.

An admin can add case/person ID patterns, names and safeguarding phrases (``DetectorConfig``,
built from admin-edited text by ``DetectorConfig.from_text``; a bad line raises ``ConfigError``
naming the line).  ``detect`` is fast enough to run on every keystroke (well under 2 ms for a
100-word comment).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import phonenumbers
from phonenumbers import Leniency

__all__ = [
    "DEFAULT_CASE_ID_PATTERNS",
    "KINDS",
    "PLACEHOLDERS",
    "ConfigError",
    "DetectorConfig",
    "Span",
    "detect",
    "redact",
    "warning_message",
]


def _words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string (easier to read and edit than a list)."""
    return frozenset(text.split())


# ---------------------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------------------

KINDS: tuple[str, ...] = (
    "name",
    "date-of-birth",
    "address",
    "nhs-number",
    "case-id",
    "ni-number",
    "postcode",
    "phone",
    "email",
)
"""Every kind, most sensitive first (the order ``warning_message`` uses)."""

PLACEHOLDERS: dict[str, str] = {
    "name": "[name removed]",
    "nhs-number": "[NHS number removed]",
    "ni-number": "[NI number removed]",
    "postcode": "[postcode removed]",
    "address": "[address removed]",
    "phone": "[phone number removed]",
    "email": "[email removed]",
    "date-of-birth": "[date of birth removed]",
    "case-id": "[case ID removed]",
}

# When two candidate spans overlap, the more specific kind wins (then the longer span).
_SPECIFICITY: dict[str, int] = {
    "email": 90,
    "nhs-number": 85,
    "ni-number": 85,
    "case-id": 80,
    "date-of-birth": 70,
    "postcode": 60,
    "phone": 50,
    "address": 40,
    "name": 10,
}


@dataclass(frozen=True, slots=True)
class Span:
    """One piece of likely personal data: ``text[start:end] == span.text`` (Python str indices)."""

    kind: str
    start: int
    end: int
    text: str


class ConfigError(ValueError):
    """An admin-edited setting is unusable; the message names the setting and the line."""

    def __init__(self, message: str, *, setting: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.line = line


DEFAULT_CASE_ID_PATTERNS: tuple[str, ...] = (
    # CID 1234567, CID1234567, CID: 1234567, cid#1234567
    r"\bCID\s*[:#]?\s*\d{7,}\b",
    # case ID 1234567, person ID 1234567, child no. 1234567, Mosaic number 1234567, client ref 1234567
    r"\b(?:case|person|client|child|family|mosaic|lcs|eclipse|cms)[\s-]*(?:id|ref(?:erence)?|number|no\.?)\s*[:#]?\s*\d{7,}\b",
    # ID: 1234567, ID 1234567, PID 1234567
    r"\bP?ID\s*[:#]?\s*\d{7,}\b",
)

# A configured pattern that matches this is too broad: it would flag ordinary feedback.
_ORDINARY_FEEDBACK = (
    "The chronology won't save my case note after the update, and search is slow in the afternoon. "
    "Version 2.3.1 on 12/03/2026 at 14:30, ticket INC0012345, ext 4421, 5MB limit, S47 and CP1 forms."
)
_MAX_PATTERN_CHARS = 500
_MAX_PHRASE_CHARS = 120
_NAME_LINE_RE = re.compile(r"^[^\W\d_]+(?:['’\-][^\W\d_]+)*(?:\s+[^\W\d_]+(?:['’\-][^\W\d_]+)*)*$")


def _config_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped value) for each non-blank line not starting with '#'."""
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        value = raw.strip()
        if value and not value.startswith("#"):
            out.append((number, value))
    return out


def _compile_case_id_patterns(items: Iterable[tuple[int, str]]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for line, pattern in items:
        where = f"Case ID patterns, line {line}"
        if len(pattern) > _MAX_PATTERN_CHARS:
            raise ConfigError(
                f"{where}: the pattern is longer than {_MAX_PATTERN_CHARS} characters.",
                setting="case_id_patterns",
                line=line,
            )
        try:
            rx = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(
                f"{where}: {pattern!r} is not a valid regular expression ({exc.msg}).",
                setting="case_id_patterns",
                line=line,
            ) from None
        if rx.search("") is not None:
            raise ConfigError(
                f"{where}: {pattern!r} matches empty text, so it would flag everything.",
                setting="case_id_patterns",
                line=line,
            )
        if rx.search(_ORDINARY_FEEDBACK) is not None:
            raise ConfigError(
                f"{where}: {pattern!r} is too broad: it matches ordinary feedback "
                f"({rx.search(_ORDINARY_FEEDBACK).group(0)!r}).",  # type: ignore[union-attr]
                setting="case_id_patterns",
                line=line,
            )
        compiled.append(rx)
    return tuple(compiled)


def _check_names(items: Iterable[tuple[int, str]], setting: str, label: str) -> tuple[str, ...]:
    out = []
    for line, value in items:
        if not _NAME_LINE_RE.match(value):
            raise ConfigError(
                f"{label}, line {line}: {value!r} is not a name (letters, hyphens and apostrophes only).",
                setting=setting,
                line=line,
            )
        out.extend(value.split())
    return tuple(out)


def _check_phrases(items: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    out = []
    for line, value in items:
        if len(value) > _MAX_PHRASE_CHARS:
            raise ConfigError(
                f"Safeguarding phrases, line {line}: the phrase is longer than {_MAX_PHRASE_CHARS} characters.",
                setting="safeguarding_phrases",
                line=line,
            )
        if not re.search(r"[^\W\d_]", value):
            raise ConfigError(
                f"Safeguarding phrases, line {line}: {value!r} has no words in it.",
                setting="safeguarding_phrases",
                line=line,
            )
        out.append(value)
    return tuple(out)


@dataclass(frozen=True)
class DetectorConfig:
    """Admin settings on top of the built-in rules.

    case_id_patterns: extra regular expressions (matched case-insensitively) for CMS person/case IDs,
        in addition to ``DEFAULT_CASE_ID_PATTERNS``.  The whole match is flagged, or only the named
        group ``id`` when the pattern has one.
    extra_names: first names (or surnames) to treat as names even with no context, e.g. local names
        missing from the built-in list.
    safeguarding_phrases: extra live-risk phrases for ``safeguarding.describes_live_risk``
        (see ``all_safeguarding_phrases``).
    ignore_words: words never to flag as names on their own, e.g. a local team or project name that
        happens to be a first name ("Phoenix", "Hope").
    """

    case_id_patterns: tuple[str, ...] = ()
    extra_names: tuple[str, ...] = ()
    safeguarding_phrases: tuple[str, ...] = ()
    ignore_words: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("case_id_patterns", "extra_names", "safeguarding_phrases", "ignore_words"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"DetectorConfig.{name} must be a sequence of strings, not one string")
            object.__setattr__(self, name, tuple(value))
        numbered = list(enumerate(self.case_id_patterns, start=1))
        object.__setattr__(self, "_compiled", _compile_case_id_patterns(numbered))
        _check_names(enumerate(self.extra_names, start=1), "extra_names", "Extra names")
        _check_names(enumerate(self.ignore_words, start=1), "ignore_words", "Ignored words")
        _check_phrases(enumerate(self.safeguarding_phrases, start=1))

    @classmethod
    def from_text(
        cls,
        *,
        case_id_patterns: str = "",
        extra_names: str = "",
        safeguarding_phrases: str = "",
        ignore_words: str = "",
    ) -> DetectorConfig:
        """Build from admin-edited text: one item a line; blank lines and lines starting with # are skipped.

        Raises ``ConfigError`` naming the setting and the line (as the admin sees it) of the first bad item.
        """
        patterns = _config_lines(case_id_patterns)
        _compile_case_id_patterns(patterns)  # to report the admin's own line numbers
        names = _check_names(_config_lines(extra_names), "extra_names", "Extra names")
        ignored = _check_names(_config_lines(ignore_words), "ignore_words", "Ignored words")
        phrases = _check_phrases(_config_lines(safeguarding_phrases))
        return cls(
            case_id_patterns=tuple(p for _, p in patterns),
            extra_names=names,
            safeguarding_phrases=phrases,
            ignore_words=ignored,
        )

    @property
    def all_safeguarding_phrases(self) -> tuple[str, ...]:
        from feedback_portal.privacy.safeguarding import DEFAULT_PHRASES

        return DEFAULT_PHRASES + tuple(p for p in self.safeguarding_phrases if p not in DEFAULT_PHRASES)


_DEFAULT_CONFIG = DetectorConfig()
_SEVEN_DIGITS_RE = re.compile(r"\d{7}")
_DEFAULT_CASE_ID_RES = tuple(re.compile(p, re.IGNORECASE) for p in DEFAULT_CASE_ID_PATTERNS)

# ---------------------------------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------------------------------

_HERE = Path(__file__).resolve().parent


def _fold(word: str) -> str:
    """Lower-case, accents stripped, curly apostrophes straightened: the key words are looked up by."""
    word = word.replace("’", "'").replace("‘", "'")
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.lower().translate(_FOLD_EXTRA)


_FOLD_EXTRA = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"}
)


def _read_list(filename: str) -> frozenset[str]:
    words = set()
    for raw in (_HERE / filename).read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            words.update(_fold(w) for w in line.split())
    return frozenset(words)


_FIRST_NAMES = _read_list("first_names.txt")
_SURNAMES = _read_list("surnames.txt")
_COMMON = _read_list("common_words.txt")


class _Lexicon:
    __slots__ = ("common", "names", "surnames")

    def __init__(self, names: frozenset[str], common: frozenset[str], surnames: frozenset[str]) -> None:
        self.names = names
        self.common = common
        self.surnames = surnames

    def is_common(self, key: str) -> bool:
        """An ordinary word (or a plural / -ed / -ing form of one)."""
        common = self.common
        if key in common:
            return True
        n = len(key)
        if n >= 5:
            if key.endswith("s") and key[:-1] in common:
                return True
            if key.endswith("es") and key[:-2] in common:
                return True
            if key.endswith("ies") and key[:-3] + "y" in common:
                return True
            if key.endswith("ed") and (key[:-2] in common or key[:-1] in common):
                return True
            if n >= 6 and key.endswith("ing") and (key[:-3] in common or key[:-3] + "e" in common):
                return True
        if "-" in key:
            return all(part in common for part in key.split("-") if part)
        return False


@lru_cache(maxsize=32)
def _lexicon(extra_names: tuple[str, ...], ignore_words: tuple[str, ...]) -> _Lexicon:
    extra = frozenset(_fold(w) for w in extra_names)
    ignored = frozenset(_fold(w) for w in ignore_words)
    names = (_FIRST_NAMES | extra) - ignored
    common = (_COMMON - extra) | ignored
    surnames = (_SURNAMES | extra) - ignored
    return _Lexicon(names, common, surnames)


# ---------------------------------------------------------------------------------------------------
# Structured kinds
# ---------------------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+'-]{0,63})@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.[A-Za-z]{2,24}\b"
)

_NHS_RE = re.compile(r"(?<![\w+])(\d{3})[ \-]?(\d{3})[ \-]?(\d{4})(?![\w])(?!-\d)")


def nhs_check_digit_ok(digits: str) -> bool:
    """The NHS number mod-11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


_NI_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z])([A-Za-z])[ \-]?(\d{2})[ \-]?(\d{2})[ \-]?(\d{2})(?:[ \-]?([A-Da-d]))?(?![A-Za-z0-9])"
)
_NI_CUE_RE = re.compile(r"\b(?:NI|NINO|N\.I\.?|national\s+insurance)\b", re.IGNORECASE)
_NI_BAD_FIRST = frozenset("DFIQUV")
_NI_BAD_SECOND = frozenset("DFIOQUV")
_NI_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def ni_number_ok(candidate: str) -> bool:
    """A National Insurance number with a valid prefix, e.g. "AB 12 34 56 C" (suffix A-D)."""
    compact = re.sub(r"[\s\-]", "", candidate).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{6}[A-D]?", compact):
        return False
    first, second = compact[0], compact[1]
    return first not in _NI_BAD_FIRST and second not in _NI_BAD_SECOND and compact[:2] not in _NI_BAD_PREFIX


# Postcode areas (the letters at the start of a UK postcode).
_POSTCODE_AREAS = _words("""AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY
    E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS
    LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS
    ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE""")
# outward: A9, A99, A9A, AA9, AA99, AA9A; inward: 9AA without C I K M O V
_POSTCODE_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,2})(\d[A-Za-z\d]?) ?(\d)([ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})(?![A-Za-z0-9])"
)
_ORDINAL_RE = re.compile(r"\d(?:st|nd|rd|th)", re.IGNORECASE)


def _postcode_ok(m: re.Match[str]) -> bool:
    area, district = m.group(1), m.group(2)
    whole = m.group(0)
    letters = "".join(c for c in whole if c.isalpha())
    if not (letters.isupper() or letters.islower()):
        return False  # "S47 2nd": mixed case is not a postcode
    if area.upper() not in _POSTCODE_AREAS:
        return False
    if len(district) == 2 and district[1].isalpha() and area.upper() not in _AREAS_WITH_LETTER:
        return False
    # "s47 2nd visit": a lower-case "postcode" whose inward part is an ordinal
    return not (letters.islower() and _ORDINAL_RE.fullmatch(m.group(3) + m.group(4)))


# Only central London districts have a letter after the digit (EC1A, W1B, SW1A, NW1W, SE1P, WC2H ...).
_AREAS_WITH_LETTER = frozenset({"EC", "WC", "SW", "NW", "SE", "E", "N", "W"})

# Stretches of text that could hold a phone number: "+44 ...", "(020) ...", "07700 900123", "0161-496-0000".
_PHONE_CANDIDATE = re.compile(r"(?:\+[\s(]*\d|\(\s*0|(?<![\w.,/])0)[\d\s\-().]{8,22}\d")


def _find_phones(text: str) -> list[tuple[int, int]]:
    out = []
    # phonenumbers' matcher is the slow part of detect(): run it only on the candidate stretches
    for cand in _PHONE_CANDIDATE.finditer(text):
        if sum(c.isdigit() for c in cand.group(0)) < 9:
            continue
        lo, hi = max(0, cand.start() - 1), min(len(text), cand.end() + 1)
        window = text[lo:hi]
        for m in phonenumbers.PhoneNumberMatcher(window, "GB", leniency=Leniency.POSSIBLE):
            start, end, raw = lo + m.start, lo + m.end, m.raw_string
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "/."):
                continue  # inside a ticket number or a date
            if end < len(text) and text[end].isalnum():
                continue
            if not _phone_shape_ok(raw, m.number):
                continue
            out.append((start, end))
    return out


def _phone_shape_ok(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    """Valid numbers, plus UK-shaped ones the metadata calls invalid (e.g. Ofcom's 07700 900xxx drama range)."""
    digits = re.sub(r"\D", "", raw)
    stripped = raw.lstrip("( ")
    if phonenumbers.is_valid_number(number):
        return stripped.startswith(("0", "+")) and len(digits) >= 9
    if stripped.startswith(("+44", "0044")):
        national = digits[2:] if stripped.startswith("+") else digits[4:]
        return len(national) in (9, 10) and national[0] in "123578"
    if stripped.startswith("0") and not stripped.startswith("00"):
        return len(digits) in (10, 11) and digits[1] in "123578"
    return False


# ---------------------------------------------------------------------------------------------------
# Dates of birth
# ---------------------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_RES = (
    # 12/03/2015, 12.3.15, 12-03-2015
    re.compile(r"(?<![\w./\-])(\d{1,2})([./\-])(\d{1,2})\2(\d{4}|\d{2})(?![\w/\-]|\.\d)"),
    # 2015-03-12, 2015/03/12
    re.compile(r"(?<![\w./\-])((?:19|20)\d{2})([./\-])(\d{1,2})\2(\d{1,2})(?![\w/\-]|\.\d)"),
    # 12 March 2015, 12th of Mar 15, 12 March '15
    re.compile(
        rf"(?<![\w])(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTH}\b\.?,?\s+((?:19|20)\d{{2}}|'?\d{{2}})(?![\w])",
        re.IGNORECASE,
    ),
    # March 12, 2015 / March 12th 2015
    re.compile(
        rf"(?<![\w]){_MONTH}\b\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})(?![\w])", re.IGNORECASE
    ),
)
_DOB_CUE_RE = re.compile(
    r"\bd\.\s?o\.\s?b\b\.?|\bdobs?\b|\bdate\s+of\s+birth\b|\bbirth\s*dates?\b|\bbirthday\b|\bborn\b(?:\s+on\b)?",
    re.IGNORECASE,
)
_DOB_AFTER_RE = re.compile(r"\s*[(\[,\-–]?\s*(?:d\.\s?o\.\s?b\b|dob\b|date\s+of\s+birth\b)", re.IGNORECASE)
_SENTENCE_BREAK_RE = re.compile(r"[.!?](?:\s|$)|\n")
_DOB_GAP_BLOCKERS = _words(
    "before after since until till than between release live format accept accepts accepted earlier "
    "later prior default defaults"
)
_DOB_WINDOW = 40


def _date_ok(m: re.Match[str], index: int) -> bool:
    if index == 0:
        a, b = int(m.group(1)), int(m.group(3))
        return 1 <= a <= 31 and 1 <= b <= 31 and (a <= 12 or b <= 12)
    if index == 1:
        return 1 <= int(m.group(3)) <= 12 and 1 <= int(m.group(4)) <= 31
    return 1 <= int(m.group(1)) <= 31


def _find_dobs(text: str) -> list[tuple[int, int]]:
    cues = list(_DOB_CUE_RE.finditer(text))
    if not cues:
        return []
    cue_ends = [c.end() for c in cues]  # in order: finditer goes left to right
    dates = sorted(
        (m.start(), m.end())
        for index, rx in enumerate(_DATE_RES)
        for m in rx.finditer(text)
        if _date_ok(m, index)
    )
    out: list[tuple[int, int]] = []
    for start, end in dates:
        if _has_dob_context(text, start, end, cues, cue_ends) or (
            out and _follows_dob(text, out[-1][1], start)
        ):
            out.append((start, end))
    return out


def _follows_dob(text: str, previous_end: int, start: int) -> bool:
    """A date soon after a date of birth, in the same sentence, is the same person's (a corrected DOB)."""
    gap = text[previous_end:start]
    return 0 <= len(gap) <= _DOB_WINDOW and not _SENTENCE_BREAK_RE.search(gap)


def _has_dob_context(text: str, start: int, end: int, cues: list[re.Match[str]], cue_ends: list[int]) -> bool:
    """A DOB cue ("DOB", "born on", "date of birth") shortly before the date, or "(DOB)" right after it."""
    for cue in cues[bisect_left(cue_ends, start - _DOB_WINDOW) : bisect_right(cue_ends, start)]:
        gap = text[cue.end() : start]
        if _SENTENCE_BREAK_RE.search(gap):
            continue
        if not _DOB_GAP_BLOCKERS.isdisjoint(re.findall(r"[a-z\-]+", gap.lower())):
            continue  # "DOB field won't accept dates before 01/01/2000"
        return True
    return _DOB_AFTER_RE.match(text, end) is not None


# ---------------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------------

_STREET_SUFFIXES = (
    "Road|Rd|Street|St|Avenue|Ave|Close|Lane|Ln|Gardens|Gdns|Court|Ct|Way|Drive|Crescent|Cres|Place|Pl|"
    "Terrace|Grove|Estate|Square|Sq|Hill|Walk|Row|Park|Mews|Rise|View|Parade|Green|Vale|Wharf|Yard|Gate|"
    "Boulevard|Mansions|Heights|Path|Passage|Broadway|Circus|Quay|Villas|Cottages|Buildings"
)
_BUILDING_SUFFIXES = "House|Court|Tower|Lodge|Mansions|Point|Heights|Block|Buildings|Villas|Cottages"
_STREET_WORD = r"(?:[A-Z][a-z'’]+(?:-[A-Za-z][a-z'’]+)*|St\.?)"
# Cheap anchors first (a house number then a capital, or "flat 3"), then the full pattern at that spot.
_ADDRESS_ANCHOR_RE = re.compile(
    r"(?<![\w£$.,/:\-])\d{1,4}[A-Za-z]?(?:\s*-\s*\d{1,4})?,?\s+[A-Z]|(?<![\w])(?i:flat|apartment|apt)\b"
)
_ADDRESS_RE = re.compile(
    rf"""
    \d{{1,4}}[A-Za-z]?(?:\s*-\s*\d{{1,4}})?,?\s+                                # 22 / 22a / 22-24
    (?P<words>(?:{_STREET_WORD}\s+){{1,3}})                                   # Mill / Church Hill
    (?P<suffix>(?:{_STREET_SUFFIXES}|(?i:road|street|avenue|close|lane|gardens|court|way|drive|crescent|
        place|terrace|grove|estate|square|mews)))\b
    |
    (?i:flat|apartment|apt)\s*\d{{1,4}}[A-Za-z]?\s*,?\s+                      # flat 3, Acorn House
    (?P<bwords>(?:{_STREET_WORD}\s+){{1,3}})(?P<bsuffix>{_BUILDING_SUFFIXES})\b
    """,
    re.VERBOSE,
)
_FLAT_BEFORE_RE = re.compile(r"(?<![\w])(?i:flat|apartment|apt|unit)\s*\d{1,4}[A-Za-z]?\s*,?\s*$")
_COURT_NOT_STREET = _words(
    "family crown magistrates magistrates' county high youth supreme appeal appeals coroners coroner's "
    "district civil criminal tribunal"
)
_NOT_STREET_WORDS = _words("""working calendar business school review reviews conference conferences team teams plan plans visit
    visits week weeks day days month months hour hours minute minutes year years page pages case cases child
    children record records note notes form forms the a an and of for to in on at my our their his her your
    this that these those every each all some many more most few other new old first second third last next
    s47 cin cp cla ehm mash icpc rcpc lac step steps stage stages level levels version release
    hearing hearings order orders care foster sibling siblings""")
_NUMBER_PRECEDERS_RE = re.compile(
    r"(?:\b(?:stage|level|phase|tier|version|v|step|section|page|week|weeks|year|years|form|ward|room|floor|"
    r"no|number|s|item|items|top|about|over|under|than|around|approx|only|just|the|last|first|next|every)\s*)$",
    re.IGNORECASE,
)


def _find_addresses(text: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for anchor in _ADDRESS_ANCHOR_RE.finditer(text):
        m = _ADDRESS_RE.match(text, anchor.start())
        if m is None:
            continue
        building = m.group("words") is None
        words_group = m.group("bwords") if building else m.group("words")
        suffix = (m.group("bsuffix") if building else m.group("suffix")).lower()
        words = [w.lower() for w in words_group.split()]
        if any(w in _NOT_STREET_WORDS for w in words):
            continue
        if suffix in ("court", "ct") and words and words[-1] in _COURT_NOT_STREET:
            continue
        start = m.start()
        if not building:
            flat = _FLAT_BEFORE_RE.search(text, max(0, start - 24), start)
            if flat is not None:
                start = flat.start()  # flat 3, 22 Mill Lane
            elif _NUMBER_PRECEDERS_RE.search(text[max(0, start - 12) : start]):
                continue
        if out and start < out[-1][1]:
            continue
        out.append((start, m.end()))
    return out


# ---------------------------------------------------------------------------------------------------
# Names
#
# The rules, in the order _find_names tries them on each word:
#   1. a title, then a capitalised word (or an initial and a surname): Mrs Okafor, Mr J Smith
#   2. a relationship/role word, then a capitalised word that is a first name or not an ordinary word:
#      mum Kelly, the child Tremaine, YP (Kwame), Auntie Ngozi; (2b) a lower-case first name in a
#      sentence about a family or after "with"/"visited"...: "visited jayden and his nan"
#   3. a first name that is not an ordinary word, anywhere: Jayden, Aisha, Oluwaseun (+ surname)
#   4. a first name that is also a word (Grace, Will, Rose): only before a surname-looking word, with a
#      possessive + family/record word, an age, "family", in a sentence about a family, or standing alone
#      after "for"/"with"/"visited"
#   5. a capitalised word that is not an ordinary word: before a known surname or first name (Tremaine
#      Smith), with a possessive/age/"family" (Tremaine's mum, the Okonkwo family), or alone after a
#      person-verb ("visited Kealan")
#   6. coordination: a name, then "and"/","/"&", then a capitalised name-like word
# Never: a word after St/Queen/Royal..., or before School/Hospital/Centre/... (within three words),
# or before "line" (the Elizabeth line).
# ---------------------------------------------------------------------------------------------------

_TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Mstr", "mr", "mrs", "ms", "mx"})

# Relationship and role words: a capitalised word right after one of these is very likely a name.
_REL_WORDS = _words("""child children baby babies mum mom mam mummy mommy mother dad daddy father nan nana nanna nanny gran
    granny grandma grandmother grandad granddad grandpa grandfather grandparent grandparents brother brothers
    sister sisters son sons daughter daughters stepdad step-dad stepfather step-father stepmum step-mum
    stepmother step-mother stepson step-son stepdaughter step-daughter stepbrother step-brother stepsister
    step-sister half-brother half-sister aunt auntie aunty uncle cousin niece nephew twin twins sibling
    siblings boy boys girl girls lad toddler infant newborn teenager teen kid kids yp cyp carer carers
    guardian parent parents partner boyfriend girlfriend husband wife ex ex-partner""")
# Words that make a sentence "about a family": they let an ambiguous first name (Grace, Will) count.
_FAMILY_CONTEXT = _REL_WORDS | _words(
    "aged yo y/o year-old years-old born sibling siblings twins nursery toddler he she"
)
_FAMILY_CONTEXT = _FAMILY_CONTEXT - {"he", "she", "child", "children", "carer", "carers", "parent", "parents"}
# Things a person has: "Jayden's record", "Tremaine's school".
_POSSESSED = _REL_WORDS | _words("""record records file files case plan placement school nursery social worker sw chronology birthday dob
    address home house bedroom room gp teacher visit visits assessment review notes note referral details
    profile photo contact name surname needs ehcp pep iro pa solicitor health medical behaviour phone
    mobile foster injuries bruising allegation disclosure statement bedroom class college friends friend
    key keyworker case-notes casenotes attendance exclusion""")
# A first name right after one of these is a place or an institution: St Thomas', Queen Mary.
_SAINT_LIKE = _words(
    "st saint queen king prince princess lady lord sir dame duke royal mount port fort cape lake san santa sao "
    "great little upper lower north south east west old new"
)
# A first name just before one of these is part of a place/institution name: Evelina Hospital.
_INSTITUTION = _words("""school academy hospital centre center college university primary nursery house court lodge ward unit
    clinic trust foundation library park hall building road street avenue lane close drive way gardens place
    crescent terrace grove estate square station surgery practice medical children's infants junior
    secondary high church mosque temple gurdwara synagogue team service services project hub tower
    mansions village town city borough council partnership programme hospice dock docks wharf quay basin market
    bridge campus institute centres""")
_PARTICLES = _words("van von de del della der den di da du le la al el bin binti bint ben ibn ter abu")
_NOT_ON_OWN = _words(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday"
)
_FILLERS = frozenset({"called", "named", "aka", "nee", "née"})
# "the Okonkwo family", "the Rose children"; but not "the Kingsmead family hub"
_FAMILY_NOUNS = _words("family families household children siblings twins kids boys girls")
_FAMILY_NOT_PERSON = _words(
    "hub hubs centre centres center group groups conference conferences support service services network court "
    "team worker workers time therapy meeting meetings tree room rooms link links"
)
# An ambiguous first name (Grace, Ruby) standing alone after one of these is probably a person: "for Ruby".
_PERSON_PREPS = _words(
    "for with visited visiting visit saw see seeing seen met meet meeting told tell asked ask called call rang "
    "ring about and to from by"
)
# Verbs whose object is usually a person: "visited Kealan", "met Olasunmbo".
_PERSON_VERBS = _words(
    "visited visiting saw seeing met meeting told asked called rang phoned emailed texted supervised "
    "placed moved collected interviewed"
)
# ... but these are too often labels, seasons or ordinary capitalised words: "waiting for Amber to turn red".
_LABEL_WORDS = _NOT_ON_OWN | _words(
    "amber max mark will may summer autumn chance gift peace comfort bill frank rich sky storm river angel "
    "christian islam roma jan jun ed mo reg nat ken dev ion mate harsh nada nadir shade dupe veer grant "
    "pierce gruff basil jihad loan hong milan mali preston chelsea devon sunday prince princess duke"
)
# Lower-case first names that are also lower-case words: "jack of all trades", "nick a charger".
_LOWER_STOP = _words(
    "jack nick mason carter parker hunter taylor cole marina eden nova rosa austin madison rio bailey harper "
    "fletcher florence georgia jordan kerry lincoln sterling reece"
)
_LOWER_PLACE_WORDS = frozenset({"line"})  # the Elizabeth line, the Victoria line
# An unknown capitalised word followed by one of these is a place: "rang Kingsmead family hub".
_PLACE_NOUNS_AFTER = _words("health family office staff hub hubs council police borough area services")

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*['’]?")
_GAP_SPACES = re.compile(r"[ \t\u00a0]{1,3}")
_GAP_TITLE = re.compile(r"\.?[ \t\u00a0]{0,3}")
_GAP_REL = re.compile(r"[ \t\u00a0]*(?:[,:(\-–][ \t\u00a0]*)?")
_GAP_COORD = re.compile(r"[ \t\u00a0]*[,&][ \t\u00a0]*")
_AGE_AFTER = re.compile(
    r"""(?:['’]s)?[ \t]*(?:
        \([ \t]*(?:aged?[ \t]*)?\d{1,2}[ \t]*(?:yo|y/o|yrs?|years?(?:[ \t]old)?|months?|m)?[ \t]*\)
      | ,?[ \t]+aged?[ \t]+\d{1,2}\b
      | ,[ \t]*\d{1,2}[ \t]*(?:yo|y/o|yrs?|years?[ \t]old)?[ \t]*(?:,|\)|$)
      | ,?[ \t]*\d{1,2}[ \t]*(?:yo|y/o|yrs?[ \t]old|years?[ \t]old)\b
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_SENTENCE_START_CHARS = ".!?\n:;•"
_SKIP_BACK_CHARS = " \t\u00a0\"'‘’“”([*-–—>"


class _Tok:
    __slots__ = ("cap", "end", "full_end", "initial", "key", "poss", "sent", "start", "upper", "word")

    def __init__(
        self, start: int, end: int, full_end: int, word: str, poss: bool, initial: bool, sent: int
    ) -> None:
        self.start = start
        self.end = end
        self.full_end = full_end
        self.word = word
        self.key = _fold(word)
        self.poss = poss
        first = word[0]
        self.upper = word.isupper()
        self.cap = first.isupper() and not self.upper and len(word) >= 2
        self.initial = initial
        self.sent = sent


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    sent = 0
    prev_end = 0
    for m in _WORD_RE.finditer(text):
        start, full_end = m.span()
        word = m.group(0)
        poss = False
        if word.endswith(("'s", "’s")) and len(word) > 3:
            word, poss = word[:-2], True
        elif word.endswith(("'", "’")):
            word = word[:-1]
            poss = word.endswith(("s", "S"))
            if not word:
                continue
        gap = text[prev_end:start]
        # sentence-initial: only quotes, brackets, bullets and spaces since a full stop (or the start)
        tail = gap.rstrip(_SKIP_BACK_CHARS)
        if tail:
            initial = tail[-1] in _SENTENCE_START_CHARS
            if (initial or any(c in _SENTENCE_START_CHARS for c in tail)) and _breaks_sentence(gap):
                sent += 1
        else:
            initial = prev_end == 0
        toks.append(_Tok(start, start + len(word), full_end, word, poss, initial, sent))
        prev_end = full_end
    return toks


def _breaks_sentence(gap: str) -> bool:
    return "\n" in gap or ";" in gap or "•" in gap or _GAP_BREAK_RE.search(gap) is not None


_GAP_BREAK_RE = re.compile(r"[.!?:](?:\s|$)")


def _find_names(text: str, lex: _Lexicon) -> list[tuple[int, int]]:
    toks = _tokenize(text)
    n = len(toks)
    if not n:
        return []
    names, is_common, surnames = lex.names, lex.is_common, lex.surnames
    family_sents = {t.sent for t in toks if t.key in _FAMILY_CONTEXT}
    spans: dict[int, int] = {}  # first token index -> last token index

    def gap(i: int) -> str:
        return text[toks[i].full_end : toks[i + 1].start]

    def adjacent(i: int) -> bool:
        return i + 1 < n and not toks[i].poss and _GAP_SPACES.fullmatch(gap(i)) is not None

    def in_names(t: _Tok) -> bool:
        key = t.key
        if key in names:
            return True
        if "-" in key:  # Tommy-Lee, Ellie-May, Mary-Jane (every part capitalised)
            parts = t.word.split("-")
            return (
                all(p[:1].isupper() for p in parts)
                and _fold(parts[0]) in names
                and not is_common(_fold(parts[0]))
            )
        return False

    def surname_like(t: _Tok) -> bool:
        if t.cap:
            return not is_common(t.key) and t.key not in _INSTITUTION
        return t.upper and len(t.word) >= 3 and t.key in surnames and not is_common(t.key)

    def extend(j: int, limit: int = 2) -> int:
        """Grow a name over following surname-looking words (and particles: bin, van, al)."""
        count = 0
        while count < limit and adjacent(j):
            nxt = toks[j + 1]
            if surname_like(nxt):
                j += 1
                count += 1
                continue
            if nxt.key in _PARTICLES and not nxt.cap and adjacent(j + 1) and surname_like(toks[j + 2]):
                j += 2
                count += 1
                continue
            break
        return j

    def institution_follows(i: int) -> bool:
        """One of the next three words is School, Hospital, Centre...: Evelina Hospital, Henry Fawcett Children's Centre."""
        if toks[i].poss:
            return False  # "Tremaine's Children's Centre": Tremaine is still a name
        j = i
        for _ in range(3):
            if j + 1 >= n or _GAP_SPACES.fullmatch(gap(j)) is None:
                return False
            nxt = toks[j + 1]
            if (nxt.key in _INSTITUTION and (nxt.cap or nxt.upper)) or nxt.key in _LOWER_PLACE_WORDS:
                return True
            if not nxt.cap:
                return False
            j += 1
        return False

    def saint_before(i: int) -> bool:
        return (
            i > 0
            and toks[i - 1].key in _SAINT_LIKE
            and toks[i - 1].cap
            and _GAP_TITLE.fullmatch(gap(i - 1)) is not None
        )

    def age_follows(i: int) -> bool:
        return _AGE_AFTER.match(text, toks[i].end) is not None

    def possessed_follows(i: int) -> bool:
        return toks[i].poss and i + 1 < n and toks[i + 1].key in _POSSESSED

    def family_follows(i: int) -> bool:
        if not adjacent(i):
            return False
        nxt = toks[i + 1]
        if nxt.key not in _FAMILY_NOUNS or nxt.cap or nxt.upper:
            return False
        return not (adjacent(i + 1) and toks[i + 2].key in _FAMILY_NOT_PERSON)

    def isolated_after_prep(i: int) -> bool:
        """An ambiguous name standing alone mid-sentence after "for", "with", "visited"...: "for Ruby"."""
        if i == 0 or toks[i].initial or toks[i].key in _LABEL_WORDS:
            return False
        prev = toks[i - 1]
        if prev.key not in _PERSON_PREPS or prev.poss or not _GAP_SPACES.fullmatch(gap(i - 1)):
            return False
        return not (adjacent(i) and (toks[i + 1].cap or toks[i + 1].upper))

    def unknown_after_person_verb(i: int) -> bool:
        """A capitalised non-word standing alone after "visited", "saw", "met"... (or "for", "with", "to" in a
        sentence about a family) is probably a name: "visited Kealan", "the chronology for Olasunmbo and her mum"."""
        if i == 0 or toks[i].initial or len(toks[i].word) < 3:
            return False
        prev = toks[i - 1]
        if prev.poss or not _GAP_SPACES.fullmatch(gap(i - 1)):
            return False
        if prev.key not in _PERSON_VERBS and not (prev.key in _PERSON_PREPS and toks[i].sent in family_sents):
            return False
        if adjacent(i):
            nxt = toks[i + 1]
            if nxt.cap or nxt.upper or nxt.key in _INSTITUTION or nxt.key in _PLACE_NOUNS_AFTER:
                return False  # "rang Kingsmead family hub", "called Whittington health"
        return True

    def followed_by_number(i: int) -> bool:
        return re.match(r"[ \t]*\d", text[toks[i].full_end : toks[i].full_end + 4]) is not None

    def add(i: int, j: int) -> None:
        if spans.get(i, -1) < j:
            spans[i] = j

    for i, t in enumerate(toks):
        # 1. Titles: Mrs Okafor, Mr J Smith, Dr Patel
        if t.word in _TITLES and i + 1 < n and not t.poss and _GAP_TITLE.fullmatch(gap(i)):
            j = i + 1
            nxt = toks[j]
            initial_then_surname = len(nxt.word) == 1 and nxt.word.isupper() and j + 1 < n
            if (
                initial_then_surname
                and _GAP_TITLE.fullmatch(gap(j))
                and toks[j + 1].cap
                and not is_common(toks[j + 1].key)
            ):
                add(j, extend(j + 1))  # Mr J Smith
                continue
            if (nxt.cap and (in_names(nxt) or not is_common(nxt.key))) or (
                not nxt.cap
                and not nxt.upper
                and (nxt.key in surnames or in_names(nxt))
                and not is_common(nxt.key)
            ):
                add(j, extend(j))
                continue

        # 2. Relationship / role word then a name: mum Kelly, the child Jayden, YP (Tremaine), carer: Mrs ...
        rel = t.key in _REL_WORDS or (t.key == "person" and i > 0 and toks[i - 1].key == "young")
        if rel and not t.poss and i + 1 < n and _GAP_REL.fullmatch(gap(i)):
            j = i + 1
            if toks[j].key in _FILLERS and j + 1 < n and _GAP_REL.fullmatch(gap(j)):
                j += 1
            elif toks[j].key == "known" and j + 2 < n and toks[j + 1].key == "as":
                j += 2
            w = toks[j]
            if w.word in _TITLES:
                continue  # "foster carer Mrs Okoro": the title rule takes it
            rel_mid_cap = t.cap and not t.initial  # "... the Child Protection Plan": part of a title
            if w.cap and not followed_by_number(j) and not institution_follows(j):
                if in_names(w) or (not rel_mid_cap and not is_common(w.key)):
                    add(j, extend(j))
                    continue
            elif (
                not w.cap
                and not w.upper
                and not t.cap
                and in_names(w)
                and not is_common(w.key)
                and len(w.word) >= 3
            ):
                add(j, j)
                continue

        if not t.cap:
            # 2b. A lower-case first name in a clause about a family: "visited jayden and his nan"
            if (
                not t.upper
                and len(t.word) >= 4
                and t.key in names
                and t.key not in _LOWER_STOP
                and not is_common(t.key)
                and (
                    t.sent in family_sents
                    or (i > 0 and toks[i - 1].key in _PERSON_PREPS and not toks[i - 1].poss)
                )
            ):
                add(i, i)
            continue
        if saint_before(i):
            continue

        if in_names(t):
            common = is_common(t.key)
            if not common:
                # 3. A first name that is not also an ordinary word: Jayden, Aisha, Oluwaseun
                if not institution_follows(i):
                    add(i, extend(i))
                continue
            # 4. A first name that is also a word (Grace, Will, Amber): needs context
            if t.key in _NOT_ON_OWN and followed_by_number(i):
                continue
            if adjacent(i) and surname_like(toks[i + 1]) and not institution_follows(i):
                add(i, extend(i))
            elif possessed_follows(i) or age_follows(i) or family_follows(i):
                add(i, i)
            elif not t.initial and t.sent in family_sents and t.key not in _NOT_ON_OWN:
                add(i, extend(i))
            elif isolated_after_prep(i):
                add(i, i)
            continue

        # 5. A capitalised word that is not an ordinary word, with strong context
        if is_common(t.key) or t.key in _INSTITUTION:
            continue
        if (
            adjacent(i)
            and (toks[i + 1].key in surnames or in_names(toks[i + 1]))
            and surname_like(toks[i + 1])
        ):
            add(i, extend(i))  # Tremaine Smith, Donald Lucas
        elif possessed_follows(i) or age_follows(i) or family_follows(i):
            add(i, i)  # Tremaine's mum, Tremaine (7), the Okonkwo family
        elif (
            not t.initial
            and t.sent in family_sents
            and adjacent(i)
            and surname_like(toks[i + 1])
            and not institution_follows(i)
        ):
            add(i, extend(i))  # ... visited Zephaniah Okonkwo and her mum
        elif unknown_after_person_verb(i):
            add(i, i)  # visited Kealan today; the chronology for Olasunmbo (about a family)

    # 6. Coordination: "Jayden and Tremaine", "Jayden, Grace and Will", "Jayden & Kayla"
    def coordinated(j: int) -> int | None:
        """The token after "and" / "," / "&" following token j, if that is how the text goes on."""
        if j + 1 >= n:
            return None
        g = gap(j)
        if (
            toks[j + 1].key == "and"
            and _GAP_SPACES.fullmatch(g)
            and j + 2 < n
            and _GAP_SPACES.fullmatch(gap(j + 1))
        ):
            return j + 2
        if _GAP_COORD.fullmatch(g):
            if toks[j + 1].key == "and" and j + 2 < n and _GAP_SPACES.fullmatch(gap(j + 1)):
                return j + 2
            return j + 1
        return None

    pending = sorted(spans.items())
    while pending:
        _, j = pending.pop()
        k = coordinated(j)
        if k is None or any(a <= k <= b for a, b in spans.items()):
            continue
        y = toks[k]
        if not y.cap or y.key in _NOT_ON_OWN or saint_before(k) or institution_follows(k):
            continue
        if in_names(y) or not is_common(y.key):
            spans[k] = extend(k)
            pending.append((k, spans[k]))

    return [(toks[i].start, toks[j].end) for i, j in spans.items()]


# ---------------------------------------------------------------------------------------------------
# detect / redact / warning_message
# ---------------------------------------------------------------------------------------------------


def _find_case_ids(text: str, patterns: Sequence[re.Pattern[str]]) -> list[tuple[int, int]]:
    out = []
    for rx in patterns:
        for m in rx.finditer(text):
            if "id" in rx.groupindex and m.group("id") is not None:
                s, e = m.span("id")
            else:
                s, e = m.span()
            if e > s:
                out.append((s, e))
    return out


def _find_nhs(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _NHS_RE.finditer(text):
        if nhs_check_digit_ok(m.group(1) + m.group(2) + m.group(3)):
            out.append(m.span())
    return out


def _find_ni(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _NI_RE.finditer(text):
        letters = m.group(1) + m.group(2) + (m.group(6) or "")
        if not (letters.isupper() or letters.islower()):
            continue
        if not ni_number_ok(m.group(0)):
            continue
        if m.group(6) is None:
            # no suffix letter: only with "NI number" / "national insurance" just before
            before = text[max(0, m.start() - 40) : m.start()]
            if not _NI_CUE_RE.search(before):
                continue
        out.append(m.span())
    return out


def _find_postcodes(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _POSTCODE_RE.finditer(text) if _postcode_ok(m)]


def detect(text: str, *, config: DetectorConfig | None = None) -> list[Span]:
    """Likely personal data in ``text``: sorted, non-overlapping spans (the more specific kind wins)."""
    if not text:
        return []
    cfg = config or _DEFAULT_CONFIG
    found: list[tuple[str, int, int]] = []

    def add(kind: str, spans: Iterable[tuple[int, int]]) -> None:
        found.extend((kind, s, e) for s, e in spans)

    if "@" in text:
        add("email", ((m.start(), m.end()) for m in _EMAIL_RE.finditer(text)))
    has_digit = any(c.isdigit() for c in text)
    if has_digit:
        add("nhs-number", _find_nhs(text))
        add("ni-number", _find_ni(text))
        add("postcode", _find_postcodes(text))
        defaults = _DEFAULT_CASE_ID_RES if _SEVEN_DIGITS_RE.search(text) else ()
        add("case-id", _find_case_ids(text, defaults + cfg._compiled))
        add("date-of-birth", _find_dobs(text))
        add("phone", _find_phones(text))
        add("address", _find_addresses(text))
    add("name", _find_names(text, _lexicon(cfg.extra_names, cfg.ignore_words)))
    return _resolve(text, found)


def _resolve(text: str, found: list[tuple[str, int, int]]) -> list[Span]:
    """Keep the most specific (then longest) of overlapping candidates; return them in text order."""
    ordered = sorted(found, key=lambda f: (-_SPECIFICITY[f[0]], -(f[2] - f[1]), f[1]))
    starts: list[int] = []  # accepted spans, sorted by start; they never overlap each other
    ends: list[int] = []
    kinds: list[str] = []
    for kind, s, e in ordered:
        if e <= s:
            continue
        i = bisect_left(starts, s)
        if i < len(starts) and starts[i] < e:
            continue  # overlaps the next accepted span
        if i > 0 and ends[i - 1] > s:
            continue  # overlaps the previous one
        starts.insert(i, s)
        ends.insert(i, e)
        kinds.insert(i, kind)
    return [Span(kind, s, e, text[s:e]) for kind, s, e in zip(kinds, starts, ends)]


def redact(text: str, spans: Iterable[Span]) -> str:
    """``text`` with each span replaced by its kind's placeholder, e.g. "[name removed]".

    Raises ValueError for a span outside the text, one whose text no longer matches (the text changed
    since detection), an unknown kind, or spans that overlap.
    """
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    parts: list[str] = []
    pos = 0
    previous: Span | None = None
    for span in ordered:
        if span.kind not in PLACEHOLDERS:
            raise ValueError(f"Unknown kind {span.kind!r} (expected one of: {', '.join(PLACEHOLDERS)}).")
        if not (0 <= span.start < span.end <= len(text)):
            raise ValueError(
                f"Span {span.start}-{span.end} ({span.kind}) is outside the text, which is {len(text)} characters long."
            )
        if text[span.start : span.end] != span.text:
            raise ValueError(
                f"Span {span.start}-{span.end} ({span.kind}) says {span.text!r} but the text there is "
                f"{text[span.start : span.end]!r}: the text has changed since it was checked."
            )
        if previous is not None and span.start < previous.end:
            raise ValueError(
                f"Spans overlap: {previous.kind} {previous.start}-{previous.end} ({previous.text!r}) and "
                f"{span.kind} {span.start}-{span.end} ({span.text!r})."
            )
        parts.append(text[pos : span.start])
        parts.append(PLACEHOLDERS[span.kind])
        pos = span.end
        previous = span
    parts.append(text[pos:])
    return "".join(parts)


_WARNING_WHAT: dict[str, str] = {
    "name": "someone's name",
    "date-of-birth": "a date of birth",
    "address": "a home address",
    "nhs-number": "an NHS number",
    "case-id": "a CMS case or person ID",
    "ni-number": "a National Insurance number",
    "postcode": "a postcode",
    "phone": "a phone number",
    "email": "an email address",
}
_WARNING_ADVICE: dict[str, str] = {
    "case-id": "please describe the problem without the ID; if the support team need it, they will ask you",
}
_DEFAULT_ADVICE = "please describe the problem without identifying anyone"


def warning_message(spans: Sequence[Span]) -> str | None:
    """The plain-English inline warning for the most sensitive kind found, or None when nothing was found.

    e.g. 'This looks like someone's name ("Kayden Smith") — please describe the problem without
    identifying anyone.'
    """
    if not spans:
        return None
    rank = {kind: i for i, kind in enumerate(KINDS)}
    top = min(spans, key=lambda s: (rank.get(s.kind, len(KINDS)), s.start))
    shown = " ".join(top.text.split())
    if len(shown) > 40:
        shown = shown[:39].rstrip() + "…"
    what = _WARNING_WHAT.get(top.kind, "personal information")
    advice = _WARNING_ADVICE.get(top.kind, _DEFAULT_ADVICE)
    message = f'This looks like {what} ("{shown}") — {advice}.'
    others = len(spans) - 1
    if others == 1:
        message += " One other thing in your feedback may also identify someone."
    elif others > 1:
        message += f" {others} other things in your feedback may also identify someone."
    return message
