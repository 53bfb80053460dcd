"""Text analysis for feedback search and grouping.

The analyzer chain (a Whoosh analyzer, pickled into the index schema)::

    RegexTokenizer -> LowercaseFilter -> ConceptFilter -> DomainStopFilter -> DomainStemFilter

* ``ConceptFilter`` maps the domain's abbreviations, synonyms and multi-word phrases ("case note",
  "case notes", "CN", "casenote", "case recording") to ONE concept token (``casenote``).  Matching is
  greedy longest-match on *lightly* normalised words (lowercase, apostrophes and possessive 's
  removed, regular plural -s removed), so "case notes" and "CNs" match without listing plurals and
  without Porter's surprises ("recording" and "record" stem to the same thing; we don't want the
  child's *record* to become a case note).
  For a multi-word match the original words are kept as well (index: with a lower boost; queries:
  as a weaker alternative), so "visit" still finds "statutory visits".
* Stop words are English function words plus chat-style contractions (dont, cant, ive, ...).
  Concept tokens are never stopped or stemmed.
* Everything else is stemmed with Whoosh's Porter stemmer (``StemFilter``).

The synonym list is *data*: :data:`DEFAULT_SYNONYM_LINES` (one group per line, comma-separated,
the first entry names the concept) plus any extra lines an admin adds at runtime::

    syn = Synonyms.default().extend(["cn, case note, case recording", "ehcp, education health and care plan"])
    set_synonyms(syn)            # affects analysis immediately; rebuild the index so stored terms match

Because Whoosh pickles the analyzer into the index schema, the filter only stores the *name* of
the synonym set and looks it up in a process-wide registry (:func:`set_synonyms` /
:func:`get_synonyms`) every time it runs.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.analysis.filters import STOP_WORDS as WHOOSH_STOP_WORDS

# Words: letters/digits with internal apostrophes ("doesn't", "child's").  Underscore separates.
TOKEN_PATTERN = r"[^\W_]+(?:['\u2019][^\W_]+)*"
_TOKEN_RE = re.compile(TOKEN_PATTERN, re.UNICODE)
_UNIT_RE = re.compile(r"^(\d+(?:\.\d+)?)(mb|kb|gb|meg|megs|mbs)$")

# ---------------------------------------------------------------------------------------------
# Stop words: English function words, chat-style contractions (apostrophes are removed before the
# stop filter runs, so "don't" arrives as "dont") and politeness/filler words common in feedback.
# Deliberately NOT stopped: numbers, "old"/"new"/"wrong"/"missing"/"lost" (they carry meaning here).
# ---------------------------------------------------------------------------------------------
STOP_WORDS: frozenset[str] = frozenset(WHOOSH_STOP_WORDS) | frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each etc even ever every few
    for from further get gets getting got had has have having he her here hers herself him himself
    his how i if in into is it its itself just me more most my myself no nor not now of off on once
    only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was
    we were what when where which while who whom why will with would you your yours yourself
    yourselves let lets really still already quite rather much many one ones something anything
    everything nothing someone anyone everyone thing things way pls please thanks thank hi hello
    dont doesnt didnt cant couldnt wont wouldnt isnt arent wasnt werent havent hasnt hadnt shouldnt
    im ive id ill youre youve youd theyre theyve theyd weve were wed whats thats theres heres
    its lets aint s t d ll m re ve u ur
    """.split()
)


