"""The index is derived: the indexer catches up from the change log, and a lost index loses nothing."""

from __future__ import annotations

import time

import pytest
from litestar.testing import TestClient

from feedback_portal.app import create_app
from feedback_portal.indexing.indexer import IndexUnavailable
from tests.conftest import ALICE, ERIN, give_feedback, sign_in
from tests.factories import make_feedback



def search_refs(app, query: str) -> list[str]:  # noqa: ANN001
    return [hit.ref for hit in app.state.index_store.open().search(query, limit=20).hits]


def test_rebuild_indexes_everything_in_the_database(app):
    ref = make_feedback(app, ALICE.email, body="The chronology does not pull through significant events")
    app.state.indexer.rebuild()
    assert ref in search_refs(app, "chronology events")


def test_the_indexer_applies_new_changes_from_the_change_log(app):
    app.state.indexer.rebuild()
    ref = make_feedback(app, ERIN.email, body="Genogram tool is missing from the family tab")
    assert ref not in search_refs(app, "genogram")
    applied = app.state.indexer.catch_up()
    assert applied >= 1
    assert ref in search_refs(app, "genogram")
    assert app.state.indexer.catch_up() == 0


def test_there_is_no_index_until_it_is_built(app):
    with pytest.raises(IndexUnavailable):
        app.state.index_store.open()


def test_a_corrupt_index_is_rebuilt_and_search_keeps_answering_meanwhile(app, as_bob):
    ref = make_feedback(app, ALICE.email, body="Printing the pathway plan cuts off the last page")
    app.state.indexer.rebuild()
    store = app.state.index_store
    generation = store.root / store.current_name()
    store.close()
    for segment in generation.glob("*.seg"):
        segment.write_bytes(b"garbage")
    for toc in generation.glob("*.toc"):
        toc.write_bytes(b"garbage")
    # While the index is broken, the search page falls back to the database and says so.
    page = as_bob.get("/search?q=pathway")
    assert page.status_code == 200
    assert ref in page.text
    background = app.state.background_indexer
    background.run_once()
    assert ref in search_refs(app, "pathway plan printing")


def test_a_bug_in_the_search_code_answers_from_the_database_but_keeps_the_index(app, as_bob, monkeypatch):
    ref = make_feedback(app, ALICE.email, body="Printing the pathway plan cuts off the last page")
    app.state.indexer.rebuild()
    store = app.state.index_store
    generation = store.current_name()
    index_class = type(store.open())

    def broken_search(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise TypeError("a bug, not damage")

    monkeypatch.setattr(index_class, "search", broken_search)
    page = as_bob.get("/search?q=pathway")
    assert page.status_code == 200
    assert ref in page.text
    assert store.current_name() == generation, "a bug must not throw away a healthy index"


def test_new_feedback_is_searchable_within_two_seconds_with_the_background_indexer(settings):
    live_settings = type(settings)(**{**settings.__dict__, "background_indexer": True})
    app = create_app(live_settings)
    with TestClient(app, base_url="http://portal.test") as client:
        deadline = time.monotonic() + 60
        while app.state.index_store.current_name() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the first build of an empty index
        sign_in(client, ALICE)
        started = time.monotonic()
        give_feedback(client, body="Youth justice staff cannot see the education records tab")
        while time.monotonic() - started < 10:
            hits = app.state.index_store.open().search("education records", limit=5).hits
            if hits:
                break
            time.sleep(0.05)
        # Generous bound so a slow machine does not fail the test; the benchmark reports the real figure.
        assert hits, "new feedback never became searchable"
