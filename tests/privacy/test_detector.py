"""Unit tests for the personal-data detector, redaction, the inline warning, config and safeguarding phrases."""

from __future__ import annotations

import dataclasses
import itertools
import time

import pytest

from feedback_portal.privacy import (
    DEFAULT_PHRASES,
    KINDS,
    PLACEHOLDERS,
    ConfigError,
    DetectorConfig,
    Span,
    describes_live_risk,
    detect,
    redact,
    warning_message,
)
from feedback_portal.privacy.detector import DEFAULT_CASE_ID_PATTERNS, nhs_check_digit_ok, ni_number_ok
from tests.privacy.quality import load_items


def found(text: str, kind: str | None = None, config: DetectorConfig | None = None) -> list[str]:
    return [s.text for s in detect(text, config=config) if kind is None or s.kind == kind]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in detect(text)]


# --- Span and the shape of detect()'s answer ------------------------------------------------------


def test_span_is_a_frozen_dataclass():
    span = Span("name", 0, 6, "Jayden")
    assert dataclasses.is_dataclass(span)
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.start = 1  # type: ignore[misc]
    assert [f.name for f in dataclasses.fields(Span)] == ["kind", "start", "end", "text"]


def test_empty_and_clean_text():
    assert detect("") == []
    assert detect("The chronology won't save after the July release.") == []


def test_offsets_sorted_non_overlapping_on_every_labelled_snippet():
    for item in load_items():
        spans = detect(item.text)
        for span in spans:
            assert span.kind in KINDS
            assert item.text[span.start : span.end] == span.text, item.id
        for a, b in itertools.pairwise(spans):
            assert a.end <= b.start, (item.id, a, b)


def test_offsets_are_python_string_indices_with_non_ascii_text():
    text = "Zoë’s carer — Mrs Łukasiewicz — rang 07700 900461 😊 about Jayden’s plan"
    spans = detect(text)
    assert [(s.kind, s.text) for s in spans] == [
        ("name", "Zoë"),
        ("name", "Łukasiewicz"),
        ("phone", "07700 900461"),
        ("name", "Jayden"),
    ]
    for span in spans:
        assert text[span.start : span.end] == span.text


# --- NHS numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["943 476 5919", "943-476-5919", "9434765919", "401 023 2137", "485 777 3457"]
)
def test_nhs_number_formats(number):
    assert kinds(f"NHS no {number} won't save") == [("nhs-number", number)]


def test_nhs_check_digit():
    assert nhs_check_digit_ok("9434765919")
    assert not nhs_check_digit_ok("9434765918")  # wrong check digit
    assert not nhs_check_digit_ok("943476591")  # too short
    # remainder 1 gives check digit 10, which no valid number has
    assert not any(nhs_check_digit_ok(f"100000001{d}") for d in range(10))


def test_nhs_number_with_wrong_check_digit_is_not_flagged():
    assert found("NHS number 943 476 5918 is on the letter", "nhs-number") == []
    assert found("ticket 1234567890 still open") == []


def test_nhs_number_not_taken_from_longer_digit_runs():
    assert found("reference 94347659190 and INC9434765919") == []


def test_nhs_number_wins_over_phone():
    assert kinds("NHS 9434765919") == [("nhs-number", "9434765919")]


# --- National Insurance numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "nino", ["AB 12 34 56 C", "AB123456C", "ab 12 34 56 c", "JT 45 81 20 B", "CE-12-34-56-D"]
)
def test_ni_number_formats(nino):
    assert kinds(f"dad's NI {nino} is on the front sheet") == [("ni-number", nino)]


@pytest.mark.parametrize("first", list("DFIQUV"))
def test_ni_first_letter_rules(first):
    assert not ni_number_ok(f"{first}A123456C")
    assert found(f"number {first}A 12 34 56 C here", "ni-number") == []


@pytest.mark.parametrize("second", list("DFIOQUV"))
def test_ni_second_letter_rules(second):
    assert not ni_number_ok(f"A{second}123456C")