def light_norm(word: str) -> str:
    """Light normalisation used to match synonym phrases: lowercase, drop apostrophes and a
    possessive 's, and strip a regular plural -s (not -ss/-us/-is)."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.replace("'", "")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) >= 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


# light_norm / surface_norm of the words seen so far (a bounded vocabulary in practice; the caches
# are simply dropped if they ever grow past _NORM_CACHE_MAX words)
_LIGHT: dict[str, str] = {}
_SURFACE: dict[str, str] = {}
_NORM_CACHE_MAX = 200_000


def _light_cached(word: str) -> str:
    got = light_norm(word)
    if len(_LIGHT) >= _NORM_CACHE_MAX:
        _LIGHT.clear()
    _LIGHT[word] = got
    return got


def _surface_cached(word: str) -> str:
    got = surface_norm(word)
    if len(_SURFACE) >= _NORM_CACHE_MAX:
        _SURFACE.clear()
    _SURFACE[word] = got
    return got


def surface_norm(word: str) -> str:
    """What a non-concept token looks like before stop/stem: lowercase, no apostrophes or possessive."""
    w = word.lower().replace("\u2019", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return w.replace("'", "")


def concept_token(name: str) -> str:
    """The indexed token for a concept: its canonical name lowercased with non-alphanumerics removed."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


