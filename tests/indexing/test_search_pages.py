"""The search page, its htmx fragment, saved searches, the API, and "someone already said this"."""

from __future__ import annotations


from tests.conftest import ALICE, BOB, CAROL, ERIN, api_token, csrf_token, field_error, sign_in
from tests.factories import make_feedback



def seed(app):  # noqa: ANN001, ANN201
    refs = {
        "timeout": make_feedback(app, ALICE.email, title="Case note lost",
                                 body="My case note vanished when the CMS timed out after a home visit"),
        "upload": make_feedback(app, ERIN.email, module="documents",
                                body="Cannot upload the court bundle, anything over 5MB fails"),
        "script": make_feedback(app, ERIN.email, body="<script>alert(1)</script> chronology is empty"),
    }
    app.state.indexer.rebuild()
    return refs


def test_business_support_find_feedback_by_its_words(app, as_bob):
    refs = seed(app)
    page = as_bob.get("/search?q=case+note+timeout")
    assert page.status_code == 200
    assert refs["timeout"] in page.text
    assert refs["upload"] not in page.text


def test_abbreviations_find_the_words_they_stand_for(app, as_bob):
    refs = seed(app)
    assert refs["timeout"] in as_bob.get("/search?q=CN+lost").text


def test_highlights_never_let_html_through(app, as_bob):
    refs = seed(app)
    page = as_bob.get("/search?q=chronology")
    assert refs["script"] in page.text
    assert "<script>alert(1)</script>" not in page.text


def test_htmx_gets_only_the_results(app, as_bob):
    seed(app)
    fragment = as_bob.get("/search?q=upload", headers={"HX-Request": "true", "HX-Target": "search-results"})
    assert fragment.text.lstrip().startswith('<div id="search-results"')


def test_frontline_staff_cannot_search_everything(client):
    sign_in(client, ALICE)
    assert client.get("/search?q=anything").status_code == 403


def test_the_board_can_search(app, client):
    seed(app)
    sign_in(client, CAROL)
    assert client.get("/search?q=upload").status_code == 200


def test_bad_queries_get_a_message_not_an_error(app, as_bob):
    seed(app)
    for query in ('"unbalanced', "*", "?*", "module:", "AND OR NOT", "((("):
        response = as_bob.get("/search", params={"q": query})
        assert response.status_code in (200, 400), query
    too_long = as_bob.get("/search", params={"q": "x" * 10_000})
    assert too_long.status_code == 400
    assert "500 characters or fewer" in field_error(too_long.text, "q")


def test_a_search_can_be_saved_and_deleted(app, as_bob):
    seed(app)
    saved = as_bob.post(
        "/search/saved",
        data={"name": "Uploads", "query_string": "q=upload", "_csrf_token": csrf_token(as_bob)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = as_bob.get("/search")
    assert 'href="/search?q=upload">Uploads</a>' in page.text


def test_the_search_api_returns_refs_in_rank_order_with_scores(app, client):
    refs = seed(app)
    response = client.get(
        "/api/v1/search", params={"q": "court bundle upload", "limit": 5},
        headers={"Authorization": f"Bearer {api_token(app, BOB)}"},
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["ref"] == refs["upload"]
    assert results[0]["score"] >= results[-1]["score"]
    assert "highlights" in results[0]


def test_someone_already_said_this_offers_similar_feedback(app, as_alice):
    refs = seed(app)
    response = as_alice.post(
        "/feedback/similar",
        data={"body": "the court bundle would not upload because it is too big", "title": ""},
        headers={"x-csrftoken": csrf_token(as_alice), "HX-Request": "true"},
    )
    assert response.status_code == 200
    assert refs["upload"] in response.text
    assert "Me too" in response.text


def test_similar_feedback_for_a_ref_over_the_api(app, client):
    refs = seed(app)
    other = make_feedback(app, ALICE.email, body="The CMS timed out and my case recording disappeared")
    app.state.indexer.catch_up()
    response = client.get(
        f"/api/v1/feedback/{other}/similar", headers={"Authorization": f"Bearer {api_token(app, BOB)}"}
    )
    assert response.status_code == 200
    similar = [item["ref"] for item in response.json()["similar"]]
    assert similar and similar[0] == refs["timeout"]
    assert other not in similar