@pytest.mark.parametrize("prefix", ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"])
def test_ni_banned_prefixes(prefix):
    assert not ni_number_ok(f"{prefix}123456C")
    assert found(f"number {prefix} 12 34 56 C here", "ni-number") == []


def test_ni_suffix_must_be_a_to_d():
    assert ni_number_ok("AB123456D")
    assert found("code AB 12 34 56 E here", "ni-number") == []


def test_ni_guidance_example_qq_is_not_a_real_number():
    assert found("the guidance example QQ 12 34 56 C", "ni-number") == []


def test_ni_without_suffix_needs_context():
    assert found("national insurance number SH 55 92 71 missing its letter", "ni-number") == ["SH 55 92 71"]
    assert found("the figures SH 55 92 71 again", "ni-number") == []


def test_ni_mixed_case_is_not_flagged():
    assert found("code Ab 12 34 56 c here", "ni-number") == []


# --- Postcodes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "postcode",
    [
        "N1 9GU",
        "E8 2LN",
        "SE1 7PB",
        "SW1A 1AA",
        "W1B 3HH",
        "EC1A 1BB",
        "N16 8DR",
        "IG11 7QT",
        "M1 1AE",
        "B33 8TH",
    ],
)
def test_postcode_shapes(postcode):
    assert found(f"visit at {postcode} today", "postcode") == [postcode]


@pytest.mark.parametrize("postcode", ["SE17PB", "n16 8dr", "e5 0lh", "sw1a1aa"])
def test_postcode_without_space_or_in_lower_case(postcode):
    assert found(f"lookup fails for {postcode} again", "postcode") == [postcode]


@pytest.mark.parametrize(
    "text",
    [
        "the PLO letter",
        "S47 and CP1 forms",
        "the S47 2nd visit",
        "the s47 2nd visit",
        "CP1 2AB is not a postcode area",  # CP is not an area
        "SE1 7CI has a bad inward code",  # C and I never appear in the inward part
        "The SE1 office and the E17 office",
        "version V2 3AB",
        "Se1 7pb mixed case",
    ],
)
def test_postcode_look_alikes(text):
    assert found(text, "postcode") == []


# --- Addresses -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,address",
    [
        ("lives at 14 Acacia Avenue now", "14 Acacia Avenue"),
        ("moved to flat 3, 22 Mill Lane last week", "flat 3, 22 Mill Lane"),
        ("Flat 7, Beckett House is rejected", "Flat 7, Beckett House"),
        ("letter went to 61 Queen's Drive", "61 Queen's Drive"),
        ("at 15a Marlowe Road since May", "15a Marlowe Road"),
        ("at 3b Tennyson Court, Wandsworth", "3b Tennyson Court"),
    ],
)
def test_addresses(text, address):
    assert found(text, "address") == [address]


@pytest.mark.parametrize(
    "text",
    [
        "she has 2 Family Court hearings next week",
        "within 20 Working Days of the referral",
        "Stage 2 Review Court dates",
        "the office on Clove Crescent",  # no house number
        "took 2 days to close the case",
    ],
)
def test_address_look_alikes(text):
    assert found(text, "address") == []


# --- Phone numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "07700 900123",
        "+44 20 7946 0958",
        "020 7946 0958",
        "(020) 7946 0958",
        "0161 496 0732",
        "07700900314",
        "+447700900123",
        "07700-900-321",
    ],
)
def test_phone_numbers(number):
    assert kinds(f"rang on {number} yesterday") == [("phone", number)]


@pytest.mark.parametrize(
    "text",
    [
        "ext 4421",
        "INC0012345",
        "call 999 or 101",
        "14:30 - 16:30",
        "v2.3.1 build 20250312",
        "ticket 1234567890",
        "figures 2015 20 30",
        "on 12/03/2015",
    ],
)
def test_phone_look_alikes(text):
    assert found(text, "phone") == []


# --- Emails ----------------------------------------------------------------------------------------