# ---------------------------------------------------------------------------------------------
# Default synonym groups.  One group per line: comma-separated variants, the first names the concept.
# Regular plurals (-s) match automatically; list other inflections explicitly.
# Scope: the CMS and UK children's social care vocabulary, plus general IT complaint vocabulary.
# ---------------------------------------------------------------------------------------------
DEFAULT_SYNONYM_LINES: tuple[str, ...] = tuple(
    line.strip()
    for line in """
# --- recording and case records
case note, case notes, casenote, cn, case recording, recording, recordings, write up, write-up, writeup, written up, writing up
chronology, chronologies, chron, chrono
significant event, significant events, key event, key events, significant incident
genogram, family tree, ecomap, eco-map
alias, aliases, aka, known as, also known as, previous name, previous names, former name, former names, birth name, maiden name, changed name, name change, deed poll
date of birth, dob, d.o.b, birth date
person record, person records, client record, person details
duplicate, duplicates, duplicated, duplication, dupe, dupes, duplicate record, duplicate records
merge, merging, merged, merges, combine records
legacy system, old system, previous system, old cms, legacy cms, old database, legacy
migration, migrate, migrated, migrating, data migration, not migrated, brought across, ported over
go live, go-live, golive, went live, since go live, cutover, cut over
# --- people and roles
social worker, sw, sws, social workers, allocated worker, allocated social worker, caseworker, case worker, worker, practitioner, qsw
team manager, tm, tms, manager, managers, line manager, practice manager, service manager, deputy team manager, dtm
business support, bs, bso, business support officer, admin team
system administrator, system admin, sysadmin, sys admin, it admin, system administrators
independent reviewing officer, iro, iros, reviewing officer, iro service
conference chair, cp chair, child protection chair, chair
personal adviser, pa, personal advisor, personal advisers, personal advisors, leaving care worker, lcw
young person, yp, yps, young people, ypp, young adult
child, children, kid, kids, cyp, childs
parent, parents, mum, mother, dad, father, mums, dads, birth parent, birth parents
sibling, siblings, sib, sibs, brother, sister, brothers, sisters, half sibling, half siblings, half-sibling, sibling group
foster carer, foster carers, foster parent, foster parents, carer, carers, foster family, foster home, fostering household, carer household, foster household, connected carer, kinship carer
adopter, adopters, adoptive parent, adoptive parents, prospective adopter, prospective adopters
police, police officer, police officers, detective
health visitor, hv
# --- services, teams, statuses
child protection, cp, child-protection
child in need, cin, children in need, s17, section 17, s 17
looked after child, lac, cla, cic, looked after children, looked-after child, looked-after children, child looked after, children looked after, child in care, children in care, looked after, looked-after, in care
into care, came into care, comes into care, coming into care, come into care, entering care, accommodated, section 20, s20
care leaver, care leavers, leaving care, care-leaver, care experienced, care-experienced, leaving care service
post 18, post-18, over 18, turned 18, turns 18, turning 18, 18th birthday, aged 18, age 18, at 18, eighteenth birthday
early help, eh, ehm, early help module, early help assessment, eha, ehs, early help service, targeted early help
multi agency safeguarding hub, mash, front door, multi-agency safeguarding hub
youth justice, yj, yjs, yot, yos, youth offending, youth offending team, youth offending service, youth justice service, youth justice worker
disabled children, disabled children's team, children with disabilities, cwd, cwdt, disability team, disabled child
unaccompanied asylum seeking child, uasc, unaccompanied, asylum seeking, unaccompanied children, asylum seeker
special guardianship order, sgo, sgos, special guardianship, special guardian, special guardians
local authority designated officer, lado, designated officer
adoption support fund, asf
staying put
step up, stepped up, stepping up, steps up, step-up, stepup
step down, stepped down, stepping down, steps down, step-down, stepdown
# --- statutory processes, meetings and documents
section 47, s47, s 47, s.47, s47 enquiry, section 47 enquiry, child protection enquiry, cp enquiry
strategy discussion, strategy discussions, strat discussion, strategy meeting, strat meeting, strategy, strat
initial child protection conference, icpc, initial cp conference, initial conference, initial case conference, initial conf, icpcs
review child protection conference, rcpc, review cp conference, review conference, cp review conference, review case conference, rcpcs, review conf, review conferences
conference, conf, case conference, cp conference, child protection conference
single assessment, c&f assessment, child and family assessment, cfa, c and f assessment, cafa
statutory visit, statutory visits, stat visit, stat visits, statutory visiting
seen alone, child seen alone, seen on own, seen on their own
return home interview, return home interviews, rhi, rhis
missing episode, missing episodes, missing from home, missing from care, mfh, went missing, goes missing, go missing
public law outline, plo, pre-proceedings, pre proceedings, preproceedings, letter before proceedings, lbp, letter before action, pre-proceedings letter, plo letter
care proceedings, court proceedings, proceedings
health assessment, health assessments, iha, ihas, rha, rhas, initial health assessment, review health assessment, lac medical, cla medical
pathway plan, pathway plans, pathway planning, pathway plan review
personal education plan, pep, peps
education health and care plan, ehcp, ehcps
subject access request, sar, sars, subject access, dsar, subject access requests
information governance, ig, data protection, gdpr, data breach
child permanence report, cpr, childs permanence report, permanence report
prospective adopter report, par, pars
family group conference, fgc, fgcs
domestic abuse, domestic violence, da, dv, dva
child sexual exploitation, cse
child criminal exploitation, cce, county lines
short break, short breaks, respite, overnight break, overnight breaks, respite care, overnight respite
direct payment, direct payments, dp, dps
mileage, travel claim, travel claims, travel expenses, mileage claim, mileage claims, expenses
payment, payments, paid, pay, allowance, allowances, fee, fees, carer payment, carer payments
kpi, kpis, performance indicator, performance indicators, performance figures, performance data, performance report, stats, statistics
caseload, caseloads, case load, case loads, case list, workload
restricted, restriction, restrictions, sealed, confidential, restricted record, restricted records, sealed record, sealed records
# --- CMS and general IT vocabulary
slow, slowness, sluggish, lag, lags, laggy, lagging, takes ages, take ages, taking ages, takes forever, taking forever, take forever, painfully slow, grinds to a halt, grinding to a halt, spinning wheel, spinning circle, freeze, freezes, freezing, frozen, froze, hangs, hanging, locks up, locking up, unresponsive, slows down, slow down
timeout, timeouts, time out, times out, timed out, timing out, time-out
logout, logouts, log out, logs out, logged out, logging out, logged off, log off, logs off, sign out, signs out, signed out, signing out, kicked out, kicks out, kicked me out, kicks me out, booted out, boots out, boots me out, booted me out, thrown out, threw me out, throws me out, logs me out, logged me out, signs me out, signed me out, session expired, session expiry, session expires, session timeout, session time out, auto logout, auto log out, automatic logout, inactivity logout, idle timeout, re-login, relogin, re-log in, re-logged in, log in again, sign in again, sign back in, log back in, logged back in, re-authenticate, reauthenticate, re-authentication, re-enter password
login, logins, log in, logging in, logged in, logon, log on, sign in, signing in, signed in, sign-in, signin, login screen, login page, sign in page, sign in screen, account, accounts, user account
two factor authentication, mfa, 2fa, two factor, two-factor, multi factor, multi-factor, authenticator, authenticator app, verification code, security code, one time code, otp, two factor code
unsaved, not saved, not saving, wont save, won't save, doesnt save, doesn't save, didnt save, didn't save, failed to save, without saving, unsaved changes, unsaved work
autosave, auto save, auto-save, autosaving, auto saving, autosaves, save as draft, save-as-draft, draft save, auto saved, autosaved
lost, lose, losing, loses, vanish, vanished, vanishes, vanishing, disappear, disappeared, disappears, disappearing, gone, wiped, discarded
upload, uploads, uploading, uploaded, attach, attaching, attached, attaches
document, documents, doc, docs, attachment, attachments, paperwork
file size, size limit, max size, maximum size, file size limit, too big, too large, large file, large files, big file, big files, entity too large, upload limit, upload size, files too big
megabyte, megabytes, mb, meg, megs, mbs
scan, scans, scanned, scanner, scanning, mfd, multifunction device
photo, photos, photograph, photographs, picture, pictures, image, images, pic, pics
mobile app, app, apps, tablet, tablets, ipad, ipads, phone app, mobile, smartphone, work phone, mobile device, handheld
offline, off-line, no signal, no reception, no wifi, no wi-fi, no internet, no connection, out of range, offline mode
sync, syncs, syncing, synced, synch, synchronise, synchronised, synchronisation, synchronize, synchronized, synchronization, pending sync, sync queue
spellcheck, spell check, spell checker, spellchecker, spell checking, spellchecking, spelling checker, spelling check, spell-check, spell-checker
paste, pasting, pasted, pastes, copy and paste, copy paste, copy-paste, copied and pasted, cut and paste
garbled, mojibake, strange symbols, odd symbols, weird symbols, weird characters, odd characters, strange characters, funny characters, garbage characters, garbled text, special characters, encoding, corrupted characters
truncate, truncated, truncates, truncating, cut off, cuts off, chopped off, cut short
spreadsheet, spreadsheets, excel, csv, xlsx, xls
pdf, pdfs, pdf version, pdf export
print, prints, printing, printed, printout, print out, print-out
export, exports, exporting, exported
crash, crashes, crashed, crashing, white screen, blank screen, error page
fail, fails, failed, failing, failure, failures, error, errors, erroring, errored, error message
broken, not working, doesnt work, doesn't work, dont work, don't work, wont work, won't work, isnt working, isn't working, stopped working
access denied, permission denied, no permission, do not have permission, dont have permission, don't have permission, no access, insufficient permissions, not permitted, not authorised to view, access restricted
permission, permissions, access rights, user rights, role profile, role profiles, security role
read only, read-only, readonly, view only, view-only, greyed out, grayed out, locked, locked down
approve, approves, approved, approving, approval, approvals, authorise, authorises, authorised, authorising, authorisation, authorize, authorized, authorization, sign off, signs off, signed off, signing off, sign-off, signoff
pending, awaiting, stuck, on hold
reallocate, reallocated, reallocation, reallocating, re-allocate, re-allocated, re-allocation, change of worker, change of allocated worker, change of social worker, new allocated worker
transfer, transfers, transferred, transferring, transfer in, transferred in, transferred over, transfer out, moved between teams, moved teams
notification, notifications, alert, alerts, notify, notifies, notified, alerted, email alert, email alerts, alert bell
email, emails, e-mail, e-mails, mail, inbox
spam, junk, junk mail, junk folder, spam folder, quarantine, quarantined
task, tasks, task list, work tray, worktray, to-do, to do list, todo
template, templates, proforma, pro forma, pro-forma
tick box, tickbox, tick-box, checkbox, check box, tickboxes, tick boxes
dropdown, dropdowns, drop down, drop-down, drop downs, picklist, pick list, drop down list, select list
pop up, pop-up, popup, pop ups, popups, pop-ups, modal, dialog box, dialogue box
browser, browsers, chrome, google chrome, edge, microsoft edge, firefox, internet explorer, ie, safari
calendar, calendars, diary, diaries, outlook calendar, appointments calendar
overdue, out of timescale, out of timescales, past due, over due, beyond timescale, late, running late, in breach
timescale, timescales, time scale, time scales, deadline, deadlines, due date, due dates, target date, time limit, time limits
working day, working days, business day, business days, weekday, weekdays, work day, work days
non working day, weekend, weekends, saturday, saturdays, sunday, sundays, bank holiday, bank holidays, bank hols, public holiday, public holidays
sort, sorts, sorted, sorting, sort order, out of order, jumbled, wrong order, reverse order, ordered by, in order of
user guide, user guides, guide, guides, guidance, quick guide, quick guides, manual, manuals, instructions, help pages, help guide, knowledge base, how-to guide, how to guides, crib sheet, crib sheets
training, e-learning, elearning, training video, training videos, training materials, training course, training session, training sessions
sandbox, training environment, training system, practice environment, test environment, test system, uat, training site, practice system, sandbox environment
service desk, it service desk, helpdesk, help desk, it helpdesk, it help desk, it support, servicedesk
screen reader, screen readers, jaws, nvda, assistive technology
"""
    .strip()
    .splitlines()
    if line.strip() and not line.strip().startswith("#")
)


