"""The business support list: newest first, filters, pagination, and a fragment for htmx."""

from __future__ import annotations

import pytest
import datetime as dt

from tests.conftest import ALICE, CAROL, ERIN, sign_in
from tests.factories import make_feedback

pytestmark = pytest.mark.postgres


def test_business_support_see_all_feedback_newest_first(app, as_bob):
    old = make_feedback(app, ALICE.email, title="Older report", submitted_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    new = make_feedback(app, ERIN.email, title="Newer report", submitted_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    page = as_bob.get("/feedback")
    assert page.status_code == 200
    assert page.text.index(new) < page.text.index(old)
    assert "<strong>2</strong> items" in page.text


def test_the_board_can_read_the_list_but_frontline_cannot(app, client):
    make_feedback(app, ALICE.email)
    sign_in(client, CAROL)
    assert client.get("/feedback").status_code == 200
    client.cookies.clear()
    sign_in(client, ERIN)
    assert client.get("/feedback").status_code == 403


def test_filters_narrow_the_list(app, as_bob):
    make_feedback(app, ALICE.email, title="Chronology gap", module="chronology", kind="bug", impact="blocks-work",
                  team="cp-west", submitted_at=dt.datetime(2026, 6, 10, tzinfo=dt.UTC))
    make_feedback(app, ERIN.email, title="Slow search", module="search", kind="performance", impact="minor",
                  team="youth-justice", submitted_at=dt.datetime(2026, 7, 10, tzinfo=dt.UTC))
    for query, expected, unexpected in (
        ("module=chronology", "Chronology gap", "Slow search"),
        ("kind=performance", "Slow search", "Chronology gap"),
        ("impact=blocks-work", "Chronology gap", "Slow search"),
        ("team=youth-justice", "Slow search", "Chronology gap"),
        ("from=2026-07-01", "Slow search", "Chronology gap"),
        ("to=2026-06-30", "Chronology gap", "Slow search"),
        ("from=2026-06-10&to=2026-06-10", "Chronology gap", "Slow search"),
    ):
        page = as_bob.get(f"/feedback?{query}")
        assert expected in page.text and unexpected not in page.text, query


def test_bad_filters_get_a_message_not_an_error(as_bob):
    page = as_bob.get("/feedback?module=teleport&from=yesterday&team=nobody")
    assert page.status_code == 400
    assert "Unknown module" in page.text
    assert "Enter a date like 2026-03-31" in page.text
    reversed_range = as_bob.get("/feedback?from=2026-08-01&to=2026-07-01")
    assert "The end date must be the same as or after the start date" in reversed_range.text


def test_the_list_is_paginated_25_to_a_page(app, as_bob):
    base = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    refs = [make_feedback(app, ALICE.email, submitted_at=base + dt.timedelta(hours=n)) for n in range(30)]
    first = as_bob.get("/feedback")
    assert refs[-1] in first.text and refs[4] not in first.text
    assert "page 1 of 2" in first.text
    second = as_bob.get("/feedback?page=2")
    assert refs[4] in second.text and refs[-1] not in second.text
    assert as_bob.get("/feedback?page=999").status_code == 200
    assert as_bob.get("/feedback?page=abc").status_code == 200


def test_htmx_gets_just_the_results_fragment(app, as_bob):
    make_feedback(app, ALICE.email, title="Fragment check")
    fragment = as_bob.get("/feedback?module=case-notes", headers={"HX-Request": "true", "HX-Target": "results"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="results"')
    assert "<html" not in fragment.text and "Fragment check" in fragment.text


def test_business_support_open_one_feedback_in_full(app, as_bob):
    ref = make_feedback(app, ALICE.email, title="Full view", body="All the detail\nover two lines", frequency="daily")
    page = as_bob.get(f"/feedback/{ref}")
    assert page.status_code == 200
    assert "All the detail\nover two lines" in page.text
    assert ALICE.name in page.text and "Most days" in page.text