def test_emails():
    assert found("sent to kelly.jones@gmail.com by mistake", "email") == ["kelly.jones@gmail.com"]
    assert found("j.okafor@stmarys-primary.sch.uk replied", "email") == ["j.okafor@stmarys-primary.sch.uk"]
    assert found("use @channel in Teams, or the @ symbol", "email") == []


def test_email_wins_over_a_name_inside_it():
    assert kinds("write to Kayden.Smith@example.org") == [("email", "Kayden.Smith@example.org")]


# --- Dates of birth --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,date",
    [
        ("DOB 12/03/2015 stored wrongly", "12/03/2015"),
        ("d.o.b 12.3.15 flips", "12.3.15"),
        ("D.O.B.: 2015-03-12 on the letter", "2015-03-12"),
        ("date of birth is 12 March 2015", "12 March 2015"),
        ("born on 4th May 2020, shows as 5", "4th May 2020"),
        ("aged 7, born 12/03/2017", "12/03/2017"),
        ("she was born 12 Sept 2008", "12 Sept 2008"),
        ("12/03/2015 (DOB) is wrong", "12/03/2015"),
    ],
)
def test_dates_of_birth(text, date):
    assert found(text, "date-of-birth") == [date]


@pytest.mark.parametrize(
    "text",
    [
        "Since the July release the figures are wrong",
        "since 02/03/2026 go-live nothing works",
        "Review due 12/06/2026 shows as overdue",
        "Typing 12/03 into a date field stores it as 3rd December. Happened to a child's DOB.",
        "The DOB field won't accept anything before 01/01/2000",
        "The DOB field defaults to 01/01/1900 for migrated records",
        "DOB search is slow. The 14/05/2026 release didn't help",
        "born 12 March",  # no year: not a full date of birth
    ],
)
def test_dates_without_birth_context(text):
    assert found(text, "date-of-birth") == []


def test_a_corrected_date_right_after_a_dob_is_a_dob_too():
    text = "DOB 12/03/2015 was stored as 03/12/2015"
    assert found(text, "date-of-birth") == ["12/03/2015", "03/12/2015"]


# --- Case IDs and admin patterns -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,cid",
    [
        ("see CID 1234567 please", "CID 1234567"),
        ("see CID1234567 please", "CID1234567"),
        ("case ID 7765019 closed", "case ID 7765019"),
        ("person ID 2098761 wrong", "person ID 2098761"),
        ("ID: 3318820 duplicates", "ID: 3318820"),
        ("child no. 6655443 unallocated", "child no. 6655443"),
    ],
)
def test_default_case_id_patterns(text, cid):
    assert kinds(text) == [("case-id", cid)]


@pytest.mark.parametrize(
    "text", ["ID 12345 only five digits", "the CID field", "INC0012345", "ID badge photos"]
)
def test_case_id_look_alikes(text):
    assert found(text, "case-id") == []


def test_configured_case_id_pattern_and_named_group():
    config = DetectorConfig.from_text(
        case_id_patterns="# LCS references\nLCS-\\d{6}\n\nref (?P<id>P\\d{8})\n"
    )
    assert config.case_id_patterns == (r"LCS-\d{6}", r"ref (?P<id>P\d{8})")
    assert found("see LCS-123456 and ref P12345678", "case-id", config) == ["LCS-123456", "P12345678"]
    assert found("see LCS-123456", "case-id") == []  # only with the config


def test_default_patterns_are_valid():
    DetectorConfig(case_id_patterns=DEFAULT_CASE_ID_PATTERNS)