class SynonymError(ValueError):
    """A synonym line an admin typed can't be used; the message is safe to show them."""


def _phrase_key(phrase: str) -> tuple[str, ...]:
    words: list[str] = []
    for m in _TOKEN_RE.finditer(phrase):
        w = m.group(0)
        u = _UNIT_RE.match(w.lower())
        if u:
            words.extend([u.group(1), light_norm(u.group(2))])
        else:
            words.append(light_norm(w))
    return tuple(w for w in words if w)


class Synonyms:
    """Groups of equivalent words/phrases, each normalised to one concept token.

    Build with :meth:`default`, :meth:`from_lines` or :meth:`from_text`; add admin lines with
    :meth:`extend` (returns a new object).  A line whose variants overlap existing groups is merged
    into them (so "cn, case note, case recording" extends the existing case-note concept).
    """

    def __init__(self, groups: Iterable[Iterable[str]] = ()):
        # union the groups that share a variant
        concept_names: list[str] = []
        members: list[list[str]] = []
        owner: dict[tuple[str, ...], int] = {}
        for group in groups:
            variants = [v.strip() for v in group if v and v.strip()]
            variants = [v for v in variants if _phrase_key(v)]
            if not variants:
                continue
            hits = sorted({owner[k] for k in (_phrase_key(v) for v in variants) if k in owner})
            if not hits:
                idx = len(members)
                concept_names.append(variants[0])
                members.append([])
            else:
                idx = hits[0]
                for other in hits[1:]:
                    for v in members[other]:
                        owner[_phrase_key(v)] = idx
                    members[idx].extend(members[other])
                    members[other] = []
            for v in variants:
                k = _phrase_key(v)
                if owner.get(k) != idx or v not in members[idx]:
                    owner[k] = idx
                    if v not in members[idx]:
                        members[idx].append(v)
        self._groups: list[tuple[str, tuple[str, ...]]] = [
            (concept_names[i], tuple(m)) for i, m in enumerate(members) if m
        ]
        self._trie: dict = {}
        self._concepts: dict[str, str] = {}
        self.max_words = 1
        for name, variants in self._groups:
            token = concept_token(name)
            self._concepts[token] = name
            for v in variants:
                key = _phrase_key(v)
                node = self._trie
                for w in key:
                    node = node.setdefault(w, {})
                node[None] = token
                self.max_words = max(self.max_words, len(key))
        digest = hashlib.sha1("\n".join(self.lines()).encode("utf-8")).hexdigest()
        self.fingerprint: str = digest[:16]

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def parse_line(line: str) -> list[str]:
        """Parse one admin line ("cn, case note, case recording").  Raises :class:`SynonymError`."""
        text = line.strip()
        if not text or text.startswith("#"):
            return []
        if ":" in text.split(",", 1)[0]:  # allow "concept: a, b, c"
            head, rest = text.split(":", 1)
            parts = [head] + rest.split(",")
        else:
            parts = text.split(",")
        variants = [p.strip() for p in parts if p.strip()]
        if len(variants) < 2 and len(_phrase_key(variants[0]) if variants else ()) < 2:
            raise SynonymError(
                f"“{text}” needs at least two words or phrases separated by commas "
                "(or one phrase of several words to treat as a single term)."
            )
        for v in variants:
            if not _phrase_key(v):
                raise SynonymError(f"“{v}” has no letters or numbers in it.")
            if len(v) > 80:
                raise SynonymError(f"“{v[:40]}…” is too long for a synonym (80 characters at most).")
        return variants

    @classmethod
    def from_lines(cls, lines: Iterable[str]) -> Synonyms:
        return cls(g for g in (cls.parse_line(line) for line in lines) if g)

    @classmethod
    def from_text(cls, text: str) -> Synonyms:
        return cls.from_lines(text.splitlines())

    @classmethod
    def default(cls) -> Synonyms:
        return cls.from_lines(DEFAULT_SYNONYM_LINES)

    def extend(self, lines: Iterable[str] | str) -> Synonyms:
        if isinstance(lines, str):
            lines = lines.splitlines()
        extra = [g for g in (self.parse_line(line) for line in lines) if g]
        return Synonyms([list(v) for _, v in self._groups] + extra)

    # -- inspection ---------------------------------------------------------------------------
    def lines(self) -> list[str]:
        """The groups as editable text lines (concept name first)."""
        return [", ".join([name, *[v for v in vs if v != name]]) for name, vs in self._groups]

    def concepts(self) -> dict[str, tuple[str, ...]]:
        """concept token -> variants."""
        return {concept_token(name): vs for name, vs in self._groups}

    def concept_of(self, phrase: str) -> str | None:
        """The concept token a whole phrase maps to, or None."""
        node = self._trie
        for w in _phrase_key(phrase):
            node = node.get(w)
            if node is None:
                return None
        return node.get(None)

    def is_concept(self, token: str) -> bool:
        return token in self._concepts

    def match(self, norms: list[str], i: int) -> tuple[int, str] | None:
        """Longest match starting at ``norms[i]``: (number of words, concept token) or None."""
        node = self._trie
        best = None
        j = i
        while j < len(norms):
            node = node.get(norms[j])
            if node is None:
                break
            j += 1
            if None in node:
                best = (j - i, node[None])
        return best

    def __len__(self) -> int:
        return len(self._groups)

    def __repr__(self) -> str:
        return f"<Synonyms {len(self)} groups {self.fingerprint}>"


