"""Admins extend the abbreviations list, and search understands the new words after the rebuild."""

from __future__ import annotations

from feedback_portal.search import analysis
from tests.conftest import ALICE, DAN, csrf_token, field_error, sign_in
from tests.factories import make_feedback


def add_line(client, line: str):  # noqa: ANN001, ANN201
    return client.post(
        "/admin/synonyms", data={"line": line, "_csrf_token": csrf_token(client)}, follow_redirects=False
    )


def test_an_admin_adds_an_abbreviation_and_search_understands_it(app, client):
    ref = make_feedback(app, ALICE.email, body="No way to record a child missing education on the profile")
    app.state.indexer.rebuild()
    sign_in(client, DAN)
    try:
        assert add_line(client, "cmex, child missing education").status_code == 303
        assert "cmex, child missing education" in client.get("/admin/synonyms").text
        # The index was built with the old list: the indexer notices and rebuilds it.
        app.state.background_indexer.run_once()
        hits = app.state.index_store.open().search("cmex", limit=5).hits
        assert ref in [hit.ref for hit in hits]
    finally:
        analysis.set_synonyms(analysis.Synonyms.default())


def test_a_bad_line_gets_a_message_beside_the_field(client):
    sign_in(client, DAN)
    response = add_line(client, ",,,")
    assert response.status_code == 422
    assert field_error(response.text, "line")


def test_only_admins_manage_synonyms(client):
    sign_in(client, ALICE)
    assert client.get("/admin/synonyms").status_code == 403
    assert add_line(client, "abc, alphabet").status_code == 403