# --- Names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,names",
    [
        ("Tried to record a visit for Kayden Smith (CID 4452981)", ["Kayden Smith"]),
        ("Visited Jayden and his mum at home", ["Jayden"]),
        ("mum Kelly rang twice", ["Kelly"]),
        ("the child Tremaine was not on the list", ["Tremaine"]),
        ("Mrs Okafor the foster carer", ["Okafor"]),
        ("Mr J Smith is the referrer", ["J Smith"]),
        ("Tremaine's school rang", ["Tremaine"]),
        ("Faith (12) wanted to see her file", ["Faith"]),
        ("Will's placement ended", ["Will"]),
        ("siblings Rose and Lily were split", ["Rose", "Lily"]),
        ("Spoke to Grace and her mum about the plan", ["Grace"]),
        ("Visited the Okonkwo family today", ["Okonkwo"]),
        ("Tommy-Lee's carer can't log in", ["Tommy-Lee"]),
        ("Stepdad Gary was added twice", ["Gary"]),
        ("YP (Kwame) asked why", ["Kwame"]),
        ("Dad, Mr Nowak, needs an interpreter", ["Nowak"]),
        ("recorded a visit to jayden and his nan", ["jayden"]),
        ("Aisha Begum's chronology is empty", ["Aisha Begum"]),
        ("Interpreter for Ahmed al Hassan booked", ["Ahmed al Hassan"]),
        ("Visited Jayden and Tremaine at home", ["Jayden", "Tremaine"]),  # coordination reaches unknown names
        ("Kayden, Tremaine and Olu were seen", ["Kayden", "Tremaine", "Olu"]),
        ("visited Kealan at his nan's", ["Kealan"]),  # not in the list: after a person-verb
        (
            "Initial health assessment for Ruby came back",
            ["Ruby"],
        ),  # ambiguous name standing alone after "for"
        ("Tremaine's Children's Centre key worker rang", ["Tremaine"]),
        ("Can't find Donald Lucas on person search", ["Donald Lucas"]),
    ],
)
def test_names(text, names):
    assert found(text, "name") == names


@pytest.mark.parametrize(
    "text",
    [
        "Will this be fixed before the next release?",
        "Grace period for the timeout is too short",
        "The count rose from 14 to 31 after the update",
        "Mark as significant doesn't carry through",
        "May release notes don't mention it",
        "Max file size isn't written anywhere",
        "Amber rating on the dashboard",
        "Chronology is useless for court. Search only matches the current surname.",
        "Export to Excel and Word fails, and Teams links don't open from Outlook",
        "Mosaic, Liquidlogic, LCS, EHM and AssetPlus all did this better",
        "MASH in Tower Hamlets sends referrals to the Front Door",
        "The Child Protection Conference template is missing the danger statement",
        "Parent Portal invitations never arrive",
        "The IRO, TM and SW all get the same notification",
        "Paediatric letters from St Thomas' hospital and Great Ormond Street",
        "Travelling on the Elizabeth line there's no signal",
        "Queen Elizabeth Hospital sent a letter",
        "Since Monday in April the Youth Justice Service can't log in",
        "Child A and Child B were recorded in the same note",  # anonymised, not names
        "and Mosaic crashed again",
        "rang Kingsmead family hub about the referral",
        "called Whittington health about the letter",
        "The Henry Fawcett Children's Centre isn't in the list",
        "Using the app at Royal Albert Dock office works fine",
        "The Florence Nightingale Hospice referral form is missing",
        "mum moved to Margate with the kids and the address lookup failed",
        "Waiting for Amber to turn green on the dashboard",
        "Visited May 2026 placements in one go",
    ],
)
def test_not_names(text):
    assert found(text, "name") == []


def test_extra_names_and_ignored_words():
    text = "Zephyrine was at the office and the Phoenix team helped."
    assert found(text, "name") == []
    config = DetectorConfig.from_text(extra_names="Zephyrine\n")
    assert found(text, "name", config) == ["Zephyrine"]
    assert found("Visited Jayden today", "name", DetectorConfig(ignore_words=("Jayden",))) == []


# --- Config errors ---------------------------------------------------------------------------------


def test_invalid_regex_is_rejected_naming_the_line():
    with pytest.raises(ConfigError) as info:
        DetectorConfig.from_text(case_id_patterns="# comment\nCID\\d{7}\n\nLCS-(\\d{6}\n")
    message = str(info.value)
    assert "line 4" in message and "not a valid regular expression" in message and "LCS-(" in message
    assert info.value.line == 4 and info.value.setting == "case_id_patterns"