_REGISTRY: dict[str, Synonyms] = {}
_REGISTRY_LOCK = threading.Lock()


def get_synonyms(name: str = "default") -> Synonyms:
    """The synonym set registered under ``name`` (the built-in defaults if none was set)."""
    syn = _REGISTRY.get(name)
    if syn is None:
        syn = _REGISTRY.get("__builtin__")
        if syn is None:
            with _REGISTRY_LOCK:
                syn = _REGISTRY.get("__builtin__")
                if syn is None:
                    syn = _REGISTRY["__builtin__"] = Synonyms.default()
    return syn


def set_synonyms(synonyms: Synonyms, name: str = "default") -> None:
    """Register the synonym set used by analyzers created with ``synonyms_name=name``.

    Query analysis uses it immediately; documents already indexed keep the concept tokens they were
    indexed with until the index is rebuilt (``SearchIndex.rebuild``)."""
    with _REGISTRY_LOCK:
        _REGISTRY[name] = synonyms


# ---------------------------------------------------------------------------------------------
# Whoosh filters
# ---------------------------------------------------------------------------------------------
class ConceptFilter(Filter):
    """Replace synonym phrases with concept tokens (see module docstring).

    Each yielded token carries ``concept`` (True for a concept token), ``group`` (an int shared by
    a concept token and the original words it covers, else None) and ``boost``.  Original words of
    a multi-word match are yielded after the concept token with ``boost = original_boost``.
    """

    is_morph = False

    def __init__(self, synonyms_name: str = "default", original_boost: float = 0.5):
        self.synonyms_name = synonyms_name
        self.original_boost = original_boost

    def __eq__(self, other):
        return (
            other is not None
            and self.__class__ is other.__class__
            and self.synonyms_name == other.synonyms_name
            and self.original_boost == other.original_boost
        )

    def __call__(self, tokens):
        syn = get_synonyms(self.synonyms_name)
        # Read the whole upstream stream first (a multi-word phrase needs look-ahead), keeping only
        # what we need; then yield ONE token object, updated for each output token, as Whoosh's own
        # tokenizers do (every consumer copies a token it wants to keep).  This is several times
        # faster than copying a Token per word.
        texts: list[str] = []
        spans: list[tuple[int, int, int]] = []  # (startchar, endchar, pos); -1 when not recorded
        tok = None
        chars = positions = False
        for t in tokens:
            if tok is None:
                tok = t
                chars = bool(getattr(t, "chars", False))
                positions = bool(getattr(t, "positions", False))
            text = t.text
            start = t.startchar if chars else -1
            pos = t.pos if positions else -1
            if text[:1].isdigit() and (u := _UNIT_RE.match(text)):  # "5mb" -> "5" "mb"
                num = u.group(1)
                texts.append(num)
                texts.append(u.group(2))
                if chars:
                    spans.append((start, start + len(num), pos))
                    spans.append((start + len(num), t.endchar, pos))
                else:
                    spans.append((-1, -1, pos))
                    spans.append((-1, -1, pos))
            else:
                texts.append(text)
                spans.append((start, t.endchar if chars else -1, pos))
        if tok is None:
            return
        boost = tok.boost  # the tokenizer gives every token the same boost
        original_boost = boost * self.original_boost
        norms = [_LIGHT.get(w) or _light_cached(w) for w in texts]
        n = len(texts)
        i = 0
        group_id = 0
        match = syn.match
        while i < n:
            m = match(norms, i) if norms[i] else None
            if m is None:
                text = _SURFACE.get(texts[i]) or _surface_cached(texts[i])
                if text:
                    tok.text = text
                    tok.concept = False
                    tok.group = None
                    tok.boost = boost
                    tok.stopped = False
                    start, end, pos = spans[i]
                    if chars:
                        tok.startchar = start
                        tok.endchar = end
                    if positions:
                        tok.pos = pos
                    yield tok
                i += 1
                continue
            length, ctoken = m
            start, _, pos = spans[i]
            tok.text = ctoken
            tok.concept = True
            tok.group = group_id
            tok.boost = boost
            tok.stopped = False
            if chars:
                tok.startchar = start
                tok.endchar = spans[i + length - 1][1]
            if positions:
                tok.pos = pos
            yield tok
            if length > 1:
                for j in range(i, i + length):
                    text = _SURFACE.get(texts[j]) or _surface_cached(texts[j])
                    if text:
                        tok.text = text
                        tok.concept = False
                        tok.group = group_id
                        tok.boost = original_boost
                        tok.stopped = False
                        start, end, pos = spans[j]
                        if chars:
                            tok.startchar = start
                            tok.endchar = end
                        if positions:
                            tok.pos = pos
                        yield tok
            group_id += 1
            i += length