def test_pattern_matching_empty_text_is_rejected():
    with pytest.raises(ConfigError, match="line 1.*matches empty text"):
        DetectorConfig.from_text(case_id_patterns="\\d*")


def test_pattern_matching_ordinary_feedback_is_rejected():
    with pytest.raises(ConfigError, match="line 2.*too broad"):
        DetectorConfig.from_text(case_id_patterns="CID\\d{7}\n\\w+")


def test_direct_construction_validates_too():
    with pytest.raises(ConfigError, match="line 2"):
        DetectorConfig(case_id_patterns=("CID\\d{7}", "[unclosed"))
    with pytest.raises(TypeError):
        DetectorConfig(case_id_patterns="CID\\d{7}")  # type: ignore[arg-type]


def test_bad_name_and_phrase_lines():
    with pytest.raises(ConfigError, match="Extra names, line 2"):
        DetectorConfig.from_text(extra_names="Zephyrine\nJ4yden\n")
    with pytest.raises(ConfigError, match="Safeguarding phrases, line 1"):
        DetectorConfig.from_text(safeguarding_phrases="1234\n")


def test_config_safeguarding_phrases_extend_the_defaults():
    config = DetectorConfig.from_text(safeguarding_phrases="locked in his room\n# note\n")
    assert config.all_safeguarding_phrases == DEFAULT_PHRASES + ("locked in his room",)
    assert describes_live_risk("he is locked in his room", config.all_safeguarding_phrases) == [
        "locked in his room"
    ]


# --- redact() --------------------------------------------------------------------------------------


def test_redact_replaces_each_span_with_its_placeholder():
    text = "Visited Jayden at 14 Acacia Avenue, SE1 7PB, DOB 12/03/2015, CID 4452981, mum on 07700 900123"
    redacted = redact(text, detect(text))
    assert redacted == (
        "Visited [name removed] at [address removed], [postcode removed], DOB [date of birth removed], "
        "[case ID removed], mum on [phone number removed]"
    )


def test_every_kind_has_a_placeholder():
    assert set(PLACEHOLDERS) == set(KINDS)
    assert PLACEHOLDERS["nhs-number"] == "[NHS number removed]"
    assert PLACEHOLDERS["ni-number"] == "[NI number removed]"
    assert PLACEHOLDERS["email"] == "[email removed]"


def test_redact_nothing_and_any_order():
    text = "Kayden and Kayla"
    assert redact(text, []) == text
    spans = detect(text)
    assert redact(text, list(reversed(spans))) == "[name removed] and [name removed]"


def test_redact_refuses_spans_outside_the_text():
    with pytest.raises(ValueError, match="outside the text"):
        redact("short", [Span("name", 2, 10, "ort")])
    with pytest.raises(ValueError, match="outside the text"):
        redact("short", [Span("name", -1, 2, "sh")])


def test_redact_refuses_overlapping_spans():
    text = "Kayden Smith"
    with pytest.raises(ValueError, match="overlap"):
        redact(text, [Span("name", 0, 6, "Kayden"), Span("name", 3, 12, "den Smith")])


def test_redact_refuses_stale_spans_and_unknown_kinds():
    with pytest.raises(ValueError, match="changed"):
        redact("Kayla Smith", [Span("name", 0, 6, "Kayden")])
    with pytest.raises(ValueError, match="Unknown kind"):
        redact("Kayden", [Span("shoe-size", 0, 6, "Kayden")])


# --- warning_message() -----------------------------------------------------------------------------


def test_warning_message():
    assert warning_message([]) is None
    message = warning_message(detect("Visited Kayden Smith today"))
    assert message == (
        'This looks like someone\'s name ("Kayden Smith") — please describe the problem without identifying anyone.'
    )