class DomainStopFilter(Filter):
    """Stop filter that never removes concept tokens (and drops 1-character words)."""

    def __init__(self, stoplist: Iterable[str] = STOP_WORDS, minsize: int = 2):
        self.stops = frozenset(stoplist)
        self.min = minsize

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__ and self.stops == other.stops

    def __call__(self, tokens):
        stops = self.stops
        minsize = self.min
        for t in tokens:
            if getattr(t, "concept", False) or (len(t.text) >= minsize and t.text not in stops):
                yield t
            elif not t.removestops:
                t.stopped = True
                yield t


class DomainStemFilter(StemFilter):
    """Whoosh's Porter StemFilter, skipping concept tokens and stopped tokens."""

    def __call__(self, tokens):
        stemfn = self._stem
        ignore = self.ignore
        for t in tokens:
            if not t.stopped and not getattr(t, "concept", False) and t.text not in ignore:
                t.text = stemfn(t.text)
            yield t


def domain_analyzer(synonyms_name: str = "default", original_boost: float = 0.5):
    """The analyzer used for every free-text field (title, body, replies) and for queries."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | ConceptFilter(synonyms_name, original_boost)
        | DomainStopFilter()
        | DomainStemFilter()
    )


@dataclass(frozen=True, slots=True)
class AnalysedTerm:
    text: str  # the indexed form (concept token or stem)
    concept: bool  # a concept token
    group: int | None  # shared by a concept token and the original words it covers
    boost: float
    startchar: int
    endchar: int


_ANALYZERS: dict[tuple[str, float], object] = {}
ANALYSE_CACHE_SIZE = 4096  # recent texts whose analysis is kept (query words, top documents, candidates)
_CACHEABLE_CHARS = 4000


def analyse(text: str, synonyms_name: str = "default", original_boost: float = 0.5) -> list[AnalysedTerm]:
    """Run the domain analyzer over ``text`` and return the terms (stop words removed).

    Recent results are cached (the same documents come back as top results, similar-item candidates
    and pseudo-relevance feedback again and again); the cache is keyed by the synonym set in use, so
    an admin's change to the synonyms takes effect at once."""
    text = text or ""
    if len(text) > _CACHEABLE_CHARS:
        return list(_analyse(text, synonyms_name, original_boost))
    return list(_analyse_cached(text, synonyms_name, original_boost, get_synonyms(synonyms_name)))


def _analyse(text: str, synonyms_name: str, original_boost: float) -> tuple[AnalysedTerm, ...]:
    key = (synonyms_name, original_boost)
    an = _ANALYZERS.get(key)
    if an is None:
        an = _ANALYZERS.setdefault(key, domain_analyzer(synonyms_name, original_boost))
    return tuple(AnalysedTerm(t.text, bool(getattr(t, "concept", False)), getattr(t, "group", None),
                              float(t.boost), t.startchar, t.endchar)
                 for t in an(text, chars=True, positions=True, mode="query"))


@functools.lru_cache(maxsize=ANALYSE_CACHE_SIZE)
def _analyse_cached(text: str, synonyms_name: str, original_boost: float, synonyms: Synonyms) -> tuple[AnalysedTerm, ...]:
    # ``synonyms`` (compared by identity) is only part of the cache key: _analyse looks it up itself
    return _analyse(text, synonyms_name, original_boost)


def iter_words(text: str) -> Iterator[str]:
    """Raw lowercased word tokens (for character n-grams / spelling)."""
    for m in _TOKEN_RE.finditer(text or ""):
        yield surface_norm(m.group(0))