def test_warning_message_picks_the_most_sensitive_kind_and_counts_the_rest():
    spans = detect("email kelly@example.org, NHS 943 476 5919, Jayden")
    message = warning_message(spans)
    assert message is not None
    assert message.startswith('This looks like someone\'s name ("Jayden")')
    assert "2 other things" in message


def test_warning_message_for_each_kind_mentions_the_text():
    for kind in KINDS:
        message = warning_message([Span(kind, 0, 5, "abcde")])
        assert message is not None and '"abcde"' in message, kind


def test_warning_message_shortens_long_text():
    message = warning_message([Span("address", 0, 60, "x" * 60)])
    assert message is not None and "…" in message and "x" * 41 not in message


# --- safeguarding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,phrase",
    [
        ("I think he is at risk now", "at risk now"),
        ("YP says she is not safe tonight", "not safe tonight"),
        ("the child is in danger at home", "in danger"),
        ("he is being hurt by mum's partner", "being hurt"),
        ("she disclosed abuse at the visit", "disclosed abuse"),
        ("there is a missing child and the police are out", "missing child"),
        ("can't find the child anywhere", "can't find the child"),
        ("cannot find the child anywhere", "can't find the child"),
        ("YP is SUICIDAL and the app won't let me record it", "suicidal"),
        ("she is self harming again", "self-harm"),
        ("dad threatening to kill the baby", "threatened to kill"),
        ("immediate risk to the children", "immediate risk"),
        ("the children are in immediate danger", "in immediate danger"),
    ],
)
def test_live_risk_phrases(text, phrase):
    assert phrase in describes_live_risk(text)


@pytest.mark.parametrize(
    "text",
    [
        "risk assessment form won't save",
        "The immediate risk assessment template is missing a section",
        "Child protection conference minutes take weeks",
        "the missing child episode form won't link to the RHI",
        "we are in danger of missing timescales",
        "children could be in danger if the alerts don't work",
        "If a child is in danger call 999, this is for feedback",
        "there's no field to record self-harm incidents",
        "The risk matrix doesn't save",
        "",
    ],
)
def test_ordinary_feedback_is_not_live_risk(text):
    assert describes_live_risk(text) == []


def test_live_risk_returns_configured_phrases_once_in_order():
    phrases = ("locked out of home", "in danger")
    text = "He is in danger, locked out of home tonight, in danger"
    assert describes_live_risk(text, phrases) == ["in danger", "locked out of home"]


def test_default_phrase_list_is_short():
    assert 10 <= len(DEFAULT_PHRASES) <= 40
    assert "risk assessment" not in DEFAULT_PHRASES and "child protection" not in DEFAULT_PHRASES


# --- speed -----------------------------------------------------------------------------------------

TYPICAL = (
    "Tried to record a visit on 12/03/2026 at 14:30 but the case note vanished after the timeout. The S47 and CP1 "
    "forms still don't save a draft and the ICPC template is missing the danger statement. Ticket INC0012345 raised, "
    "ext 4421, version 2.3.1, file was 5MB. Please fix this before the next release, we have 25 cases waiting for "
    "sign off and the performance report says 14 are out of timescale, which isn't right. My TM and the IRO both "
    "tried and got the same error. It worked in Mosaic and I don't understand why it doesn't work now."
)


def test_detect_is_fast_enough_to_run_while_typing():
    detect(TYPICAL)
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        detect(TYPICAL)
    per_call_ms = (time.perf_counter() - start) / runs * 1000
    # ~0.5 ms on the development machine; the bound is loose so a slow CI box doesn't fail, but a
    # pathological regex would.
    assert per_call_ms < 10, f"{per_call_ms:.2f} ms per call"


def test_long_adversarial_text_is_still_quick():
    text = ("1 2 " * 1000) + ("a." * 2000) + ("Jayden Smith " * 200) + ("DOB 12/03/2015 " * 100)
    start = time.perf_counter()
    detect(text)
    assert time.perf_counter() - start < 1.0
